"""``wenming geo``: the examples import into the demo (and again unchanged), export goes to
standard output or a file, bad files are refused whole with every problem, grids are generated."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Cli

ROOT = Path(__file__).resolve().parents[2]
ORG_EXAMPLE = ROOT / "examples" / "org-units.csv"
EXAMPLES = ROOT / "examples" / "geo"
# The layers of the examples in the order they must be imported.
EXAMPLE_FILES = (
    ("street.geojson", "street"),
    ("communities.geojson", "community"),
    ("grids.geojson", "grid"),
    ("points.geojson", "point"),
    ("components.geojson", "component"),
)
EXAMPLE_COUNTS = {"street": 1, "community": 3, "grid": 9, "point": 3, "component": 3}
GEO_TABLES = ("geo_boundary", "geo_grid", "geo_point", "geo_component")


def version(cli: Cli, layer: str) -> int:
    """The stored version of a layer (0 before its first change)."""
    value = cli.scalar("SELECT version FROM geo_spatial_version WHERE layer = :layer", layer=layer)
    return int(value or 0)


def geo_counts(cli: Cli) -> tuple[int, ...]:
    """Rows of the geography tables."""
    return tuple(cli.count(table) for table in GEO_TABLES)


def with_examples(cli: Cli) -> None:
    """The demo district with the example units and their geography imported."""
    assert cli("org", "import", str(ORG_EXAMPLE)).exit_code == 0
    for name, layer in EXAMPLE_FILES:
        result = cli("geo", "import", str(EXAMPLES / name), "--layer", layer)
        assert result.exit_code == 0, result.output


def test_the_examples_import_into_the_demo_and_again_unchanged(cli_any: Cli) -> None:
    assert cli_any("demo", "--no-serve").exit_code == 0
    assert cli_any("org", "import", str(ORG_EXAMPLE)).exit_code == 0
    for name, layer in EXAMPLE_FILES:
        before = version(cli_any, layer)
        result = cli_any("geo", "import", str(EXAMPLES / name), "--layer", layer)
        assert (result.exit_code, result.stderr) == (0, "")
        assert result.stdout == (
            f"Imported {name} into the {layer} layer: created {EXAMPLE_COUNTS[layer]}, "
            f"updated 0, unchanged 0; layer version {before + 1}.\n"
        )
    placed = cli_any.row(
        "SELECT g.code, u.code FROM geo_component c JOIN geo_grid g ON g.id = c.grid_id "
        "JOIN admin_unit u ON u.id = c.unit_id WHERE c.code = '2111040103900002'"
    )
    assert placed == ("211104099001009", "211104099001")
    after = geo_counts(cli_any)
    for name, layer in EXAMPLE_FILES:
        again = cli_any("geo", "import", str(EXAMPLES / name), "--layer", layer)
        assert again.stdout == (
            f"Imported {name} into the {layer} layer: created 0, updated 0, "
            f"unchanged {EXAMPLE_COUNTS[layer]}; layer version {version(cli_any, layer)}.\n"
        )
    assert geo_counts(cli_any) == after


def test_export_writes_standard_output_or_a_file(demo_cli: Cli, tmp_path: Path) -> None:
    with_examples(demo_cli)
    printed = demo_cli("geo", "export", "--layer", "grid")
    assert (printed.exit_code, printed.stderr) == (0, "")
    collection = json.loads(printed.stdout)
    ours = [
        f["properties"]
        for f in collection["features"]
        if f["properties"]["community_code"] == "211104099001"
    ]
    assert [p["code"] for p in ours] == [f"211104099001{n:03d}" for n in range(1, 10)]
    assert ours[0] == {
        "code": "211104099001001",
        "community_code": "211104099001",
        "community_name": "示例一社区",
        "land_use": "居住用地",
        "management_grade": "一类",
        "responsible_party": "示例物业公司",
        "area_m2": 10000.5,
        "synthetic": False,
    }
    out = tmp_path / "grids-out.geojson"
    written = demo_cli("geo", "export", "--layer", "grid", "--out", str(out))
    count = len(collection["features"])
    assert written.stdout == f"Exported {count} features of the grid layer to {out}.\n"
    assert out.read_text(encoding="utf-8") == printed.stdout
    reimported = demo_cli("geo", "import", str(out), "--layer", "grid")
    assert reimported.stdout.startswith(
        f"Imported grids-out.geojson into the grid layer: created 0, updated 0, unchanged {count};"
    )


def test_a_bad_file_is_refused_whole_with_every_problem(demo_cli: Cli, tmp_path: Path) -> None:
    with_examples(demo_cli)
    grids = json.loads((EXAMPLES / "grids.geojson").read_text(encoding="utf-8"))
    grids["features"][1]["properties"]["community_code"] = "211104099009"
    grids["features"][4]["geometry"]["coordinates"][0][1] = [222.35, 41.0]
    grids["features"][6]["properties"]["land_use"] = "草地"
    bad = tmp_path / "bad-grids.geojson"
    bad.write_text(json.dumps(grids, ensure_ascii=False), encoding="utf-8")
    before = geo_counts(demo_cli)
    grid_version = version(demo_cli, "grid")
    result = demo_cli("geo", "import", str(bad), "--layer", "grid")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.splitlines() == [
        "bad-grids.geojson feature 1 (211104099001002): unknown community_code: there is no "
        "community or village 211104099009 in the organisation",
        "bad-grids.geojson feature 4 (211104099001005): coordinate [222.35, 41.0] is outside the "
        "longitude/latitude range (longitude -180..180, latitude -90..90); GeoJSON positions "
        "are WGS-84 degrees in [longitude, latitude] order",
        "Nothing was imported: 2 problems. Fix them and run the import again.",
    ]
    assert geo_counts(demo_cli) == before
    assert version(demo_cli, "grid") == grid_version
    land_use = demo_cli.scalar("SELECT land_use FROM geo_grid WHERE code = '211104099001007'")
    assert land_use == "居住用地"


def test_unreadable_input_and_unknown_layers_are_refused(demo_cli: Cli, tmp_path: Path) -> None:
    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    result = demo_cli("geo", "import", str(broken), "--layer", "grid")
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: broken.geojson is not valid JSON: Expecting value at line 1, column 44\n",
    )
    gbk = tmp_path / "gbk.geojson"
    gbk.write_bytes('{"name": "网格"}'.encode("gbk"))
    not_utf8 = demo_cli("geo", "import", str(gbk), "--layer", "grid")
    assert (not_utf8.exit_code, not_utf8.stderr) == (
        2,
        "Error: gbk.geojson is not UTF-8 text; GeoJSON files must be UTF-8 (RFC 7946)\n",
    )
    unknown = demo_cli("geo", "export", "--layer", "river")
    assert unknown.exit_code == 2
    assert "'river' is not one of" in unknown.stderr


def test_grid_generate_cuts_a_community_and_reruns_unchanged(demo_cli: Cli) -> None:
    with_examples(demo_cli)
    expected = (
        "Community 211104099002 (示例二社区) has 9 grids (211104099002001–211104099002009) of "
        "about 10,000 m² covering 90,001 m².\n"
    )
    first = demo_cli("geo", "grid-generate", "--community", "211104099002")
    assert (first.exit_code, first.stdout) == (0, expected)
    grid_version = version(demo_cli, "grid")
    again = demo_cli("geo", "grid-generate", "--community", "211104099002", "--cell-area", "10000")
    assert (again.exit_code, again.stdout) == (0, expected)
    assert version(demo_cli, "grid") == grid_version
    larger = demo_cli("geo", "grid-generate", "--community", "211104099002", "--cell-area", "22500")
    assert larger.stdout == (
        "Community 211104099002 (示例二社区) has 4 grids (211104099002001–211104099002004) of "
        "about 22,500 m² covering 90,001 m².\n"
    )


def test_grid_generate_names_the_option_to_fix(demo_cli: Cli) -> None:
    assert demo_cli("org", "import", str(ORG_EXAMPLE)).exit_code == 0
    unknown = demo_cli("geo", "grid-generate", "--community", "211104099009")
    assert (unknown.exit_code, unknown.stderr) == (
        2,
        "Error: --community: no community or village 211104099009: there is no unit 211104099009\n",
    )
    no_boundary = demo_cli("geo", "grid-generate", "--community", "211104099001")
    assert (no_boundary.exit_code, no_boundary.stderr) == (
        2,
        "Error: --community: community 211104099001 (示例一社区) has no boundary yet; import it "
        "first: wenming geo import FILE --layer community\n",
    )
    communities = str(EXAMPLES / "communities.geojson")
    assert demo_cli("geo", "import", communities, "--layer", "community").exit_code == 0
    tiny = demo_cli("geo", "grid-generate", "--community", "211104099002", "--cell-area", "10")
    assert (tiny.exit_code, tiny.stderr) == (
        2,
        "Error: --cell-area: cell area must be between 100 and 1000000 m² (10,000 m² is the "
        "usual unit grid), not 10.0\n",
    )
