"""``wenming geo import|export --layer road|address|place``: CSV and GeoJSON in, CSV out, a bad
file refused whole with every row named, a second import unchanged."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Cli, cli, cli_any  # noqa: F401 - fixtures used by these tests

UNITS_CSV = (
    "code,name,kind,parent_code\n"
    "210000000000,辽宁省,province,\n"
    "211100000000,盘锦市,city,210000000000\n"
    "211104000000,大洼区,district,211100000000\n"
    "211104004000,大洼街道,street,211104000000\n"
)
ROADS_CSV = (
    "code,name,aliases,unit_code,wkt\n"
    'RD-1,兴盛路,兴盛大路,211104004000,"LINESTRING (122 41, 122.01 41)"\n'
)
PLATES_CSV = (
    "code,road_code,number,suffix,building,entrance,room,unit_code,lon,lat\n"
    "P-1,RD-1,1,,,,,,122.0001,41.0001\n"
    "P-2,RD-1,2,,,,,,122.0001,40.9999\n"
)


def prepared(command: Cli, tmp_path: Path) -> None:
    """A migrated database with the district and one street."""
    (tmp_path / "units.csv").write_text(UNITS_CSV, encoding="utf-8")
    upgraded = command("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    result = command("org", "import", str(tmp_path / "units.csv"))
    assert result.exit_code == 0, result.output


def test_csv_layers_import_export_and_import_again_unchanged(cli_any: Cli, tmp_path: Path) -> None:  # noqa: F811
    prepared(cli_any, tmp_path)
    (tmp_path / "roads.csv").write_text(ROADS_CSV, encoding="utf-8")
    (tmp_path / "plates.csv").write_text(PLATES_CSV, encoding="utf-8")
    roads = cli_any("geo", "import", str(tmp_path / "roads.csv"), "--layer", "road")
    assert (roads.exit_code, roads.stdout) == (
        0,
        "Imported roads.csv into the road layer: created 1, updated 0, unchanged 0; "
        "layer version 1.\n",
    )
    plates = cli_any("geo", "import", str(tmp_path / "plates.csv"), "--layer", "address")
    assert plates.stdout.endswith("created 2, updated 0, unchanged 0; layer version 1.\n")
    exported = cli_any("geo", "export", "--layer", "address", "--out", str(tmp_path / "out.csv"))
    assert (
        exported.stdout == f"Exported 2 features of the address layer to {tmp_path / 'out.csv'}.\n"
    )
    assert (tmp_path / "out.csv").read_text(encoding="utf-8").splitlines()[:2] == [
        "code,road_code,number,suffix,building,entrance,room,unit_code,lon,lat,synthetic",
        "P-1,RD-1,1,,,,,211104004000,122.0001,41.0001,",
    ]
    again = cli_any("geo", "import", str(tmp_path / "out.csv"), "--layer", "address")
    assert again.stdout.endswith("created 0, updated 0, unchanged 2; layer version 1.\n")
    as_json = cli_any("geo", "export", "--layer", "road")
    collection = json.loads(as_json.stdout)
    assert [f["properties"] for f in collection["features"]] == [
        {"code": "RD-1", "name": "兴盛路", "aliases": ["兴盛大路"], "unit_code": "211104004000"}
    ]
    (tmp_path / "roads.geojson").write_text(as_json.stdout, encoding="utf-8")
    geojson_again = cli_any("geo", "import", str(tmp_path / "roads.geojson"), "--layer", "road")
    assert geojson_again.stdout.endswith("created 0, updated 0, unchanged 1; layer version 1.\n")
    assert cli_any.count("gaz_door_plate") == 2


def test_a_bad_csv_is_refused_whole_naming_each_row(cli: Cli, tmp_path: Path) -> None:  # noqa: F811
    prepared(cli, tmp_path)
    (tmp_path / "roads.csv").write_text(ROADS_CSV, encoding="utf-8")
    assert cli("geo", "import", str(tmp_path / "roads.csv"), "--layer", "road").exit_code == 0
    bad = PLATES_CSV + "P-3,RD-9,3,,,,,,122.0002,41.0001\nP-4,RD-1,0,,,,,,122.0002,41.0001\n"
    (tmp_path / "bad.csv").write_text(bad, encoding="utf-8")
    result = cli("geo", "import", str(tmp_path / "bad.csv"), "--layer", "address")
    assert result.exit_code == 2
    assert result.stderr == (
        "bad.csv row 4 (P-3): unknown road_code: there is no road 'RD-9'; import the road "
        "layer first\n"
        "bad.csv row 5 (P-4): number 0 must be a whole door number from 1 to 99999\n"
        "Nothing was imported: 2 problems. Fix them and run the import again.\n"
    )
    assert cli.count("gaz_door_plate") == 0
