"""The API's intake (``cases.intake``): the answer built from memory is the case as read back;
reports arriving together are written in one transaction; a repeated key inside a group is found
and answered with the earlier case; snapshots are re-read only when older than their bound."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DataError
from sqlalchemy.ext.asyncio import AsyncSession

from tests.cases.committed import Committed, committed_world
from tests.conftest import BACKENDS, NOW
from tests.factories.cases import (
    GRID_C1A,
    IN_C1A,
    IN_S2,
    STREET_LIGHT,
    World,
    create_world,
    photo,
    report_body,
)
from tests.factories.gazetteer import create_gazetteer, xingsheng_xy
from tests.factories.geo import lonlat
from tests.factories.org import bearer_headers, create_user
from wenming.auth.service import load_actor
from wenming.cases import intake, service
from wenming.cases.directory import read_directory
from wenming.cases.models import Case, CaseDeadline, CaseEvent, Category, IdempotencyKey
from wenming.cases.rulebook import rulebook
from wenming.cases.schemas import CaseCreate
from wenming.cases.vocab import Source
from wenming.core.clock import FrozenClock
from wenming.core.config import Settings
from wenming.core.recent import Recent
from wenming.geo.lookup import locate
from wenming.geo.models import Component, Grid
from wenming.main import create_app
from wenming.org.codes import UnitKind
from wenming.org.roles import Role
from wenming.org.scope import Actor
from wenming.org.service import assign_role, create_unit
from wenming.org.version import org_version

URL = "/api/v1/cases"


@pytest.fixture
async def world(session: AsyncSession) -> World:
    return await create_world(session)


async def test_the_answer_from_memory_is_the_case_as_read_back(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    grid_id = await session.scalar(select(Grid.id).where(Grid.code == GRID_C1A))
    light = Component(
        code="2111040113000077",
        class_code="01",
        subclass_code="13",
        name="路灯 77",
        status="normal",
        owner_department_id=world.tree.department.id,
        maintainer_department_id=world.tree.department_sibling.id,
        lon=IN_C1A[0],
        lat=IN_C1A[1],
        grid_id=grid_id,
        unit_id=world.tree.community.id,
        updated_at=NOW,
    )
    session.add(light)
    await session.flush()
    first, second = await photo(session, settings, 40), await photo(session, settings, 200)
    headers = await bearer_headers(session, world.people.intake)
    kind, code = STREET_LIGHT
    answer = await client.post(
        URL,
        json={
            "category_kind": kind,
            "category_code": code,
            "description": "路灯不亮",
            "component_code": light.code,
            "source": "hotline_12345",
            "reporter_name": "王小明",
            "reporter_phone": "13812345678",
            "urgency": "urgent",
            "attachments": [first, second],
        },
        headers={**headers, "Idempotency-Key": "memory-1"},
    )
    assert answer.status_code == 201, answer.text
    created = answer.json()["case"]
    read_back = await client.get(f"{URL}/{created['code']}", headers=headers)
    assert read_back.status_code == 200
    assert created == read_back.json()
    assert created["component_code"] == light.code
    assert created["grid_code"] == GRID_C1A
    assert created["suggestion"]["reason"] == "component"
    assert created["suggestion"]["department"]["code"] == world.tree.department_sibling.code
    assert [a["key"] for a in created["events"][0]["attachments"]] == [first, second]
    assert created["reporter_phone"] == "13812345678"


async def test_a_citizens_answer_from_memory_is_the_case_as_read_back(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    headers = await bearer_headers(session, world.people.citizen)
    answer = await client.post(
        URL,
        json={
            "category_kind": "event",
            "category_code": "0501",
            "description": "占道经营",
            "lon": IN_C1A[0],
            "lat": IN_C1A[1],
        },
        headers=headers,
    )
    assert answer.status_code == 201, answer.text
    created = answer.json()["case"]
    read_back = await client.get(f"{URL}/{created['code']}", headers=headers)
    assert created == read_back.json()
    assert created["suggestion"]["reason"] == "category"
    assert created["suggestion"]["department"]["code"] == world.tree.department.code


async def test_a_repeat_is_answered_with_the_first_case_even_after_its_category_retired(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    body = {
        "category_kind": "event",
        "category_code": "0102",
        "description": "垃圾",
        "lon": IN_C1A[0],
        "lat": IN_C1A[1],
    }
    first = await client.post(URL, json=body, headers={"Idempotency-Key": "retire-1"})
    assert first.status_code == 201
    category = await session.scalar(
        select(Category).where(Category.kind == "event", Category.code == "0102")
    )
    assert category is not None
    headers = await bearer_headers(session, world.people.sys_admin)
    retired = await client.patch(
        f"{URL}/categories/event/0102", json={"active": False}, headers=headers
    )
    assert retired.status_code == 200, retired.text
    again = await client.post(URL, json=body, headers={"Idempotency-Key": "retire-1"})
    assert again.status_code == 200
    assert again.json()["case"]["code"] == first.json()["case"]["code"]
    fresh = await client.post(URL, json=body, headers={"Idempotency-Key": "retire-2"})
    assert fresh.status_code == 422
    assert fresh.json()["errors"][0]["field"] == "category_code"


async def test_a_snapshot_is_read_again_only_when_older_than_its_bound(
    session: AsyncSession, world: World
) -> None:
    clock = FrozenClock(NOW)

    @asynccontextmanager
    async def opener() -> AsyncIterator[AsyncSession]:
        async with session.begin_nested():
            yield session

    recent: Recent[int] = Recent(count_units)
    bound = timedelta(seconds=1)
    assert await recent.get(opener, clock.now(), bound) > 0
    await recent.get(opener, clock.now() + timedelta(milliseconds=499), bound)
    assert (recent.reads, recent.ahead()) == (1, None)
    await recent.get(opener, clock.now() + timedelta(seconds=1), bound)
    assert recent.reads == 2
    await recent.get(opener, clock.now() + timedelta(seconds=1), timedelta(0))
    assert recent.reads == 3


async def test_past_half_its_bound_a_value_is_read_again_in_the_background(
    session: AsyncSession, world: World
) -> None:
    opened: list[int] = []

    @asynccontextmanager
    async def opener() -> AsyncIterator[AsyncSession]:
        opened.append(1)
        async with session.begin_nested():
            yield session

    recent: Recent[int] = Recent(count_units)
    bound = timedelta(seconds=1)
    units = await recent.get(opener, NOW, bound)
    halfway = NOW + bound / 2
    await create_unit(
        session,
        code="211104004009",
        name="新建社区",
        kind=UnitKind.COMMUNITY,
        parent=world.tree.street,
        now=NOW,
    )
    # Answered at once from the current value; the re-read runs beside it, once.
    assert await recent.get(opener, halfway, bound) == units
    ahead = recent.ahead()
    assert ahead is not None
    assert await recent.get(opener, halfway, bound) == units
    assert recent.ahead() is ahead
    await ahead
    assert (recent.reads, recent.read_at, len(opened)) == (2, halfway, 2)
    assert await recent.get(opener, halfway, bound) == units + 1


async def test_a_stamped_value_is_read_again_only_when_its_stamp_moved(
    session: AsyncSession, world: World
) -> None:
    @asynccontextmanager
    async def opener() -> AsyncIterator[AsyncSession]:
        async with session.begin_nested():
            yield session

    recent: Recent[int] = Recent(count_units, org_version)
    none = timedelta(0)
    units = await recent.get(opener, NOW, none)
    assert await recent.get(opener, NOW, none) == units
    assert (recent.reads, recent.loads) == (2, 1)
    await create_unit(
        session,
        code="211104004009",
        name="新建社区",
        kind=UnitKind.COMMUNITY,
        parent=world.tree.street,
        now=NOW,
    )
    assert await recent.get(opener, NOW, none) == units + 1
    assert (recent.reads, recent.loads) == (3, 2)


async def count_units(session: AsyncSession) -> int:
    directory = await read_directory(session)
    return len(directory.units)


# --- group commit with real commits ---------------------------------------------------------------


Stage = Committed


@pytest.fixture(params=BACKENDS)
async def stage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stage]:
    async with committed_world(request.param, "cases_intake", tmp_path) as committed:
        yield committed


@pytest.fixture
def backend_of_stage(stage: Stage) -> str:
    """The backend the stage runs on."""
    return stage.db.backend


async def drafts(stage: Stage, bodies: list[tuple[CaseCreate, str | None]]) -> list[service.Draft]:
    """Drafts of citizen reports, prepared the way the service prepares them."""
    prepared = []
    async with stage.db.session(write=False) as session:
        actor = await load_actor(session, stage.world.people.citizen.id)
        assert isinstance(actor, Actor)
        book = await rulebook(session, stage.settings)
        directory = await read_directory(session)

        async def locator(lon: float, lat: float, crs: object) -> object:
            return await locate(session, lon, lat)

        for body, key in bodies:
            prepared.append(
                await service.prepare(
                    None,
                    directory,
                    locator,  # type: ignore[arg-type]
                    book,
                    actor,
                    body,
                    now=NOW,
                    idempotency_key=key,
                )
            )
    return prepared


async def stored(stage: Stage) -> dict[str, int]:
    async with stage.db.session(write=False) as session:
        return {
            model.__tablename__: int(
                await session.scalar(select(func.count()).select_from(model)) or 0
            )
            for model in (Case, CaseEvent, CaseDeadline, IdempotencyKey)
        }


async def test_reports_arriving_together_are_written_in_one_transaction(stage: Stage) -> None:
    group = await drafts(
        stage, [(report_body(description=f"垃圾 {n}"), f"group-{n}") for n in range(12)]
    )
    writer = intake.GroupWriter()
    written = await asyncio.gather(*(writer.write(d, stage.db.run_write) for d in group))
    assert writer.groups == 1
    assert all(w is not None for w in written)
    assert await stored(stage) == {
        "case_record": 12,
        "case_event": 12,
        "case_deadline": 12,
        "case_idempotency": 12,
    }
    async with stage.db.session(write=False) as session:
        rows = (await session.execute(select(Case.id, Case.code, Case.description))).all()
        events = dict((await session.execute(select(CaseEvent.case_id, CaseEvent.id))).all())
    by_code = {code: (case_id, description) for case_id, code, description in rows}
    for draft, outcome in zip(group, written, strict=True):
        assert outcome is not None
        assert by_code[draft.case.code] == (outcome.case_id, draft.case.description)
        assert events[outcome.case_id] == outcome.event_id


async def test_a_repeated_key_inside_a_group_is_found_and_the_rest_are_written(
    stage: Stage,
) -> None:
    body = report_body(description="同一个报告")
    group = await drafts(
        stage,
        [
            (report_body(description="甲"), "k-a"),
            (body, "same"),
            (body, "same"),
            (report_body(description="乙"), None),
        ],
    )
    writer = intake.GroupWriter()
    written = await asyncio.gather(*(writer.write(d, stage.db.run_write) for d in group))
    assert [w is None for w in written] == [False, False, True, False]
    assert await stored(stage) == {
        "case_record": 3,
        "case_event": 3,
        "case_deadline": 3,
        "case_idempotency": 2,
    }


async def test_groups_are_capped_and_the_rest_wait_for_the_next_transaction(
    stage: Stage,
) -> None:
    group = await drafts(stage, [(report_body(description=f"{n}"), None) for n in range(5)])
    writer = intake.GroupWriter(max_group=2)
    written = await asyncio.gather(*(writer.write(d, stage.db.run_write) for d in group))
    assert writer.groups == 3
    assert len({w.case_id for w in written if w is not None}) == 5
    assert (await stored(stage))["case_record"] == 5


async def test_one_report_the_database_refuses_fails_alone_not_its_group(
    stage: Stage, backend_of_stage: str
) -> None:
    group = await drafts(stage, [(report_body(description=f"报告 {n}"), None) for n in range(4)])
    # PostgreSQL refuses a NUL character in text; SQLite stores it.
    group[2].case.description = "坏\x00的描述"
    writer = intake.GroupWriter()
    outcomes = await asyncio.gather(
        *(writer.write(d, stage.db.run_write) for d in group), return_exceptions=True
    )
    if backend_of_stage == "postgresql":
        assert [isinstance(o, DataError) for o in outcomes] == [False, False, True, False]
        assert (await stored(stage))["case_record"] == 3
    else:
        assert not any(isinstance(o, BaseException) for o in outcomes)
        assert (await stored(stage))["case_record"] == 4


async def test_a_burst_of_reports_with_photos_does_not_starve_the_writer(
    stage: Stage, backend_of_stage: str
) -> None:
    """Reports that read (photos) before they write must not hold the pool while they queue for
    the writer: more concurrent reports than pooled connections all succeed."""
    assert stage.settings.db_pool_size == 8
    app = create_app(stage.settings, database=stage.db)
    async with stage.db.session(write=True) as session:
        keys = [await photo(session, stage.settings, shade) for shade in range(20, 60, 2)]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as http:
        answers = await asyncio.gather(
            *(
                http.post(
                    URL,
                    json={
                        "category_kind": "event",
                        "category_code": "0102",
                        "description": f"垃圾 {n}",
                        "lon": IN_C1A[0],
                        "lat": IN_C1A[1],
                        "attachments": [key],
                    },
                )
                for n, key in enumerate(keys)
            )
        )
    assert [a.status_code for a in answers] == [201] * 20
    assert (await stored(stage))["case_record"] == 20


async def test_a_report_with_coordinates_only_gets_the_nearest_address(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    """Reverse geocoding names the place of a report that came without an address, through the
    API (from the gazetteer snapshot) and through the service (from the database) alike."""
    await create_gazetteer(session, world.tree)
    x, y = xingsheng_xy(12)
    lon, lat = lonlat(x, y)
    body = {
        "category_kind": "event",
        "category_code": "0102",
        "description": "垃圾",
        "lon": lon,
        "lat": lat,
    }
    by_api = await client.post(URL, json=body)
    assert by_api.status_code == 201, by_api.text
    assert by_api.json()["case"]["address"] == "兴盛路 12 号"
    given = await client.post(URL, json={**body, "address": "兴盛路北侧绿化带"})
    assert given.json()["case"]["address"] == "兴盛路北侧绿化带"
    actor = await world.actor(session, world.people.citizen)
    outcome = await service.report(
        session, actor, report_body(at=(lon, lat)), now=NOW, settings=settings
    )
    assert outcome.case.address == "兴盛路 12 号"


async def test_a_grid_worker_who_may_file_files_their_field_report_at_once(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    """Source grid_worker is filed directly when the reporter's roles allow filing for that
    place (an intake grant over it); other grid workers' reports wait for the command centre."""
    both = await create_user(session, "worker_intake", Role.GRID_WORKER, unit=world.tree.community)
    await assign_role(session, both, Role.INTAKE, now=NOW, unit=world.tree.street)
    await session.flush()
    body = {
        "category_kind": "event",
        "category_code": "0102",
        "description": "路边垃圾",
        "source": "grid_worker",
        "lon": IN_C1A[0],
        "lat": IN_C1A[1],
    }
    filed = await client.post(URL, json=body, headers=await bearer_headers(session, both))
    assert filed.status_code == 201, filed.text
    case = filed.json()["case"]
    assert case["state"] == "filed"
    assert [(e["action"], e["to_state"]) for e in case["events"]] == [("report", "filed")]
    plain = await client.post(
        URL, json=body, headers=await bearer_headers(session, world.people.grid_worker)
    )
    assert plain.json()["case"]["state"] == "reported"
    elsewhere = await client.post(
        URL,
        json={**body, "lon": IN_S2[0], "lat": IN_S2[1]},
        headers=await bearer_headers(session, both),
    )
    # Outside the street of the intake grant: reported as usual.
    assert elsewhere.json()["case"]["state"] == "reported"
    actor = await world.actor(session, both)
    outcome = await service.report(
        session, actor, report_body(source=Source.GRID_WORKER), now=NOW, settings=settings
    )
    assert outcome.case.state == "filed"
