"""Background jobs of a serving process: each runs, waits its interval, and runs again.

A job is a plain async function. Each runs in its own asyncio task, so a slow one never delays
another; a failure is logged and the job runs again at its next turn; stopping cancels them all
and waits until they have ended. Jobs must be safe to run in several processes at once (every
worker of ``wenming serve`` runs them): they take row locks or leases, never process-local state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

log = logging.getLogger("wenming.periodic")

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class PeriodicTask:
    """A named job and the seconds to wait between the end of one run and the next."""

    name: str
    interval_seconds: float
    fn: Callable[[], Awaitable[object]]


class PeriodicRunner:
    """Runs a set of periodic tasks from ``start()`` until ``stop()``."""

    def __init__(self, tasks: Sequence[PeriodicTask], *, sleep: Sleep = asyncio.sleep) -> None:
        self.tasks = tuple(tasks)
        self.runs: dict[str, int] = {task.name: 0 for task in self.tasks}
        self._sleep = sleep
        self._running: list[asyncio.Task[None]] = []

    @property
    def started(self) -> bool:
        """Whether the tasks are running."""
        return bool(self._running)

    def start(self) -> None:
        """Start every task in an asyncio task of its own; the first run happens at once."""
        if self._running:
            raise RuntimeError("the periodic tasks are already running")
        self._running = [
            asyncio.create_task(self._loop(task), name=f"periodic:{task.name}")
            for task in self.tasks
        ]
        if self.tasks:
            log.info("periodic tasks started: %s", ", ".join(t.name for t in self.tasks))

    async def stop(self) -> None:
        """Cancel every task and wait until each has ended (a run in progress is interrupted)."""
        running, self._running = self._running, []
        for task in running:
            task.cancel()
        for task in running:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self, task: PeriodicTask) -> None:
        """Run one task forever: call, count, log any failure, wait, repeat."""
        while True:
            try:
                await task.fn()
            except Exception:
                log.exception(
                    "periodic task %s failed; it runs again in %s s",
                    task.name,
                    task.interval_seconds,
                )
            self.runs[task.name] += 1
            await self._sleep(task.interval_seconds)
