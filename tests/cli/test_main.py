"""The command tree: every command and option explains itself, and ``--help`` lists them all."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from typer.main import get_command

from tests.cli.conftest import Cli
from wenming import __version__
from wenming.cli.main import app

EXPECTED_COMMANDS = {
    (),
    ("serve",),
    ("demo",),
    ("db",),
    ("db", "upgrade"),
    ("db", "current"),
    ("user",),
    ("user", "create"),
    ("user", "apikey"),
    ("org",),
    ("org", "import"),
    ("geo",),
    ("geo", "import"),
    ("geo", "export"),
    ("geo", "grid-generate"),
    ("notify",),
    ("notify", "deliver"),
    ("cases",),
    ("cases", "sweep"),
    ("cases", "calendar"),
    ("cases", "calendar", "import"),
    ("cases", "calendar", "show"),
    ("eval",),
    ("eval", "import-index"),
    ("eval", "export-index"),
    ("eval", "setup"),
    ("eval", "import-scores"),
    ("eval", "import-survey"),
    ("eval", "rank"),
    ("eval", "draw"),
}


def walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command of the tree with its path of names."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from walk(sub, (*path, name))


def test_every_command_and_parameter_has_help_text() -> None:
    tree = dict(walk(get_command(app)))
    assert set(tree) == EXPECTED_COMMANDS
    for path, command in tree.items():
        assert command.help and command.help.strip(), f"{path} has no help"
        for parameter in command.params:
            help_text = getattr(parameter, "help", None)
            assert help_text and help_text.strip(), f"{path} {parameter.name} has no help"


def test_help_lists_every_command_with_its_summary(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    result = cli("--help")
    assert result.exit_code == 0
    for name, summary in [
        ("serve", "Serve Wenming over HTTP with the configured database."),
        ("demo", "Run the demo district 大洼区 and print the login of each role."),
        ("db", "Database schema: migrate and inspect."),
        ("user", "People: create users with a role, issue API keys."),
        ("org", "Organisation: administrative units and departments."),
    ]:
        assert re.search(rf"\b{name}\s+{re.escape(summary)}", result.stdout), name
    for group, subcommands in [("db", ["upgrade", "current"]), ("user", ["create", "apikey"])]:
        sub = cli(group, "--help")
        assert sub.exit_code == 0
        assert all(re.search(rf"│ {name}\s", sub.stdout) for name in subcommands)


def test_a_bare_call_shows_the_help_and_version_prints_the_version(cli: Cli) -> None:
    bare = cli()
    assert "Usage: wenming [OPTIONS] COMMAND [ARGS]..." in bare.output
    version = cli("--version")
    assert (version.exit_code, version.stdout) == (0, f"wenming {__version__}\n")
