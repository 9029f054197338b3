"""Browser tests: a real uvicorn server on the demo district and one headless Chromium per run.

Chromium is Debian's package at /usr/bin/chromium, driven by Playwright through
``executable_path``; Playwright's own browser downloads are never used. A missing Chromium fails
the run with a message saying how to install it.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
import uvicorn
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    Response,
    sync_playwright,
)

from tests.conftest import IN_CI, NOW, TEST_SECRET
from wenming.cases.reference import sync_reference_data
from wenming.core.clock import FrozenClock
from wenming.core.config import Environment, Settings
from wenming.core.db import Database
from wenming.core.migrate import upgrade
from wenming.demo.case_seed import seed_demo_cases
from wenming.demo.geo_seed import GeoSeedSummary, seed_demo_geography
from wenming.demo.seed import DemoLogin, seed_demo
from wenming.main import create_app

T = TypeVar("T")
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 360, "height": 740}


@dataclass(frozen=True)
class DemoServer:
    """A running Wenming server on a freshly seeded demo district."""

    base_url: str
    logins: list[DemoLogin]
    geography: GeoSeedSummary


def _seed(settings: Settings) -> tuple[list[DemoLogin], GeoSeedSummary]:
    """Load the reference data and seed the demo district, its geography and its cases, as
    ``wenming demo`` does, and commit."""

    async def run() -> tuple[list[DemoLogin], GeoSeedSummary]:
        """Seed inside one unit of work."""
        database = Database(settings)
        try:
            async with database.session(write=True) as session:
                await sync_reference_data(session, NOW)
                logins = await seed_demo(session, NOW)
                geography = await seed_demo_geography(session, NOW)
                await seed_demo_cases(session, NOW, settings)
                return logins, geography
        finally:
            await database.dispose()

    return asyncio.run(run())


def _in_thread(function: Callable[..., T], *args: object) -> T:
    """Run a function in its own thread (and so its own event loop) and return its result."""
    results: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        """Keep the result or the error for the calling thread."""
        try:
            results.append(function(*args))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return results[0]


@pytest.fixture(scope="package")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """Migrate a new SQLite file, seed the demo, and serve it on a free local port."""
    data_dir = tmp_path_factory.mktemp("browser-demo")
    url = f"sqlite:///{data_dir / 'wenming.sqlite3'}"
    upgrade(url)
    settings = Settings(
        env=Environment.TEST, secret_key=TEST_SECRET, database_url=url, data_dir=data_dir
    )
    logins, geography = _in_thread(_seed, settings)
    app = create_app(settings, clock=FrozenClock(NOW))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        # The socket already listens: the browser's first request waits in its backlog.
        yield DemoServer(base_url=f"http://127.0.0.1:{port}", logins=logins, geography=geography)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        listener.close()


@pytest.fixture(scope="package")
def playwright_driver() -> Iterator[Playwright]:
    """The Playwright driver, once for the browser tests; its event loop ends with them."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    """One headless Chromium for the browser tests; a missing Chromium fails with what to do."""
    if not CHROMIUM.exists():
        where = "CI" if IN_CI else "this machine"
        pytest.fail(
            f"Chromium is missing at {CHROMIUM} on {where}; the browser tests need it. "
            "Install Debian's package with `apt-get install -y chromium` (never "
            "`playwright install`).",
            pytrace=False,
        )
    chromium = playwright_driver.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield chromium
    chromium.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies) at a phone's viewport, for one test."""
    ctx = browser.new_context(viewport=PHONE, locale="zh-CN", device_scale_factor=1)
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A tab that fails the test on a script error, a console error (e.g. a CSP violation) or a
    stylesheet, script or image that does not load.

    Pages answered with a 4xx status on purpose (a refused sign-in) are not errors; Chromium's
    console line about them is left to the response check, which looks only at sub-resources.
    """
    tab = context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        """Record console errors other than Chromium's note on a refused page."""
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(f"console error: {message.text}")

    def on_response(response: Response) -> None:
        """Record sub-resources that failed to load."""
        if response.request.resource_type != "document" and response.status >= 400:
            problems.append(f"{response.status} for {response.url}")

    tab.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    tab.on("console", on_console)
    tab.on("response", on_response)
    yield tab
    assert problems == []
