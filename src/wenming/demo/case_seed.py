"""The demo district's cases: forty SYNTHETIC reports moved along the loop by the real service.

Every description starts with ``示例：`` and every reporter, phone number and photo is invented.
The cases are reported, filed, dispatched, accepted, handled, checked and closed through
``cases.service`` by the demo's own people, each step at its own moment before ``now``, so their
events, deadlines and counters are exactly what the platform records; the overdue sweep then runs
three times (four days ago, two days ago and now) so that the old open cases are overdue and
escalated one to three levels, as on a real board. Fresh open cases are reported within the last
hour, so that on a first run they are still within their time limits.

The demo handler (城管局 211104-CGJ) has cases in every state of its part of the loop; the demo
grid worker has handled cases in their patrol grids to check; the intake clerk has new reports,
one with a likely duplicate next to it.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import shapely
from PIL import Image, ImageDraw
from shapely.geometry import Point
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.attachments.service import store_upload
from wenming.attachments.storage import MediaStore
from wenming.auth.service import load_actor
from wenming.cases import service, sweep
from wenming.cases.models import Case
from wenming.cases.schemas import ActionIn, CaseCreate, TargetIn
from wenming.cases.vocab import Kind, Source, Urgency
from wenming.cases.workflow import OPEN_STATES, Action
from wenming.core.clock import as_utc
from wenming.core.config import Settings
from wenming.core.errors import Conflict
from wenming.demo.geo_seed import GRIDS_PER_WORKER
from wenming.demo.seed import DEMO_PEOPLE, GRID_WORKER_COMMUNITY, is_seeded
from wenming.geo.geometry import METRES_PER_DEGREE
from wenming.geo.models import Grid
from wenming.org.models import AdminUnit, User
from wenming.org.scope import Actor

CASE_LABEL = "示例："
# Who reports from each source.
REPORTERS: dict[Source, str] = {
    Source.CITIZEN: "demo_citizen",
    Source.GRID_WORKER: "demo_grid_worker",
    Source.HOTLINE: "demo_intake",
    Source.LEADERSHIP: "demo_intake",
    Source.VIDEO: "demo_intake",
    Source.INSPECTION: "demo_street_admin",
}
# The demo handler of each department the cases are dispatched to.
HANDLERS: dict[str, str] = {
    "211104-CGJ": "demo_handler",
    "211104-CGJ-ZF1": "demo_handler_3",
    "211104-ZJJ": "demo_handler_2",
    "211104-HWZX": "demo_handler_4",
}
CGJ, ZF1, ZJJ, HWZX = "211104-CGJ", "211104-CGJ-ZF1", "211104-ZJJ", "211104-HWZX"
DAWA_STREET, TIANJIA_STREET = "211104004000", "211104005000"
# When the sweep runs, as days before now: old overdue cases climb one level per run.
SWEEPS_DAYS_AGO = (4, 2, 0)
MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)

# How far each demo case goes along the loop after it is reported.
PATHS: dict[str, tuple[Action, ...]] = {
    "reported": (),
    "filed": (Action.FILE,),
    "rejected": (Action.REJECT,),
    "voided": (Action.VOID,),
    "merged": (Action.MERGE,),
    "dispatched": (Action.FILE, Action.DISPATCH),
    "returned": (Action.FILE, Action.DISPATCH, Action.RETURN),
    "accepted": (Action.FILE, Action.DISPATCH, Action.ACCEPT),
    "extension": (Action.FILE, Action.DISPATCH, Action.ACCEPT, Action.REQUEST_EXTENSION),
    "suspended": (
        Action.FILE,
        Action.DISPATCH,
        Action.ACCEPT,
        Action.REQUEST_SUSPENSION,
        Action.APPROVE_SUSPENSION,
    ),
    "handled": (Action.FILE, Action.DISPATCH, Action.ACCEPT, Action.HANDLE),
    "rework": (
        Action.FILE,
        Action.DISPATCH,
        Action.ACCEPT,
        Action.HANDLE,
        Action.VERIFY_FAIL,
        Action.ACCEPT,
    ),
    "verified": (Action.FILE, Action.DISPATCH, Action.ACCEPT, Action.HANDLE, Action.VERIFY_PASS),
    "closed": (
        Action.FILE,
        Action.DISPATCH,
        Action.ACCEPT,
        Action.HANDLE,
        Action.VERIFY_PASS,
        Action.CLOSE,
    ),
}
# What the people write when an action needs a reason, or when they have something to say.
NOTES: dict[Action, str] = {
    Action.REJECT: "示例：经核实位于私人院内，不属于公共区域，不予立案。",
    Action.VOID: "示例：与热线工单重复录入，作废。",
    Action.RETURN: "示例：该路段不属本单位管辖，请改派属地街道。",
    Action.HANDLE: "示例：已到场处置完毕，现场已恢复整洁。",
    Action.VERIFY_FAIL: "示例：现场复核仍有残留，请返工。",
    Action.REQUEST_EXTENSION: "示例：需协调产权单位共同拆除，申请延期。",
    Action.REQUEST_SUSPENSION: "示例：涉及产权争议，待法院裁定后处理。",
}


@dataclass(frozen=True)
class DemoCase:
    """One synthetic case: what, where (a community and one of its grids), from which source,
    how far along the loop, reported how long ago, and to whom it is dispatched."""

    category: tuple[Kind, str]
    text: str
    community: str
    grid: int
    source: Source
    path: str
    age: timedelta
    target: str | None = None  # department code, or a street/community unit code
    urgency: Urgency = Urgency.NORMAL
    offset_m: tuple[float, float] = (0.0, 0.0)  # from the grid's centre, to place neighbours
    caller: tuple[str, str] | None = None  # a hotline caller's name and phone
    before_photo: bool = False
    merge_into: int | None = None  # index of the case this one duplicates


E, C = Kind.EVENT, Kind.COMPONENT
GARBAGE, PILES, DIRTY_ROAD, BIN_FULL = (E, "0102"), (E, "0109"), (E, "0104"), (E, "0110")
STALLS, VENDORS, STALLS_LOOSE = (E, "0501"), (E, "0503"), (E, "0504")
ADS, GRAFFITI, PARKING, BBQ = (E, "0201"), (E, "0207"), (E, "0505"), (E, "0112")
SPILL, BUILDING, ROAD_DAMAGE = (E, "0303"), (E, "0101"), (E, "0114")
STREET_LIGHT = (C, "0113")
MIN, HOUR = MINUTE, timedelta(hours=1)
HOTLINE_CALLER = ("张先生（示例）", "13900000001")

DEMO_CASES: tuple[DemoCase, ...] = (
    # New reports for the intake clerk; the second lies 20 m from the first: a likely duplicate.
    DemoCase(GARBAGE, "小区东门外绿化带旁堆放一堆生活垃圾", GRID_WORKER_COMMUNITY, 0,
             Source.GRID_WORKER, "reported", 12 * MIN),
    DemoCase(GARBAGE, "东门外垃圾堆放多日，已有异味", GRID_WORKER_COMMUNITY, 0, Source.CITIZEN,
             "reported", 8 * MIN, offset_m=(20.0, 0.0)),
    DemoCase(STALLS, "早市摊贩占用人行道经营，行人只能走机动车道", "211104004002", 1,
             Source.HOTLINE, "reported", 20 * MIN, caller=HOTLINE_CALLER),
    # Filed (the first one returned by a unit it does not concern), waiting for the dispatcher.
    DemoCase(ADS, "单元门口及电线杆张贴大量小广告", "211104005001", 0, Source.CITIZEN,
             "returned", 35 * MIN, target=ZJJ),
    DemoCase(PARKING, "消防通道被私家车长时间占用", "211104007001", 0, Source.HOTLINE,
             "filed", 15 * MIN, urgency=Urgency.URGENT, caller=("李女士（示例）", "13900000002")),
    # Dispatched, waiting for the unit to accept.
    DemoCase(STREET_LIGHT, "路灯夜间不亮，路段较暗", "211104004003", 2, Source.CITIZEN,
             "dispatched", 40 * MIN),
    DemoCase(BIN_FULL, "垃圾箱满溢，周边散落垃圾", GRID_WORKER_COMMUNITY, 1, Source.GRID_WORKER,
             "dispatched", 30 * MIN, target=HWZX),
    DemoCase(VENDORS, "学校门口放学时段流动摊贩聚集", "211104005002", 0, Source.LEADERSHIP,
             "dispatched", 45 * MIN, target=CGJ),
    DemoCase(GRAFFITI, "桥洞墙面乱涂乱画", "211104004003", 0, Source.CITIZEN, "dispatched",
             40 * MIN, target=DAWA_STREET),
    DemoCase(PILES, "楼道口堆放废旧家具", "211104006001", 0, Source.GRID_WORKER, "dispatched",
             25 * MIN, target=ZF1),
    # With the unit.
    DemoCase(BBQ, "夜市露天烧烤油烟扰民", "211104004002", 2, Source.HOTLINE, "accepted",
             50 * MIN, target=CGJ, caller=("王先生（示例）", "13900000003")),
    DemoCase(BUILDING, "小区绿地内私搭简易棚", "211104009001", 0, Source.INSPECTION,
             "extension", 55 * MIN, target=CGJ),
    DemoCase(SPILL, "渣土车沿路遗撒", "211104005003", 1, Source.HOTLINE, "accepted", 35 * MIN,
             target=CGJ, urgency=Urgency.URGENT, caller=("赵先生（示例）", "13900000004")),
    DemoCase(ROAD_DAMAGE, "人行道路面破损塌陷", "211104009002", 0, Source.CITIZEN, "suspended",
             45 * MIN, target=ZJJ),
    DemoCase(PILES, "商铺门前堆放纸箱杂物", GRID_WORKER_COMMUNITY, 1, Source.GRID_WORKER,
             "rework", 50 * MIN, target=CGJ, offset_m=(-25.0, 15.0)),
    # Handled, waiting for the grid worker's check in their patrol grids.
    DemoCase(GARBAGE, "小区西侧空地暴露垃圾", GRID_WORKER_COMMUNITY, 2, Source.GRID_WORKER,
             "handled", 45 * MIN, target=HWZX, before_photo=True),
    DemoCase(STALLS, "超市门前占道摆卖水果", GRID_WORKER_COMMUNITY, 3, Source.CITIZEN,
             "handled", 50 * MIN, target=CGJ, before_photo=True),
    DemoCase(DIRTY_ROAD, "主路路面有油污泥土", GRID_WORKER_COMMUNITY, 4, Source.GRID_WORKER,
             "handled", 40 * MIN, target=HWZX),
    # Checked, waiting for the shift leader to close.
    DemoCase(ADS, "公交站牌张贴小广告", GRID_WORKER_COMMUNITY, 5, Source.GRID_WORKER,
             "verified", 55 * MIN, target=CGJ),
    DemoCase(BIN_FULL, "农贸市场垃圾站满溢", "211104007002", 0, Source.HOTLINE, "verified",
             50 * MIN, target=HWZX, caller=HOTLINE_CALLER),
    # Closed over the last weeks.
    DemoCase(GARBAGE, "路口暴露垃圾", "211104004002", 0, Source.CITIZEN, "closed", 2 * DAY,
             target=HWZX, before_photo=True),
    DemoCase(STALLS, "菜市场外占道经营", "211104005001", 1, Source.HOTLINE, "closed", 3 * DAY,
             target=CGJ, caller=HOTLINE_CALLER),
    DemoCase(STREET_LIGHT, "小区主路路灯损坏", "211104007001", 1, Source.CITIZEN, "closed",
             6 * DAY, target=ZJJ),
    DemoCase(BIN_FULL, "垃圾箱满溢未及时清运", "211104009001", 1, Source.GRID_WORKER, "closed",
             1 * DAY, target=HWZX),
    DemoCase(VENDORS, "广场周边流动摊贩", "211104006001", 1, Source.LEADERSHIP, "closed",
             9 * DAY, target=CGJ),
    DemoCase(DIRTY_ROAD, "港口路段路面不洁", "211104002001", 0, Source.CITIZEN, "closed",
             4 * DAY, target=HWZX),
    DemoCase(SPILL, "工地出口道路遗撒", "211104005002", 1, Source.HOTLINE, "closed", 12 * DAY,
             target=CGJ, caller=HOTLINE_CALLER),
    DemoCase(GRAFFITI, "围墙乱涂乱画", "211104006002", 0, Source.CITIZEN, "closed", 15 * DAY,
             target=ZF1, before_photo=True),
    DemoCase(ROAD_DAMAGE, "道路坑槽", "211104004003", 1, Source.GRID_WORKER, "closed", 7 * DAY,
             target=ZJJ),
    DemoCase(BBQ, "沿街露天烧烤", "211104007003", 0, Source.HOTLINE, "closed", 20 * DAY,
             target=CGJ, caller=HOTLINE_CALLER),
    # Refused at intake.
    DemoCase(GARBAGE, "院内堆放杂物", "211104005003", 0, Source.CITIZEN, "rejected", 2 * DAY),
    DemoCase(PARKING, "路边违停", "211104004002", 3, Source.HOTLINE, "voided", 3 * DAY,
             caller=HOTLINE_CALLER),
    # A second report of the early-market stalls above, merged into it.
    DemoCase(STALLS, "早市占道经营，人行道堵塞", "211104004002", 1, Source.CITIZEN, "merged",
             10 * MIN, offset_m=(10.0, 10.0), merge_into=2),
    # Overdue: left at one step for weeks (longer than any holiday), so the sweep escalates them.
    DemoCase(GARBAGE, "河堤旁暴露垃圾", "211104006003", 0, Source.CITIZEN, "reported", 35 * DAY),
    DemoCase(ADS, "小区围墙小广告", "211104009003", 0, Source.GRID_WORKER, "filed", 36 * DAY),
    DemoCase(STALLS, "人行天桥下占道经营", "211104005001", 2, Source.HOTLINE, "dispatched",
             30 * DAY, target=CGJ, caller=HOTLINE_CALLER),
    DemoCase(PILES, "背街小巷乱堆杂物", "211104004003", 3, Source.GRID_WORKER, "accepted",
             32 * DAY, target=CGJ),
    DemoCase(BIN_FULL, "垃圾站满溢外溢", "211104002001", 1, Source.CITIZEN, "accepted",
             34 * DAY, target=HWZX, urgency=Urgency.URGENT),
    DemoCase(STREET_LIGHT, "景观路段路灯成片不亮", "211104007002", 1, Source.HOTLINE,
             "dispatched", 38 * DAY, target=ZJJ, caller=HOTLINE_CALLER),
    DemoCase(STALLS_LOOSE, "路口乱设摊点", "211104005002", 2, Source.GRID_WORKER, "dispatched",
             33 * DAY, target=TIANJIA_STREET),
)  # fmt: skip


@dataclass(frozen=True)
class CaseSeedSummary:
    """What the demo's cases are after seeding, and whether this call added them."""

    cases: int
    open: int
    overdue: int
    changed: bool


