"""Case factories: the standard tree with its geography, one person per role of the loop, and
cases reported (and moved along the loop) through the real service.

Places (see tests.factories.geo): x 50 m, y 50 m lies in grid 211104004001001 of community C1a
(测试一社区) of street S1 (大洼街道); x 850 m lies in street S2 (田家街道).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

from PIL import Image
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.factories.geo import create_geography, lonlat
from tests.factories.org import Tree, create_tree, create_user
from wenming.attachments.service import store_upload
from wenming.attachments.storage import MediaStore
from wenming.auth.service import load_actor
from wenming.cases import service
from wenming.cases.models import Case
from wenming.cases.rulebook import bump_reference_version
from wenming.cases.schemas import ActionIn, CaseCreate, TargetIn
from wenming.cases.verification_models import VerifyRule
from wenming.cases.vocab import Kind, Source, Urgency
from wenming.cases.workflow import Action, State
from wenming.core.config import Settings
from wenming.geo.models import Grid, GridWorker
from wenming.org.models import User
from wenming.org.roles import Role
from wenming.org.scope import Actor

# From the packaged table: 暴露垃圾 (territorial), 路灯 (住建局 ZJJ), 占道经营 (城管局 CGJ).
GARBAGE = ("event", "0102")
STREET_LIGHT = ("component", "0113")
VENDING = ("event", "0501")
IN_C1A = lonlat(50, 50)
IN_C1A_NEARBY = lonlat(70, 50)  # 20 m east: a likely duplicate
IN_S2 = lonlat(850, 50)
GRID_C1A = "211104004001001"


@dataclass
class People:
    """One signed-in person per capacity of the loop, plus outsiders."""

    intake: User  # 受理员/值班长 of the district
    dispatcher: User  # 派遣员 of the district
    handler: User  # handler of 城管局 (CGJ)
    handler_sibling: User  # handler of 住建局 (ZJJ)
    handler_street: User  # handler of the street office S1
    grid_worker: User  # assigned to grid 211104004001001
    grid_worker_elsewhere: User  # assigned to a grid of S2
    citizen: User
    other_citizen: User
    street_admin: User  # S1
    district_admin: User
    sys_admin: User
    intake_elsewhere: User  # intake of the other district


@dataclass
class World:
    """The tree, its geography and its people."""

    tree: Tree
    people: People

    async def actor(self, session: AsyncSession, user: User) -> Actor:
        """The actor for one of the people, with their real grants."""
        actor = await load_actor(session, user.id)
        assert actor is not None
        return actor


async def create_world(session: AsyncSession, *, verify_citizens: bool = False) -> World:
    """The standard tree, its 24 grids and one person for each capacity.

    The packaged rule that sends citizens' reports to be verified on site is switched off unless
    asked for, so that a citizen's report starts as ``reported`` like everyone else's; the tests
    of verification (tests/cases/test_verification.py) keep it."""
    tree = await create_tree(session)
    await create_geography(session, tree)
    if not verify_citizens:
        await session.execute(
            update(VerifyRule)
            .where(VerifyRule.source == Source.CITIZEN.value, VerifyRule.category_id.is_(None))
            .values(verify=False)
        )
        await bump_reference_version(session, NOW)
    p = People(
        intake=await create_user(session, "intake", Role.INTAKE, unit=tree.district),
        dispatcher=await create_user(session, "dispatcher", Role.DISPATCHER, unit=tree.district),
        handler=await create_user(session, "handler", Role.HANDLER, department=tree.department),
        handler_sibling=await create_user(
            session, "handler_zjj", Role.HANDLER, department=tree.department_sibling
        ),
        handler_street=await create_user(session, "handler_s1", Role.HANDLER, unit=tree.street),
        grid_worker=await create_user(session, "worker", Role.GRID_WORKER, unit=tree.community),
        grid_worker_elsewhere=await create_user(
            session, "worker_s2", Role.GRID_WORKER, unit=tree.community_of_sibling
        ),
        citizen=await create_user(session, "citizen", Role.CITIZEN),
        other_citizen=await create_user(session, "citizen2", Role.CITIZEN),
        street_admin=await create_user(
            session, "street_admin", Role.STREET_ADMIN, unit=tree.street
        ),
        district_admin=await create_user(
            session, "district_admin", Role.DISTRICT_ADMIN, unit=tree.district
        ),
        sys_admin=await create_user(session, "sys_admin", Role.SYS_ADMIN, unit=tree.province),
        intake_elsewhere=await create_user(
            session, "intake_d2", Role.INTAKE, unit=tree.other_district
        ),
    )
    grids = dict(
        (
            await session.execute(
                select(Grid.code, Grid.id).where(Grid.code.in_([GRID_C1A, "211104005001001"]))
            )
        ).all()
    )
    session.add(GridWorker(grid_id=grids[GRID_C1A], user_id=p.grid_worker.id))
    session.add(GridWorker(grid_id=grids["211104005001001"], user_id=p.grid_worker_elsewhere.id))
    await session.flush()
    return World(tree, p)


async def photo(session: AsyncSession, settings: Settings, shade: int = 90) -> str:
    """The key of a freshly uploaded JPEG (a different shade gives different content)."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (shade, 120, 60)).save(buffer, "JPEG")
    upload = await store_upload(
        session,
        MediaStore.from_settings(settings),
        buffer.getvalue(),
        uploader_id=None,
        now=NOW,
        settings=settings,
    )
    return upload.attachment.key


