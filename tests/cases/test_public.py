"""The public view of cases: which cases the public sees, which filters narrow them, and that no
personal data, internal note or unapproved photo ever reaches it."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.factories.cases import (
    IN_C1A,
    IN_S2,
    STREET_LIGHT,
    World,
    act,
    case_in,
    create_world,
    photo,
    report,
)
from wenming.cases.models import Case, CaseAttachment
from wenming.cases.public import (
    PublicFilter,
    Status,
    count_public_cases,
    public_case,
    public_cases,
    scrub,
)
from wenming.cases.vocab import Area, Kind, Purpose
from wenming.cases.workflow import Action, State
from wenming.core.config import Settings

ALL = PublicFilter(include_closed=True, include_old=True)


@pytest.fixture
async def world(session: AsyncSession) -> World:
    return await create_world(session)


async def codes(session: AsyncSession, settings: Settings, wanted: PublicFilter) -> set[str]:
    return {c.code for c in await public_cases(session, wanted, now=NOW, settings=settings)}


async def test_a_public_case_shows_what_the_public_may_see_and_nothing_personal(
    session: AsyncSession, world: World, settings: Settings
) -> None:
    case = await report(
        session,
        world,
        settings=settings,
        reporter_name="王小明",
        reporter_phone="13900001111",
        description="垃圾堆在路口，联系我 139 0000 1111",
    )
    seen = await public_case(session, case.code, settings=settings)
    assert seen is not None
    assert (seen.code, seen.state, seen.status) == (case.code, State.REPORTED, Status.OPEN)
    assert (seen.category.kind, seen.category.code, seen.category.name_zh) == (
        Kind.EVENT,
        "0102",
        "暴露垃圾",
    )
    assert (seen.category.area, seen.category.area_zh, seen.category.icon) == (
        Area.SANITATION,
        "环境卫生",
        seen.category.icon,
    )
    assert seen.description == "垃圾堆在路口，联系我 139****1111"
    assert seen.address == "大洼街道测试一社区"
    assert (seen.lon, seen.lat) == pytest.approx(IN_C1A)
    assert seen.requested_at == NOW and seen.updated_at == NOW
    assert seen.expected_at == case.due_at
    assert seen.agency is None
    assert seen.photos == ()
    assert [(e.action, e.state, e.note) for e in seen.timeline] == [("report", State.REPORTED, "")]
    text = repr(dataclasses.asdict(seen))
    for secret in ("王小明", "13900001111", "citizen", "0000 1111"):
        assert secret not in text


async def test_only_public_categories_and_public_cases_are_listed(
    session: AsyncSession, world: World, settings: Settings
) -> None:
    visible = await report(session, world, settings=settings)
    private = await report(session, world, settings=settings, public=False)
    fire = await report(
        session, world, settings=settings, by=world.people.intake, category=("event", "0406")
    )
    voided = await report(session, world, settings=settings)
    await act(session, world, voided, Action.VOID, world.people.intake, settings=settings, note="x")
    assert await codes(session, settings, ALL) == {visible.code}
    for hidden in (private, fire, voided):
        assert await public_case(session, hidden.code, settings=settings) is None


async def test_closed_and_old_reports_are_hidden_unless_asked_for(
    session: AsyncSession, world: World, settings: Settings
) -> None:
    after = await photo(session, settings)
    closed = await case_in(session, world, State.CLOSED, settings=settings, after_photo=after)
    fresh = await report(session, world, settings=settings)
    old = await report(session, world, settings=settings, now=NOW - timedelta(days=91))
    assert await codes(session, settings, PublicFilter()) == {fresh.code}
    assert await codes(session, settings, PublicFilter(include_closed=True)) == {
        fresh.code,
        closed.code,
    }
    assert await codes(session, settings, PublicFilter(include_old=True)) == {
        fresh.code,
        old.code,
    }
    assert await codes(session, settings, PublicFilter(include_old=True, old_after_days=100)) == {
        fresh.code,
        old.code,
    }
    assert await codes(session, settings, PublicFilter(old_after_days=100)) == {
        fresh.code,
        old.code,
    }
    assert await count_public_cases(session, ALL, now=NOW) == 3
    seen = await public_case(session, closed.code, settings=settings)
    assert seen is not None
    assert (seen.state, seen.status, seen.expected_at) == (State.CLOSED, Status.CLOSED, None)
    assert seen.agency == "城管局"


async def test_filters_narrow_by_category_state_area_dates_and_box(
    session: AsyncSession, world: World, settings: Settings
) -> None:
    garbage = await report(session, world, settings=settings)
    light = await report(
        session, world, settings=settings, category=STREET_LIGHT, now=NOW - timedelta(days=3)
    )
    far = await report(session, world, settings=settings, at=IN_S2)
    filed = await act(session, world, far, Action.FILE, world.people.intake, settings=settings)

    def f(**fields: object) -> PublicFilter:
        return dataclasses.replace(ALL, **fields)  # type: ignore[arg-type]

    assert await codes(session, settings, f(categories=((Kind.COMPONENT, "0113"),))) == {light.code}
    assert await codes(session, settings, f(states=(State.FILED,))) == {filed.code}
    assert await codes(session, settings, f(areas=(Area.INFRASTRUCTURE,))) == {light.code}
    assert await codes(session, settings, f(since=NOW - timedelta(days=1))) == {
        garbage.code,
        far.code,
    }
    assert await codes(session, settings, f(until=NOW - timedelta(days=1))) == {light.code}
    lon, lat = IN_C1A
    box = (lon - 0.001, lat - 0.001, lon + 0.001, lat + 0.001)
    assert await codes(session, settings, f(bbox=box)) == {garbage.code, light.code}
    assert await codes(session, settings, f(codes=(far.code, "NOSUCHCODE"))) == {far.code}
    assert await codes(session, settings, f(statuses=(Status.CLOSED,))) == set()
    assert await codes(session, settings, f(statuses=(Status.OPEN,))) == {
        garbage.code,
        light.code,
        far.code,
    }
    page_one = await public_cases(session, ALL, now=NOW, settings=settings, page=1, page_size=2)
    page_two = await public_cases(session, ALL, now=NOW, settings=settings, page=2, page_size=2)
    assert [c.code for c in page_one] == [far.code, garbage.code]
    assert [c.code for c in page_two] == [light.code]


async def test_timeline_shows_public_events_with_public_notes_and_published_photos_only(
    session: AsyncSession, world: World, settings: Settings
) -> None:
    seen_by_reporter = await photo(session, settings, shade=10)
    after = await photo(session, settings, shade=200)
    case = await report(session, world, settings=settings, attachments=[seen_by_reporter])
    p = world.people
    await act(session, world, case, Action.FILE, p.intake, settings=settings)
    await act(
        session,
        world,
        case,
        Action.DISPATCH,
        p.dispatcher,
        settings=settings,
        note="请王科长 13812345678 今天处理",
        target={"department_code": "211104-CGJ"},
    )
    await act(session, world, case, Action.ACCEPT, p.handler, settings=settings)
    await act(
        session,
        world,
        case,
        Action.REQUEST_EXTENSION,
        p.handler,
        settings=settings,
        note="内部：人手不足",
        until=NOW + timedelta(days=30),
    )
    await act(
        session, world, case, Action.DENY_EXTENSION, p.dispatcher, settings=settings, note="不批"
    )
    await act(
        session,
        world,
        case,
        Action.HANDLE,
        p.handler,
        settings=settings,
        note="已清理完毕",
        attachments=[after],
    )
    seen = await public_case(session, case.code, settings=settings)
    assert seen is not None
    assert [(e.action, e.state, e.note) for e in seen.timeline] == [
        ("report", State.REPORTED, ""),
        ("file", State.FILED, ""),
        ("dispatch", State.DISPATCHED, ""),
        ("accept", State.ACCEPTED, ""),
        ("handle", State.HANDLED, "已清理完毕"),
    ]
    assert seen.status_notes == "已清理完毕"
    assert seen.agency == "城管局"
    assert seen.photos == ()
    await session.execute(
        update(CaseAttachment)
        .where(CaseAttachment.case_id == case.id, CaseAttachment.purpose == Purpose.AFTER.value)
        .values(published_at=NOW)
    )
    seen = await public_case(session, case.code, settings=settings)
    assert seen is not None
    assert [(p.key, p.purpose) for p in seen.photos] == [(after, Purpose.AFTER)]
    assert seen.photos[0].url == f"/api/v1/attachments/{after}"
    assert [len(e.photos) for e in seen.timeline] == [0, 0, 0, 0, 1]
    assert seen_by_reporter not in repr(dataclasses.asdict(seen))


async def test_address_falls_back_to_the_place_names_and_the_case_address_wins(
    session: AsyncSession, world: World, settings: Settings
) -> None:
    case = await report(session, world, settings=settings, address="  新华路12号 ")
    code = case.code
    seen = await public_case(session, code, settings=settings)
    assert seen is not None and seen.address == "新华路12号"
    await session.execute(update(Case).where(Case.id == case.id).values(address=""))
    session.expire_all()
    seen = await public_case(session, code, settings=settings)
    assert seen is not None and seen.address == "大洼街道测试一社区"


def test_scrub_masks_phone_like_numbers_only() -> None:
    assert scrub("电话13812345678") == "电话138****5678"
    assert scrub("+86 138-1234-5678 找我") == "861******5678 找我"
    assert scrub("12号楼3单元") == "12号楼3单元"
    assert scrub("2026年") == "2026年"