@dataclass
class People:
    """The demo's people as actors, by username."""

    actors: dict[str, Actor] = field(default_factory=dict)

    def __getitem__(self, username: str) -> Actor:
        """The actor of a demo username."""
        return self.actors[username]


async def demo_people(session: AsyncSession) -> People:
    """Every demo person who can sign in, as an actor with their grants."""
    rows = await session.execute(
        select(User.username, User.id).where(User.username.in_([p.username for p in DEMO_PEOPLE]))
    )
    people = People()
    for username, user_id in rows.all():
        actor = await load_actor(session, user_id)
        if actor is not None:
            people.actors[username] = actor
    return people


async def grid_shapes(session: AsyncSession, communities: Sequence[str]) -> dict[str, list[bytes]]:
    """The grids of some communities, in code order, as WKB."""
    rows = await session.execute(
        select(AdminUnit.code, Grid.geometry)
        .join(Grid, Grid.community_id == AdminUnit.id)
        .where(AdminUnit.code.in_(list(communities)))
        .order_by(Grid.code)
    )
    shapes: dict[str, list[bytes]] = {}
    for code, geometry in rows.all():
        shapes.setdefault(code, []).append(geometry)
    return shapes


def place(spec: DemoCase, shapes: dict[str, list[bytes]]) -> tuple[float, float]:
    """A point inside the spec's grid: its centre, moved by the spec's offset when that stays
    inside the grid."""
    grids = shapes[spec.community]
    polygon = shapely.from_wkb(grids[spec.grid % len(grids)])
    centre = polygon.representative_point()
    dx, dy = spec.offset_m
    lon_scale = METRES_PER_DEGREE * math.cos(math.radians(centre.y))
    moved = Point(centre.x + dx / lon_scale, centre.y + dy / METRES_PER_DEGREE)
    chosen = moved if polygon.contains(moved) else centre
    return round(chosen.x, 7), round(chosen.y, 7)


