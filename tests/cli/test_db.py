"""``wenming db``: the schema is created on a fresh directory and upgrades are idempotent."""

from __future__ import annotations

from tests.cli.conftest import Cli
from wenming.cases.calendar import bundled_calendar_days
from wenming.cases.reference import DEFAULT_STEP_LIMITS, default_categories, default_classes
from wenming.cli.common import head_revision
from wenming.core.config import Settings

REFERENCE_ADDED = (
    f"Reference data added: {len(default_classes())} category classes, "
    f"{len(default_categories())} categories, "
    f"{len(default_categories()) + len(DEFAULT_STEP_LIMITS)} time limits, "
    f"{len(bundled_calendar_days())} calendar days."
)


def test_db_upgrade_on_a_fresh_directory(cli: Cli) -> None:
    database = cli.data_dir / "wenming.sqlite3"
    head = head_revision(Settings())
    assert not cli.data_dir.exists()
    first = cli("db", "upgrade")
    assert (first.exit_code, first.stdout) == (
        0,
        f"Database: sqlite:///{database}\n"
        f"Schema upgraded from an empty database to {head} (head).\n{REFERENCE_ADDED}\n",
    )
    assert cli.count("case_category") == 122
    assert database.is_file()
    assert cli.scalar("SELECT version_num FROM alembic_version") == head
    assert cli.count("admin_unit") == 0
    second = cli("db", "upgrade")
    assert (second.exit_code, second.stdout) == (
        0,
        f"Database: sqlite:///{database}\nSchema already at {head} (head); nothing to do.\n",
    )
    current = cli("db", "current")
    assert current.stdout == f"Database: sqlite:///{database}\nRevision: {head} (head)\n"


def test_db_current_on_an_empty_directory_creates_nothing(cli: Cli) -> None:
    result = cli("db", "current")
    assert (result.exit_code, result.stdout) == (
        0,
        f"Database: sqlite:///{cli.data_dir / 'wenming.sqlite3'}\n"
        "Revision: none (empty database); run `wenming db upgrade`.\n",
    )
    assert not (cli.data_dir / "wenming.sqlite3").exists()


def test_db_upgrade_to_an_unknown_revision_is_refused(cli: Cli) -> None:
    result = cli("db", "upgrade", "--revision", "no-such-revision")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"Error: could not migrate sqlite:///{cli.data_dir / 'wenming.sqlite3'} to "
        "no-such-revision: "
    )
