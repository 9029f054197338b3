"""``wenming user``: create users (refusals write nothing) and API keys that then authenticate."""

from __future__ import annotations

import asyncio
import os
import pty
import sys
from pathlib import Path

import httpx
import pytest

from tests.cli.conftest import Cli, in_own_thread
from wenming.core.config import Settings
from wenming.core.security import token_digest, verify_password
from wenming.main import create_app

ROLES = (
    "citizen, grid_worker, intake, dispatcher, handler, street_admin, district_admin, "
    "evaluator, sys_admin"
)
BINDINGS_SQL = (
    "SELECT r.role, u.code, d.code, (SELECT count(*) FROM role_assignment x "
    "WHERE x.user_id = p.id) FROM role_assignment r JOIN app_user p ON p.id = r.user_id "
    "LEFT JOIN admin_unit u ON u.id = r.unit_id LEFT JOIN department d ON d.id = r.department_id "
    "WHERE p.username = :username"
)


def binding(cli: Cli, username: str) -> tuple[str, str | None, str | None]:
    """The one role of a user with the codes of its unit and department."""
    found = cli.row(BINDINGS_SQL, username=username)
    assert found is not None and found[3] == 1, f"{username} should hold exactly one role"
    return found[0], found[1], found[2]


def test_create_a_user_with_a_password_option(cli_any: Cli) -> None:
    assert cli_any("demo", "--no-serve").exit_code == 0
    result = cli_any(
        "user", "create", "--username", "Li.Ming", "--role", "grid_worker",
        "--unit", "211104004001", "--password", "Grid-pass-2026", "--display-name", "李明",
        "--phone", "13900001111",
    )  # fmt: skip
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (
        "Created user li.ming (李明) as 网格员 / Grid worker at 建设社区（示例） (211104004001).\n"
    )
    stored = cli_any.scalar("SELECT password_hash FROM app_user WHERE username = 'li.ming'")
    assert verify_password(stored, "Grid-pass-2026")
    phone = cli_any.scalar("SELECT phone FROM app_user WHERE username = 'li.ming'")
    assert phone == "13900001111"
    assert binding(cli_any, "li.ming") == ("grid_worker", "211104004001", None)


def test_create_reads_the_password_from_a_piped_line(demo_cli: Cli) -> None:
    result = demo_cli(
        "user", "create", "--username", "zjj.wang", "--role", "handler",
        "--department", "211104-ZJJ", input="Piped-pass-2026\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "Created user zjj.wang (zjj.wang) as 责任单位处置人员 / Handler (responsible unit) at "
        "住建局 (211104-ZJJ).\n"
    )
    stored = demo_cli.scalar("SELECT password_hash FROM app_user WHERE username = 'zjj.wang'")
    assert verify_password(stored, "Piped-pass-2026")
    assert binding(demo_cli, "zjj.wang") == ("handler", None, "211104-ZJJ")


def test_create_on_a_terminal_asks_twice_without_echo(demo_cli: Cli) -> None:
    wenming = str(Path(sys.executable).with_name("wenming"))
    args = [wenming, "user", "create", "--username", "tty.user", "--role", "evaluator",
            "--unit", "211104000000"]  # fmt: skip
    pid, terminal = pty.fork()
    if pid == 0:  # the child: its controlling terminal is the pseudo-terminal
        os.execve(wenming, args, dict(os.environ))  # noqa: S606 - no shell on purpose
    transcript = b""

    def read_until(marker: bytes) -> None:
        nonlocal transcript
        while marker not in transcript:
            transcript += os.read(terminal, 1024)

    read_until(b"Password: ")
    os.write(terminal, b"Tty-pass-2026\n")
    read_until(b"Repeat for confirmation: ")
    os.write(terminal, b"Tty-pass-2026\n")
    read_until(b"Created user")
    read_until(b"\n")
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert b"Tty-pass-2026" not in transcript
    stored = demo_cli.scalar("SELECT password_hash FROM app_user WHERE username = 'tty.user'")
    assert verify_password(stored, "Tty-pass-2026")
    os.close(terminal)


