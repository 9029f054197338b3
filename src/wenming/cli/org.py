"""``wenming org``: import administrative units and departments from CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.cli.common import (
    load_settings,
    new_app,
    report_refused_import,
    require_current_schema,
    run_in_session,
)
from wenming.core.clock import SystemClock
from wenming.org.importer import ImportRefused, ImportReport, import_org, read_file

app = new_app("Organisation: administrative units and departments.")


@app.command("import")
def import_(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="UTF-8 CSV with the header code,name,kind,parent_code (see docs/org-import.md).",
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check the file and report; write nothing.")
    ] = False,
) -> None:
    """Import units and departments from a CSV file: all rows or none."""
    settings = load_settings()
    require_current_schema(settings)
    try:
        text = read_file(file)

        async def work(session: AsyncSession) -> ImportReport:
            return await import_org(session, text, SystemClock().now(), dry_run=dry_run)

        report = run_in_session(settings, work, write=not dry_run, reraise=(ImportRefused,))
    except ImportRefused as refusal:
        report_refused_import(file.name, refusal.problems)
    if dry_run:
        typer.echo(f"Checked {file.name} (dry run, nothing written): {report.summary()}.")
    else:
        typer.echo(f"Imported {file.name}: {report.summary()}.")
