"""``wenming eval``: index systems in and out, set-up, score and survey imports, rankings and
sampling draws (see docs/evaluation.md)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
import yaml
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.cli.common import (
    fail,
    load_settings,
    new_app,
    report_refused_import,
    require_current_schema,
    run_in_session,
)
from wenming.core.clock import SystemClock
from wenming.evaluation import export, indexfile, service
from wenming.evaluation.indexfile import FileRefused, IndexSpec
from wenming.evaluation.schemas import PlanIn, PlanOut, RankingOut, SetupIn, SetupReport

app = new_app(
    "Evaluation (测评): index systems, years and rounds, scores, rankings, sampling draws."
)


class IndexFormat(StrEnum):
    """File formats of an index system."""

    YAML = "yaml"
    XLSX = "xlsx"


class RankFormat(StrEnum):
    """Output formats of a ranking."""

    CSV = "csv"
    JSON = "json"
    XLSX = "xlsx"


ExistingFile = typer.Argument(exists=True, dir_okay=False, readable=True)


def _text(file: Path) -> str:
    try:
        return file.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        fail(f"{file.name} is not UTF-8 text")


def read_index(file: Path) -> IndexSpec:
    """An index file by its extension: .yaml/.yml or .xlsx."""
    suffix = file.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return indexfile.parse_yaml(_text(file))
    if suffix == ".xlsx":
        return indexfile.parse_xlsx(file.read_bytes())
    fail(f"{file.name}: give a .yaml, .yml or .xlsx file")


@app.command("import-index")
def import_index(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="Index version as YAML (.yaml/.yml) or an Excel workbook (.xlsx).",
        ),
    ],
) -> None:
    """Import a new index version: every problem is listed with its place; all or nothing."""
    settings = load_settings()
    require_current_schema(settings)
    now = SystemClock().now()
    try:
        spec = read_index(file)

        async def work(session: AsyncSession) -> int:
            await service.import_index(session, None, spec, now=now)
            return len(spec.items())

        count = run_in_session(settings, work, reraise=(FileRefused,))
    except FileRefused as refused:
        report_refused_import(f"{file.name}:", refused.problems)
    typer.echo(f"imported index version {spec.code}: {count} items")


@app.command("export-index")
def export_index(
    code: Annotated[str, typer.Argument(help="Code of the index version.")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write; YAML goes to standard output if none."),
    ] = None,
    format: Annotated[
        IndexFormat, typer.Option("--format", help="yaml or xlsx (xlsx needs --output).")
    ] = IndexFormat.YAML,
) -> None:
    """Export an index version in the format `import-index` reads back unchanged."""
    settings = load_settings()
    require_current_schema(settings)

    async def work(session: AsyncSession) -> IndexSpec:
        return await service.export_index(session, None, code)

    spec = run_in_session(settings, work, write=False)
    if format is IndexFormat.XLSX:
        if output is None:
            fail("--output: an Excel workbook must be written to a file")
        output.write_bytes(indexfile.to_xlsx(spec))
    elif output is None:
        typer.echo(indexfile.to_yaml(spec), nl=False)
    else:
        output.write_text(indexfile.to_yaml(spec), encoding="utf-8")


@app.command("setup")
def setup(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="YAML with categories, years (with rounds), participants, "
            "absent_location_types and cycles.",
        ),
    ],
) -> None:
    """Create or update years, rounds, participants and categories from a set-up file."""
    settings = load_settings()
    require_current_schema(settings)
    now = SystemClock().now()
    try:
        raw = yaml.safe_load(_text(file))
    except yaml.YAMLError:
        fail(f"{file.name} is not valid YAML")
    try:
        body = SetupIn.model_validate(raw)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
        ]
        report_refused_import(f"{file.name}:", problems)

    async def work(session: AsyncSession) -> SetupReport:
        return await service.apply_setup(session, None, body, now=now)

    try:
        report = run_in_session(settings, work, reraise=(FileRefused,))
    except FileRefused as refused:
        report_refused_import(f"{file.name}:", refused.problems)
    typer.echo(", ".join(f"{name}: {value}" for name, value in report.model_dump().items()))


def _import_rows(file: Path, kind: str) -> int:
    settings = load_settings()
    require_current_schema(settings)
    now = SystemClock().now()
    text = _text(file)

    async def work(session: AsyncSession) -> int:
        if kind == "scores":
            return await service.import_scores(session, None, text, now=now)
        return await service.import_survey(session, None, text, now=now)

    try:
        return run_in_session(settings, work, reraise=(FileRefused,))
    except FileRefused as refused:
        report_refused_import(f"{file.name}:", refused.problems)


@app.command("import-scores")
def import_scores(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="CSV with header round,participant_code,item_code,score (points obtained).",
        ),
    ],
) -> None:
    """Import item scores of evaluations run on paper; any bad row refuses the whole file."""
    count = _import_rows(file, "scores")
    typer.echo(f"imported {count} scores")


@app.command("import-survey")
def import_survey(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="CSV with header round,participant_code,item_code,respondents,rate (percent).",
        ),
    ],
) -> None:
    """Import survey results and convert them to points (max × rate / 100)."""
    count = _import_rows(file, "survey")
    typer.echo(f"imported {count} survey results")


@app.command("rank")
def rank(
    year: Annotated[
        int | None, typer.Option("--year", help="The evaluation year, e.g. 2022.")
    ] = None,
    cycle: Annotated[
        str | None,
        typer.Option("--cycle", help="A cycle code instead of a year: years weighted (15/25/60)."),
    ] = None,
    category: Annotated[
        str | None,
        typer.Option("--category", help="Only this category (code or name, e.g. 其他城区类)."),
    ] = None,
    format: Annotated[
        RankFormat, typer.Option("--format", help="csv, json or xlsx (xlsx needs --output).")
    ] = RankFormat.CSV,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write instead of standard output."),
    ] = None,
) -> None:
    """Print the year's ranking by category: rank, participant, one column per round, total.

    With --cycle the columns are the cycle's years and the total their weighted combination.
    """
    if (year is None) == (cycle is None):
        fail("give either --year YEAR or --cycle CODE")
    settings = load_settings()
    require_current_schema(settings)

    async def work(session: AsyncSession) -> RankingOut:
        if cycle is not None:
            return await service.cycle_ranking(session, None, cycle, category)
        assert year is not None
        return await service.ranking(session, None, year, category)

    table = run_in_session(settings, work, write=False)
    if format is RankFormat.XLSX:
        if output is None:
            fail("--output: an Excel workbook must be written to a file")
        output.write_bytes(export.to_xlsx(table))
        return
    text = export.to_csv(table) if format is RankFormat.CSV else export.to_json(table) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


@app.command("draw")
def draw_plan(
    round_code: Annotated[str, typer.Option("--round", help="Round code, e.g. 2022H1.")],
    participant: Annotated[str, typer.Option("--participant", help="Participant code.")],
    per_type: Annotated[
        int, typer.Option("--per-type", min=1, max=100, help="Points to draw per location type.")
    ],
    seed: Annotated[
        str | None,
        typer.Option("--seed", help="Seed to re-run a recorded draw; a fresh one if omitted."),
    ] = None,
) -> None:
    """Draw a participant's inspection points for a round and print the plan as JSON."""
    settings = load_settings()
    require_current_schema(settings)
    now = SystemClock().now()
    try:
        body = PlanIn(round=round_code, participant=participant, per_type=per_type, seed=seed)
    except ValidationError as exc:
        fail("; ".join(f"--{e['loc'][0]}: {e['msg']}" for e in exc.errors()))

    async def work(session: AsyncSession) -> PlanOut:
        plan = await service.draw_plan(session, None, body, now=now)
        return await service.plan_out(session, plan)

    plan = run_in_session(settings, work)
    typer.echo(json.dumps(plan.model_dump(mode="json"), ensure_ascii=False, indent=2))