def demo_photo(number: int, fixed: bool) -> bytes:
    """A small synthetic JPEG: a street scene with rubbish (before) or swept clean (after)."""
    image = Image.new("RGB", (320, 240), (196, 204, 210))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 150, 320, 240), fill=(128, 132, 136))  # the road
    draw.rectangle((0, 130, 320, 150), fill=(170, 170, 160))  # the kerb
    draw.rectangle((20 + number % 7 * 10, 40, 120 + number % 7 * 10, 130), fill=(150, 110, 90))
    if fixed:
        draw.rectangle((180, 110, 300, 130), fill=(80, 150, 80))  # a tidy planter
    else:
        for index in range(6):
            x = 140 + (index * 29 + number * 13) % 150
            y = 150 + (index * 17 + number * 7) % 60
            draw.ellipse((x, y, x + 26, y + 18), fill=(60 + index * 20, 50, 40))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def _step_times(reported_at: datetime, age: timedelta, steps: int) -> list[datetime]:
    """Evenly spaced moments between the report and now for the steps that follow it."""
    return [reported_at + age * (index + 1) / (steps + 1) for index in range(steps)]


def _actor_for(action: Action, spec: DemoCase, people: People, patrol: bool) -> Actor:
    """Who takes an action on a demo case: the command centre, the handler of the target unit,
    or the grid worker who patrols the case's grid."""
    if action in (Action.FILE, Action.REJECT, Action.VOID, Action.MERGE, Action.CLOSE):
        return people["demo_intake"]
    if action in (Action.DISPATCH, Action.APPROVE_SUSPENSION, Action.APPROVE_EXTENSION):
        return people["demo_dispatcher"]
    if action in (Action.VERIFY_PASS, Action.VERIFY_FAIL):
        return people["demo_grid_worker" if patrol else "demo_intake"]
    return people[HANDLERS[spec.target or CGJ]]


