"""Failed sign-ins slow down and then lock a username, known or not, whatever the password."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import TEST_SECRET
from tests.factories.org import PASSWORD, create_user
from wenming.auth.models import LoginThrottle
from wenming.core.clock import FrozenClock
from wenming.core.config import Environment, Settings

FREE_FAILURES = 3
LOCK_FAILURES = 10
LOCK_MINUTES = 15
# Seconds a username must wait after its n-th consecutive failure (n = 1..10): three failures
# pass freely, the third sets a 2 s wait, each further one doubles it, the tenth locks.
WAIT_AFTER_FAILURE = [0, 0, 2, 4, 8, 16, 32, 64, 128, LOCK_MINUTES * 60]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """The test settings with the throttling thresholds spelled out."""
    return Settings(
        env=Environment.TEST,
        secret_key=TEST_SECRET,
        database_url=database_url,
        data_dir=tmp_path / "data",
        db_pool_size=2,
        login_free_failures=FREE_FAILURES,
        login_lock_failures=LOCK_FAILURES,
        login_lock_minutes=LOCK_MINUTES,
    )


async def sign_in(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    """POST the OAuth2 password-flow form."""
    return await client.post(
        "/api/v1/auth/token", data={"username": username, "password": password}
    )


def refused_detail(wait: int) -> str:
    """The 401 detail after a failure that sets a wait."""
    suffix = f" Further attempts are refused for {wait} seconds." if wait else ""
    return "Wrong username or password." + suffix


async def test_the_fourth_attempt_after_three_failures_waits_even_with_the_right_password(
    session: AsyncSession, client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    await create_user(session, "wanglei")
    await session.commit()
    for failure in range(FREE_FAILURES):
        response = await sign_in(client, "wanglei", "wrong-password")
        assert response.status_code == 401
        assert response.json()["detail"] == refused_detail(WAIT_AFTER_FAILURE[failure])

    blocked = await sign_in(client, "wanglei", PASSWORD)
    assert blocked.status_code == 429
    assert blocked.headers["retry-after"] == "2"
    assert blocked.headers["content-type"] == "application/problem+json"
    assert blocked.json() == {
        "type": "/problems/too-many-attempts",
        "title": "Too many attempts",
        "status": 429,
        "detail": "Too many failed sign-ins for this account. Try again in 2 seconds.",
        "retry_after": 2,
        "instance": "/api/v1/auth/token",
    }
    clock.advance(seconds=1.5)
    still = await sign_in(client, "wanglei", PASSWORD)
    assert (still.status_code, still.headers["retry-after"]) == (429, "1")

    clock.advance(seconds=0.5)
    allowed = await sign_in(client, "wanglei", PASSWORD)
    assert allowed.status_code == 200
    assert (
        await session.scalar(select(LoginThrottle).where(LoginThrottle.username == "wanglei"))
        is None
    )


async def walk_to_lock(
    client: httpx.AsyncClient, clock: FrozenClock, username: str
) -> list[object]:
    """Fail ten times, waiting out each slow-down; what each answer was."""
    answers: list[object] = []
    for failure in range(LOCK_FAILURES):
        response = await sign_in(client, username, "wrong-password")
        answers.append((response.status_code, response.json()["detail"]))
        wait = WAIT_AFTER_FAILURE[failure]
        if wait and failure < LOCK_FAILURES - 1:
            early = await sign_in(client, username, "wrong-password")
            answers.append((early.status_code, early.headers.get("retry-after")))
            clock.advance(seconds=wait)
    return answers


EXPECTED_WALK: list[object] = []
for _failure, _wait in enumerate(WAIT_AFTER_FAILURE):
    EXPECTED_WALK.append((401, refused_detail(_wait)))
    if _wait and _failure < LOCK_FAILURES - 1:
        EXPECTED_WALK.append((429, str(_wait)))


async def test_ten_failures_lock_for_the_configured_minutes(
    session: AsyncSession, client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    await create_user(session, "wanglei")
    await session.commit()
    assert await walk_to_lock(client, clock, "wanglei") == EXPECTED_WALK

    locked = await sign_in(client, "wanglei", PASSWORD)
    assert (locked.status_code, locked.headers["retry-after"]) == (429, "900")
    clock.advance(minutes=LOCK_MINUTES, seconds=-1)
    almost = await sign_in(client, "wanglei", PASSWORD)
    assert (almost.status_code, almost.headers["retry-after"]) == (429, "1")
    clock.advance(seconds=1)
    assert (await sign_in(client, "wanglei", PASSWORD)).status_code == 200


async def test_a_wrong_password_after_the_lock_locks_again(
    session: AsyncSession, client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    await create_user(session, "wanglei")
    await session.commit()
    await walk_to_lock(client, clock, "wanglei")
    clock.advance(minutes=LOCK_MINUTES)
    again = await sign_in(client, "wanglei", "wrong-password")
    assert again.json()["detail"] == refused_detail(LOCK_MINUTES * 60)
    assert (await sign_in(client, "wanglei", PASSWORD)).status_code == 429


async def test_unknown_usernames_are_throttled_identically(
    session: AsyncSession, client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    await create_user(session, "wanglei")
    await session.commit()
    answers = []
    for username in ("wanglei", "nobody-here"):
        walk = await walk_to_lock(client, clock, username)
        locked = await sign_in(client, username, PASSWORD)
        answers.append((walk, locked.status_code, locked.headers["retry-after"], locked.json()))
    known, unknown = answers
    assert known == unknown
    assert known[:3] == (EXPECTED_WALK, 429, "900")


async def test_success_clears_the_count(
    session: AsyncSession, client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    await create_user(session, "wanglei")
    await session.commit()
    for _ in range(FREE_FAILURES - 1):
        assert (await sign_in(client, "wanglei", "wrong-password")).status_code == 401
    assert (await sign_in(client, "wanglei", PASSWORD)).status_code == 200
    for failure in range(FREE_FAILURES - 1):
        response = await sign_in(client, "wanglei", "wrong-password")
        assert response.json()["detail"] == refused_detail(WAIT_AFTER_FAILURE[failure])
    assert (await sign_in(client, "wanglei", PASSWORD)).status_code == 200


async def test_usernames_are_counted_case_insensitively_and_separately(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    await create_user(session, "wanglei")
    await create_user(session, "lina")
    await session.commit()
    for spelling in ("WangLei", " wanglei", "WANGLEI"):
        assert (await sign_in(client, spelling, "wrong-password")).status_code == 401
    assert (await sign_in(client, "wanglei", PASSWORD)).status_code == 429
    assert (await sign_in(client, "lina", PASSWORD)).status_code == 200
    row = await session.scalar(select(LoginThrottle).where(LoginThrottle.username == "wanglei"))
    assert row is not None
    assert row.failures == 3
