"""Webhook delivery against a real local HTTP receiver, with real commits in a throw-away database
of each backend: signatures, success, backoff and retries, giving up, leases, rollbacks, and two
passes at once never sending one notification twice."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import delete, select

from tests.conftest import BACKENDS, NOW, TEST_SECRET
from tests.core.scratch import scratch_database
from tests.factories.org import create_user
from tests.notify.receiver import Receiver, running_receiver
from wenming.core.clock import FrozenClock
from wenming.core.config import Environment, Settings
from wenming.core.db import Database
from wenming.core.migrate import upgrade
from wenming.main import create_app
from wenming.notify import service
from wenming.notify.delivery import (
    DeliveryReport,
    backoff,
    claim_due,
    deliver_due,
    lease_for,
    signature,
)
from wenming.notify.models import Notification, NotificationOutbox
from wenming.org.models import User

WEBHOOK_SECRET = "gateway-shared-secret"


@pytest.fixture(scope="module", params=BACKENDS)
def committed_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated throw-away database of each backend, shared by this module's tests."""
    with scratch_database(request.param, "notify", tmp_path_factory.mktemp("notify")) as url:
        upgrade(url)
        yield url


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver listening on 127.0.0.1."""
    with running_receiver() as running:
        yield running


@pytest.fixture
def hook_settings(committed_url: str, receiver: Receiver) -> Settings:
    """Settings that deliver to the receiver."""
    return Settings(
        env=Environment.TEST,
        secret_key=TEST_SECRET,
        database_url=committed_url,
        db_pool_size=4,
        notify_webhook_url=receiver.url,
        notify_webhook_secret=WEBHOOK_SECRET,
    )


@pytest.fixture
async def database(hook_settings: Settings) -> AsyncIterator[Database]:
    """The throw-away database with a real pool; emptied again after each test."""
    db = Database(hook_settings)
    try:
        yield db
    finally:
        async with db.session() as session:
            await session.execute(delete(NotificationOutbox))
            await session.execute(delete(Notification))
            await session.execute(delete(User))
        await db.dispose()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """The client delivery uses; it ignores proxy settings of the surroundings."""
    async with httpx.AsyncClient(trust_env=False) as client:
        yield client


async def notify_committed(database: Database, settings: Settings, count: int) -> list[int]:
    """Notify ``count`` new people in one committed unit of work; their user ids."""
    async with database.session() as session:
        users = [await create_user(session, f"person{i}", phone=None) for i in range(count)]
        await service.notify(
            session,
            user_ids=[user.id for user in users],
            kind="case.dispatched",
            title="新案件：暴露垃圾",
            body="大洼街道 建设路 12 号",
            link="/cases/K7Q2M9",
            case_id=41,
            now=NOW,
            settings=settings,
        )
        return [user.id for user in users]


async def outbox_rows(database: Database) -> list[NotificationOutbox]:
    """Every outbox row, in id order."""
    async with database.session(write=False) as session:
        return list(
            await session.scalars(select(NotificationOutbox).order_by(NotificationOutbox.id))
        )


def state(row: NotificationOutbox) -> tuple[str, int, datetime, str | None, datetime | None]:
    """What delivery changes on a row."""
    return row.status, row.attempts, row.next_attempt_at, row.last_error, row.sent_at


def test_backoff_doubles_from_30_seconds_up_to_an_hour() -> None:
    assert [backoff(n).total_seconds() for n in range(1, 10)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
    ]
    assert backoff(1000) == timedelta(hours=1)


async def test_a_delivered_notification_is_signed_and_marked_sent(
    database: Database, hook_settings: Settings, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    (user_id,) = await notify_committed(database, hook_settings, 1)
    report = await deliver_due(database, NOW, hook_settings, http)
    assert report == DeliveryReport(sent=1, retrying=0, dead=0)

    (request,) = receiver.received
    (row,) = await outbox_rows(database)
    assert request.path == "/hooks/wenming"
    assert request.body == row.payload.encode()
    assert json.loads(request.body) == {
        "notification_id": row.notification_id,
        "user_id": user_id,
        "kind": "case.dispatched",
        "title": "新案件：暴露垃圾",
        "body": "大洼街道 建设路 12 号",
        "link": "/cases/K7Q2M9",
        "case_id": 41,
        "created_at": "2026-11-27T08:00:00Z",
    }
    expected = hmac.new(WEBHOOK_SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-wenming-signature"] == f"sha256={expected}"
    assert signature(WEBHOOK_SECRET, request.body) == f"sha256={expected}"
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    assert state(row) == ("sent", 1, NOW + lease_for(hook_settings, 100), None, NOW)

    again = await deliver_due(database, NOW + timedelta(days=1), hook_settings, http)
    assert again == DeliveryReport()
    assert len(receiver.received) == 1


async def test_failures_are_retried_after_the_exact_backoff(
    database: Database, hook_settings: Settings, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    clock = FrozenClock(NOW)
    await notify_committed(database, hook_settings, 1)
    receiver.answer(500, 500)

    first = await deliver_due(database, clock.now(), hook_settings, http)
    assert first == DeliveryReport(sent=0, retrying=1, dead=0)
    (row,) = await outbox_rows(database)
    assert state(row) == (
        "pending",
        1,
        NOW + timedelta(seconds=30),
        "HTTP 500: gateway says no",
        None,
    )

    clock.advance(seconds=29)
    assert await deliver_due(database, clock.now(), hook_settings, http) == DeliveryReport()
    assert len(receiver.received) == 1

    clock.advance(seconds=1)
    second = await deliver_due(database, clock.now(), hook_settings, http)
    assert second == DeliveryReport(sent=0, retrying=1, dead=0)
    (row,) = await outbox_rows(database)
    assert state(row) == (
        "pending",
        2,
        NOW + timedelta(seconds=90),
        "HTTP 500: gateway says no",
        None,
    )

    clock.advance(seconds=59)
    assert await deliver_due(database, clock.now(), hook_settings, http) == DeliveryReport()
    clock.advance(seconds=1)
    third = await deliver_due(database, clock.now(), hook_settings, http)
    assert third == DeliveryReport(sent=1, retrying=0, dead=0)
    (row,) = await outbox_rows(database)
    assert (row.status, row.attempts, row.last_error, row.sent_at) == (
        "sent",
        3,
        None,
        NOW + timedelta(seconds=90),
    )
    bodies = [request.body for request in receiver.received]
    assert bodies == [row.payload.encode()] * 3


async def test_a_notification_is_given_up_after_the_last_attempt(
    database: Database, hook_settings: Settings, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    settings = hook_settings.model_copy(update={"notify_webhook_max_attempts": 3})
    await notify_committed(database, settings, 1)
    receiver.answer(503, 503, 503, 503)
    moments = [NOW, NOW + timedelta(seconds=30), NOW + timedelta(seconds=90)]
    reports = [await deliver_due(database, moment, settings, http) for moment in moments]
    assert reports == [
        DeliveryReport(retrying=1),
        DeliveryReport(retrying=1),
        DeliveryReport(dead=1),
    ]
    (row,) = await outbox_rows(database)
    assert (row.status, row.attempts, row.last_error, row.sent_at) == (
        "dead",
        3,
        "HTTP 503: gateway says no",
        None,
    )
    later = await deliver_due(database, NOW + timedelta(days=30), settings, http)
    assert later == DeliveryReport()
    assert len(receiver.received) == 3


async def test_nothing_is_sent_for_a_transaction_that_rolled_back(
    database: Database, hook_settings: Settings, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    with pytest.raises(RuntimeError, match="the case could not be dispatched"):
        async with database.session() as session:
            user = await create_user(session, "person", phone=None)
            await service.notify(
                session,
                user_ids=[user.id],
                kind="case.dispatched",
                title="t",
                body="",
                link=None,
                case_id=None,
                now=NOW,
                settings=hook_settings,
            )
            raise RuntimeError("the case could not be dispatched")
    assert await deliver_due(database, NOW, hook_settings, http) == DeliveryReport()
    assert receiver.received == []
    assert await outbox_rows(database) == []


def closed_port_url() -> str:
    """A local URL where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


