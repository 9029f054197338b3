"""Case pages: the queue and its filters, one case with exactly the viewer's action forms, actions
through those forms (refusals shown next to the form, never a 500), dispatch overrides, photo
uploads, masking, the overdue board and the staff intake form."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from html import unescape

import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.factories.cases import (
    IN_C1A,
    IN_C1A_NEARBY,
    IN_S2,
    VENDING,
    World,
    act,
    case_in,
    create_world,
    photo,
    report,
)
from tests.web.support import HTML, by_testid, csrf_from, sign_in
from wenming.cases import sweep
from wenming.cases.models import Case, CaseAttachment, CaseEvent
from wenming.cases.vocab import Source, Urgency
from wenming.cases.workflow import Action, State
from wenming.core.config import Settings
from wenming.org.models import User
from wenming.web import cases as case_pages

ROW = re.compile(r'data-testid="case-row" data-code="([A-Z0-9]+)"')
ACTION_FORM = re.compile(r'<form[^>]*data-testid="action-([a-z_]+)"')


@pytest.fixture
async def world(session: AsyncSession) -> World:
    return await create_world(session)


async def get_page(client: httpx.AsyncClient, path: str, status: int = 200) -> str:
    """A page's HTML, checking its status."""
    response = await client.get(path, headers=HTML)
    assert response.status_code == status, (path, response.status_code, response.text[:500])
    return response.text


async def as_user(client: httpx.AsyncClient, session: AsyncSession, user: User) -> None:
    """Sign the client in as someone else."""
    client.cookies.clear()
    await sign_in(client, session, user)


def rows(html: str) -> list[str]:
    """The case codes of a queue page, in order."""
    return ROW.findall(html)


def action_forms(html: str) -> list[str]:
    """The actions the case page offers forms for, in order."""
    return ACTION_FORM.findall(html)


def jpeg(shade: int = 120) -> bytes:
    """A small JPEG upload."""
    buffer = io.BytesIO()
    Image.new("RGB", (80, 60), (shade, 90, 40)).save(buffer, "JPEG")
    return buffer.getvalue()


async def post_action(
    client: httpx.AsyncClient,
    code: str,
    action: str,
    data: dict[str, str] | None = None,
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None,
) -> httpx.Response:
    """Submit one action form of a case page the way a browser does (with the page's token)."""
    html = await get_page(client, f"/cases/{code}")
    fields = {"csrf_token": csrf_from(html), **(data or {})}
    return await client.post(
        f"/cases/{code}/actions/{action}", data=fields, files=files, headers=HTML
    )


async def state_of(session: AsyncSession, code: str) -> str:
    """The case's state as stored."""
    case = await session.scalar(select(Case).where(Case.code == code))
    assert case is not None
    await session.refresh(case)
    return case.state


# --- the queue ----------------------------------------------------------------------------------