@pytest.mark.parametrize(
    ("options", "stdin", "message"),
    [
        (["--username", "x1", "--role", "wizard", "--unit", "211104004001"], "Long-enough-1\n",
         f"--role: unknown role 'wizard'; use one of: {ROLES}"),
        (["--username", "x1", "--role", "grid_worker", "--unit", "211104999999"],
         "Long-enough-1\n", "--unit: no unit with code 211104999999"),
        (["--username", "x1", "--role", "handler", "--department", "211104-XXX"],
         "Long-enough-1\n", "--department: no department with code 211104-XXX"),
        (["--username", "x1", "--role", "grid_worker", "--unit", "211104004001"], "short\n",
         "--password: password must have at least 8 characters"),
        (["--username", "demo_grid_worker", "--role", "grid_worker", "--unit", "211104004001"],
         "Long-enough-1\n", "--username: username 'demo_grid_worker' is taken; choose another"),
        (["--username", "x1", "--role", "grid_worker"], "Long-enough-1\n",
         "--unit: role grid_worker needs a unit (give its 12-digit code)"),
        (["--username", "x1", "--role", "grid_worker", "--department", "211104-ZJJ"],
         "Long-enough-1\n",
         "--department: role grid_worker is bound to an administrative unit, not a department"),
        (["--username", "Bad Name", "--role", "grid_worker", "--unit", "211104004001"],
         "Long-enough-1\n",
         "--username: username must be 2-64 characters: lowercase letters, digits, '.', '_' or "
         "'-', starting with a letter or digit"),
        (["--username", "x1", "--role", "grid_worker", "--unit", "211104004001", "--phone",
          "call me"], "Long-enough-1\n",
         "--phone: phone must contain digits only (spaces, '-' and a leading '+' allowed)"),
        (["--username", "x1", "--role", "grid_worker", "--unit", "211104004001"], "",
         "--password: no password given; pass --password or pipe one line to stdin"),
    ],
)  # fmt: skip
def test_refused_creations_say_why_and_write_nothing(
    demo_cli: Cli, options: list[str], stdin: str, message: str
) -> None:
    result = demo_cli("user", "create", *options, input=stdin)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"Error: {message}\n")
    assert (demo_cli.count("app_user"), demo_cli.count("role_assignment")) == (17, 17)


async def call_me(header_sets: list[dict[str, str]]) -> list[tuple[int, str | None]]:
    """Ask the application on the commands' database who each set of headers belongs to."""
    app = create_app(Settings())
    transport = httpx.ASGITransport(app=app)
    answers = []
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        for headers in header_sets:
            response = await http.get("/api/v1/auth/me", headers=headers)
            answers.append((response.status_code, response.json().get("username")))
    await app.state.db.dispose()
    return answers


def test_apikey_is_printed_once_and_authenticates_against_the_api(demo_cli: Cli) -> None:
    result = demo_cli("user", "apikey", "Demo_District_Admin", "--label", "open311 gateway")
    assert result.exit_code == 0, result.output
    key = result.stdout.strip()
    assert result.stdout == f"{key}\n"
    assert key.startswith("wmk_") and len(key) > 40
    assert result.stderr == (
        "API key for demo_district_admin (open311 gateway). Store it now: it cannot be shown "
        "again. Send it as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'.\n"
    )
    assert demo_cli.scalar("SELECT name FROM api_key") == "open311 gateway"
    assert demo_cli.scalar("SELECT key_digest FROM api_key") == token_digest(key)
    header_sets = [{"Authorization": f"Bearer {key}"}, {"X-API-Key": key}, {"X-API-Key": key + "x"}]
    answers = in_own_thread(asyncio.run, call_me(header_sets))
    assert answers == [
        (200, "demo_district_admin"),
        (200, "demo_district_admin"),
        (401, None),
    ]


def test_apikey_for_an_unknown_or_disabled_user_is_refused(demo_cli: Cli) -> None:
    unknown = demo_cli("user", "apikey", "nobody")
    assert (unknown.exit_code, unknown.stdout, unknown.stderr) == (
        2,
        "",
        "Error: no user named 'nobody'\n",
    )
    demo_cli.execute("UPDATE app_user SET is_active = false WHERE username = 'demo_handler'")
    disabled = demo_cli("user", "apikey", "demo_handler")
    assert (disabled.exit_code, disabled.stderr) == (
        2,
        "Error: user 'demo_handler' is disabled; enable the account first\n",
    )
    assert demo_cli.count("api_key") == 0
