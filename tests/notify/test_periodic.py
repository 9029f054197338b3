"""The periodic runner: tasks run again and again, failures are logged and survive, stopping ends
every task; the app starts the registered tasks in its lifespan only when enabled."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests.conftest import NOW, TEST_SECRET
from wenming.core.clock import FrozenClock
from wenming.core.config import Environment, Settings
from wenming.core.db import Database
from wenming.core.periodic import PeriodicRunner, PeriodicTask
from wenming.main import create_app, periodic_tasks
from wenming.notify.delivery import TASK_NAME

RUNS = 3


class FakeSleep:
    """Records each wait and yields to the event loop instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


async def test_a_task_runs_repeatedly_until_stopped() -> None:
    calls: list[int] = []
    enough = asyncio.Event()

    async def tick() -> None:
        calls.append(len(calls))
        if len(calls) == RUNS:
            enough.set()

    sleep = FakeSleep()
    runner = PeriodicRunner([PeriodicTask("tick", 15, tick)], sleep=sleep)
    runner.start()
    assert runner.started
    await asyncio.wait_for(enough.wait(), 10)
    await runner.stop()
    assert not runner.started
    stopped_at = len(calls)
    assert stopped_at >= RUNS
    assert runner.runs == {"tick": stopped_at}
    assert set(sleep.waits) == {15}
    for _ in range(5):
        await asyncio.sleep(0)
    assert len(calls) == stopped_at


async def test_a_failing_task_is_logged_and_runs_again(caplog: pytest.LogCaptureFixture) -> None:
    failures: list[int] = []
    enough = asyncio.Event()

    async def broken() -> None:
        failures.append(1)
        if len(failures) == RUNS:
            enough.set()
        raise ValueError("the gateway database is gone")

    others: list[int] = []

    async def healthy() -> None:
        others.append(1)

    runner = PeriodicRunner(
        [PeriodicTask("broken", 1, broken), PeriodicTask("healthy", 1, healthy)],
        sleep=FakeSleep(),
    )
    with caplog.at_level(logging.ERROR, logger="wenming.periodic"):
        runner.start()
        await asyncio.wait_for(enough.wait(), 10)
        await runner.stop()
    logged = [r for r in caplog.records if r.name == "wenming.periodic"]
    assert len(logged) >= RUNS
    assert logged[0].getMessage() == "periodic task broken failed; it runs again in 1 s"
    assert logged[0].exc_info is not None
    assert str(logged[0].exc_info[1]) == "the gateway database is gone"
    assert others


async def test_stopping_interrupts_a_run_in_progress() -> None:
    started = asyncio.Event()
    cancelled: list[bool] = []

    async def stuck() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    runner = PeriodicRunner([PeriodicTask("stuck", 60, stuck)])
    runner.start()
    await asyncio.wait_for(started.wait(), 10)
    await asyncio.wait_for(runner.stop(), 10)
    assert cancelled == [True]
    assert runner.runs == {"stuck": 0}


def settings_for(**changes: object) -> Settings:
    """Test settings with some changes."""
    return Settings(env=Environment.TEST, secret_key=TEST_SECRET, **changes)  # type: ignore[arg-type]


def test_periodic_tasks_are_off_in_tests_and_on_elsewhere_unless_configured() -> None:
    assert settings_for().periodic_tasks_active is False
    assert settings_for(periodic_tasks_enabled=True).periodic_tasks_active is True
    development = Settings(env=Environment.DEVELOPMENT, secret_key=TEST_SECRET)
    assert development.periodic_tasks_active is True
    assert (
        development.model_copy(update={"periodic_tasks_enabled": False}).periodic_tasks_active
        is False
    )


def test_delivery_is_registered_only_with_a_webhook(database_url: str) -> None:
    clock = FrozenClock(NOW)
    inbox_only = settings_for(database_url=database_url)
    database = Database(inbox_only)
    assert TASK_NAME not in [task.name for task in periodic_tasks(inbox_only, database, clock)]
    hooked = settings_for(
        database_url=database_url,
        notify_webhook_url="http://127.0.0.1:9/hook",
        notify_delivery_interval_seconds=7,
    )
    (task,) = [task for task in periodic_tasks(hooked, database, clock) if task.name == TASK_NAME]
    assert task.interval_seconds == 7


async def test_the_app_runs_its_tasks_between_start_up_and_shutdown(database_url: str) -> None:
    settings = settings_for(
        database_url=database_url,
        periodic_tasks_enabled=True,
        notify_webhook_url="http://127.0.0.1:9/hook",
        notify_delivery_interval_seconds=3600,
    )
    app = create_app(settings, clock=FrozenClock(NOW))
    async with app.router.lifespan_context(app):
        runner: PeriodicRunner = app.state.periodic
        assert runner.started
        assert TASK_NAME in [task.name for task in runner.tasks]
    assert not runner.started


async def test_the_app_starts_no_task_when_disabled(database_url: str) -> None:
    app = create_app(settings_for(database_url=database_url))
    async with app.router.lifespan_context(app):
        runner: PeriodicRunner = app.state.periodic
        assert runner.tasks == ()
