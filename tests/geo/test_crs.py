"""Coordinate conversions: published reference pairs, round trips across China, the outside-China
rule, and the vectorised functions agreeing with the scalar ones."""

from __future__ import annotations

import math

import numpy as np
import pytest

from wenming.geo import crs
from wenming.geo.crs import Crs
from wenming.geo.geometry import distance_m

# The example in the widely used open-source coordtransform project (test/app.js), computed by the
# published formulas: the same input (116.404, 39.915) read as WGS-84, GCJ-02 or BD-09.
EXAMPLE = (116.404, 39.915)
EXAMPLE_WGS84_TO_GCJ02 = (116.41024449916938, 39.91640428150164)
EXAMPLE_GCJ02_TO_BD09 = (116.41036949371029, 39.92133699351021)
# Its inverse conversions are the one-step approximations (no iteration); exact inverses differ
# from them by less than 1e-6°, which is how far a single step is off.
EXAMPLE_GCJ02_TO_WGS84_ONE_STEP = (116.39775550083061, 39.91359571849836)
EXAMPLE_BD09_TO_GCJ02_ONE_STEP = (116.39762729119315, 39.90865673957631)
# Beijing railway station as Amap (GCJ-02) and Baidu (BD-09) publish it, to five decimals.
STATION_GCJ02 = (116.42703, 39.90245)
STATION_BD09 = (116.43351, 39.90851)

# A 0.5° lattice over mainland China, Hainan and Taiwan.
CHINA_LONS, CHINA_LATS = (
    a.ravel() for a in np.meshgrid(np.arange(73.5, 135.01, 0.5), np.arange(18.0, 53.51, 0.5))
)
OUTSIDE = [(2.3522, 48.8566), (-74.006, 40.7128), (151.2093, -33.8688), (139.7, 35.69)]


def off_by(got: tuple[float, float], want: tuple[float, float]) -> float:
    """The larger of the two coordinate differences, in degrees."""
    return max(abs(got[0] - want[0]), abs(got[1] - want[1]))


def test_forward_conversions_reproduce_the_published_example() -> None:
    assert off_by(crs.wgs84_to_gcj02(*EXAMPLE), EXAMPLE_WGS84_TO_GCJ02) < 1e-12
    assert off_by(crs.gcj02_to_bd09(*EXAMPLE), EXAMPLE_GCJ02_TO_BD09) < 1e-12
    assert off_by(crs.from_wgs84(*EXAMPLE, Crs.GCJ02), EXAMPLE_WGS84_TO_GCJ02) < 1e-12


def test_inverse_conversions_are_exact_where_the_one_step_values_are_approximate() -> None:
    wgs = crs.gcj02_to_wgs84(*EXAMPLE)
    gcj = crs.bd09_to_gcj02(*EXAMPLE)
    assert off_by(crs.wgs84_to_gcj02(*wgs), EXAMPLE) < 1e-9
    assert off_by(crs.gcj02_to_bd09(*gcj), EXAMPLE) < 1e-9
    assert 1e-8 < off_by(wgs, EXAMPLE_GCJ02_TO_WGS84_ONE_STEP) < 1e-6
    assert 1e-8 < off_by(gcj, EXAMPLE_BD09_TO_GCJ02_ONE_STEP) < 1e-6
    # The one-step values themselves miss the example by more than the iteration's tolerance.
    assert off_by(crs.wgs84_to_gcj02(*EXAMPLE_GCJ02_TO_WGS84_ONE_STEP), EXAMPLE) > 1e-7


def test_baidu_conversion_matches_a_published_station_pair_to_their_precision() -> None:
    bd = crs.gcj02_to_bd09(*STATION_GCJ02)
    assert off_by(bd, STATION_BD09) < 1e-5
    assert off_by(crs.bd09_to_gcj02(*STATION_BD09), STATION_GCJ02) < 1e-5


def test_gcj02_offset_in_china_is_tens_to_hundreds_of_metres() -> None:
    gcj_lons, gcj_lats = crs.from_wgs84_array(CHINA_LONS, CHINA_LATS, Crs.GCJ02)
    shifts = [
        distance_m(a, b, c, d)
        for a, b, c, d in zip(CHINA_LONS, CHINA_LATS, gcj_lons, gcj_lats, strict=True)
    ]
    assert 30 < min(shifts) < max(shifts) < 800
    # In 大洼区 the offset is about half a kilometre.
    assert 450 < distance_m(122.0, 41.0, *crs.wgs84_to_gcj02(122.0, 41.0)) < 520


@pytest.mark.parametrize("system", [Crs.GCJ02, Crs.BD09])
def test_round_trips_across_china_stay_below_a_billionth_of_a_degree(system: Crs) -> None:
    worst_there_and_back = 0.0
    worst_back_and_there = 0.0
    for lon, lat in zip(CHINA_LONS.tolist(), CHINA_LATS.tolist(), strict=True):
        worst_there_and_back = max(
            worst_there_and_back,
            off_by(crs.to_wgs84(*crs.from_wgs84(lon, lat, system), system), (lon, lat)),
        )
        worst_back_and_there = max(
            worst_back_and_there,
            off_by(crs.from_wgs84(*crs.to_wgs84(lon, lat, system), system), (lon, lat)),
        )
    assert worst_there_and_back < 1e-9
    assert worst_back_and_there < 1e-9


