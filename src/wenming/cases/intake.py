"""Case intake at speed, for ``POST /api/v1/cases``: the same report as ``service.report``, in
three phases so that the database's write lock is held only for the inserts.

1. **Prepare from memory.** The rulebook, the unit tree and the grids come from snapshots no older
   than the configured bounds (``WENMING_INTAKE_MAX_STALENESS_MS``,
   ``WENMING_GEO_LOOKUP_MAX_STALENESS_MS``); the database is read only for what no snapshot
   holds (a named component, listed photos, and, for staff, likely duplicates and what they are
   to the new case).
2. **Write in groups.** Reports that arrive while a write is under way are written together in
   the next transaction (group commit): one multi-row INSERT per table, one commit. Each
   request still waits for its own commit before it is answered.
3. **Answer from memory.** The new case is described from the draft, not read back.

A repeated ``Idempotency-Key`` is found by the unique index when its group is written: the group
is then written report by report, and the repeat is answered with the earlier case.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from fastapi import Request
from sqlalchemy import Connection, Table, insert, inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.cases import service, views
from wenming.cases.access import capacities
from wenming.cases.directory import Directory, read_directory
from wenming.cases.models import Case, CaseAttachment, CaseDeadline, CaseEvent, IdempotencyKey
from wenming.cases.rulebook import Rulebook, rulebook
from wenming.cases.schemas import CaseCreate, CaseCreated, CaseSummary, PlaceOut
from wenming.cases.vocab import Purpose
from wenming.cases.workflow import Capacity
from wenming.core.config import Settings
from wenming.core.db import WriteRunner
from wenming.core.deps import SessionOpener
from wenming.core.errors import Conflict, WenmingError
from wenming.core.recent import Recent
from wenming.geo.crs import Crs
from wenming.geo.gazetteer.reverse import GazetteerIndex
from wenming.geo.gazetteer.reverse import read_index as read_gazetteer
from wenming.geo.lookup import Location, locate_in
from wenming.geo.lookup_api import recent_grids
from wenming.org.scope import Actor
from wenming.org.version import org_version

# The most reports written in one transaction; more wait for the next one.
MAX_GROUP = 64


@dataclass(frozen=True)
class Intake:
    """A report's answer and whether this call created the case (``False``: a repeat)."""

    answer: CaseCreated
    created: bool


@dataclass(frozen=True)
class Written:
    """The ids a draft received when it was written."""

    case_id: int
    event_id: int


def _row(obj: Any) -> dict[str, Any]:
    """A new ORM object's column values for a Core INSERT (the id is the database's)."""
    row: dict[str, Any] = {}
    for prop in inspect(type(obj)).column_attrs:
        column = prop.columns[0]
        if column.primary_key:
            continue
        value = getattr(obj, prop.key)
        if value is None and column.default is not None and column.default.is_scalar:
            value = column.default.arg
        row[column.key] = value
    return row


def _table(model: type[Any]) -> Table:
    table: Table = model.__table__
    return table


def _insert_returning(
    connection: Connection, model: type[Any], rows: list[dict[str, Any]], key: str
) -> dict[Any, int]:
    """Insert rows in one multi-row statement; the new ids by each row's value of ``key`` (a
    unique column). Asking the database for the rows' order instead would make SQLite's driver
    send one statement per row."""
    table = _table(model)
    result = connection.execute(insert(table).returning(table.c.id, table.c[key]), rows)
    return {row_key: int(row_id) for row_id, row_key in result.all()}


