"""Coordinate systems of Chinese web maps: WGS-84 (stored), GCJ-02 (高德/腾讯) and BD-09 (百度).

Wenming stores WGS-84 (CGCS2000 is treated as equal) and converts every other system on the way in
and on the way out.

GCJ-02 is WGS-84 plus a published, smooth offset of up to a few hundred metres, computed on the
Krasovsky ellipsoid (semi-major axis 6,378,245 m, first eccentricity squared 0.006693421622965943).
BD-09 applies Baidu's published rotation-and-shift on top of GCJ-02.

Rules of this module:

* **Outside China GCJ-02 equals WGS-84.** "Inside China" is the rectangle commonly used by map
  providers: longitude 72.004–137.8347 °E, latitude 0.8293–55.8271 °N (``in_china``). Points
  of neighbouring countries that fall inside the rectangle are offset as well; the rectangle's
  edges lie outside China's land territory, so no Chinese district is near them.
* **BD-09 is always Baidu's transform of GCJ-02**, inside and outside the rectangle.
* **The inverse conversions iterate.** GCJ-02 → WGS-84 and BD-09 → GCJ-02 have no closed form: a
  fixed-point iteration applies the forward formula to the current estimate and corrects it by the
  residual until the residual is below ``TOLERANCE_DEG`` (1e-10°, about 0.01 mm), usually in four
  or five steps. A GCJ-02 point outside the rectangle is its own WGS-84 point. Round trips are
  therefore exact to about 1e-10° for any point inside China, far below the 1e-6° requirement.

Scalar functions use ``math`` (fast for one point); the ``*_array`` functions take and return numpy
arrays and apply exactly the same formulas element by element.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

KRASOVSKY_A = 6_378_245.0
KRASOVSKY_EE = 0.006693421622965943
BAIDU_X_PI = math.pi * 3000.0 / 180.0
BAIDU_DLON = 0.0065
BAIDU_DLAT = 0.006

CHINA_MIN_LON = 72.004
CHINA_MAX_LON = 137.8347
CHINA_MIN_LAT = 0.8293
CHINA_MAX_LAT = 55.8271

TOLERANCE_DEG = 1e-10
MAX_ITERATIONS = 30


class Crs(StrEnum):
    """The coordinate systems Wenming accepts and produces."""

    WGS84 = "wgs84"
    GCJ02 = "gcj02"
    BD09 = "bd09"


@dataclass(frozen=True)
class _Ops:
    """The elementary functions a formula needs: ``math`` for scalars, numpy for arrays."""

    sin: Any
    cos: Any
    sqrt: Any
    fabs: Any
    atan2: Any


_SCALAR = _Ops(math.sin, math.cos, math.sqrt, math.fabs, math.atan2)
_VECTOR = _Ops(np.sin, np.cos, np.sqrt, np.fabs, np.arctan2)


# --- the published formulas, written once for scalars and arrays alike -----------------------


def _gcj_offset(lon: Any, lat: Any, ops: _Ops) -> tuple[Any, Any]:
    """The GCJ-02 offset (degrees of longitude, degrees of latitude) at a WGS-84 point."""
    x = lon - 105.0
    y = lat - 35.0
    pi = math.pi
    # Three shared sine series, then one polynomial each for the two directions.
    ripple = (20.0 * ops.sin(6.0 * x * pi) + 20.0 * ops.sin(2.0 * x * pi)) * 2.0 / 3.0
    north = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * ops.sqrt(ops.fabs(x))
        + ripple
        + (20.0 * ops.sin(y * pi) + 40.0 * ops.sin(y / 3.0 * pi)) * 2.0 / 3.0
        + (160.0 * ops.sin(y / 12.0 * pi) + 320.0 * ops.sin(y * pi / 30.0)) * 2.0 / 3.0
    )
    east = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * ops.sqrt(ops.fabs(x))
        + ripple
        + (20.0 * ops.sin(x * pi) + 40.0 * ops.sin(x / 3.0 * pi)) * 2.0 / 3.0
        + (150.0 * ops.sin(x / 12.0 * pi) + 300.0 * ops.sin(x / 30.0 * pi)) * 2.0 / 3.0
    )
    # Metres of the Krasovsky ellipsoid's meridian and parallel at this latitude turn the series
    # (which are in metres) into degrees.
    phi = lat / 180.0 * pi
    w = 1.0 - KRASOVSKY_EE * ops.sin(phi) ** 2
    meridian_m_per_rad = KRASOVSKY_A * (1.0 - KRASOVSKY_EE) / (w * ops.sqrt(w))
    parallel_m_per_rad = KRASOVSKY_A / ops.sqrt(w) * ops.cos(phi)
    dlat = north * 180.0 / (meridian_m_per_rad * pi)
    dlon = east * 180.0 / (parallel_m_per_rad * pi)
    return dlon, dlat


def _baidu_forward(lon: Any, lat: Any, ops: _Ops) -> tuple[Any, Any]:
    """GCJ-02 → BD-09: a small radial and angular perturbation, then a fixed shift."""
    radius = ops.sqrt(lon * lon + lat * lat) + 0.00002 * ops.sin(lat * BAIDU_X_PI)
    angle = ops.atan2(lat, lon) + 0.000003 * ops.cos(lon * BAIDU_X_PI)
    return radius * ops.cos(angle) + BAIDU_DLON, radius * ops.sin(angle) + BAIDU_DLAT


def _baidu_first_guess(lon: Any, lat: Any, ops: _Ops) -> tuple[Any, Any]:
    """The published approximate inverse of ``_baidu_forward`` (accurate to about 1e-6°)."""
    x = lon - BAIDU_DLON
    y = lat - BAIDU_DLAT
    radius = ops.sqrt(x * x + y * y) - 0.00002 * ops.sin(y * BAIDU_X_PI)
    angle = ops.atan2(y, x) - 0.000003 * ops.cos(x * BAIDU_X_PI)
    return radius * ops.cos(angle), radius * ops.sin(angle)


# --- scalars ----------------------------------------------------------------------------------


def in_china(lon: float, lat: float) -> bool:
    """Whether a point lies in the rectangle where GCJ-02 differs from WGS-84."""
    return CHINA_MIN_LON <= lon <= CHINA_MAX_LON and CHINA_MIN_LAT <= lat <= CHINA_MAX_LAT


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """A WGS-84 point in GCJ-02 (unchanged outside China)."""
    if not in_china(lon, lat):
        return lon, lat
    dlon, dlat = _gcj_offset(lon, lat, _SCALAR)
    return lon + dlon, lat + dlat


def _invert(
    forward: Any, target_lon: float, target_lat: float, start: tuple[float, float]
) -> tuple[float, float]:
    """The point that ``forward`` maps onto the target, by fixed-point iteration from ``start``."""
    lon, lat = start
    for _ in range(MAX_ITERATIONS):
        mapped_lon, mapped_lat = forward(lon, lat)
        error_lon = mapped_lon - target_lon
        error_lat = mapped_lat - target_lat
        if not (math.fabs(error_lon) >= TOLERANCE_DEG or math.fabs(error_lat) >= TOLERANCE_DEG):
            break
        lon -= error_lon
        lat -= error_lat
    return lon, lat


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """A GCJ-02 point in WGS-84, iterated to a residual below ``TOLERANCE_DEG``."""
    if not in_china(lon, lat):
        return lon, lat
    dlon, dlat = _gcj_offset(lon, lat, _SCALAR)
    return _invert(wgs84_to_gcj02, lon, lat, (lon - dlon, lat - dlat))


def gcj02_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    """A GCJ-02 point in BD-09."""
    result: tuple[float, float] = _baidu_forward(lon, lat, _SCALAR)
    return result


def bd09_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """A BD-09 point in GCJ-02, iterated to a residual below ``TOLERANCE_DEG``."""
    return _invert(gcj02_to_bd09, lon, lat, _baidu_first_guess(lon, lat, _SCALAR))


def wgs84_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    """A WGS-84 point in BD-09 (through GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """A BD-09 point in WGS-84 (through GCJ-02)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def to_wgs84(lon: float, lat: float, crs: Crs) -> tuple[float, float]:
    """A point given in ``crs`` as WGS-84, the stored system."""
    if crs is Crs.GCJ02:
        return gcj02_to_wgs84(lon, lat)
    if crs is Crs.BD09:
        return bd09_to_wgs84(lon, lat)
    return float(lon), float(lat)


def from_wgs84(lon: float, lat: float, crs: Crs) -> tuple[float, float]:
    """A WGS-84 point expressed in ``crs`` (for maps whose tiles use GCJ-02 or BD-09)."""
    if crs is Crs.GCJ02:
        return wgs84_to_gcj02(lon, lat)
    if crs is Crs.BD09:
        return wgs84_to_bd09(lon, lat)
    return float(lon), float(lat)


# --- arrays -----------------------------------------------------------------------------------


def _as_arrays(lons: ArrayLike, lats: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Two float64 arrays of the same shape (copies: results never alias the inputs)."""
    lon_array = np.array(lons, dtype=np.float64)
    lat_array = np.array(lats, dtype=np.float64)
    if lon_array.shape != lat_array.shape:
        raise ValueError(
            f"longitudes {lon_array.shape} and latitudes {lat_array.shape} differ in shape"
        )
    return lon_array, lat_array


def in_china_array(lons: ArrayLike, lats: ArrayLike) -> NDArray[np.bool_]:
    """``in_china`` for every point."""
    lon, lat = _as_arrays(lons, lats)
    inside: NDArray[np.bool_] = (
        (lon >= CHINA_MIN_LON)
        & (lon <= CHINA_MAX_LON)
        & (lat >= CHINA_MIN_LAT)
        & (lat <= CHINA_MAX_LAT)
    )
    return inside


def _wgs84_to_gcj02_arrays(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``wgs84_to_gcj02`` on float64 arrays."""
    inside = in_china_array(lon, lat)
    out_lon = lon.copy()
    out_lat = lat.copy()
    if inside.any():
        dlon, dlat = _gcj_offset(lon[inside], lat[inside], _VECTOR)
        out_lon[inside] += dlon
        out_lat[inside] += dlat
    return out_lon, out_lat


def _invert_arrays(
    forward: Any,
    target_lon: FloatArray,
    target_lat: FloatArray,
    lon: FloatArray,
    lat: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """``_invert`` element by element: each point stops iterating once its own residual is small."""
    active = np.arange(lon.size)
    for _ in range(MAX_ITERATIONS):
        if active.size == 0:
            break
        mapped_lon, mapped_lat = forward(lon[active], lat[active])
        error_lon = mapped_lon - target_lon[active]
        error_lat = mapped_lat - target_lat[active]
        moving = (np.fabs(error_lon) >= TOLERANCE_DEG) | (np.fabs(error_lat) >= TOLERANCE_DEG)
        active = active[moving]
        lon[active] -= error_lon[moving]
        lat[active] -= error_lat[moving]
    return lon, lat


def _gcj02_to_wgs84_arrays(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``gcj02_to_wgs84`` on float64 arrays."""
    inside = in_china_array(lon, lat)
    out_lon = lon.copy()
    out_lat = lat.copy()
    if inside.any():
        target_lon = lon[inside]
        target_lat = lat[inside]
        dlon, dlat = _gcj_offset(target_lon, target_lat, _VECTOR)
        out_lon[inside], out_lat[inside] = _invert_arrays(
            _wgs84_to_gcj02_arrays, target_lon, target_lat, target_lon - dlon, target_lat - dlat
        )
    return out_lon, out_lat


def _gcj02_to_bd09_arrays(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``gcj02_to_bd09`` on float64 arrays."""
    result: tuple[FloatArray, FloatArray] = _baidu_forward(lon, lat, _VECTOR)
    return result


def _bd09_to_gcj02_arrays(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``bd09_to_gcj02`` on float64 arrays."""
    start_lon, start_lat = _baidu_first_guess(lon, lat, _VECTOR)
    return _invert_arrays(_gcj02_to_bd09_arrays, lon, lat, start_lon, start_lat)


def to_wgs84_array(lons: ArrayLike, lats: ArrayLike, crs: Crs) -> tuple[FloatArray, FloatArray]:
    """``to_wgs84`` for many points at once; returns new float64 arrays."""
    lon, lat = _as_arrays(lons, lats)
    if crs is Crs.GCJ02:
        return _gcj02_to_wgs84_arrays(lon, lat)
    if crs is Crs.BD09:
        return _gcj02_to_wgs84_arrays(*_bd09_to_gcj02_arrays(lon, lat))
    return lon, lat


def from_wgs84_array(lons: ArrayLike, lats: ArrayLike, crs: Crs) -> tuple[FloatArray, FloatArray]:
    """``from_wgs84`` for many points at once; returns new float64 arrays."""
    lon, lat = _as_arrays(lons, lats)
    if crs is Crs.GCJ02:
        return _wgs84_to_gcj02_arrays(lon, lat)
    if crs is Crs.BD09:
        return _gcj02_to_bd09_arrays(*_wgs84_to_gcj02_arrays(lon, lat))
    return lon, lat