@pytest.mark.parametrize("system", [Crs.GCJ02, Crs.BD09])
def test_vectorised_round_trips_across_china(system: Crs) -> None:
    out_lons, out_lats = crs.from_wgs84_array(CHINA_LONS, CHINA_LATS, system)
    back_lons, back_lats = crs.to_wgs84_array(out_lons, out_lats, system)
    assert np.max(np.abs(back_lons - CHINA_LONS)) < 1e-9
    assert np.max(np.abs(back_lats - CHINA_LATS)) < 1e-9


@pytest.mark.parametrize("point", OUTSIDE)
def test_outside_china_gcj02_is_wgs84_and_bd09_keeps_baidus_shift(
    point: tuple[float, float],
) -> None:
    assert not crs.in_china(*point)
    assert crs.wgs84_to_gcj02(*point) == point
    assert crs.gcj02_to_wgs84(*point) == point
    bd = crs.wgs84_to_bd09(*point)
    assert bd == crs.gcj02_to_bd09(*point)
    assert off_by(bd, point) > 1e-3
    assert off_by(crs.bd09_to_wgs84(*bd), point) < 1e-9


def test_the_china_rectangle_includes_its_edges() -> None:
    assert crs.in_china(crs.CHINA_MIN_LON, crs.CHINA_MIN_LAT)
    assert crs.in_china(crs.CHINA_MAX_LON, crs.CHINA_MAX_LAT)
    assert not crs.in_china(crs.CHINA_MIN_LON - 1e-9, 30.0)
    assert not crs.in_china(crs.CHINA_MAX_LON + 1e-9, 30.0)
    assert not crs.in_china(100.0, crs.CHINA_MIN_LAT - 1e-9)
    assert not crs.in_china(100.0, crs.CHINA_MAX_LAT + 1e-9)
    assert crs.in_china_array([72.0, 100.0, 140.0], [30.0, 30.0, 30.0]).tolist() == [
        False,
        True,
        False,
    ]


SCALAR_AND_VECTOR = [
    (crs.wgs84_to_gcj02, Crs.GCJ02, "from"),
    (crs.gcj02_to_wgs84, Crs.GCJ02, "to"),
    (crs.wgs84_to_bd09, Crs.BD09, "from"),
    (crs.bd09_to_wgs84, Crs.BD09, "to"),
]


@pytest.mark.parametrize(("scalar", "system", "direction"), SCALAR_AND_VECTOR)
def test_vectorised_equals_scalar(scalar: object, system: Crs, direction: str) -> None:
    rng = np.random.default_rng(7)
    lons = np.concatenate([CHINA_LONS, rng.uniform(-180, 180, 500), [p[0] for p in OUTSIDE]])
    lats = np.concatenate([CHINA_LATS, rng.uniform(-85, 85, 500), [p[1] for p in OUTSIDE]])
    vector = crs.from_wgs84_array if direction == "from" else crs.to_wgs84_array
    got_lons, got_lats = vector(lons, lats, system)
    assert callable(scalar)
    expected = np.array([scalar(lon, lat) for lon, lat in zip(lons, lats, strict=True)])
    assert np.max(np.abs(got_lons - expected[:, 0])) < 1e-12
    assert np.max(np.abs(got_lats - expected[:, 1])) < 1e-12


def test_wgs84_is_passed_through_and_arrays_keep_their_shape() -> None:
    assert crs.to_wgs84(122.5, 41.25, Crs.WGS84) == (122.5, 41.25)
    assert crs.from_wgs84(122.5, 41.25, Crs.WGS84) == (122.5, 41.25)
    lons = np.array([[122.0, 122.1], [122.2, 122.3]])
    lats = np.array([[41.0, 41.1], [41.2, 41.3]])
    out_lons, out_lats = crs.from_wgs84_array(lons, lats, Crs.BD09)
    assert out_lons.shape == (2, 2)
    assert out_lats.shape == (2, 2)
    corner = (float(out_lons[1, 0]), float(out_lats[1, 0]))
    assert off_by(corner, crs.wgs84_to_bd09(122.2, 41.2)) < 1e-12
    assert lons[0, 0] == 122.0  # the inputs are never modified


def test_mismatched_arrays_are_refused() -> None:
    with pytest.raises(ValueError, match="differ in shape"):
        crs.to_wgs84_array([1.0, 2.0], [1.0], Crs.GCJ02)


def test_non_finite_input_stays_non_finite() -> None:
    lon, lat = crs.gcj02_to_wgs84(math.nan, 30.0)
    assert math.isnan(lon)
    assert lat == 30.0
    lons, _lats = crs.to_wgs84_array([math.nan, 122.0], [30.0, 41.0], Crs.BD09)
    assert math.isnan(lons[0])
    assert 121.9 < lons[1] < 122.0
