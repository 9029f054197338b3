"""Split a community's boundary into square unit grids: pure geometry, no database.

Cells are squares of side sqrt(cell area) laid on a local metric plane (``geometry.local_metric``)
from the north-west corner of the boundary's box, clipped to the boundary. A clipped piece smaller
than ``SLIVER_FRACTION`` of a cell is merged into the neighbouring piece with which it shares the
longest edge (or, touching none, into the nearest one), so the grids still cover the boundary
exactly. Pieces are numbered west→east along each row, rows north→south.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from wenming.core.errors import InvalidInput
from wenming.geo.geojson import orient
from wenming.geo.geometry import from_local_metric, local_metric

DEFAULT_CELL_AREA_M2 = 10_000.0
MIN_CELL_AREA_M2 = 100.0
MAX_CELL_AREA_M2 = 1_000_000.0
SLIVER_FRACTION = 0.05
MAX_SERIAL = 999  # the grid code has a 3-digit serial


@dataclass
class Piece:
    """A clipped part of one cell, in metres, with the row and column of its cell."""

    row: int
    column: int
    shape: BaseGeometry

    def order(self) -> tuple[int, int, float, float]:
        """Sort key: row north→south, column west→east, then parts north→south, west→east."""
        inside = self.shape.representative_point()
        return (self.row, self.column, -float(inside.y), float(inside.x))


def check_cell_area(cell_area_m2: float) -> None:
    """Refuse a cell area outside the supported range."""
    if not (math.isfinite(cell_area_m2) and MIN_CELL_AREA_M2 <= cell_area_m2 <= MAX_CELL_AREA_M2):
        raise InvalidInput(
            f"cell area must be between {MIN_CELL_AREA_M2:.0f} and {MAX_CELL_AREA_M2:.0f} m² "
            f"(10,000 m² is the usual unit grid), not {cell_area_m2}",
            field="cell_area",
        )


def square_cells(boundary: BaseGeometry, cell_area_m2: float) -> list[BaseGeometry]:
    """The grid polygons (lon/lat) of a boundary in serial order: the first is serial 001."""
    check_cell_area(cell_area_m2)
    origin_lat = float(boundary.centroid.y)
    metric = local_metric(boundary, origin_lat)
    estimate = metric.area / cell_area_m2
    if estimate > MAX_SERIAL:
        raise InvalidInput(
            f"the community covers {metric.area:,.0f} m², about {estimate:,.0f} cells of "
            f"{cell_area_m2:,.0f} m²; a grid code has room for {MAX_SERIAL}. Use a larger cell "
            "area",
            field="cell_area",
        )
    pieces = _clipped_pieces(metric, math.sqrt(cell_area_m2))
    grids = _merge_slivers(pieces, SLIVER_FRACTION * cell_area_m2)
    if len(grids) > MAX_SERIAL:
        raise InvalidInput(
            f"the community would need {len(grids)} grids; a grid code has room for "
            f"{MAX_SERIAL}. Use a larger cell area",
            field="cell_area",
        )
    return [orient(from_local_metric(piece.shape, origin_lat)) for piece in grids]


def _clipped_pieces(metric: BaseGeometry, side: float) -> list[Piece]:
    """Every polygon part of every square clipped to the boundary."""
    min_x, min_y, max_x, max_y = metric.bounds
    columns = max(1, math.ceil((max_x - min_x) / side))
    rows = max(1, math.ceil((max_y - min_y) / side))
    row_index, column_index = np.divmod(np.arange(rows * columns), columns)
    squares = shapely.box(
        min_x + column_index * side,
        max_y - (row_index + 1) * side,
        min_x + (column_index + 1) * side,
        max_y - row_index * side,
    )
    shapely.prepare(metric)
    hits = shapely.intersects(squares, metric)
    clipped = shapely.intersection(squares[hits], metric)
    pieces: list[Piece] = []
    for row, column, shape in zip(
        row_index[hits].tolist(), column_index[hits].tolist(), clipped, strict=True
    ):
        for part in shapely.get_parts(shape):
            if isinstance(part, Polygon) and part.area > 0:
                pieces.append(Piece(row, column, part))
    return pieces


def _merge_slivers(pieces: list[Piece], sliver_area: float) -> list[Piece]:
    """The pieces of at least ``sliver_area`` with every smaller piece merged into one of them."""
    kept = sorted((p for p in pieces if p.shape.area >= sliver_area), key=Piece.order)
    slivers = [p for p in pieces if p.shape.area < sliver_area]
    if not kept:
        whole = shapely.union_all([p.shape for p in pieces])
        return [Piece(0, 0, whole)] if not whole.is_empty else []
    while slivers:
        remaining: list[Piece] = []
        for sliver in slivers:
            target = _longest_shared_edge(sliver, kept)
            if target is None:
                remaining.append(sliver)
            else:
                target.shape = shapely.union(target.shape, sliver.shape)
        if len(remaining) == len(slivers):
            for sliver in remaining:
                target = min(kept, key=lambda p: (p.shape.distance(sliver.shape), p.order()))
                target.shape = shapely.union(target.shape, sliver.shape)
            break
        slivers = remaining
    return kept


def _longest_shared_edge(sliver: Piece, kept: list[Piece]) -> Piece | None:
    """The kept piece sharing the longest boundary with a sliver, or None if none shares one."""
    best: Piece | None = None
    best_length = 0.0
    for piece in kept:
        if not piece.shape.intersects(sliver.shape):
            continue
        length = float(shapely.intersection(piece.shape.boundary, sliver.shape.boundary).length)
        if length > best_length:
            best, best_length = piece, length
    return best
