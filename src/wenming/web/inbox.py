"""The inbox page: the signed-in person's notifications, newest first, and marking them read."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from wenming.core.deps import AppClock, DbSession, RowId
from wenming.notify import service
from wenming.web.deps import PageActor
from wenming.web.forms import CsrfForm, field
from wenming.web.rendering import render, translator

router = APIRouter(include_in_schema=False)

INBOX_PAGE_SIZE = 20
MAX_PAGE = 1_000_000


def inbox_url(*, page: int = 1, unread: bool = False, done: str = "") -> str:
    """The inbox address with its filter, page and a notice to show."""
    query = [
        f"{name}={value}"
        for name, value in (
            ("unread", "1" if unread else ""),
            ("page", str(page) if page > 1 else ""),
            ("done", done),
        )
        if value
    ]
    return "/inbox" + ("?" + "&".join(query) if query else "")


def _page_number(raw: str) -> int:
    """A page number posted back by a form; anything odd is the first page."""
    if not (raw.isascii() and raw.isdigit() and len(raw) <= len(str(MAX_PAGE))):
        return 1
    return min(max(int(raw), 1), MAX_PAGE)


@router.get("/inbox", response_class=HTMLResponse)
async def inbox_page(
    request: Request,
    session: DbSession,
    actor: PageActor,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    unread: Annotated[bool, Query()] = False,
    done: Annotated[Literal["all", "one"] | None, Query()] = None,
) -> HTMLResponse:
    """The person's notifications, newest first, a page at a time; unread ones are marked."""
    assert actor.user_id is not None
    _ = translator(request)
    items, total = await service.list_for_user(
        session, actor.user_id, page=page, page_size=INBOX_PAGE_SIZE, unread_only=unread
    )
    unread_total = await service.unread_count(session, actor.user_id)
    notices = {
        "all": _("All notifications are marked read."),
        "one": _("The notification is marked read."),
    }
    offset = (page - 1) * INBOX_PAGE_SIZE
    context: dict[str, Any] = {
        "items": items,
        "total": total,
        "unread_total": unread_total,
        "unread_only": unread,
        "page": page,
        "pages": max(1, -(-total // INBOX_PAGE_SIZE)),
        "first": offset + 1 if items else 0,
        "last": offset + len(items),
        "notice": notices.get(done or "", ""),
        "page_url": lambda number: inbox_url(page=number, unread=unread),
        "all_url": inbox_url(),
        "unread_url": inbox_url(unread=True),
    }
    return render(request, "inbox.html", context, actor=actor)


@router.post("/inbox/read-all", response_model=None)
async def read_all(
    form: CsrfForm, session: DbSession, clock: AppClock, actor: PageActor
) -> Response:
    """Mark every notification of the person read."""
    assert actor.user_id is not None
    await service.mark_read(session, actor.user_id, service.ALL, now=clock.now())
    return RedirectResponse(inbox_url(done="all"), status_code=303)


@router.post("/inbox/{notification_id}/read", response_model=None)
async def read_one(
    notification_id: RowId, form: CsrfForm, session: DbSession, clock: AppClock, actor: PageActor
) -> Response:
    """Mark one of the person's notifications read; someone else's is a 404."""
    assert actor.user_id is not None
    await service.mark_read(session, actor.user_id, [notification_id], now=clock.now())
    target = inbox_url(
        page=_page_number(field(form, "page")), unread=field(form, "unread") == "1", done="one"
    )
    return RedirectResponse(target, status_code=303)
