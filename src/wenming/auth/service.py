"""Signing in and out: password checks with throttling, sessions, bearer tokens and API keys."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.auth.models import ApiKey, AuthSession, LoginThrottle
from wenming.core.config import Settings
from wenming.core.errors import InvalidInput, NotAuthenticated, NotFound, TooManyAttempts
from wenming.core.security import (
    dummy_password_hash,
    hash_password,
    new_token,
    password_needs_rehash,
    token_digest,
    verify_password,
)
from wenming.org.models import RoleAssignment, User
from wenming.org.roles import Role
from wenming.org.scope import Actor, Grant
from wenming.org.service import clean_name

API_KEY_PREFIX = "wmk_"
SESSION_KIND_WEB = "web"
SESSION_KIND_BEARER = "bearer"
USERNAME_MAX_LENGTH = 64
PASSWORD_MAX_LENGTH = 1024


@dataclass(frozen=True)
class IssuedToken:
    """A new session or bearer token; the plain value exists only here, never in the database."""

    token: str
    expires_at: datetime
    user_id: int


def normalize_username(username: str) -> str:
    """Usernames compare case-insensitively and without surrounding blanks."""
    return username.strip().lower()


def _backoff_seconds(failures: int, settings: Settings) -> int:
    """Seconds to wait after a number of consecutive failures: free, then doubling, then locked."""
    if failures >= settings.login_lock_failures:
        return settings.login_lock_minutes * 60
    if failures < settings.login_free_failures:
        return 0
    return int(2 ** (failures - settings.login_free_failures + 1))


async def _throttle_row(session: AsyncSession, username: str) -> LoginThrottle | None:
    return await session.get(LoginThrottle, username)


async def lock_throttle_row(session: AsyncSession, username: str) -> LoginThrottle:
    """The username's throttle row, created if missing and locked until the transaction ends.

    Concurrent sign-ins for one username then run one after the other, so parallel guesses
    cannot all pass the check before any failure is counted (PostgreSQL row lock; SQLite write
    transactions are serialized already).
    """
    dialect = session.sync_session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    # Twice at most: a concurrent successful sign-in may delete the row between the insert (which
    # found it) and the lock (which then finds nothing); the second insert creates it afresh.
    for _attempt in range(2):
        await session.execute(
            insert(LoginThrottle)
            .values(username=username, failures=0)
            .on_conflict_do_nothing(index_elements=[LoginThrottle.username])
        )
        row = await session.scalar(
            select(LoginThrottle)
            .where(LoginThrottle.username == username)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if row is not None:
            return row
    raise TooManyAttempts(
        "Several sign-ins for this account arrived at once. Try again in 1 second.",
        retry_after=1,
    )


async def check_throttle(session: AsyncSession, username: str, now: datetime) -> None:
    """Refuse at once, without looking at the password, while the username is slowed or locked."""
    row = await _throttle_row(session, username)
    if row is not None and row.blocked_until is not None and row.blocked_until > now:
        wait = math.ceil((row.blocked_until - now).total_seconds())
        raise TooManyAttempts(
            f"Too many failed sign-ins for this account. Try again in {wait} seconds.",
            retry_after=wait,
        )


async def record_failure(
    session: AsyncSession, username: str, now: datetime, settings: Settings
) -> int:
    """Count one more failure and set how long the username must now wait; returns the wait."""
    row = await _throttle_row(session, username)
    if row is None:
        row = LoginThrottle(username=username, failures=0)
        session.add(row)
    row.failures += 1
    row.last_failure_at = now
    wait = _backoff_seconds(row.failures, settings)
    row.blocked_until = now + timedelta(seconds=wait) if wait else None
    await session.flush()
    return wait


async def clear_failures(session: AsyncSession, username: str) -> None:
    """Forget the failures of a username after a successful sign-in."""
    row = await _throttle_row(session, username)
    if row is not None:
        await session.delete(row)
        await session.flush()


class LoginRefused(NotAuthenticated):
    """Wrong username or password; says nothing about which."""

    slug = "login-refused"
    title = "Sign-in refused"


async def authenticate(
    session: AsyncSession, username: str, password: str, now: datetime, settings: Settings
) -> User:
    """The user whose credentials these are; counts failures and enforces the slow-down.

    Unknown usernames are counted and slowed down exactly like known ones, so the answers do not
    tell which accounts exist. On a refusal the failure is flushed and ``LoginRefused`` raised:
    the caller must still commit (answer the refusal instead of letting the error roll back the
    unit of work), or the failure is forgotten and the slow-down never engages.
    """
    name = normalize_username(username)
    if not name or not password:
        raise InvalidInput("Enter both a username and a password.", field="username")
    if len(name) > USERNAME_MAX_LENGTH or any(ch < " " or ch == "\x7f" for ch in name):
        raise InvalidInput(
            f"A username has at most {USERNAME_MAX_LENGTH} characters and no control characters.",
            field="username",
        )
    await lock_throttle_row(session, name)
    await check_throttle(session, name, now)
    user = await session.scalar(select(User).where(User.username == name))
    stored = (
        user.password_hash if user is not None and user.password_hash else dummy_password_hash()
    )
    # Argon2 costs ~0.1 s of CPU by design: run it off the event loop so other requests go on.
    matches = await asyncio.to_thread(verify_password, stored, password)
    ok = matches and user is not None and user.is_active
    if not ok or user is None:
        wait = await record_failure(session, name, now, settings)
        detail = "Wrong username or password."
        if wait:
            detail += f" Further attempts are refused for {wait} seconds."
        raise LoginRefused(detail)
    await clear_failures(session, name)
    if user.password_hash and password_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


async def issue_session(
    session: AsyncSession, user_id: int, kind: str, now: datetime, lifetime: timedelta
) -> IssuedToken:
    """Create a browser session or bearer token for a user."""
    token = new_token()
    expires_at = now + lifetime
    session.add(
        AuthSession(
            token_digest=token_digest(token),
            user_id=user_id,
            kind=kind,
            created_at=now,
            expires_at=expires_at,
        )
    )
    await session.flush()
    return IssuedToken(token=token, expires_at=expires_at, user_id=user_id)


async def revoke_session(session: AsyncSession, token: str, now: datetime) -> bool:
    """Invalidate a session or bearer token; returns whether one was live."""
    result = await session.execute(
        update(AuthSession)
        .where(AuthSession.token_digest == token_digest(token), AuthSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return bool(getattr(result, "rowcount", 0))


async def user_for_session(
    session: AsyncSession, token: str, kind: str, now: datetime
) -> int | None:
    """The user id behind a live session or bearer token, or None."""
    row = await session.scalar(
        select(AuthSession).where(
            AuthSession.token_digest == token_digest(token), AuthSession.kind == kind
        )
    )
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    return row.user_id


async def create_api_key(
    session: AsyncSession, user: User, name: str, now: datetime
) -> tuple[ApiKey, str]:
    """A new API key for a user; the plain key is returned once and only its digest is kept."""
    if not name.strip():
        raise InvalidInput("Give the key a name that says which client uses it.", field="name")
    label = clean_name(name)
    secret = new_token()
    key = f"{API_KEY_PREFIX}{secret}"
    row = ApiKey(
        user_id=user.id,
        name=label,
        prefix=key[: len(API_KEY_PREFIX) + 6],
        key_digest=token_digest(key),
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row, key


async def user_for_api_key(
    session: AsyncSession, key: str, now: datetime, *, record_use: bool
) -> int | None:
    """The user id behind a live API key, or None.

    ``record_use`` stamps ``last_used_at``; callers pass it only inside write transactions, so a
    read never has to upgrade its SQLite lock.
    """
    row = await session.scalar(select(ApiKey).where(ApiKey.key_digest == token_digest(key)))
    if row is None or row.revoked_at is not None:
        return None
    if record_use:
        row.last_used_at = now
    return row.user_id


async def list_api_keys(session: AsyncSession, user_id: int) -> list[ApiKey]:
    """A user's API keys, oldest first (their secrets are not stored, so none is shown)."""
    rows = await session.scalars(
        select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.id)
    )
    return list(rows.all())


async def revoke_api_key(session: AsyncSession, user_id: int, key_id: int, now: datetime) -> None:
    """Revoke one of a user's API keys."""
    row = await session.get(ApiKey, key_id)
    if row is None or row.user_id != user_id:
        raise NotFound(f"No API key {key_id} of yours.")
    if row.revoked_at is None:
        row.revoked_at = now
    await session.flush()


async def load_actor(session: AsyncSession, user_id: int) -> Actor | None:
    """The actor for an active user, with all their grants; None for a missing or disabled user."""
    user = await session.get(User, user_id)
    if user is None or not user.is_active:
        return None
    rows = await session.execute(
        select(RoleAssignment.role, RoleAssignment.unit_id, RoleAssignment.department_id)
        .where(RoleAssignment.user_id == user_id)
        .order_by(RoleAssignment.id)
    )
    grants = tuple(
        Grant(role=Role(role), unit_id=unit_id, department_id=department_id)
        for role, unit_id, department_id in rows
    )
    return Actor(
        user_id=user.id, username=user.username, display_name=user.display_name, grants=grants
    )
