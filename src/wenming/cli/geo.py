"""``wenming geo``: import and export GeoJSON layers, generate a community's unit grids."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
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
from wenming.core.errors import InvalidInput
from wenming.geo import geojson, service
from wenming.geo.crs import Crs
from wenming.geo.gazetteer.importer import (
    GAZETTEER_LAYERS,
    RowProblem,
    collection_csv,
    export_collection,
    import_gazetteer,
    read_csv,
)
from wenming.geo.geojson import Parsed, Problem
from wenming.geo.gridgen import DEFAULT_CELL_AREA_M2
from wenming.geo.service import GeoImportError, ImportReport
from wenming.geo.version import Layer

app = new_app("Geography: GeoJSON layers in and out, unit grid generation (see docs/geo.md).")

OPTION_OF_FIELD = {"community_code": "--community", "cell_area": "--cell-area"}
LayerOption = Annotated[
    Layer,
    typer.Option(
        "--layer",
        help="street, community (boundaries), grid, point or component; road, address (door "
        "plates) or place for the gazetteer (GeoJSON or CSV, see docs/gazetteer.md).",
        show_choices=True,
    ),
]


def read_gazetteer_csv(file: Path, layer: Layer, crs: Crs) -> Parsed:
    """The rows of a gazetteer CSV file, or a refusal saying why it cannot be read."""
    try:
        text = file.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        fail(f"{file.name} is not UTF-8 text; save the CSV as UTF-8")
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}")
    return read_csv(text, layer, crs)


def read_geojson(file: Path) -> Any:
    """The JSON value of a UTF-8 file, or a refusal saying where it is broken."""
    try:
        text = file.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        fail(f"{file.name} is not UTF-8 text; GeoJSON files must be UTF-8 (RFC 7946)")
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{file.name} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}")


@app.command("import")
def import_(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="GeoJSON FeatureCollection (UTF-8; WGS-84 longitude/latitude unless --crs "
            "says otherwise); for road, address and place also a *.csv file.",
        ),
    ],
    layer: LayerOption,
    crs: Annotated[
        Crs,
        typer.Option(
            "--crs",
            help="Coordinate system of the file: wgs84 (GeoJSON's own), or gcj02 / bd09 for "
            "data taken from Chinese web maps; converted to WGS-84 on import.",
        ),
    ] = Crs.WGS84,
) -> None:
    """Import a layer from GeoJSON (gazetteer layers also CSV), matching by code: all or none."""
    settings = load_settings()
    require_current_schema(settings)
    is_csv = layer in GAZETTEER_LAYERS and file.suffix.lower() == ".csv"
    collection: Any = read_gazetteer_csv(file, layer, crs) if is_csv else read_geojson(file)

    async def work(session: AsyncSession) -> ImportReport:
        if layer in GAZETTEER_LAYERS:
            return await import_gazetteer(session, layer, collection, SystemClock().now(), crs=crs)
        return await service.import_layer(session, layer, collection, SystemClock().now(), crs=crs)

    try:
        report = run_in_session(settings, work, reraise=(GeoImportError,))
    except GeoImportError as refusal:
        kind = RowProblem if is_csv else Problem
        report_refused_import(file.name, [kind(**p) for p in refusal.problems])
    for note in report.repaired:
        typer.echo(f"{file.name} {Problem(**note)} (repaired)")
    for legacy in report.legacy_codes:
        typer.echo(
            f"{file.name} feature {legacy['index']}: 14-digit code {legacy['code']} stored as "
            f"{legacy['stored_as']}"
        )
    typer.echo(f"Imported {file.name} into the {layer.value} layer: {report.summary()}.")


@app.command("export")
def export(
    layer: LayerOption,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            dir_okay=False,
            help="File to write; standard output without it. Gazetteer layers are written as "
            "CSV to a file named *.csv.",
        ),
    ] = None,
) -> None:
    """Export a layer as a GeoJSON FeatureCollection (RFC 7946 winding, one feature a line)."""
    settings = load_settings()
    require_current_schema(settings)

    async def work(session: AsyncSession) -> dict[str, Any]:
        if layer in GAZETTEER_LAYERS:
            return await export_collection(session, None, layer)
        return await service.export_layer(session, None, layer)

    collection = run_in_session(settings, work, write=False)
    as_csv = layer in GAZETTEER_LAYERS and out is not None and out.suffix.lower() == ".csv"
    text = collection_csv(layer, collection) if as_csv else geojson.dumps(collection)
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"--out: cannot write {out}: {exc.strerror}")
    count = len(collection["features"])
    typer.echo(
        f"Exported {count} feature{'s' if count != 1 else ''} of the {layer.value} layer to {out}."
    )


@app.command("grid-generate")
def grid_generate(
    community: Annotated[
        str, typer.Option("--community", help="12-digit code of the community or village.")
    ],
    cell_area: Annotated[
        float, typer.Option("--cell-area", help="Area of a square cell in m².")
    ] = DEFAULT_CELL_AREA_M2,
) -> None:
    """Split a community's boundary into square grids, numbered west→east, north→south.

    Cells are clipped to the boundary; slivers under 5 % of a cell join a neighbour. Running it
    again with the same cell area changes nothing.
    """
    settings = load_settings()
    require_current_schema(settings)

    async def work(session: AsyncSession) -> str:
        grids = await service.generate_grids(session, community, cell_area, SystemClock().now())
        unit = await service.community_by_code(session, community)
        codes = f"{grids[0].code}–{grids[-1].code}" if grids else "none"
        total = sum(grid.area_m2 for grid in grids)
        return (
            f"Community {unit.code} ({unit.name}) has {len(grids)} "
            f"grid{'s' if len(grids) != 1 else ''} ({codes}) of about {cell_area:,.0f} m² "
            f"covering {total:,.0f} m²."
        )

    try:
        message = run_in_session(settings, work, reraise=(GeoImportError, InvalidInput))
    except GeoImportError as refusal:
        report_refused_import(f"grids of {community}:", [Problem(**p) for p in refusal.problems])
    except InvalidInput as exc:
        option = OPTION_OF_FIELD.get(exc.field or "")
        fail(f"{option}: {exc.detail}" if option else exc.detail)
    typer.echo(message)