async def _body(
    session: AsyncSession,
    action: Action,
    spec: DemoCase,
    number: int,
    case: Case,
    actor: Actor,
    at: datetime,
    codes: list[str],
    settings: Settings,
) -> ActionIn:
    """What an action sends: its note, target, merge target, new due time or photos."""
    values: dict[str, object] = {"note": NOTES.get(action, "")}
    if action is Action.DISPATCH and spec.target is not None:
        kind = "department_code" if "-" in spec.target else "unit_code"
        values["target"] = TargetIn.model_validate({kind: spec.target})
    if action is Action.MERGE and spec.merge_into is not None:
        values["merge_into"] = codes[spec.merge_into]
    if action is Action.REQUEST_EXTENSION:
        values["until"] = as_utc(case.due_at or at) + 5 * DAY
    if action is Action.HANDLE:
        store = MediaStore.from_settings(settings)
        after = await store_upload(
            session,
            store,
            demo_photo(number, fixed=True),
            uploader_id=actor.user_id,
            now=at,
            settings=settings,
        )
        values["attachments"] = [after.attachment.key]
        if spec.before_photo:
            before = await store_upload(
                session,
                store,
                demo_photo(number, fixed=False),
                uploader_id=actor.user_id,
                now=at,
                settings=settings,
            )
            values["before_attachments"] = [before.attachment.key]
    return ActionIn.model_validate(values)