async def test_the_queue_lists_what_the_person_may_see_and_filters_it(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    garbage = await report(session, world, settings=settings)
    vending = await report(
        session,
        world,
        by=world.people.intake,
        settings=settings,
        category=VENDING,
        source=Source.HOTLINE,
        urgency=Urgency.URGENT,
        description="早市占道经营",
    )
    across = await report(session, world, settings=settings, at=IN_S2)
    await act(session, world, vending, Action.FILE, world.people.intake, settings=settings)
    await as_user(client, session, world.people.intake)

    everything = await get_page(client, "/cases")
    assert by_testid(everything, "queue-heading") == "案件"
    assert rows(everything) == [across.code, vending.code, garbage.code]
    assert by_testid(everything, "queue-range") == "第 1–3 条，共 3 条"

    async def codes(query: str) -> list[str]:
        return rows(await get_page(client, f"/cases?{query}"))

    assert await codes("state=filed") == [vending.code]
    assert await codes("state=open") == [across.code, vending.code, garbage.code]
    assert await codes("category=event-0501") == [vending.code]
    assert await codes("category=component-0501") == []
    assert await codes("area=sanitation") == [across.code, garbage.code]
    assert await codes("street=211104005000") == [across.code]
    assert await codes("source=hotline_12345") == [vending.code]
    assert await codes("urgency=urgent") == [vending.code]
    assert await codes("overdue=1") == []
    assert await codes("overdue=0") == [across.code, vending.code, garbage.code]
    assert await codes(f"q={garbage.code}") == [garbage.code]
    assert await codes("q=早市") == [vending.code]
    # What the GET form sends for untouched fields, and values that name nothing, filter nothing.
    assert await codes("state=&category=&area=&street=&source=&urgency=&overdue=&q=") == [
        across.code,
        vending.code,
        garbage.code,
    ]
    assert await codes("state=lost&area=moon&category=x-1") == [
        across.code,
        vending.code,
        garbage.code,
    ]
    empty = await get_page(client, "/cases?urgency=emergency")
    assert by_testid(empty, "queue-empty") == "没有符合筛选条件的案件。"
    urgent_row = (await get_page(client, "/cases?urgency=urgent")).split('data-testid="case-row"')[
        1
    ]
    assert ">紧急<" in urgent_row
    assert 'data-testid="state">已立案<' in urgent_row


async def test_the_queue_pages_through_many_cases(
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(case_pages, "PAGE_SIZE", 2)
    made = [(await report(session, world, settings=settings)).code for _ in range(3)]
    await as_user(client, session, world.people.dispatcher)
    first = await get_page(client, "/cases?state=reported")
    assert rows(first) == [made[2], made[1]]
    assert 'href="/cases?state=reported&amp;page=2" rel="next"' in first
    second = await get_page(client, "/cases?state=reported&page=2")
    assert rows(second) == [made[0]]
    assert by_testid(second, "queue-range") == "第 3–3 条，共 3 条"
    assert (await client.get("/cases?page=0", headers=HTML)).status_code == 422


async def test_handlers_see_their_own_units_tasks(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    ours = await case_in(session, world, State.DISPATCHED, settings=settings)
    await report(session, world, settings=settings)  # reported: no unit is responsible yet
    await as_user(client, session, world.people.handler)
    mine = await get_page(client, "/cases?mine=1")
    assert by_testid(mine, "queue-heading") == "本单位任务"
    assert rows(mine) == [ours.code]
    assert 'href="/cases?mine=1" aria-current="page"' in mine
    assert rows(await get_page(client, "/cases")) == [ours.code]
    await as_user(client, session, world.people.handler_sibling)
    assert rows(await get_page(client, "/cases?mine=1")) == []
    assert (await client.get(f"/cases/{ours.code}", headers=HTML)).status_code == 404


async def test_signed_out_visitors_are_sent_to_sign_in(client: httpx.AsyncClient) -> None:
    response = await client.get("/cases?mine=1", headers=HTML)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/cases%3Fmine%3D1"


# --- one case and its action forms -------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "who", "forms"),
    [
        (State.REPORTED, "intake", ["file", "reject", "void", "merge", "send_to_verify"]),
        (State.REPORTED, "dispatcher", ["send_to_verify", "suspend"]),
        (State.REPORTED, "grid_worker", []),
        (State.FILED, "dispatcher", ["dispatch", "suspend"]),
        (State.FILED, "intake", ["void"]),
        (
            State.DISPATCHED,
            "handler",
            ["accept", "return", "request_extension", "request_suspension"],
        ),
        (State.DISPATCHED, "grid_worker", []),
        (State.HANDLED, "grid_worker", ["verify_pass", "verify_fail"]),
        (State.HANDLED, "intake", ["verify_pass", "verify_fail"]),
        (State.HANDLED, "handler", []),
        (State.VERIFIED, "intake", ["close"]),
        (State.CLOSED, "intake", ["reopen"]),
    ],
)
async def test_the_case_page_offers_exactly_the_actions_the_person_may_take(
    state: State,
    who: str,
    forms: list[str],
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    settings: Settings,
) -> None:
    after = (
        await photo(session, settings)
        if state in (State.HANDLED, State.VERIFIED, State.CLOSED)
        else None
    )
    case = await case_in(session, world, state, settings=settings, after_photo=after)
    await as_user(client, session, getattr(world.people, who))
    html = await get_page(client, f"/cases/{case.code}")
    assert action_forms(html) == forms
    api = (await client.get(f"/api/v1/cases/{case.code}")).json()
    assert sorted(api["allowed_actions"]) == sorted(forms)
    if not forms:
        assert by_testid(html, "no-actions") == "您目前无需对此案件操作。"
    assert by_testid(html, "case-code") == case.code


async def test_the_case_page_shows_summary_timeline_map_and_photos(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    after = await photo(session, settings, shade=40)
    case = await case_in(session, world, State.HANDLED, settings=settings, after_photo=after)
    await as_user(client, session, world.people.grid_worker)
    html = await get_page(client, f"/cases/{case.code}")
    assert by_testid(html, "case-heading") == "暴露垃圾"
    assert by_testid(html, "state") == "已处置"
    assert by_testid(html, "case-description") == "路边有一堆垃圾"
    assert by_testid(html, "case-responsible") == "城管局"
    events = re.findall(r'<strong class="case-event-label">([^<]+)</strong>', html)
    assert events == ["已上报", "已立案", "已派遣", "已接收", "已处置反馈"]
    assert "派往：城管局" in html
    assert html.count('data-testid="photo-after"') == 1
    assert 'data-testid="before-after"' not in html  # no photo of the state before
    lon, lat = IN_C1A
    assert f'data-lon="{round(lon, 7)}" data-lat="{round(lat, 7)}"' in html
    assert 'data-tiles=""' in html
    assert '<script src="/static/vendor/leaflet/leaflet.js?v=' in html
    assert " style=" not in html and "<script>" not in html


async def test_an_action_through_its_form_moves_the_case(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    case = await report(session, world, settings=settings)
    await as_user(client, session, world.people.intake)
    response = await post_action(
        client, case.code, "file", {"note": "属实，予以立案", "version": "1"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/cases/{case.code}?done=file"
    html = await get_page(client, response.headers["location"])
    assert by_testid(html, "case-notice") == "“立案”已完成。"
    assert by_testid(html, "state") == "已立案"
    assert "属实，予以立案" in html
    assert action_forms(html) == ["void"]
    assert await state_of(session, case.code) == State.FILED.value


async def test_a_refused_action_is_explained_next_to_its_form_and_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    case = await report(session, world, settings=settings)
    await as_user(client, session, world.people.dispatcher)
    refused = await post_action(client, case.code, "dispatch", {"version": "1"})
    assert refused.status_code == 409
    assert by_testid(refused.text, "action-error") == (
        "案件处于“已上报”状态，无法进行此操作。您可以：派网格员现场核实、挂账。"
    )
    assert action_forms(refused.text) == ["send_to_verify", "suspend"]
    await as_user(client, session, world.people.intake)
    no_reason = await post_action(client, case.code, "reject", {"note": " ", "version": "1"})
    assert no_reason.status_code == 422
    form = no_reason.text.split('data-testid="action-reject"', 1)[1].split("</form>", 1)[0]
    assert by_testid(form, "action-error") == "请说明理由：此操作需要填写说明（最多 2000 字）。"
    stale = await post_action(client, case.code, "file", {"version": "7"})
    assert stale.status_code == 409
    assert by_testid(stale.text, "action-error") == "其他人刚刚处理了此案件。请刷新页面后重试。"
    too_long = await post_action(client, case.code, "void", {"note": "长" * 2001})
    assert too_long.status_code == 422
    assert await state_of(session, case.code) == State.REPORTED.value
    events = await session.scalar(select(func.count()).select_from(CaseEvent))
    assert events == 1


async def test_unknown_actions_and_codes_are_error_pages_not_500(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    case = await report(session, world, settings=settings)
    await as_user(client, session, world.people.intake)
    html = await get_page(client, f"/cases/{case.code}")
    token = csrf_from(html)
    unknown = await client.post(
        f"/cases/{case.code}/actions/fly", data={"csrf_token": token}, headers=HTML
    )
    assert unknown.status_code == 422
    missing = await client.post(
        "/cases/ZZZZZZZZZZZZ/actions/file", data={"csrf_token": token}, headers=HTML
    )
    assert missing.status_code == 404
    assert (await client.get("/cases/zz", headers=HTML)).status_code == 422
    no_token = await client.post(f"/cases/{case.code}/actions/file", data={}, headers=HTML)
    assert no_token.status_code == 403
    assert await state_of(session, case.code) == State.REPORTED.value


async def test_the_dispatcher_overrides_the_suggestion_from_the_panel(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    case = await case_in(session, world, State.FILED, settings=settings)
    await as_user(client, session, world.people.dispatcher)
    html = await get_page(client, f"/cases/{case.code}")
    panel = html.split('data-testid="dispatch-panel"', 1)[1].split("</section>", 1)[0]
    assert "属地街道（属地兜底）" in panel
    selected = re.findall(r'<option value="([^"]+)" selected>', panel)
    assert selected == ["unit:211104004000"]
    assert 'value="department:211104-CGJ"' in panel
    assert 'value="unit:211104004001"' in panel
    wrong = await post_action(
        client, case.code, "dispatch", {"target": "department:211102-CGJ", "version": "2"}
    )
    assert wrong.status_code == 422
    assert by_testid(wrong.text, "action-error") == "请选择一个负责案件所在地的责任单位。"
    garbled = await post_action(client, case.code, "dispatch", {"target": "somewhere"})
    assert garbled.status_code == 422
    sent = await post_action(
        client,
        case.code,
        "dispatch",
        {"target": "department:211104-CGJ", "note": "占道问题由城管处理", "version": "2"},
    )
    assert sent.status_code == 303
    page = await get_page(client, f"/cases/{case.code}")
    assert by_testid(page, "case-responsible") == "城管局"
    assert "派遣员选择了与建议不同的责任单位。" in page
    event = await session.scalar(
        select(CaseEvent).where(CaseEvent.action == "dispatch").order_by(CaseEvent.id.desc())
    )
    assert event is not None and '"override": true' in event.data


async def test_the_handler_accepts_and_reports_back_with_photos(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    case = await case_in(session, world, State.DISPATCHED, settings=settings)
    await as_user(client, session, world.people.handler)
    accepted = await post_action(client, case.code, "accept", {"version": "3"})
    assert accepted.status_code == 303
    without = await post_action(client, case.code, "handle", {"note": "已清理", "version": "4"})
    assert without.status_code == 422
    form = without.text.split('data-testid="action-handle"', 1)[1].split("</form>", 1)[0]
    assert by_testid(form, "action-error") == "此类别需要上传处置后的现场照片。"
    assert 'name="note" rows="2" maxlength="2000" aria-label="备注">已清理</textarea>' in form
    not_a_photo = await post_action(
        client,
        case.code,
        "handle",
        {"version": "4"},
        files=[("photos", ("after.jpg", b"not an image", "image/jpeg"))],
    )
    assert not_a_photo.status_code == 422
    assert by_testid(not_a_photo.text, "action-error") == (
        "每张照片须为大小不超过限制的 JPEG、PNG 或 WebP 图片。"
    )
    handled = await post_action(
        client,
        case.code,
        "handle",
        {"note": "已清理", "version": "4"},
        files=[
            ("photos", ("after.jpg", jpeg(200), "image/jpeg")),
            ("before_photos", ("before.jpg", jpeg(20), "image/jpeg")),
        ],
    )
    assert handled.status_code == 303, handled.text[:400]
    assert await state_of(session, case.code) == State.HANDLED.value
    purposes = (
        await session.scalars(
            select(CaseAttachment.purpose).join(Case).where(Case.code == case.code)
        )
    ).all()
    assert sorted(purposes) == ["after", "before"]
    page = await get_page(client, f"/cases/{case.code}")
    compare = page.split('data-testid="before-after"', 1)[1].split("</section>", 1)[0]
    assert compare.index("photo-before") < compare.index("photo-after")
    assert action_forms(page) == []


async def test_a_unit_that_returns_a_case_goes_back_to_its_list(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    case = await case_in(session, world, State.DISPATCHED, settings=settings)
    await as_user(client, session, world.people.handler)
    returned = await post_action(
        client, case.code, "return", {"note": "不属本单位职责", "version": "3"}
    )
    assert returned.status_code == 303
    assert returned.headers["location"] == f"/cases?done=return&case={case.code}"
    html = await get_page(client, returned.headers["location"])
    assert by_testid(html, "queue-notice") == (
        f"案件 {case.code}：“回退”已完成。该案件已不在您可查看的范围内。"
    )


async def test_extension_requests_carry_a_local_due_time(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    case = await case_in(session, world, State.ACCEPTED, settings=settings)
    await as_user(client, session, world.people.handler)
    bad = await post_action(
        client, case.code, "request_extension", {"note": "需协调", "until": "tomorrow"}
    )
    assert bad.status_code == 422
    asked = await post_action(
        client,
        case.code,
        "request_extension",
        {"note": "需协调产权单位", "until": "2026-12-10T17:30", "version": "4"},
    )
    assert asked.status_code == 303
    stored = await session.scalar(select(Case).where(Case.code == case.code))
    assert stored is not None
    await session.refresh(stored)
    assert stored.pending == "extension"
    assert stored.pending_due_at is not None
    assert stored.pending_due_at.isoformat().startswith("2026-12-10T09:30")
    await as_user(client, session, world.people.dispatcher)
    html = await get_page(client, f"/cases/{case.code}")
    assert action_forms(html) == ["approve_extension", "deny_extension", "suspend"]
    assert 'name="until" type="datetime-local" value="2026-12-10T17:30"' in html


async def test_phones_are_masked_for_handlers_and_shown_to_the_command_centre(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    case = await report(
        session,
        world,
        by=world.people.intake,
        settings=settings,
        source=Source.HOTLINE,
        reporter_name="王小明",
        reporter_phone="13912345678",
    )
    await act(session, world, case, Action.FILE, world.people.intake, settings=settings)
    await act(
        session,
        world,
        case,
        Action.DISPATCH,
        world.people.dispatcher,
        settings=settings,
        target={"department_code": "211104-CGJ"},
    )
    await as_user(client, session, world.people.intake)
    assert by_testid(await get_page(client, f"/cases/{case.code}"), "case-reporter") == (
        '王小明 <span class="mono">13912345678'
    )
    await as_user(client, session, world.people.handler)
    handler_view = await get_page(client, f"/cases/{case.code}")
    assert by_testid(handler_view, "case-reporter") == '王** <span class="mono">139****5678'
    assert "13912345678" not in handler_view


async def test_likely_duplicates_are_merged_from_the_case_page(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    first = await report(session, world, settings=settings)
    second = await report(session, world, settings=settings, at=IN_C1A_NEARBY)
    await as_user(client, session, world.people.intake)
    html = await get_page(client, f"/cases/{second.code}")
    listed = html.split('data-testid="duplicates"', 1)[1].split("</section>", 1)[0]
    assert re.findall(r'data-testid="duplicate" data-code="([A-Z0-9]+)"', listed) == [first.code]
    assert f"将本案件合并到 {first.code}" in listed
    merged = await post_action(client, second.code, "merge", {"merge_into": first.code})
    assert merged.status_code == 303
    assert await state_of(session, second.code) == State.MERGED.value
    page = await get_page(client, f"/cases/{second.code}")
    assert f'<a class="mono" href="/cases/{first.code}">{first.code}</a>' in page
    into_itself = await post_action(client, first.code, "merge", {"merge_into": first.code})
    assert into_itself.status_code == 422
    assert by_testid(into_itself.text, "action-error") == (
        "请填写您可查看的另一件未结案件作为原案件。"
    )


# --- the overdue board --------------------------------------------------------------------------


async def test_the_overdue_board_shows_escalated_cases_first(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    old = await report(session, world, settings=settings, now=NOW - timedelta(days=3))
    older = await report(session, world, settings=settings, now=NOW - timedelta(days=6))
    fresh = await report(session, world, settings=settings)
    for days in (2, 0):
        moment = NOW - timedelta(days=days)
        run = await sweep.start_run(session, moment, moment)
        await sweep.escalate_batch(session, run, moment, 100)
    for case in (old, older, fresh):
        session.expire(case)  # the sweep updates rows in bulk; a request reads them afresh
    await as_user(client, session, world.people.district_admin)
    board = await get_page(client, "/cases/overdue")
    assert by_testid(board, "overdue-heading") == "超时督办"
    assert rows(board) == [older.code, old.code]
    first_row = board.split('data-testid="case-row"')[1]
    assert 'data-testid="overdue">超时<' in first_row
    assert 'data-testid="escalation">督办 ×2<' in first_row
    assert 'data-testid="due-relative">超时' in first_row
    queue = await get_page(client, "/cases?overdue=0")
    assert rows(queue) == [fresh.code]
    await as_user(client, session, world.people.handler)
    assert by_testid(await get_page(client, "/cases/overdue"), "overdue-empty") == (
        "您可查看的案件中没有超时案件。"
    )


# --- staff intake -------------------------------------------------------------------------------


def intake_form(html: str, **fields: str) -> dict[str, str]:
    """The intake form's hidden fields and the fields filled in."""
    key = re.search(r'name="form_key" value="([^"]+)"', html)
    assert key is not None
    return {"csrf_token": csrf_from(html), "form_key": unescape(key.group(1)), **fields}


async def test_the_command_centre_enters_a_hotline_report(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    await as_user(client, session, world.people.intake)
    html = await get_page(client, "/cases/new")
    assert '<option value="hotline_12345" selected>12345热线</option>' in html
    assert '<option value="citizen"' not in html
    lon, lat = IN_C1A
    values = intake_form(
        html,
        category="event-0501",
        description="热线：早市占道经营",
        lon=str(lon),
        lat=str(lat),
        urgency="urgent",
        source="hotline_12345",
        reporter_phone="13800001234",
    )
    created = await client.post(
        "/cases/new",
        data=values,
        files=[("photos", ("scene.jpg", jpeg(), "image/jpeg"))],
        headers=HTML,
    )
    assert created.status_code == 303, created.text[:500]
    code = created.headers["location"].split("/")[2].split("?")[0]
    assert created.headers["location"] == f"/cases/{code}?done=report"
    page = await get_page(client, created.headers["location"])
    assert by_testid(page, "case-notice") == f"报告已登记为案件 {code}。"
    assert by_testid(page, "case-heading") == "占道经营"
    assert page.count('data-testid="photo-report"') == 1
    # Sending the same form again (a double click) gives the same case, not a second one.
    again = await client.post("/cases/new", data=values, headers=HTML)
    assert again.status_code == 409
    assert await session.scalar(select(func.count()).select_from(Case)) == 1

    by_unit = intake_form(
        await get_page(client, "/cases/new"),
        category="event-0102",
        description="领导交办：人民路垃圾",
        unit_code="211104004002",
        address="人民路 12 号",
        source="leadership",
        urgency="normal",
    )
    placed = await client.post("/cases/new", data=by_unit, headers=HTML)
    assert placed.status_code == 303
    assert await session.scalar(select(func.count()).select_from(Case)) == 2


async def test_the_intake_form_explains_what_to_fix(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    await as_user(client, session, world.people.intake)
    html = await get_page(client, "/cases/new")
    empty = await client.post(
        "/cases/new", data=intake_form(html, source="hotline_12345"), headers=HTML
    )
    assert empty.status_code == 422
    errors = dict(
        re.findall(r'<p class="field-error" id="([a-z_]+)-error" role="alert">([^<]+)', empty.text)
    )
    assert errors == {
        "category": "请从列表中选择类别。",
        "description": "请描述问题，最多 2000 字。",
        "lon": "请给出位置（经纬度），或选择单位并填写地址。",
    }
    outside = await client.post(
        "/cases/new",
        data=intake_form(
            html,
            category="event-0102",
            description="x",
            lon="100.0",
            lat="30.0",
            source="hotline_12345",
        ),
        headers=HTML,
    )
    assert outside.status_code == 422
    assert "本区没有网格覆盖此位置" in outside.text
    no_address = await client.post(
        "/cases/new",
        data=intake_form(
            html,
            category="event-0102",
            description="x",
            unit_code="211104004002",
            source="hotline_12345",
        ),
        headers=HTML,
    )
    assert no_address.status_code == 422
    assert 'id="address-error" role="alert">按单位登记的报告需要填写地址。<' in no_address.text
    assert 'value="x"' not in no_address.text  # the description is a textarea, kept as text
    assert ">x</textarea>" in no_address.text
    assert await session.scalar(select(func.count()).select_from(Case)) == 0


async def test_only_staff_who_report_may_use_the_intake_form(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    for user, status in (
        (world.people.citizen, 403),
        (world.people.handler, 403),
        (world.people.sys_admin, 403),
        (world.people.grid_worker, 200),
        (world.people.street_admin, 200),
    ):
        await as_user(client, session, user)
        assert (await client.get("/cases/new", headers=HTML)).status_code == status, user.username


async def test_pages_in_english(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    case = await case_in(session, world, State.FILED, settings=settings)
    await as_user(client, session, world.people.dispatcher)
    client.cookies.set("wm_lang", "en")
    queue = await get_page(client, "/cases")
    assert by_testid(queue, "queue-heading") == "Cases"
    assert 'data-testid="state">Filed<' in queue
    html = await get_page(client, f"/cases/{case.code}")
    assert by_testid(html, "case-heading") == "Exposed garbage"
    assert "the street or town that owns the place (territorial fallback)" in html


# --- verify before filing (核实) ------------------------------------------------------------------


async def test_the_grid_worker_verifies_a_report_from_the_case_page(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    case = await report(session, world, settings=settings)
    await as_user(client, session, world.people.intake)
    sent = await post_action(client, case.code, "send_to_verify", {"version": "1"})
    assert sent.status_code == 303
    html = await get_page(client, sent.headers["location"])
    assert by_testid(html, "state") == "现场核实中"
    assert action_forms(html) == ["file", "reject", "void", "merge"]

    await as_user(client, session, world.people.grid_worker)
    queue = await get_page(client, "/cases")
    tasks = queue.split('data-testid="verify-tasks"', 1)[1].split("</nav>", 1)[0]
    assert 'href="/cases?state=verifying"' in tasks and 'href="/cases?state=handled"' in tasks
    assert rows(await get_page(client, "/cases?state=verifying")) == [case.code]
    page = await get_page(client, f"/cases/{case.code}")
    assert action_forms(page) == ["confirm", "not_found"]
    form = page.split('data-testid="action-not_found"', 1)[1].split("</form>", 1)[0]
    assert (
        'name="photos" type="file" accept="image/jpeg,image/png,image/webp" multiple required'
        in form
    )

    without = await post_action(
        client, case.code, "not_found", {"note": "现场未发现", "version": "2"}
    )
    assert without.status_code == 422
    form = without.text.split('data-testid="action-not_found"', 1)[1].split("</form>", 1)[0]
    assert by_testid(form, "action-error") == "请上传现场核实照片。"
    assert await state_of(session, case.code) == State.VERIFYING.value

    found_nothing = await post_action(
        client,
        case.code,
        "not_found",
        {"note": "现场未发现垃圾", "version": "2"},
        files=[("photos", ("site.jpg", jpeg(33), "image/jpeg"))],
    )
    assert found_nothing.status_code == 303
    assert await state_of(session, case.code) == State.REJECTED.value
    await as_user(client, session, world.people.intake)
    html = await get_page(client, f"/cases/{case.code}")
    assert by_testid(html, "state") == "不予立案"
    assert "现场核实不属实，不予立案" in html and "现场未发现垃圾" in html
    assert 'data-testid="photo-check"' in html


# --- photo publication --------------------------------------------------------------------------

PUBLISH_FORM = re.compile(r'data-testid="(publish|unpublish)-([A-Za-z0-9_-]+)"')


async def post_publication(
    client: httpx.AsyncClient, code: str, key: str, change: str, token: str | None = None
) -> httpx.Response:
    """Press a photo's publish or withdraw button (with the page's token unless given)."""
    if token is None:
        token = csrf_from(await get_page(client, f"/cases/{code}"))
    return await client.post(
        f"/cases/{code}/photos/{key}/{change}", data={"csrf_token": token}, headers=HTML
    )


async def public_keys(session: AsyncSession, case_id: int) -> set[str]:
    rows = await session.scalars(
        select(CaseAttachment.attachment_id).where(
            CaseAttachment.case_id == case_id, CaseAttachment.published_at.is_not(None)
        )
    )
    return {str(row) for row in rows}


async def test_the_command_centre_publishes_and_withdraws_photos(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    first, second = await photo(session, settings, 60), await photo(session, settings, 160)
    case = await report(session, world, settings=settings, attachments=[first, second])
    case_id, code = case.id, case.code
    await as_user(client, session, world.people.intake)
    html = await get_page(client, f"/cases/{code}")
    assert PUBLISH_FORM.findall(html) == [("publish", first), ("publish", second)]
    assert 'data-testid="photo-public"' not in html

    published = await post_publication(client, code, first, "publish")
    assert published.status_code == 303
    assert published.headers["location"] == f"/cases/{code}?done=publish#photos-heading"
    assert len(await public_keys(session, case_id)) == 1
    html = await get_page(client, published.headers["location"])
    assert by_testid(html, "case-notice") == "照片已公开。"
    assert PUBLISH_FORM.findall(html) == [("unpublish", first), ("publish", second)]
    assert by_testid(html, "photo-public") == "已公开"
    assert f'data-key="{first}" data-public="yes"' in html
    assert f'data-key="{second}" data-public="no"' in html

    withdrawn = await post_publication(client, code, first, "unpublish")
    assert withdrawn.status_code == 303
    assert await public_keys(session, case_id) == set()
    html = await get_page(client, withdrawn.headers["location"])
    assert by_testid(html, "case-notice") == "照片已撤回公开。"


async def test_only_the_command_centre_publishes_photos(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    key = await photo(session, settings, 70)
    stranger = await photo(session, settings, 170)
    case = await report(session, world, settings=settings, attachments=[key])
    case_id, code = case.id, case.code
    # The street admin reads the case but is not its command centre: no buttons, and 403.
    await as_user(client, session, world.people.street_admin)
    html = await get_page(client, f"/cases/{code}")
    assert 'data-testid="photo"' in html and PUBLISH_FORM.findall(html) == []
    refused = await post_publication(client, code, key, "publish", csrf_from(html))
    assert refused.status_code == 403
    assert by_testid(refused.text, "case-error") == "只有案件所在辖区的指挥中心可以公开其照片。"
    # Someone who cannot read the case learns nothing about it.
    await as_user(client, session, world.people.grid_worker_elsewhere)
    token = csrf_from(await get_page(client, "/cases"))
    hidden = await post_publication(client, code, key, "publish", token)
    assert hidden.status_code == 404
    # The command centre: a photo of another case is not found; a form without its token fails.
    await as_user(client, session, world.people.dispatcher)
    missing = await post_publication(client, code, stranger, "publish")
    assert missing.status_code == 404
    assert by_testid(missing.text, "case-error") == "此案件没有这张照片。"
    forged = await client.post(f"/cases/{code}/photos/{key}/publish", data={}, headers=HTML)
    assert forged.status_code == 403
    assert await public_keys(session, case_id) == set()
