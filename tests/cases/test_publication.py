"""Photo publication: only the command centre of the case's territory approves photos for the
public; readers who may not get 403, everyone else 404; only published photos are public."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.factories.cases import World, create_world, photo, report
from tests.factories.org import bearer_headers
from wenming.cases.models import Case, CaseAttachment
from wenming.cases.public import public_case
from wenming.cases.publication import published_keys
from wenming.core.config import Settings


@pytest.fixture
async def world(session: AsyncSession) -> World:
    return await create_world(session)


async def reported_with_photo(
    session: AsyncSession, world: World, settings: Settings
) -> tuple[Case, str]:
    key = await photo(session, settings)
    case = await report(session, world, settings=settings, attachments=[key])
    return case, key


def url(case: Case, key: str, action: str = "publish") -> str:
    return f"/api/v1/cases/{case.code}/photos/{key}/{action}"


async def test_intake_publishes_and_withdraws_a_photo(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    case, key = await reported_with_photo(session, world, settings)
    headers = await bearer_headers(session, world.people.intake)
    response = await client.post(url(case, key), headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "key": key,
        "purpose": "report",
        "published": True,
        "published_at": "2026-11-27T08:00:00Z",
    }
    link = await session.scalar(select(CaseAttachment).where(CaseAttachment.case_id == case.id))
    assert link is not None
    assert (link.published_at, link.published_by_id) == (NOW, world.people.intake.id)
    assert await published_keys(session, case) == {key}
    seen = await public_case(session, case.code, settings=settings)
    assert seen is not None and [p.key for p in seen.photos] == [key]

    response = await client.post(url(case, key, "unpublish"), headers=headers)
    assert response.status_code == 200
    assert response.json()["published"] is False
    assert await published_keys(session, case) == set()
    seen = await public_case(session, case.code, settings=settings)
    assert seen is not None and seen.photos == ()


async def test_the_dispatcher_may_publish_too_and_publishing_twice_keeps_the_first_approval(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    case, key = await reported_with_photo(session, world, settings)
    dispatcher = await bearer_headers(session, world.people.dispatcher)
    intake = await bearer_headers(session, world.people.intake)
    assert (await client.post(url(case, key), headers=dispatcher)).status_code == 200
    assert (await client.post(url(case, key), headers=intake)).status_code == 200
    link = await session.scalar(select(CaseAttachment).where(CaseAttachment.case_id == case.id))
    assert link is not None and link.published_by_id == world.people.dispatcher.id


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("citizen", 403),  # the reporter reads the case but does not approve photos
        ("street_admin", 403),  # reads the territory's cases, takes no action
        ("district_admin", 403),
        ("other_citizen", 404),
        ("intake_elsewhere", 404),
        ("handler", 404),  # not responsible (yet): cannot read it
    ],
)
async def test_others_may_not_publish(
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    settings: Settings,
    who: str,
    status: int,
) -> None:
    case, key = await reported_with_photo(session, world, settings)
    headers = await bearer_headers(session, getattr(world.people, who))
    response = await client.post(url(case, key), headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert await published_keys(session, case) == set()


async def test_unknown_photos_and_anonymous_callers(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    case, key = await reported_with_photo(session, world, settings)
    other = await photo(session, settings, shade=20)
    headers = await bearer_headers(session, world.people.intake)
    response = await client.post(url(case, other), headers=headers)
    assert response.status_code == 404
    assert response.json()["detail"] == f"Case {case.code} has no photo {other}."
    assert (await client.post(url(case, key))).status_code == 401
    assert (await client.post(url(case, "short"), headers=headers)).status_code == 422