async def _report(
    session: AsyncSession,
    spec: DemoCase,
    number: int,
    people: People,
    shapes: dict[str, list[bytes]],
    now: datetime,
    settings: Settings,
) -> Case:
    """Report one demo case at its moment, with a photo of what the reporter saw."""
    reporter = people[REPORTERS[spec.source]]
    reported_at = now - spec.age
    lon, lat = place(spec, shapes)
    photo = await store_upload(
        session,
        MediaStore.from_settings(settings),
        demo_photo(number, fixed=False),
        uploader_id=reporter.user_id,
        now=reported_at,
        settings=settings,
    )
    body = CaseCreate(
        category_kind=spec.category[0],
        category_code=spec.category[1],
        description=CASE_LABEL + spec.text,
        source=spec.source,
        lon=lon,
        lat=lat,
        urgency=spec.urgency,
        reporter_name=spec.caller[0] if spec.caller else None,
        reporter_phone=spec.caller[1] if spec.caller else None,
        attachments=[photo.attachment.key],
    )
    outcome = await service.report(session, reporter, body, now=reported_at, settings=settings)
    return outcome.case


async def _summary(session: AsyncSession, changed: bool) -> CaseSeedSummary:
    """Count the cases, the open ones and the overdue ones."""
    total = await session.scalar(select(func.count()).select_from(Case))
    open_cases = await session.scalar(
        select(func.count())
        .select_from(Case)
        .where(Case.state.in_([state.value for state in OPEN_STATES]))
    )
    overdue = await session.scalar(
        select(func.count()).select_from(Case).where(Case.overdue.is_(True))
    )
    return CaseSeedSummary(int(total or 0), int(open_cases or 0), int(overdue or 0), changed)


