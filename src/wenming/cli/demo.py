"""``wenming demo``: create the data directory, migrate, seed the demo district and serve it."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.cli.common import fail, format_table, load_settings, run_in_session, shown_url
from wenming.cli.db import migrate
from wenming.cli.serve import HostOption, PortOption, run_server
from wenming.core.clock import SystemClock
from wenming.core.config import Environment, Settings
from wenming.core.db import is_sqlite
from wenming.demo.case_seed import CaseSeedSummary, seed_demo_cases
from wenming.demo.evaluation_seed import (
    DEMO_YEAR,
    EvaluationSeedSummary,
    seed_demo_evaluation,
)
from wenming.demo.geo_seed import GeoSeedSummary, seed_demo_geography
from wenming.demo.seed import SEEDED_MARKER, DemoLogin, is_seeded, seed_demo
from wenming.org.models import AdminUnit, Department, User
from wenming.org.roles import ROLE_LABELS

SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


@dataclass(frozen=True)
class SeedOutcome:
    """What the seeding step found and left: whether it reused data, the logins, the counts."""

    reused: bool
    logins: list[DemoLogin]
    units: int
    departments: int
    people: int
    geography: GeoSeedSummary
    cases: CaseSeedSummary
    evaluation: EvaluationSeedSummary


async def seed(session: AsyncSession, settings: Settings) -> SeedOutcome:
    """Seed the demo district unless it is there already, and count what the database holds."""
    reused = await is_seeded(session)
    now = SystemClock().now()
    logins = await seed_demo(session, now)
    geography = await seed_demo_geography(session, now)
    cases = await seed_demo_cases(session, now, settings)
    evaluation = await seed_demo_evaluation(session, now)

    async def count(model: type[AdminUnit] | type[Department] | type[User]) -> int:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)

    return SeedOutcome(
        reused=reused,
        logins=logins,
        units=await count(AdminUnit),
        departments=await count(Department),
        people=await count(User),
        geography=geography,
        cases=cases,
        evaluation=evaluation,
    )


def embedded_database(settings: Settings) -> Path | None:
    """The SQLite file of the data directory when it is the configured database, else None."""
    url = settings.resolved_database_url
    if not is_sqlite(url):
        return None
    database = make_url(url).database
    if not database or Path(database).resolve() != settings.sqlite_path.resolve():
        return None
    return settings.sqlite_path


def holds_other_data(path: Path) -> bool:
    """Whether a SQLite file holds an organisation that the demo did not create."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master")}
        if "admin_unit" not in tables or "app_user" not in tables:
            return False
        seeded = connection.execute(
            "SELECT 1 FROM app_user WHERE username = ?", (SEEDED_MARKER,)
        ).fetchone()
        units = connection.execute("SELECT count(*) FROM admin_unit").fetchone()[0]
        return seeded is None and units > 0


def reset_database(settings: Settings) -> None:
    """Delete the embedded demo database so that the demo starts over; refuses anything else."""
    path = embedded_database(settings)
    if path is None:
        if is_sqlite(settings.resolved_database_url):
            fail(
                "--reset deletes only the embedded demo database "
                f"{settings.sqlite_path}; WENMING_DATABASE_URL points at another SQLite file "
                f"({shown_url(settings)}), which the demo leaves alone."
            )
        fail(
            "--reset works only on the embedded SQLite database in the data directory; "
            f"WENMING_DATABASE_URL points at {shown_url(settings)}, which the demo never drops. "
            "Empty that database yourself, or unset WENMING_DATABASE_URL to use the embedded one."
        )
    if not path.exists():
        typer.echo(f"Nothing to reset: {path} does not exist yet.")
        return
    try:
        other = holds_other_data(path)
    except sqlite3.DatabaseError as exc:
        fail(f"{path} is not a readable Wenming database ({exc}); move it away yourself.")
    if other:
        fail(
            f"{path} holds an organisation that the demo did not create; --reset deletes only "
            "demo databases. Move the file away yourself if you really mean to start over."
        )
    for suffix in SQLITE_COMPANIONS:
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    typer.echo(f"Deleted the demo database {path}.")


def print_logins(logins: list[DemoLogin]) -> None:
    """The sign-in of each demo role as a table."""
    rows = [
        [
            f"{ROLE_LABELS[login.role][0]} {ROLE_LABELS[login.role][1]}",
            login.username,
            login.password,
            login.unit_name,
        ]
        for login in logins
    ]
    typer.echo(format_table(["角色 Role", "用户名 Username", "密码 Password", "单位 Unit"], rows))


def demo(
    port: PortOption = 8000,
    host: HostOption = "127.0.0.1",
    reset: Annotated[
        bool,
        typer.Option(
            "--reset",
            help="Delete the embedded demo database first and seed it again "
            "(SQLite in the data directory only).",
        ),
    ] = False,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Seed and print the logins, then exit.")
    ] = False,
) -> None:
    """Run the demo district 大洼区 and print the login of each role.

    Creates the data directory, migrates, seeds the demo once (a second run reuses the data) and
    serves at http://HOST:PORT.
    """
    settings = load_settings()
    if settings.env is Environment.PRODUCTION:
        fail(
            "the demo creates accounts whose passwords are printed for everyone; it refuses to "
            "run with WENMING_ENV=production."
        )
    if reset:
        reset_database(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    typer.echo(f"Data directory: {settings.data_dir.resolve()}")
    typer.echo(f"Database: {shown_url(settings)}")
    migrate(settings)
    outcome = run_in_session(settings, lambda session: seed(session, settings))
    if outcome.reused:
        typer.echo(
            "Reusing the demo district already in this database "
            "(run `wenming demo --reset` to start over)."
        )
    else:
        typer.echo("Seeded the demo district 大洼区 (211104).")
    typer.echo(
        f"The database holds {outcome.units} units, {outcome.departments} departments and "
        f"{outcome.people} people."
    )
    geography = outcome.geography
    typer.echo(
        f"Geography (synthetic 示例): {geography.streets} streets/towns, "
        f"{geography.communities} communities/villages, {geography.grids} grids, "
        f"{geography.points} inspection points, {geography.components} components."
    )
    typer.echo(
        f"Cases (synthetic 示例): {outcome.cases.cases} cases, {outcome.cases.open} open, "
        f"{outcome.cases.overdue} overdue."
    )
    typer.echo(
        f"Evaluation (synthetic 示例): the example index, {outcome.evaluation.participants} "
        f"participants of 其他城区类 scored in 2 rounds of {DEMO_YEAR}; see /evaluation."
    )
    typer.echo(
        "Real: the codes of 辽宁省 > 盘锦市 > 大洼区 and its 16 townships (2022 statistical "
        "codes). Synthetic (示例): every community, village, department, person, phone number and "
        "every boundary, grid, point and component."
    )
    typer.echo("")
    print_logins(outcome.logins)
    typer.echo("")
    if no_serve:
        typer.echo("Not serving (--no-serve). Start it with `wenming demo` or `wenming serve`.")
        return
    typer.echo(f"Wenming demo: http://{host}:{port}/  (Ctrl+C stops it)")
    run_server(host, port)
