"""The phone app's API: a report the device can later prove it made, nearby open reports for
"me too", "my reports", the reporter's rating and "not fixed", citizen accounts by mobile
number, and the public list without personal data."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories.cases import (
    IN_C1A,
    IN_C1A_NEARBY,
    PATH,
    World,
    act,
    create_world,
    photo,
)
from tests.factories.org import bearer_headers
from tests.web.support import page_token
from wenming.cases.models import Case, CaseDeadline, CaseEvent
from wenming.cases.schemas import TargetIn
from wenming.cases.workflow import Action, State
from wenming.core.clock import FrozenClock
from wenming.core.config import Settings
from wenming.geo.crs import wgs84_to_gcj02
from wenming.org.models import User
from wenming.phone.models import CaseRating, ReporterKey
from wenming.phone.service import digest

URL = "/api/v1/app"
SECRET = "s3cret-of-the-device-0123456789"
OTHER_SECRET = "another-device-secret-98765432"


def body(**fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "category_kind": "event",
        "category_code": "0102",
        "description": "路边有一堆垃圾",
        "lon": IN_C1A[0],
        "lat": IN_C1A[1],
        "reporter_secret": SECRET,
    }
    values.update(fields)
    return values


@pytest.fixture
async def world(session: AsyncSession) -> World:
    return await create_world(session)


async def count(session: AsyncSession, model: type[Any]) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def submit(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await client.post(f"{URL}/reports", json=body(**fields))
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def close(
    session: AsyncSession, world: World, code: str, settings: Settings, after: str
) -> Case:
    """Bring a reported case to 'closed' through the real actions."""
    case = await session.scalar(select(Case).where(Case.code == code))
    assert case is not None
    for action, who, fields in PATH[State.CLOSED]:
        values = dict(fields)
        if values.get("attachments") == "<after>":
            values["attachments"] = [after]
        if isinstance(values.get("target"), dict):
            values["target"] = TargetIn.model_validate(values["target"])
        case = await act(
            session, world, case, action, getattr(world.people, who), settings=settings, **values
        )
    await session.commit()
    return case


async def test_an_anonymous_report_keeps_only_the_digest_of_the_device_secret(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    receipt = await submit(client, reporter_phone="13900001111", anonymous=True)
    assert (receipt["state"], receipt["created"]) == ("reported", True)
    assert receipt["category"]["name_zh"] == "暴露垃圾"
    case = await session.scalar(select(Case).where(Case.code == receipt["code"]))
    assert case is not None and case.reporter_user_id is None and case.anonymous
    key = await session.get(ReporterKey, case.id)
    assert key is not None
    assert key.secret_digest == digest(SECRET) != SECRET


async def test_a_retried_submit_with_its_key_creates_one_case(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    headers = {"Idempotency-Key": "offline-queue-0001"}
    first = await client.post(f"{URL}/reports", json=body(), headers=headers)
    again = await client.post(f"{URL}/reports", json=body(), headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["code"] == again.json()["code"]
    assert again.json()["created"] is False
    assert await count(session, Case) == 1
    assert await count(session, ReporterKey) == 1


async def test_the_app_files_citizens_reports_only(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    response = await client.post(f"{URL}/reports", json=body(source="hotline_12345"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "source"
    assert await count(session, Case) == 0


async def test_a_malformed_secret_is_refused(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post(f"{URL}/reports", json=body(reporter_secret="short"))
    assert response.status_code == 422


async def test_nearby_lists_open_public_reports_of_the_category_within_its_radius(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    first = await submit(client)
    await submit(client, public=False, description="不公开的一处")
    lon, lat = IN_C1A_NEARBY
    response = await client.get(
        f"{URL}/nearby", params={"kind": "event", "code": "0102", "lon": lon, "lat": lat}
    )
    assert response.status_code == 200, response.text
    found = response.json()
    assert [(f["code"], f["distance_m"], f["state"]) for f in found] == [
        (first["code"], 20, "reported")
    ]
    assert "reporter_phone" not in found[0] and "reporter_name" not in found[0]
    other = await client.get(
        f"{URL}/nearby", params={"kind": "event", "code": "0501", "lon": lon, "lat": lat}
    )
    assert other.json() == []


async def test_nearby_takes_and_answers_gcj02_points(
    client: httpx.AsyncClient, world: World
) -> None:
    first = await submit(client)
    glon, glat = wgs84_to_gcj02(*IN_C1A_NEARBY)
    response = await client.get(
        f"{URL}/nearby",
        params={"kind": "event", "code": "0102", "lon": glon, "lat": glat, "crs": "gcj02"},
    )
    found = response.json()
    assert [(f["code"], f["distance_m"]) for f in found] == [(first["code"], 20)]
    expected = wgs84_to_gcj02(*IN_C1A)
    assert found[0]["lon"] == pytest.approx(expected[0], abs=1e-9)
    assert found[0]["lat"] == pytest.approx(expected[1], abs=1e-9)


async def test_nearby_names_an_unknown_category(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get(
        f"{URL}/nearby", params={"kind": "event", "code": "9999", "lon": 122.0, "lat": 41.0}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "category_code"


async def test_my_reports_shows_the_device_reports_and_hides_others_private_ones(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    mine = await submit(client, public=False)
    theirs = await submit(client, public=False, reporter_secret=OTHER_SECRET)
    public = await submit(client, reporter_secret=OTHER_SECRET)
    response = await client.post(
        f"{URL}/mine",
        json={
            "items": [
                {"code": mine["code"], "secret": SECRET},
                {"code": theirs["code"], "secret": SECRET},
                {"code": public["code"]},
                {"code": "ZZZZZZZZZZZZ"},
            ]
        },
    )
    assert response.status_code == 200, response.text
    items = response.json()
    assert [(i["code"], i["is_reporter"]) for i in items] == [
        (mine["code"], True),
        (public["code"], False),
    ]
    assert items[0]["description"] == "路边有一堆垃圾"
    assert items[1]["description"] == ""
    assert [s["action"] for s in items[0]["timeline"]] == ["report"]
    assert (items[0]["can_rate"], items[0]["can_reopen"]) == (False, False)


async def test_the_reporter_rates_a_closed_report_once(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    receipt = await submit(client)
    code = receipt["code"]
    early = await client.post(
        f"{URL}/reports/{code}/rating", json={"secret": SECRET, "rating": "satisfied"}
    )
    assert early.status_code == 409
    assert early.json()["state"] == "reported"
    await close(session, world, code, settings, await photo(session, settings))
    stranger = await client.post(
        f"{URL}/reports/{code}/rating", json={"secret": OTHER_SECRET, "rating": "dissatisfied"}
    )
    assert stranger.status_code == 404
    rated = await client.post(
        f"{URL}/reports/{code}/rating",
        json={"secret": SECRET, "rating": "basically_satisfied", "comment": "清理了，但慢"},
    )
    assert rated.status_code == 200, rated.text
    status = rated.json()
    assert (status["rating"], status["rating_comment"]) == ("basically_satisfied", "清理了，但慢")
    assert (status["can_rate"], status["can_reopen"]) == (False, True)
    again = await client.post(
        f"{URL}/reports/{code}/rating", json={"secret": SECRET, "rating": "satisfied"}
    )
    assert again.status_code == 409
    assert await count(session, CaseRating) == 1
    rating = await session.scalar(select(CaseRating))
    assert rating is not None and rating.by_user_id is None


async def test_the_reporter_says_not_fixed_and_the_case_is_reopened(
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    settings: Settings,
    clock: FrozenClock,
) -> None:
    code = (await submit(client))["code"]
    case = await close(session, world, code, settings, await photo(session, settings))
    responsible = case.responsible_department_id
    response = await client.post(
        f"{URL}/reports/{code}/not-fixed", json={"secret": SECRET, "note": "垃圾又堆起来了"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "dispatched"
    await session.refresh(case)
    assert (case.state, case.reopen_count, case.closed_at) == ("dispatched", 1, None)
    assert case.responsible_department_id == responsible
    event = await session.scalar(select(CaseEvent).order_by(CaseEvent.id.desc()).limit(1))
    assert event is not None
    assert (event.action, event.from_state, event.actor_label, event.note) == (
        "reopen",
        "closed",
        "reporter",
        "垃圾又堆起来了",
    )
    # Back with the unit on a new handling clock, started now.
    running = await session.scalar(
        select(CaseDeadline).where(
            CaseDeadline.case_id == case.id, CaseDeadline.finished_at.is_(None)
        )
    )
    assert running is not None and case.due_at is not None
    assert (running.step, running.started_at, running.due_at) == (
        "handle",
        clock.now(),
        case.due_at,
    )
    assert case.due_at > clock.now()
    assert json.loads(event.data) == {"due_at": case.due_at.isoformat(), "via": "reporter_key"}
    twice = await client.post(
        f"{URL}/reports/{code}/not-fixed", json={"secret": SECRET, "note": "还是没好"}
    )
    assert twice.status_code == 409


async def test_the_secret_proves_the_reporter_whoever_is_signed_in(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    code = (await submit(client))["code"]
    await close(session, world, code, settings, await photo(session, settings))
    someone = await bearer_headers(session, world.people.citizen)
    response = await client.post(
        f"{URL}/reports/{code}/not-fixed",
        json={"secret": SECRET, "note": "还是脏"},
        headers=someone,
    )
    assert response.status_code == 200, response.text
    event = await session.scalar(select(CaseEvent).order_by(CaseEvent.id.desc()).limit(1))
    assert event is not None
    assert (event.action, event.actor_user_id, event.actor_label) == ("reopen", None, "reporter")


async def test_not_fixed_after_the_window_is_refused(
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    settings: Settings,
    clock: FrozenClock,
) -> None:
    code = (await submit(client))["code"]
    await close(session, world, code, settings, await photo(session, settings))
    clock.advance(days=settings.reopen_window_days, minutes=1)
    response = await client.post(
        f"{URL}/reports/{code}/not-fixed", json={"secret": SECRET, "note": "没修好"}
    )
    assert response.status_code == 409
    assert "report the problem anew" in response.json()["detail"]
    case = await session.scalar(select(Case).where(Case.code == code))
    assert case is not None and case.state == "closed"


async def test_a_signed_in_reporter_reopens_through_the_workflow_action(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    headers = await bearer_headers(session, world.people.citizen)
    response = await client.post(f"{URL}/reports", json=body(reporter_secret=None), headers=headers)
    code = response.json()["code"]
    await close(session, world, code, settings, await photo(session, settings))
    listed = await client.post(f"{URL}/mine", json={"items": []}, headers=headers)
    assert [(i["code"], i["can_reopen"], i["can_rate"]) for i in listed.json()] == [
        (code, True, True)
    ]
    reopened = await client.post(
        f"{URL}/reports/{code}/not-fixed", json={"note": "没修好"}, headers=headers
    )
    assert reopened.status_code == 200, reopened.text
    event = await session.scalar(select(CaseEvent).order_by(CaseEvent.id.desc()).limit(1))
    assert event is not None
    assert (event.action, event.actor_user_id) == ("reopen", world.people.citizen.id)


async def test_a_citizen_opens_an_account_with_a_mobile_number_and_signs_in(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    token = await page_token(client)
    account = {"phone": "13912345678", "password": "long-enough-pass", "display_name": "小王"}
    refused = await client.post(f"{URL}/citizens", json=account)
    assert refused.status_code == 403
    created = await client.post(f"{URL}/citizens", json=account, headers={"X-CSRF-Token": token})
    assert created.status_code == 201, created.text
    assert created.json() == {"phone": "13912345678", "display_name": "小王"}
    user = await session.scalar(select(User).where(User.username == "13912345678"))
    assert user is not None and user.phone == "13912345678"
    me = await client.get(f"{URL}/me")
    assert me.json()["phone"] == "13912345678"
    taken = await client.post(f"{URL}/citizens", json=account, headers={"X-CSRF-Token": token})
    assert taken.status_code == 409
    assert taken.json()["field"] == "phone"
    client.cookies.delete("wm_session")
    wrong = await client.post(
        f"{URL}/session",
        json={"phone": "13912345678", "password": "not-the-password"},
        headers={"X-CSRF-Token": token},
    )
    assert wrong.status_code == 401
    signed = await client.post(
        f"{URL}/session",
        json={"phone": "13912345678", "password": "long-enough-pass"},
        headers={"X-CSRF-Token": token},
    )
    assert signed.status_code == 200, signed.text
    assert (await client.get(f"{URL}/me")).status_code == 200


async def test_a_mobile_number_must_look_like_one(client: httpx.AsyncClient, world: World) -> None:
    token = await page_token(client)
    response = await client.post(
        f"{URL}/citizens",
        json={"phone": "12345", "password": "long-enough-pass"},
        headers={"X-CSRF-Token": token},
    )
    assert response.status_code == 422


async def test_the_public_list_hides_closed_reports_and_personal_data(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    open_one = await submit(client, reporter_name="王小明", reporter_phone="13900001111")
    closed = await submit(client, category_code="0501", description="占道经营")
    await close(session, world, closed["code"], settings, await photo(session, settings))
    listed = (await client.get(f"{URL}/public")).json()
    assert [c["code"] for c in listed] == [open_one["code"]]
    assert "13900001111" not in str(listed) and "王小明" not in str(listed)
    both = (await client.get(f"{URL}/public", params={"include_closed": "true"})).json()
    assert {c["code"] for c in both} == {open_one["code"], closed["code"]}
    by_category = (
        await client.get(
            f"{URL}/public", params={"include_closed": "true", "category": "event:0501"}
        )
    ).json()
    assert [c["code"] for c in by_category] == [closed["code"]]
    by_state = (await client.get(f"{URL}/public", params={"state": "closed"})).json()
    assert [c["code"] for c in by_state] == [closed["code"]]
    bad = await client.get(f"{URL}/public", params={"category": "0102"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "category"
    unused = await client.get(f"{URL}/public", params={"bbox": "1,2,3"})
    assert unused.status_code == 422 and unused.json()["errors"][0]["field"] == "bbox"


async def test_the_public_list_hides_old_reports_unless_asked(
    client: httpx.AsyncClient, world: World, clock: FrozenClock
) -> None:
    old = await submit(client)
    clock.advance(days=120)
    assert (await client.get(f"{URL}/public")).json() == []
    shown = (await client.get(f"{URL}/public", params={"include_old": "true"})).json()
    assert [c["code"] for c in shown] == [old["code"]]


async def test_a_voided_report_is_shown_to_its_reporter_only(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    code = (await submit(client))["code"]
    case = await session.scalar(select(Case).where(Case.code == code))
    assert case is not None
    await act(
        session, world, case, Action.VOID, world.people.intake, settings=settings, note="误报"
    )
    await session.commit()
    stranger = await client.post(f"{URL}/mine", json={"items": [{"code": code}]})
    assert stranger.json() == []
    reporter = await client.post(f"{URL}/mine", json={"items": [{"code": code, "secret": SECRET}]})
    assert [(i["code"], i["state"]) for i in reporter.json()] == [(code, "voided")]


async def test_the_reporter_removes_their_name_and_number(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    code = (await submit(client, reporter_name="王小明", reporter_phone="13900001111"))["code"]
    listed = await client.post(f"{URL}/mine", json={"items": [{"code": code, "secret": SECRET}]})
    assert listed.json()[0]["has_contact"] is True
    stranger = await client.post(
        f"{URL}/reports/{code}/forget-contact", json={"secret": OTHER_SECRET}
    )
    assert stranger.status_code == 404
    response = await client.post(f"{URL}/reports/{code}/forget-contact", json={"secret": SECRET})
    assert response.status_code == 200, response.text
    assert response.json()["has_contact"] is False
    case = await session.scalar(select(Case).where(Case.code == code))
    assert case is not None
    await session.refresh(case)
    assert (case.reporter_name, case.reporter_phone, case.anonymous) == (None, None, True)