async def seed_demo_cases(
    session: AsyncSession, now: datetime, settings: Settings
) -> CaseSeedSummary:
    """Report the demo's cases and move them along the loop, once; a database that already holds
    cases is left as it is. Photos go to the media store of ``settings``. Flushes only."""
    if not await is_seeded(session):
        raise Conflict(
            "the demo cases need the demo district first: seed it with `wenming demo` "
            "on an empty database"
        )
    if await session.scalar(select(func.count()).select_from(Case)):
        return await _summary(session, changed=False)
    people = await demo_people(session)
    shapes = await grid_shapes(session, sorted({spec.community for spec in DEMO_CASES}))
    codes: list[str] = []
    for number, spec in enumerate(DEMO_CASES):
        case = await _report(session, spec, number, people, shapes, now, settings)
        codes.append(case.code)
        actions = PATHS[spec.path]
        patrol = spec.community == GRID_WORKER_COMMUNITY and spec.grid < GRIDS_PER_WORKER
        for action, at in zip(
            actions, _step_times(now - spec.age, spec.age, len(actions)), strict=True
        ):
            actor = _actor_for(action, spec, people, patrol)
            body = await _body(session, action, spec, number, case, actor, at, codes, settings)
            case = await service.act(
                session, actor, case.code, action, body, now=at, settings=settings
            )
    run_ids: list[int] = []
    for days in SWEEPS_DAYS_AGO:
        moment = now - days * DAY
        run_id = await sweep.start_run(session, moment, moment)
        await sweep.escalate_batch(session, run_id, moment, sweep.DEFAULT_BATCH)
        run_ids.append(run_id)
    await sweep.notify_runs(session, run_ids[-1:], now, settings)
    await session.flush()
    return await _summary(session, changed=True)
