"""Where a door number that is not in the gazetteer lies along its road (pure: no I/O).

Numbers run along a road with odd numbers on one side and even numbers on the other, so a missing
number is placed between the nearest known plates **of the same parity** below and above it: its
distance along the road and its offset from the centre line (the side of the road) are
interpolated linearly by number. With known plates on one side of it only, the number is placed
beyond the nearest one at ``PLATE_SPACING_M`` per step of two; with no plate of that parity on the
road, at the middle of the road. Work happens on a local metric plane around the road.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from wenming.geo.geometry import from_local_metric, local_metric


@dataclass(frozen=True)
class KnownPlate:
    """A stored plate of the road: its number and WGS-84 position."""

    number: int
    lon: float
    lat: float


def _station(line: BaseGeometry, point: Point) -> tuple[float, float, float]:
    """Distance of a point along the line and its offset (dx, dy) from the line in metres."""
    measure = float(line.project(point))
    foot = line.interpolate(measure)
    return measure, point.x - foot.x, point.y - foot.y


def interpolate(
    road: BaseGeometry,
    number: int,
    below: Sequence[KnownPlate],
    above: Sequence[KnownPlate],
) -> tuple[float, float]:
    """The WGS-84 (lon, lat) of ``number`` on a road (a lon/lat line).

    ``below`` and ``above`` are the nearest stored plates of the same parity under and over the
    number, nearest first (two of each are enough).
    """
    origin_lat = road.centroid.y
    line = local_metric(road, origin_lat)
    length = float(line.length)

    def station(plate: KnownPlate) -> tuple[float, float, float]:
        shape = local_metric(Point(plate.lon, plate.lat), origin_lat)
        assert isinstance(shape, Point)
        return _station(line, shape)

    pair: tuple[KnownPlate, KnownPlate] | None = None
    if below and above:
        pair = (below[0], above[0])
    elif len(below) >= 2:
        pair = (below[1], below[0])
    elif len(above) >= 2:
        pair = (above[0], above[1])
    if pair is not None and pair[0].number != pair[1].number:
        m0, dx0, dy0 = station(pair[0])
        m1, dx1, dy1 = station(pair[1])
        t = (number - pair[0].number) / (pair[1].number - pair[0].number)
        measure, dx, dy = m0 + t * (m1 - m0), dx0 + t * (dx1 - dx0), dy0 + t * (dy1 - dy0)
    elif below or above:
        measure, dx, dy = station((below or above)[0])
    else:
        measure, dx, dy = length / 2, 0.0, 0.0
    foot = line.interpolate(min(length, max(0.0, measure)))
    placed = from_local_metric(Point(foot.x + dx, foot.y + dy), origin_lat)
    assert isinstance(placed, Point)
    return float(placed.x), float(placed.y)
