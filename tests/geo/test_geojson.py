"""Reading and writing GeoJSON (pure): every kind of bad geometry is named, safe repairs are made
and reported, and output follows RFC 7946 winding."""

from __future__ import annotations

import json
from typing import Any

import pytest
import shapely
from shapely.geometry import Polygon

from tests.factories.geo import collection, feature, lonlat, point, rect, rect_ring
from wenming.geo import geojson
from wenming.geo.geojson import Problem, parse_collection
from wenming.geo.version import Layer


def problems(value: Any, layer: Layer = Layer.GRID) -> list[str]:
    """The problems of a collection as text."""
    return [str(p) for p in parse_collection(value, layer).problems]


def polygon(*rings: list[list[float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": list(rings)}


def test_the_file_must_be_a_feature_collection() -> None:
    assert problems([1, 2]) == ["the file must hold one GeoJSON object, a FeatureCollection"]
    assert problems({"type": "Feature"}) == ['"type" must be "FeatureCollection", not \'Feature\'']
    assert problems({"type": "FeatureCollection", "features": {}}) == [
        '"features" must be a list of features'
    ]


def test_each_feature_problem_names_the_feature_by_index_and_code() -> None:
    value = collection(
        {"type": "Point"},
        {"type": "Feature", "properties": [], "geometry": rect(0, 0, 10, 10)},
        feature(None, code="211104004001001"),
        feature(point(0, 0), code="211104004001002"),
        feature({"type": "Polygon", "coordinates": None}, code="a"),
        feature({"type": "Polygon", "coordinates": []}, code="b"),
        feature(polygon([[122.0, 41.0], [122.001, 41.0]]), code="c"),
        feature(polygon([[122.0, 41.0], [122.001, 41.0], [122.0, 41.0], [122.0, 41.0]])),
        feature(polygon([[122.0, 41.0], ["x", 41.0], [122.0, 41.001], [122.0, 41.0]]), code=7),
        feature(polygon([[122.0, 41.0], [122.0], [122.0, 41.001], [122.0, 41.0]]), code="e"),
        feature({"type": "GeometryCollection", "geometries": []}, code="f"),
    )
    assert problems(value) == [
        'feature 0: is not a GeoJSON object of type "Feature"',
        'feature 1: "properties" must be an object',
        "feature 2 (211104004001001): has no geometry; layer grid needs Polygon or MultiPolygon",
        "feature 3 (211104004001002): geometry type 'Point' does not fit layer grid; use "
        "Polygon or MultiPolygon",
        "feature 4 (a): Polygon geometry has no coordinates",
        "feature 5 (b): the polygon must be a list of rings, the exterior first",
        "feature 6 (c): the polygon exterior ring has 2 positions; at least 3 are needed",
        "feature 7: the polygon has no area: its outline collapses to lines or points (Too "
        "few points in geometry component[122 41])",
        "feature 8 (7): position ['x', 41.0] must hold numbers, not 'x'",
        "feature 9 (e): position [122.0] must be [longitude, latitude]",
        "feature 10 (f): geometry type 'GeometryCollection' does not fit layer grid; use "
        "Polygon or MultiPolygon",
    ]


@pytest.mark.parametrize(
    ("position", "reason"),
    [
        ([200.0, 41.0], "coordinate [200.0, 41.0] is outside"),
        ([122.0, -91.0], "coordinate [122.0, -91.0] is outside"),
        ([4_500_000.0, 300_000.0], "coordinate [4500000.0, 300000.0] is outside"),
    ],
)
def test_coordinates_outside_longitude_latitude_are_refused(
    position: list[float], reason: str
) -> None:
    value = collection(feature({"type": "Point", "coordinates": position}, code="x"))
    assert problems(value, Layer.COMPONENT) == [
        f"feature 0 (x): {reason} the longitude/latitude range (longitude -180..180, latitude "
        "-90..90); GeoJSON positions are WGS-84 degrees in [longitude, latitude] order"
    ]


def test_non_finite_numbers_are_refused() -> None:
    value = collection(feature({"type": "Point", "coordinates": [float("nan"), 41.0]}))
    assert problems(value, Layer.COMPONENT) == [
        "feature 0: position [nan, 41.0] must hold finite numbers"
    ]


@pytest.mark.parametrize(
    ("layer", "allowed"),
    [
        (Layer.STREET, "Polygon or MultiPolygon"),
        (Layer.COMMUNITY, "Polygon or MultiPolygon"),
        (Layer.GRID, "Polygon or MultiPolygon"),
        (Layer.POINT, "Point, LineString, MultiLineString, Polygon or MultiPolygon"),
        (Layer.COMPONENT, "Point"),
    ],
)
def test_each_layer_names_the_geometry_types_it_takes(layer: Layer, allowed: str) -> None:
    value = collection(feature({"type": "MultiPoint", "coordinates": [[122.0, 41.0]]}, code="m"))
    assert problems(value, layer) == [
        f"feature 0 (m): geometry type 'MultiPoint' does not fit layer {layer.value}; use {allowed}"
    ]


def test_an_unclosed_ring_is_closed_and_reported() -> None:
    open_ring = rect_ring(0, 0, 100, 100)[:-1]
    parsed = parse_collection(collection(feature(polygon(open_ring), code="g")), Layer.GRID)
    assert parsed.problems == []
    assert parsed.repaired == [
        Problem(0, "g", "the polygon exterior ring was not closed; closed it")
    ]
    assert parsed.features[0].geometry == Polygon(rect_ring(0, 0, 100, 100))


def test_a_self_touching_spike_is_repaired_when_the_area_stays() -> None:
    spiked = [
        [122.0, 41.0],
        [122.002, 41.0],
        [122.002, 41.001],
        [122.001, 41.001],
        [122.001, 41.002],
        [122.001, 41.001],
        [122.0, 41.001],
        [122.0, 41.0],
    ]
    parsed = parse_collection(collection(feature(polygon(spiked), code="g")), Layer.GRID)
    assert parsed.problems == []
    assert parsed.repaired == [
        Problem(
            0,
            "g",
            "invalid polygon (Self-intersection[122.001 41.002]) repaired; area changed by 0.0 m²",
        )
    ]
    repaired = parsed.features[0].geometry
    assert repaired is not None and repaired.is_valid
    assert repaired.equals(shapely.box(122.0, 41.0, 122.002, 41.001))


def test_a_bow_tie_is_not_repaired_because_it_would_split() -> None:
    bow_tie = [[122.0, 41.0], [122.002, 41.002], [122.002, 41.0], [122.0, 41.002], [122.0, 41.0]]
    parsed = parse_collection(collection(feature(polygon(bow_tie), code="g")), Layer.GRID)
    assert [str(p) for p in parsed.problems] == [
        "feature 0 (g): invalid polygon (Self-intersection[122.001 41.001]); repairing it would "
        "split it into 2 polygons, which is not safe to do automatically; fix the outline"
    ]
    assert parsed.repaired == []


def test_a_repair_that_changes_the_area_is_refused() -> None:
    # A hole drawn outside its shell: the repair keeps both as areas, doubling the polygon.
    shell = [[122.0, 41.0], [122.001, 41.0], [122.001, 41.001], [122.0, 41.001], [122.0, 41.0]]
    hole = [[122.002, 41.0], [122.003, 41.0], [122.003, 41.001], [122.002, 41.001], [122.002, 41.0]]
    parsed = parse_collection(
        collection(feature({"type": "MultiPolygon", "coordinates": [[shell, hole]]}, code="g")),
        Layer.GRID,
    )
    assert [str(p) for p in parsed.problems] == [
        "feature 0 (g): invalid polygon (Hole lies outside shell[122.002 41]); repairing it "
        "would change its area by 18662.8 m² (more than 0.1%), which is not safe to do "
        "automatically; fix the outline"
    ]


def test_altitudes_are_dropped_and_output_is_two_dimensional() -> None:
    x, y = lonlat(10, 10)
    parsed = parse_collection(
        collection(feature({"type": "Point", "coordinates": [x, y, 12.5]}, code="p")),
        Layer.COMPONENT,
    )
    shape = parsed.features[0].geometry
    assert shape is not None
    assert geojson.geometry_object(shape) == {"type": "Point", "coordinates": [x, y]}


def test_clockwise_input_comes_out_counter_clockwise_with_clockwise_holes() -> None:
    clockwise_shell = list(reversed(rect_ring(0, 0, 300, 300)))
    counter_clockwise_hole = rect_ring(100, 100, 200, 200)
    parsed = parse_collection(
        collection(feature(polygon(clockwise_shell, counter_clockwise_hole), code="g")),
        Layer.GRID,
    )
    assert parsed.problems == [] and parsed.repaired == []
    shape = parsed.features[0].geometry
    assert shape is not None
    written = geojson.geometry_object(shape)
    exterior, interior = (shapely.LinearRing(r) for r in written["coordinates"])
    assert (exterior.is_ccw, interior.is_ccw) == (True, False)
    # Writing orients even a shape that was built clockwise elsewhere.
    clockwise = Polygon(clockwise_shell)
    assert shapely.LinearRing(geojson.geometry_object(clockwise)["coordinates"][0]).is_ccw


def test_lines_need_length_and_take_their_middle_as_anchor() -> None:
    x, y = lonlat(0, 0)
    parsed = parse_collection(
        collection(
            feature({"type": "LineString", "coordinates": [[x, y], [x, y]]}, code="l0"),
            feature(
                {"type": "LineString", "coordinates": [list(lonlat(0, 0)), list(lonlat(100, 0))]}
            ),
        ),
        Layer.POINT,
    )
    assert [str(p) for p in parsed.problems] == [
        "feature 0 (l0): the line has no length: all its positions are the same"
    ]
    line = parsed.features[1].geometry
    assert line is not None
    lon, lat = geojson.anchor(line)
    assert (round(lon, 9), round(lat, 9)) == tuple(round(v, 9) for v in lonlat(50, 0))


def test_dumps_writes_one_feature_a_line_and_reads_back_equal() -> None:
    value = collection(
        feature(rect(0, 0, 100, 100), code="211104004001001", name="测试"),
        feature(rect(100, 0, 200, 100), code="211104004001002"),
    )
    text = geojson.dumps(value)
    lines = text.splitlines()
    assert lines[0] == '{"type":"FeatureCollection","features":['
    assert lines[-1] == "]}"
    assert len(lines) == 4
    assert '"name":"测试"' in lines[1]
    assert json.loads(text) == value
    assert geojson.dumps(collection()) == '{"type":"FeatureCollection","features":[]}\n'