def write_group(connection: Connection, drafts: Sequence[service.Draft]) -> list[Written]:
    """Insert the drafts' cases, clocks, events, photo links and keys: one statement per table.

    Synchronous on purpose: the whole transaction runs in one hop (``WriteRunner``), not one
    event-loop turn per statement."""
    case_ids = _insert_returning(connection, Case, [_row(d.case) for d in drafts], "code")
    for draft in drafts:
        case_id = case_ids[draft.case.code]
        draft.case.id = case_id
        draft.clock.case_id = case_id
        draft.event.case_id = case_id
    connection.execute(insert(_table(CaseDeadline)), [_row(d.clock) for d in drafts])
    event_ids = _insert_returning(connection, CaseEvent, [_row(d.event) for d in drafts], "case_id")
    photos: list[dict[str, Any]] = []
    keys: list[dict[str, Any]] = []
    written: list[Written] = []
    for draft in drafts:
        case_id = draft.case.id
        event_id = event_ids[case_id]
        draft.event.id = event_id
        written.append(Written(case_id, event_id))
        photos.extend(
            {
                "case_id": case_id,
                "attachment_id": photo.id,
                "event_id": event_id,
                "purpose": Purpose.REPORT.value,
                "position": position,
                "published_at": None,
                "published_by_id": None,
            }
            for position, photo in enumerate(draft.photos)
        )
        if draft.idempotency is not None:
            draft.idempotency.case_id = case_id
            keys.append(_row(draft.idempotency))
    if photos:
        connection.execute(insert(_table(CaseAttachment)), photos)
    if keys:
        connection.execute(insert(_table(IdempotencyKey)), keys)
    return written


class GroupWriter:
    """Writes the drafts that arrive together in one transaction (group commit)."""

    def __init__(self, max_group: int = MAX_GROUP) -> None:
        """Groups of at most ``max_group`` drafts."""
        self.max_group = max_group
        self._queue: list[tuple[service.Draft, asyncio.Future[Written | None]]] = []
        self._task: asyncio.Task[None] | None = None
        self.groups = 0

    async def write(self, draft: service.Draft, run_write: WriteRunner) -> Written | None:
        """Write a draft, committed before this returns; ``None`` when its idempotency key was
        already taken (the caller answers with the earlier case)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Written | None] = loop.create_future()
        self._queue.append((draft, future))
        task = self._task
        if task is None or task.done() or task.get_loop() is not loop:
            self._task = loop.create_task(self._drain(run_write))
        return await future

    async def _drain(self, run_write: WriteRunner) -> None:
        try:
            while self._queue:
                group = self._queue[: self.max_group]
                del self._queue[: self.max_group]
                self.groups += 1
                drafts = [draft for draft, _ in group]
                try:
                    written = await run_write(partial(write_group, drafts=drafts))
                except Exception:
                    # One report may be the cause (a repeated key, a value the database refuses):
                    # written alone, each report gets its own outcome.
                    await self._one_by_one(group, run_write)
                    continue
                for (_draft, future), outcome in zip(group, written, strict=True):
                    if not future.done():
                        future.set_result(outcome)
        except BaseException as error:
            # Cancelled (the server stops): nobody waits for an answer that will not come.
            _settle(self._queue, error=error)
            self._queue.clear()
            raise

    async def _one_by_one(
        self,
        group: list[tuple[service.Draft, asyncio.Future[Written | None]]],
        run_write: WriteRunner,
    ) -> None:
        """Write a group that failed report by report: a report whose key was taken meanwhile
        is answered None; any other error goes to its own report only."""
        for position, (draft, future) in enumerate(group):
            outcome: Written | None
            try:
                outcome = (await run_write(partial(write_group, drafts=[draft])))[0]
            except IntegrityError as error:
                if draft.idempotency is None:
                    _settle([(draft, future)], error=error)
                    continue
                outcome = None
            except Exception as error:
                _settle([(draft, future)], error=error)
                continue
            except BaseException as error:
                _settle(group[position:], error=error)
                raise
            if not future.done():
                future.set_result(outcome)


def _settle(
    group: Sequence[tuple[service.Draft, asyncio.Future[Written | None]]], *, error: BaseException
) -> None:
    for _draft, future in group:
        if not future.done():
            future.set_exception(error)


class IntakeState:
    """A process's snapshots and group writer for one application (one database)."""

    def __init__(self, settings: Settings) -> None:
        """Nothing read yet."""

        async def read_rulebook(session: AsyncSession) -> Rulebook:
            return await rulebook(session, settings)

        self.rulebook: Recent[Rulebook] = Recent(read_rulebook)
        self.directory: Recent[Directory] = Recent(read_directory, org_version)
        self.gazetteer: Recent[GazetteerIndex] = Recent(read_gazetteer)
        self.writer = GroupWriter()


def intake_state(request: Request) -> IntakeState:
    """The application's intake state, made on first use."""
    state: IntakeState | None = getattr(request.app.state, "intake", None)
    if state is None:
        state = request.app.state.intake = IntakeState(request.app.state.settings)
    return state


