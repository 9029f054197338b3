"""``wenming notify deliver``: one delivery pass from the command line, against a real receiver."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from tests.cli.conftest import in_own_thread
from tests.conftest import NOW, TEST_SECRET
from tests.factories.org import create_user
from tests.notify.receiver import Receiver, running_receiver
from wenming.cli.main import app
from wenming.core.config import Settings
from wenming.core.db import Database
from wenming.notify import service


def wenming(*args: str) -> Result:
    """Run the command in-process, in a thread of its own (it starts its own event loop)."""
    return in_own_thread(
        CliRunner().invoke, app, list(args), catch_exceptions=False, prog_name="wenming"
    )


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Receiver]:
    """A migrated embedded database configured to deliver to a local receiver."""
    for name in list(os.environ):
        if name.startswith("WENMING_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WENMING_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("WENMING_SECRET_KEY", TEST_SECRET)
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(proxy, raising=False)
    with running_receiver() as running:
        monkeypatch.setenv("WENMING_NOTIFY_WEBHOOK_URL", running.url)
        monkeypatch.setenv("WENMING_NOTIFY_WEBHOOK_SECRET", "gateway-shared-secret")
        assert wenming("db", "upgrade").exit_code == 0
        yield running


def notify_one() -> None:
    """Commit one notification for a new person, as a finished request would."""

    async def work() -> None:
        database = Database(Settings())
        try:
            async with database.session() as session:
                user = await create_user(session, "person", phone=None)
                await service.notify(
                    session,
                    user_ids=[user.id],
                    kind="case.dispatched",
                    title="新案件",
                    body="",
                    link=None,
                    case_id=None,
                    now=NOW,
                    settings=Settings(),
                )
        finally:
            await database.dispose()

    in_own_thread(asyncio.run, work())


def test_deliver_sends_what_is_due_and_prints_the_counts(receiver: Receiver) -> None:
    notify_one()
    receiver.answer(500)
    first = wenming("notify", "deliver", "--now", "2026-11-27T08:00:00Z")
    assert (first.exit_code, first.stdout) == (0, "sent: 0, to retry: 1, given up: 0\n")
    early = wenming("notify", "deliver", "--now", "2026-11-27T16:00:29+08:00")
    assert (early.exit_code, early.stdout) == (0, "sent: 0, to retry: 0, given up: 0\n")
    due = wenming("notify", "deliver", "--now", "2026-11-27T16:00:30+08:00")
    assert (due.exit_code, due.stdout) == (0, "sent: 1, to retry: 0, given up: 0\n")
    assert len(receiver.received) == 2


def test_deliver_refuses_a_time_without_offset_or_a_missing_webhook(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    naive = wenming("notify", "deliver", "--now", "2026-11-27T08:00:00")
    assert (naive.exit_code, naive.stderr) == (
        2,
        "Error: --now: '2026-11-27T08:00:00' has no offset; add Z (UTC) or one such as +08:00\n",
    )
    garbled = wenming("notify", "deliver", "--now", "yesterday")
    assert (garbled.exit_code, garbled.stderr) == (
        2,
        "Error: --now: 'yesterday' is not an ISO 8601 time such as 2026-11-27T08:00:00Z\n",
    )
    monkeypatch.delenv("WENMING_NOTIFY_WEBHOOK_URL")
    inbox_only = wenming("notify", "deliver")
    assert (inbox_only.exit_code, inbox_only.stderr) == (
        2,
        "Error: WENMING_NOTIFY_WEBHOOK_URL is not set: notifications stay in the in-app inbox "
        "and there is nothing to deliver\n",
    )
    assert receiver.received == []