def report_body(
    category: tuple[str, str] = GARBAGE,
    at: tuple[float, float] = IN_C1A,
    **fields: object,
) -> CaseCreate:
    """A valid report body at a place (by default exposed garbage in grid 211104004001001)."""
    kind, code = category
    values: dict[str, object] = {
        "category_kind": Kind(kind),
        "category_code": code,
        "description": "路边有一堆垃圾",
        "lon": at[0],
        "lat": at[1],
    }
    values.update(fields)
    return CaseCreate.model_validate(values)


async def report(
    session: AsyncSession,
    world: World,
    *,
    by: User | None = None,
    now: datetime = NOW,
    settings: Settings,
    **fields: object,
) -> Case:
    """A case reported through the service (by the citizen unless told otherwise)."""
    user = by or world.people.citizen
    actor = await world.actor(session, user)
    body = report_body(**fields)  # type: ignore[arg-type]
    outcome = await service.report(session, actor, body, now=now, settings=settings)
    return outcome.case


async def act(
    session: AsyncSession,
    world: World,
    case: Case,
    action: Action,
    user: User,
    *,
    now: datetime = NOW,
    settings: Settings,
    **fields: object,
) -> Case:
    """Take one action through the service as one of the people."""
    actor = await world.actor(session, user)
    body = ActionIn.model_validate(fields)
    return await service.act(session, actor, case.code, action, body, now=now, settings=settings)


# The steps that bring a fresh report to each state, with who takes them and what they send.
PATH: dict[State, list[tuple[Action, str, dict[str, object]]]] = {
    State.REPORTED: [],
    State.FILED: [(Action.FILE, "intake", {})],
    State.REJECTED: [(Action.REJECT, "intake", {"note": "不属于城管范围"})],
    State.VOIDED: [(Action.VOID, "intake", {"note": "重复录入"})],
    State.DISPATCHED: [
        (Action.FILE, "intake", {}),
        (Action.DISPATCH, "dispatcher", {"target": {"department_code": "211104-CGJ"}}),
    ],
}
PATH[State.ACCEPTED] = [*PATH[State.DISPATCHED], (Action.ACCEPT, "handler", {})]
PATH[State.HANDLED] = [
    *PATH[State.ACCEPTED],
    (Action.HANDLE, "handler", {"note": "已清理", "attachments": "<after>"}),
]
PATH[State.VERIFIED] = [*PATH[State.HANDLED], (Action.VERIFY_PASS, "grid_worker", {})]
PATH[State.CLOSED] = [*PATH[State.VERIFIED], (Action.CLOSE, "intake", {})]
PATH[State.SUSPENDED] = [
    *PATH[State.ACCEPTED],
    (Action.REQUEST_SUSPENSION, "handler", {"note": "需协调产权单位"}),
    (Action.APPROVE_SUSPENSION, "dispatcher", {}),
]


async def case_in(
    session: AsyncSession,
    world: World,
    state: State,
    *,
    settings: Settings,
    after_photo: str | None = None,
    urgency: Urgency = Urgency.NORMAL,
    source: Source = Source.CITIZEN,
) -> Case:
    """A case brought to a state by the real actions of the right people.

    States past 'handled' need an after-photo key (the garbage category requires one).
    """
    case = await report(session, world, settings=settings, urgency=urgency, source=source)
    for action, who, fields in PATH[state]:
        values = dict(fields)
        if values.get("attachments") == "<after>":
            assert after_photo is not None, "pass after_photo for states past 'accepted'"
            values["attachments"] = [after_photo]
        if isinstance(values.get("target"), dict):
            values["target"] = TargetIn.model_validate(values["target"])
        case = await act(
            session, world, case, action, getattr(world.people, who), settings=settings, **values
        )
    assert case.state == state.value
    return case