def _names(directory: Directory, case: Case) -> views.Names:
    names = views.Names()
    for unit_id in (case.unit_id, case.street_id, case.suggested_unit_id):
        unit = directory.units.get(unit_id) if unit_id is not None else None
        if unit is not None:
            names.units[unit.id] = PlaceOut(code=unit.code, name=unit.name)
    department_id = case.suggested_department_id
    department = directory.departments.get(department_id) if department_id is not None else None
    if department is not None:
        names.departments[department.id] = PlaceOut(code=department.code, name=department.name)
    return names


async def report(
    request: Request,
    actor: Actor,
    body: CaseCreate,
    *,
    now: datetime,
    settings: Settings,
    idempotency_key: str | None,
    open_read: SessionOpener,
    run_write: WriteRunner,
) -> Intake:
    """File a report (as ``service.report`` does), committed before this returns."""
    state = intake_state(request)
    bound = timedelta(milliseconds=settings.intake_max_staleness_ms)
    book = await state.rulebook.get(open_read, now, bound)
    directory = await state.directory.get(open_read, now, bound)
    grids = await recent_grids(request).get(
        open_read, now, timedelta(milliseconds=settings.geo_lookup_max_staleness_ms)
    )

    async def locator(lon: float, lat: float, crs: Crs) -> Location:
        return locate_in(grids, lon, lat, crs)

    async def find_address(lon: float, lat: float) -> str | None:
        return (await state.gazetteer.get(open_read, now, bound)).nearest(lon, lat).label

    staff = actor.is_authenticated
    reads = staff or body.component_code is not None or bool(body.attachments)
    refused: WenmingError | None = None
    held: frozenset[Capacity] = frozenset()
    summaries: list[CaseSummary] = []
    # Every read happens here, and its session is closed before the write waits for a
    # connection of its own: a burst of reports must not hold the pool while they queue.
    reading = open_read() if reads else contextlib.nullcontext(None)
    async with reading as session:
        try:
            draft = await service.prepare(
                session,
                directory,
                locator,
                book,
                actor,
                body,
                now=now,
                idempotency_key=idempotency_key,
                find_address=find_address,
            )
        except WenmingError as error:
            if idempotency_key is None:
                raise
            refused = error
        else:
            if session is not None and staff:
                duplicates = await service.visible_to(
                    session,
                    actor,
                    await service.find_duplicates(session, book, draft.case, now, settings),
                )
                held = await capacities(session, actor, draft.case)
                summaries = await views.summaries(session, duplicates, settings)
    if refused is not None:
        # A repeat of an accepted report is answered with it even if the same report would no
        # longer be accepted (a category retired since, say).
        earlier = await _repeat(open_read, actor, body, idempotency_key or "", now, settings)
        if earlier is None:
            raise refused
        return earlier
    written = await state.writer.write(draft, run_write)
    if written is None:
        earlier = (
            await _repeat(open_read, actor, body, idempotency_key, now, settings)
            if idempotency_key is not None
            else None
        )
        if earlier is None:
            raise Conflict("The report could not be stored; send it again.")
        return earlier
    case = draft.case
    answer = views.compose(
        actor,
        case,
        book,
        _names(directory, case),
        held,
        [(written.event_id, Purpose.REPORT.value, photo.key) for photo in draft.photos],
        [draft.event],
        grid_code=draft.grid_code,
        component_code=draft.component_code,
        merged_into=None,
        now=now,
        settings=settings,
    )
    return Intake(CaseCreated(case=answer, likely_duplicates=summaries), True)


async def _repeat(
    open_read: SessionOpener,
    actor: Actor,
    body: CaseCreate,
    idempotency_key: str,
    now: datetime,
    settings: Settings,
) -> Intake | None:
    """The answer to a repeated report: the case the first one created (without duplicates:
    they were offered the first time)."""
    async with open_read() as session:
        earlier = await service.replay(session, actor, body, idempotency_key)
        if earlier is None:
            return None
        answer = await views.detail(session, actor, earlier, now=now, settings=settings)
    return Intake(CaseCreated(case=answer, likely_duplicates=[]), False)
