"""Geometry helpers shared by the geography layers: WKB storage, bounding boxes, metric areas.

Coordinates are WGS-84 longitude/latitude everywhere in storage. Metric quantities (area,
distance) use a local equirectangular projection around the geometry, which is accurate to well
under 0.1 % at the size of a district.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import shapely
from shapely.geometry.base import BaseGeometry

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG)
METRES_PER_DEGREE = math.pi * EARTH_RADIUS_M / 180.0


@dataclass(frozen=True)
class Box:
    """A lon/lat bounding box."""

    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float


def to_wkb(geometry: BaseGeometry) -> bytes:
    """The geometry as little-endian WKB, the stored form."""
    return bytes(shapely.to_wkb(geometry, byte_order=1))


def from_wkb(data: bytes) -> BaseGeometry:
    """A stored geometry."""
    return shapely.from_wkb(data)


def box_of(geometry: BaseGeometry) -> Box:
    """The bounding box of a geometry."""
    min_lon, min_lat, max_lon, max_lat = geometry.bounds
    return Box(min_lon, min_lat, max_lon, max_lat)


def local_metric(geometry: BaseGeometry, origin_lat: float | None = None) -> BaseGeometry:
    """The geometry in metres on a plane tangent at its latitude (x east, y north)."""
    lat0 = origin_lat if origin_lat is not None else geometry.centroid.y
    kx = METRES_PER_DEGREE * math.cos(math.radians(lat0))
    ky = METRES_PER_DEGREE
    return shapely.transform(geometry, lambda xy: xy * [kx, ky])


def from_local_metric(geometry: BaseGeometry, origin_lat: float) -> BaseGeometry:
    """The inverse of ``local_metric`` for the same origin latitude."""
    kx = METRES_PER_DEGREE * math.cos(math.radians(origin_lat))
    ky = METRES_PER_DEGREE
    return shapely.transform(geometry, lambda xy: xy / [kx, ky])


def area_m2(geometry: BaseGeometry) -> float:
    """The area of a lon/lat geometry in square metres."""
    if geometry.is_empty:
        return 0.0
    return float(local_metric(geometry).area)


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """The great-circle distance between two lon/lat points in metres (haversine)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, a)))
