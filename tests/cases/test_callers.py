"""A hotline caller's earlier cases: the number's forms, the command centre's territory only,
followed cases, newest first, and the API's answers and refusals."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.factories.cases import IN_C1A, IN_S2, VENDING, World, create_world, report
from tests.factories.org import create_user
from tests.web.support import sign_in
from wenming.cases import callers, service
from wenming.cases.callers import normalise_phone, phone_variants
from wenming.cases.schemas import SupportIn
from wenming.cases.vocab import Source
from wenming.cases.workflow import State
from wenming.core.config import Settings
from wenming.core.errors import InvalidInput
from wenming.org.models import User
from wenming.org.roles import Role

CALLER = "13900001111"


@pytest.fixture
async def world(session: AsyncSession) -> World:
    return await create_world(session)


async def hotline(
    session: AsyncSession,
    world: World,
    settings: Settings,
    *,
    phone: str = CALLER,
    hours_ago: int = 0,
    by: User | None = None,
    **fields: object,
) -> str:
    """The code of a hotline case entered by an intake clerk (the district's unless told
    otherwise) for a caller."""
    case = await report(
        session,
        world,
        by=by or world.people.intake,
        settings=settings,
        source=Source.HOTLINE,
        reporter_phone=phone,
        reporter_name="王小明",
        now=NOW - timedelta(hours=hours_ago),
        **fields,
    )
    return case.code


def test_a_number_is_stored_without_separators() -> None:
    assert normalise_phone(" 139-0000 1111 ") == "13900001111"
    assert normalise_phone("(0427) 123.4567") == "04271234567"
    assert normalise_phone("+86 139 0000 1111") == "+8613900001111"
    for bad in ("", "1234", "139000011112222333", "13900001111x", "++8613900001111"):
        with pytest.raises(InvalidInput) as refused:
            normalise_phone(bad)
        assert refused.value.field == "phone"


def test_a_mainland_mobile_is_looked_up_with_and_without_86() -> None:
    assert phone_variants("13900001111") == ["13900001111", "+8613900001111"]
    assert phone_variants("+8613900001111") == ["+8613900001111", "13900001111"]
    assert phone_variants("04271234567") == ["04271234567"]
    assert phone_variants("+4930123456") == ["+4930123456"]


async def test_the_territorys_cases_of_the_number_newest_first(
    session: AsyncSession, world: World, settings: Settings
) -> None:
    oldest = await hotline(session, world, settings, hours_ago=5)
    plus86 = await hotline(session, world, settings, phone="+8613900001111", hours_ago=3)
    across = await hotline(session, world, settings, at=IN_S2, hours_ago=1, category=VENDING)
    await hotline(session, world, settings, phone="13900002222")
    # Another district's clerk took a call from the same number there.
    elsewhere = await hotline(
        session,
        world,
        settings,
        by=world.people.intake_elsewhere,
        lon=None,
        lat=None,
        unit_code=world.tree.other_street.code,
        address="测试街道 幸福路 3 号",
    )
    intake = await world.actor(session, world.people.intake)

    history = await callers.earlier_cases(session, intake, "139 0000 1111", settings=settings)

    assert history.phone == CALLER
    assert [case.code for case in history.cases] == [across, plus86, oldest]
    assert history.more is False
    assert history.open_count == 3
    first = history.cases[0]
    assert (first.state, first.category.code, first.reporter_name, first.reported) == (
        State.REPORTED,
        "0501",
        "王小明",
        True,
    )
    assert first.created_at == NOW - timedelta(hours=1)

    other = await world.actor(session, world.people.intake_elsewhere)
    found = await callers.earlier_cases(session, other, CALLER, settings=settings)
    assert [case.code for case in found.cases] == [elsewhere]


async def test_a_street_dispatcher_sees_the_streets_cases_only(
    session: AsyncSession, world: World, settings: Settings
) -> None:
    in_s1 = await hotline(session, world, settings, at=IN_C1A, hours_ago=2)
    await hotline(session, world, settings, at=IN_S2, hours_ago=1)
    street = await create_user(session, "dispatcher_s1", Role.DISPATCHER, unit=world.tree.street)
    actor = await world.actor(session, street)

    history = await callers.earlier_cases(session, actor, CALLER, settings=settings)

    assert [case.code for case in history.cases] == [in_s1]


async def test_people_outside_the_command_centre_get_nothing(
    session: AsyncSession, world: World, settings: Settings
) -> None:
    """Admins and handlers read the cases but see reporters masked: the number must not reveal
    whose case it is."""
    await hotline(session, world, settings)
    for person in (world.people.district_admin, world.people.handler, world.people.grid_worker):
        actor = await world.actor(session, person)
        history = await callers.earlier_cases(session, actor, CALLER, settings=settings)
        assert history.cases == [], person.username


async def test_a_case_the_caller_follows_is_listed_as_followed(
    session: AsyncSession, world: World, settings: Settings
) -> None:
    code = await hotline(session, world, settings, phone="13900003333", hours_ago=2)
    neighbour = await world.actor(session, world.people.other_citizen)
    await service.support(
        session, neighbour, code, SupportIn(name="李四", phone=CALLER), now=NOW - timedelta(hours=1)
    )
    intake = await world.actor(session, world.people.intake)

    history = await callers.earlier_cases(session, intake, CALLER, settings=settings)

    assert [(case.code, case.reported) for case in history.cases] == [(code, False)]


async def test_the_list_stops_at_the_limit_and_says_there_is_more(
    session: AsyncSession, world: World, settings: Settings
) -> None:
    codes = [await hotline(session, world, settings, hours_ago=hours) for hours in range(4)]
    intake = await world.actor(session, world.people.intake)

    history = await callers.earlier_cases(session, intake, CALLER, settings=settings, limit=3)

    assert [case.code for case in history.cases] == codes[:3]
    assert history.more is True


async def test_the_api_answers_the_command_centre(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    code = await hotline(session, world, settings)
    await sign_in(client, session, world.people.dispatcher)

    answer = await client.get("/api/v1/cases/callers/139-0000-1111")

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["phone"] == CALLER
    assert body["open_count"] == 1
    assert body["more"] is False
    [case] = body["cases"]
    assert case["code"] == code
    assert case["state"] == "reported"
    assert case["open"] is True
    assert case["reporter_name"] == "王小明"
    assert case["reported"] is True
    assert (case["category"]["kind"], case["category"]["code"]) == ("event", "0102")


async def test_the_api_refuses_others_and_bad_numbers(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    await hotline(session, world, settings)
    assert (await client.get(f"/api/v1/cases/callers/{CALLER}")).status_code == 401
    await sign_in(client, session, world.people.district_admin)
    refused = await client.get(f"/api/v1/cases/callers/{CALLER}")
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        "A caller's earlier cases are shown to intake clerks and dispatchers only."
    )
    client.cookies.clear()
    await sign_in(client, session, world.people.intake)
    bad = await client.get("/api/v1/cases/callers/12ab")
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["errors"] == [
        {"field": "phone", "message": "The phone number '12ab': " + callers.PHONE_HINT}
    ]
