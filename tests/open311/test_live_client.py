"""A third-party Open311 client (the ``georeport`` package from PyPI) against a live server: a
real uvicorn on a free port, serving a freshly migrated database, spoken to over TCP."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
import requests
import uvicorn
from georeport import GeoReport
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW, TEST_SECRET, load_reference_data
from tests.factories.cases import IN_C1A, create_world
from wenming.auth.service import create_api_key
from wenming.core.clock import FrozenClock
from wenming.core.config import Environment, Settings
from wenming.core.db import create_engine_for
from wenming.core.migrate import upgrade
from wenming.main import create_app

T = TypeVar("T")


@dataclass(frozen=True)
class LiveServer:
    """A running server and a citizen's API key for it."""

    base_url: str
    api_key: str


def _in_thread(function: Callable[[], T]) -> T:
    """Run a function in its own thread (and so its own event loop) and return its result."""
    results: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            results.append(function())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return results[0]


def _seed(url: str) -> str:
    """The standard world, committed, and an API key for its citizen."""

    async def run() -> str:
        engine = create_engine_for(url, pool_size=1)
        try:
            async with AsyncSession(engine, expire_on_commit=False) as session:
                async with session.begin():
                    world = await create_world(session)
                    _row, key = await create_api_key(
                        session, world.people.citizen, "open311 client", NOW
                    )
                return key
        finally:
            await engine.dispose()

    return asyncio.run(run())


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Migrate a new SQLite file, seed it and serve it on a free local port."""
    data_dir: Path = tmp_path_factory.mktemp("open311-live")
    url = f"sqlite:///{data_dir / 'wenming.sqlite3'}"
    upgrade(url)
    _in_thread(lambda: asyncio.run(load_reference_data(url)))
    key = _in_thread(lambda: _seed(url))
    settings = Settings(
        env=Environment.TEST, secret_key=TEST_SECRET, database_url=url, data_dir=data_dir
    )
    app = create_app(settings, clock=FrozenClock(NOW))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        yield LiveServer(base_url=f"http://127.0.0.1:{port}", api_key=key)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        listener.close()


def test_a_third_party_client_reads_what_was_reported(live: LiveServer) -> None:
    lon, lat = IN_C1A
    created = httpx.post(
        f"{live.base_url}/open311/v2/requests.json",
        data={
            "api_key": live.api_key,
            "service_code": "event-0102",
            "lat": f"{lat:.7f}",
            "long": f"{lon:.7f}",
            "description": "公园门口垃圾",
            "phone": "13900002222",
        },
        timeout=30,
    )
    assert created.status_code == 201, created.text
    code = created.json()[0]["service_request_id"]

    client = GeoReport(f"{live.base_url}/open311/v2/", jurisdiction="wenming")
    services = client.get_service_list()
    assert {"event-0102", "component-0113"} <= {s["service_code"] for s in services}
    definition = client.get_service_definition("event-0102")
    assert [a["code"] for a in definition["attributes"]] == ["urgency"]
    listed = client.get_service_requests(service_code="event-0102", status="open")
    assert [r["service_request_id"] for r in listed] == [code]
    one = client.get_service_request(code)
    assert (one["status"], one["description"], one["address"]) == (
        "open",
        "公园门口垃圾",
        "大洼街道测试一社区",
    )
    assert "13900002222" not in str(one)

    xml_client = GeoReport(f"{live.base_url}/open311/v2", output_format="xml")
    xml_services = xml_client.get_service_list()
    assert len(xml_services) == len(services)
    assert xml_client.get_service_definition("component-0113")["service_code"] == ("component-0113")
    request = xml_client.get_service_request(code)
    assert (request["service_request_id"], request["status"], request["lat"]) == (
        code,
        "open",
        f"{one['lat']}",
    )
    with pytest.raises(requests.HTTPError, match="404"):
        xml_client.get_service_request("UNKNOWN1")
