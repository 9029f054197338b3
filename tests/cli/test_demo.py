"""``wenming demo``: migrate and seed once, reuse on a second run, start over only when safe."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import Cli
from tests.cli.test_db import REFERENCE_ADDED
from wenming.cli.common import head_revision, shown_url
from wenming.core.config import Settings

LOGIN_TABLE = """\
角色 Role                                    用户名 Username      密码 Password        单位 Unit
-------------------------------------------  -------------------  -------------------  --------------------
市民 Citizen                                 demo_citizen         Demo-2026-citizen    大洼区
网格员 Grid worker                           demo_grid_worker     Demo-2026-grid       建设社区（示例）
受理员/值班长 Intake clerk / shift leader    demo_intake          Demo-2026-intake     大洼区
派遣员 Dispatcher                            demo_dispatcher      Demo-2026-dispatch   大洼区
责任单位处置人员 Handler (responsible unit)  demo_handler         Demo-2026-handler    城管局（综合执法局）
镇街管理员 Street / town admin               demo_street_admin    Demo-2026-street     大洼街道
区管理员 District admin                      demo_district_admin  Demo-2026-district   大洼区
测评员 Evaluator                             demo_evaluator       Demo-2026-evaluator  大洼区
系统管理员 System admin                      demo_sys_admin       Demo-2026-sysadmin   辽宁省
"""  # noqa: E501 - the table as printed
SYNTHETIC_NOTE = (
    "Real: the codes of 辽宁省 > 盘锦市 > 大洼区 and its 16 townships (2022 statistical codes). "
    "Synthetic (示例): every community, village, department, person, phone number and every "
    "boundary, grid, point and component."
)
COUNTS = (
    "The database holds 57 units, 8 departments and 17 people.\n"
    "Geography (synthetic 示例): 16 streets/towns, 38 communities/villages, 721 grids, "
    "206 inspection points, 1000 components.\n"
    "Cases (synthetic 示例): 40 cases, 27 open, 7 overdue.\n"
    "Evaluation (synthetic 示例): the example index, 6 participants of 其他城区类 scored in 2 "
    "rounds of 2026; see /evaluation."
)
NOT_SERVING = "Not serving (--no-serve). Start it with `wenming demo` or `wenming serve`."
TREE_CSV = (
    "code,name,kind,parent_code\n"
    "210000000000,辽宁省,province,\n"
    "211100000000,盘锦市,city,210000000000\n"
)


def test_demo_seeds_once_and_a_second_run_reuses_the_data(cli_any: Cli) -> None:
    head = head_revision(Settings())
    first = cli_any("demo", "--no-serve")
    assert first.exit_code == 0, first.output
    assert first.stdout == (
        f"Data directory: {cli_any.data_dir.resolve()}\n"
        f"Database: {shown_url(Settings())}\n"
        f"Schema upgraded from an empty database to {head} (head).\n{REFERENCE_ADDED}\n"
        "Seeded the demo district 大洼区 (211104).\n"
        f"{COUNTS}\n{SYNTHETIC_NOTE}\n\n{LOGIN_TABLE}\n{NOT_SERVING}\n"
    )
    second = cli_any("demo", "--no-serve")
    assert second.exit_code == 0, second.output
    assert second.stdout == (
        f"Data directory: {cli_any.data_dir.resolve()}\n"
        f"Database: {shown_url(Settings())}\n"
        f"Schema already at {head} (head); nothing to do.\n"
        "Reusing the demo district already in this database (run `wenming demo --reset` to "
        "start over).\n"
        f"{COUNTS}\n{SYNTHETIC_NOTE}\n\n{LOGIN_TABLE}\n{NOT_SERVING}\n"
    )
    assert (cli_any.count("admin_unit"), cli_any.count("app_user")) == (57, 17)
    assert (cli_any.count("geo_grid"), cli_any.count("geo_component")) == (721, 1000)
    assert cli_any.count("case_record") == 40


def test_reset_deletes_the_demo_database_and_seeds_again(demo_cli: Cli) -> None:
    created = demo_cli(
        "user", "create", "--username", "extra", "--role", "citizen", "--password", "Extra-pass-1"
    )
    assert created.exit_code == 0, created.output
    assert demo_cli.count("app_user") == 18
    database = Path(Settings().sqlite_path)
    result = demo_cli("demo", "--reset", "--no-serve")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"Deleted the demo database {database}."
    assert lines[5:10] == ["Seeded the demo district 大洼区 (211104).", *COUNTS.splitlines()]
    assert demo_cli.count("app_user") == 17
    assert demo_cli.scalar("SELECT count(*) FROM app_user WHERE username = 'extra'") == 0


def test_reset_of_a_database_that_does_not_exist_yet_just_seeds(cli: Cli) -> None:
    result = cli("demo", "--reset", "--no-serve")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == (
        f"Nothing to reset: {Settings().sqlite_path} does not exist yet."
    )
    assert cli.count("app_user") == 17


def test_reset_refuses_postgresql(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WENMING_DATABASE_URL", "postgresql://wenming@db.example:5432/district")
    result = cli("demo", "--reset", "--no-serve")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: --reset works only on the embedded SQLite database in the data directory; "
        "WENMING_DATABASE_URL points at postgresql://wenming@db.example:5432/district, which "
        "the demo never drops. Empty that database yourself, or unset WENMING_DATABASE_URL to "
        "use the embedded one.\n"
    )
    assert not cli.data_dir.exists()


def test_reset_leaves_another_sqlite_file_alone(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    other = tmp_path / "elsewhere.sqlite3"
    other.write_bytes(b"not ours")
    monkeypatch.setenv("WENMING_DATABASE_URL", f"sqlite:///{other}")
    result = cli("demo", "--reset", "--no-serve")
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: --reset deletes only the embedded demo database {Settings().sqlite_path}; "
        f"WENMING_DATABASE_URL points at another SQLite file (sqlite:///{other}), which the "
        "demo leaves alone.\n"
    )
    assert other.read_bytes() == b"not ours"


def test_demo_never_touches_an_organisation_it_did_not_create(cli: Cli, tmp_path: Path) -> None:
    assert cli("db", "upgrade").exit_code == 0
    tree = tmp_path / "tree.csv"
    tree.write_text(TREE_CSV, encoding="utf-8")
    assert cli("org", "import", str(tree)).exit_code == 0
    database = Settings().sqlite_path
    reset = cli("demo", "--reset", "--no-serve")
    assert reset.exit_code == 2
    assert reset.stderr == (
        f"Error: {database} holds an organisation that the demo did not create; --reset "
        "deletes only demo databases. Move the file away yourself if you really mean to start "
        "over.\n"
    )
    seed = cli("demo", "--no-serve")
    assert seed.exit_code == 2
    assert seed.stderr == (
        "Error: this database already holds 2 administrative units that the demo did not "
        "create; the demo seeds only an empty database. Point WENMING_DATA_DIR (or "
        "WENMING_DATABASE_URL) at a new database.\n"
    )
    assert (cli.count("admin_unit"), cli.count("app_user")) == (2, 0)


def test_demo_refuses_production(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WENMING_ENV", "production")
    result = cli("demo", "--no-serve")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: the demo creates accounts whose passwords are printed for everyone; it refuses "
        "to run with WENMING_ENV=production.\n"
    )
    assert not cli.data_dir.exists()