async def test_refused_connections_and_timeouts_are_retried(
    database: Database, hook_settings: Settings, http: httpx.AsyncClient
) -> None:
    await notify_committed(database, hook_settings, 1)
    refused = hook_settings.model_copy(update={"notify_webhook_url": closed_port_url()})
    assert await deliver_due(database, NOW, refused, http) == DeliveryReport(retrying=1)
    (row,) = await outbox_rows(database)
    assert row.last_error is not None
    assert row.last_error.startswith("ConnectError: ")
    assert (row.attempts, row.next_attempt_at) == (1, NOW + timedelta(seconds=30))

    def too_slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(too_slow)) as slow:
        later = NOW + timedelta(seconds=30)
        assert await deliver_due(database, later, hook_settings, slow) == DeliveryReport(retrying=1)
    (row,) = await outbox_rows(database)
    assert state(row) == (
        "pending",
        2,
        later + timedelta(seconds=60),
        "no answer within 5 s",
        None,
    )


async def test_rows_of_a_worker_that_died_are_sent_once_its_lease_ends(
    database: Database, hook_settings: Settings, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    await notify_committed(database, hook_settings, 1)
    lease = lease_for(hook_settings, 100)
    claimed = await claim_due(database, NOW, limit=100, lease=lease)
    assert [item.attempts for item in claimed] == [1]
    # The worker that claimed the row never reports back.
    assert await deliver_due(database, NOW + lease - timedelta(seconds=1), hook_settings, http) == (
        DeliveryReport()
    )
    assert receiver.received == []
    assert await deliver_due(database, NOW + lease, hook_settings, http) == DeliveryReport(sent=1)
    (row,) = await outbox_rows(database)
    assert (row.status, row.attempts) == ("sent", 2)


async def test_two_passes_at_once_send_each_notification_once(
    database: Database, hook_settings: Settings, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    await notify_committed(database, hook_settings, 30)
    reports = await asyncio.gather(
        deliver_due(database, NOW, hook_settings, http, batch_size=4),
        deliver_due(database, NOW, hook_settings, http, batch_size=4),
    )
    assert sum(report.sent for report in reports) == 30
    assert sum(report.attempted for report in reports) == 30
    sent = Counter(json.loads(request.body)["notification_id"] for request in receiver.received)
    rows = await outbox_rows(database)
    assert sent == Counter({row.notification_id: 1 for row in rows})
    assert {(row.status, row.attempts) for row in rows} == {("sent", 1)}


async def test_without_a_webhook_nothing_is_sent(
    database: Database, hook_settings: Settings, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    await notify_committed(database, hook_settings, 1)
    inbox_only = hook_settings.model_copy(update={"notify_webhook_url": None})
    assert await deliver_due(database, NOW, inbox_only, http) == DeliveryReport()
    assert receiver.received == []
    (row,) = await outbox_rows(database)
    assert (row.status, row.attempts) == ("pending", 0)


# Row locks are PostgreSQL's (SQLite has one writer at a time), so this runs on PostgreSQL only.
@pytest.mark.parametrize("committed_url", [b for b in BACKENDS if b == "postgresql"], indirect=True)
async def test_a_pass_skips_rows_another_worker_is_claiming(
    database: Database, hook_settings: Settings, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    await notify_committed(database, hook_settings, 2)
    async with database.session() as other_worker:
        await other_worker.execute(select(NotificationOutbox.id).with_for_update())
        report = await asyncio.wait_for(deliver_due(database, NOW, hook_settings, http), 30)
        assert report == DeliveryReport()
    assert receiver.received == []
    assert await deliver_due(database, NOW, hook_settings, http) == DeliveryReport(sent=2)


async def test_the_serving_app_delivers_by_itself(
    database: Database, hook_settings: Settings, receiver: Receiver
) -> None:
    await notify_committed(database, hook_settings, 1)
    settings = hook_settings.model_copy(
        update={"periodic_tasks_enabled": True, "notify_delivery_interval_seconds": 3600}
    )
    app = create_app(settings, clock=FrozenClock(NOW))
    async with app.router.lifespan_context(app):
        assert await asyncio.to_thread(receiver.wait_for, 1, 30)
    (request,) = receiver.received
    assert json.loads(request.body)["title"] == "新案件：暴露垃圾"
