"""FastAPI dependencies shared by every router: the unit of work, the clock, the actor."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.core.clock import Clock
from wenming.core.config import Settings
from wenming.core.db import Database, WriteRunner
from wenming.core.errors import NotAuthenticated

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_COOKIE = "wm_session"
# Row ids are 32-bit integers on PostgreSQL; larger numbers cannot name a row, and SQLite's driver
# fails on integers beyond 64 bits, so ids and offsets are bounded where they enter.
MAX_ROW_ID = 2_147_483_647
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="numeric id")]


async def get_settings_dep(request: Request) -> Settings:
    """The settings the app was created with (async: no threadpool trip per request)."""
    settings: Settings = request.app.state.settings
    return settings


async def get_clock(request: Request) -> Clock:
    """The app's clock (frozen in tests); async so that it costs no threadpool trip."""
    clock: Clock = request.app.state.clock
    return clock


def is_write_request(request: Request) -> bool:
    """Whether a request may change data (and so takes the write lock up front on SQLite)."""
    return request.method not in SAFE_METHODS


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: committed after the endpoint returns, before the response.

    Registered with ``scope="function"`` so that a failing commit still turns into an error
    response instead of a success already sent.
    """
    database: Database = request.app.state.db
    async with database.session(write=is_write_request(request)) as session:
        yield session


SessionOpener = Callable[[], AbstractAsyncContextManager[AsyncSession]]


async def get_session_opener(request: Request) -> SessionOpener:
    """Opens a unit of work only when asked, for endpoints that usually answer from memory.

    Each opened session commits on success and rolls back on error, like ``get_session``.
    """
    database: Database = request.app.state.db
    write = is_write_request(request)
    return lambda: database.session(write=write)


async def get_read_session_opener(request: Request) -> SessionOpener:
    """Opens read-only units of work, for a write endpoint that reads before it takes the lock.

    On SQLite a write unit of work holds the database's one write lock from its first statement,
    so reads that can happen before it (snapshots, checks) go through sessions opened here.
    """
    database: Database = request.app.state.db
    return lambda: database.session(write=False)


async def get_write_runner(request: Request) -> WriteRunner:
    """Runs a synchronous unit of work (a function of a connection) and commits it, in one hop
    off the event loop: for writes whose statements should not each wait for a turn of a busy
    loop (case intake's group commit)."""
    database: Database = request.app.state.db
    return database.run_write


DbSession = Annotated[AsyncSession, Depends(get_session, scope="function")]
OpenSession = Annotated[SessionOpener, Depends(get_session_opener)]
OpenReadSession = Annotated[SessionOpener, Depends(get_read_session_opener)]
RunWrite = Annotated[WriteRunner, Depends(get_write_runner)]
AppSettings = Annotated[Settings, Depends(get_settings_dep)]
AppClock = Annotated[Clock, Depends(get_clock)]


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header, if any."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def require_authenticated(actor_user_id: int | None) -> None:
    """Raise 401 for the anonymous public."""
    if actor_user_id is None:
        raise NotAuthenticated(
            "Sign in first: send 'Authorization: Bearer <token>' from POST /api/v1/auth/token, "
            "an 'X-API-Key' header, or use the web login."
        )
