"""``wenming serve`` refuses a bad configuration; ``wenming demo`` really serves the district."""

from __future__ import annotations

import os
import queue
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

import httpx
import pytest

from tests.cli.conftest import Cli
from tests.conftest import TEST_SECRET
from wenming.core.config import Settings

STARTUP_TIMEOUT_SECONDS = 120


def test_serve_refuses_production_with_the_default_secret(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WENMING_ENV", "production")
    monkeypatch.delenv("WENMING_SECRET_KEY")
    result = cli("serve")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "Error: WENMING_SECRET_KEY is empty or still the built-in default; production refuses "
        "to start with it. Set WENMING_SECRET_KEY to a random value of at least 32 characters, "
        "e.g. the output of `python -c 'import secrets; print(secrets.token_urlsafe(48))'`.\n"
    )


def test_serve_refuses_production_with_a_short_secret(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WENMING_ENV", "production")
    monkeypatch.setenv("WENMING_SECRET_KEY", "too-short")
    result = cli("serve")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "Error: WENMING_SECRET_KEY has 9 characters; production needs at least 32."
    )


def test_serve_refuses_invalid_settings_and_a_missing_schema(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WENMING_DB_POOL_SIZE", "many")
    invalid = cli("serve")
    assert (invalid.exit_code, invalid.stderr) == (
        2,
        "Error: the configuration is invalid: WENMING_DB_POOL_SIZE: Input should be a valid "
        "integer, unable to parse string as an integer\n",
    )
    monkeypatch.delenv("WENMING_DB_POOL_SIZE")
    unmigrated = cli("serve")
    assert (unmigrated.exit_code, unmigrated.stderr) == (
        2,
        f"Error: the database at sqlite:///{Settings().sqlite_path} has no Wenming schema "
        "yet; run `wenming db upgrade` first (or `wenming demo` for the demo district)\n",
    )


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_demo_serves_the_district_and_its_logins_work(
    tmp_path: Path, seeded_template: Path
) -> None:
    shutil.copytree(seeded_template, tmp_path / "data")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WENMING_")}
    environment.update(
        WENMING_DATA_DIR=str(tmp_path / "data"),
        WENMING_SECRET_KEY=TEST_SECRET,
        PYTHONUNBUFFERED="1",
    )
    port = free_port()
    wenming = Path(sys.executable).with_name("wenming")
    process = subprocess.Popen(
        [str(wenming), "demo", "--port", str(port)],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()

    def pump(stream: IO[str]) -> None:
        for line in stream:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, args=(process.stdout,), daemon=True).start()
    output: list[str] = []
    try:
        while not any("Uvicorn running on" in line for line in output):
            line = lines.get(timeout=STARTUP_TIMEOUT_SECONDS)
            if line is None:
                pytest.fail("wenming demo stopped before serving:\n" + "".join(output))
            output.append(line)
        assert (
            "Reusing the demo district already in this database "
            "(run `wenming demo --reset` to start over).\n" in output
        )
        assert f"Wenming demo: http://127.0.0.1:{port}/  (Ctrl+C stops it)\n" in output
        base = f"http://127.0.0.1:{port}"
        health = httpx.get(f"{base}/healthz")
        assert health.status_code == 200
        assert (health.json()["status"], health.json()["database_status"]) == ("ok", "ok")
        token = httpx.post(
            f"{base}/api/v1/auth/token",
            data={"username": "demo_street_admin", "password": "Demo-2026-street"},
        )
        assert token.status_code == 200, token.text
        me = httpx.get(
            f"{base}/api/v1/auth/me",
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        )
        assert (me.status_code, me.json()["username"]) == (200, "demo_street_admin")
    finally:
        process.terminate()
        process.wait(timeout=STARTUP_TIMEOUT_SECONDS)
