"""The in-process grid index: which unit grid covers a WGS-84 point, for one point or millions.

**Answer rule.** A point belongs to the grid whose polygon *covers* it (interior or boundary). When
several grids cover it — a point on a shared edge or vertex, or where grids overlap — it belongs to
the one with the lowest code (string order), every time. Points inside a hole of a grid, or outside
every grid, belong to none. The answer therefore always equals a brute-force
``min(code for grid if grid.covers(point))``.

**How it is fast.** A uniform bucket grid of cells (about ``CELLS_PER_GRID_SIDE``² cells per unit
grid, at most ``MAX_CELLS``) is laid over the grids' bounding box. At build time every cell is
classified exactly:

* cells that no grid edge comes near are entirely inside the same set of grids; they store the
  answer itself (the lowest such grid, or "none") and are answered without any geometric test;
* the other cells (*boundary cells*) store their candidate grids in code order; a point there is
  tested against each candidate with GEOS's exact, prepared ``intersects`` (point in the closed
  polygon) until one covers it.

Boundary cells are found by walking every polygon edge through the cells it crosses (widened by a
tiny margin that dwarfs all floating-point rounding); the other cells are filled by an even-odd
scanline through the cell centres. Most points land in answered cells, so a bulk lookup is a few
numpy passes plus exact tests for the few points near edges, and a single lookup is a few
arithmetic operations.

**Staleness.** An index carries the grid layer's version stamp (``geo_spatial_version``: version
number and the time of the change). ``grid_index(session)`` reads the stamp with one primary-key
read and rebuilds when it differs, so every process follows a change as soon as it is committed.
Caches live per database: one per engine (all sessions of a ``Database`` share it) and one per
connection for sessions bound to a single connection. A transaction that changes grids must bump
the version (``geo.version.bump_version``); to look grids up *inside* such a transaction before it
commits, use ``build_grid_index(session)``, which never touches the shared cache.

**Distances.** ``nearest`` ranks grids on a local equirectangular plane centred on the grids
(metres) and reports the great-circle distance to the nearest point of the chosen grid.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.core.stampcache import PerDatabase, StampedCache
from wenming.geo.geometry import METRES_PER_DEGREE, distance_m, from_wkb
from wenming.geo.models import Grid, SpatialVersion
from wenming.geo.version import Layer

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

CELLS_PER_GRID_SIDE = 16
MAX_CELLS = 2_097_152
# Cells are widened by this fraction of their size when edges are traced, far more than any
# rounding in the arithmetic that maps a point to its cell (about 1e-12 of a cell).
MARGIN_FRACTION = 1e-6
# Bulk lookups run in slices of this many points to bound temporary memory.
CHUNK = 1_048_576
NO_GRID = -1


@dataclass(frozen=True)
class IndexStamp:
    """The grid layer's version as stored in the database; an index is current while it matches."""

    version: int
    changed_at: datetime | None


EMPTY_STAMP = IndexStamp(0, None)


@dataclass(frozen=True)
class GridShape:
    """One grid as the index needs it."""

    id: int
    code: str
    geometry: BaseGeometry


def _polygons_in(geometry: BaseGeometry) -> list[Polygon]:
    """The non-empty polygons inside any geometry (collections are searched recursively)."""
    if geometry.is_empty:
        return []
    if isinstance(geometry, Polygon):
        return [geometry]
    if hasattr(geometry, "geoms"):
        found: list[Polygon] = []
        for part in geometry.geoms:
            found.extend(_polygons_in(part))
        return found
    return []


def _polygonal(geometry: BaseGeometry | None) -> BaseGeometry | None:
    """A grid's area as a valid Polygon or MultiPolygon, or None when it has no area.

    Stored grids are valid (imports repair or refuse them); anything else is repaired here so
    that the index never answers from a self-crossing ring.
    """
    if geometry is None or geometry.is_empty:
        return None
    if isinstance(geometry, Polygon | MultiPolygon) and geometry.is_valid:
        return geometry
    repaired = geometry if geometry.is_valid else shapely.make_valid(geometry)
    polygons = _polygons_in(repaired)
    if not polygons:
        return None
    return polygons[0] if len(polygons) == 1 else MultiPolygon(polygons)


def _expand(starts: IntArray, counts: IntArray) -> tuple[IntArray, IntArray]:
    """For runs ``starts[i] .. starts[i] + counts[i] - 1``: each run's index and each value."""
    counts = np.maximum(counts, 0)
    owner = np.repeat(np.arange(counts.size, dtype=np.int64), counts)
    first = np.cumsum(counts) - counts
    values = np.repeat(starts, counts) + (np.arange(owner.size, dtype=np.int64) - first[owner])
    return owner, values


def _floor_index(values: FloatArray, origin: float, step: float, count: int) -> IntArray:
    """The bucket of each coordinate along one axis, clipped to ``0 .. count - 1``."""
    buckets: IntArray = np.clip(np.floor((values - origin) / step), 0, count - 1).astype(np.int64)
    return buckets


def _trace_edges(
    a1: FloatArray,
    b1: FloatArray,
    a2: FloatArray,
    b2: FloatArray,
    axis_a: tuple[float, float, int],
    axis_b: tuple[float, float, int],
    margin: float,
) -> tuple[IntArray, IntArray, IntArray]:
    """Every cell each edge comes within ``margin`` of, for edges whose main direction is ``a``.

    Each edge is cut into slabs one cell wide along ``a``; within a slab its extent along ``b``
    (slope at most 1, so the arithmetic is well conditioned) gives the cells it touches.
    Returns the cell position along ``a``, along ``b``, and the edge of every touched cell.
    """
    a0, da, na = axis_a
    b0, db, nb = axis_b
    a_min = np.minimum(a1, a2)
    a_max = np.maximum(a1, a2)
    first = _floor_index(a_min - margin, a0, da, na)
    last = _floor_index(a_max + margin, a0, da, na)
    edge, slab = _expand(first, last - first + 1)
    run = a2 - a1
    slope = np.divide(b2 - b1, run, out=np.zeros_like(run), where=run != 0)
    lo = np.maximum(a_min[edge], a0 + slab * da - margin)
    hi = np.minimum(a_max[edge], a0 + (slab + 1) * da + margin)
    b_at_lo = b1[edge] + (lo - a1[edge]) * slope[edge]
    b_at_hi = b1[edge] + (hi - a1[edge]) * slope[edge]
    b_first = _floor_index(np.minimum(b_at_lo, b_at_hi) - margin, b0, db, nb)
    b_last = _floor_index(np.maximum(b_at_lo, b_at_hi) + margin, b0, db, nb)
    piece, b_index = _expand(b_first, b_last - b_first + 1)
    return slab[piece], b_index, edge[piece]


class GridIndex:
    """An immutable point-to-grid index over the grids of one version of the grid layer."""

    __slots__ = (
        "_boundary_candidates",
        "_boundary_fallback",
        "_boundary_offsets",
        "_candidate_list",
        "_cells",
        "_cells_view",
        "_codes",
        "_fallback_list",
        "_geometries",
        "_id_list",
        "_ids",
        "_inv_height",
        "_inv_width",
        "_max_lat",
        "_max_lon",
        "_metric_geometries",
        "_metric_origin",
        "_metric_scale",
        "_metric_tree",
        "_min_lat",
        "_min_lon",
        "_n_cols",
        "_n_rows",
        "_offset_list",
        "_rank_of_id",
        "cell_height",
        "cell_width",
        "stamp",
    )

    def __init__(
        self,
        grids: Iterable[GridShape],
        stamp: IndexStamp = EMPTY_STAMP,
        *,
        cells_per_grid_side: int = CELLS_PER_GRID_SIDE,
    ) -> None:
        """Build the index; grids without area are left out.

        ``cells_per_grid_side`` sets the bucket size: a median grid spans about that many cells
        in each direction (more cells: fewer exact tests, more memory).
        """
        usable = []
        for grid in grids:
            area = _polygonal(grid.geometry)
            if area is not None:
                usable.append(GridShape(grid.id, grid.code, area))
        usable.sort(key=lambda grid: grid.code)
        self.stamp = stamp
        self._codes = [grid.code for grid in usable]
        self._id_list = [grid.id for grid in usable]
        self._ids: IntArray = np.array(self._id_list, dtype=np.int64)
        self._rank_of_id = {grid_id: rank for rank, grid_id in enumerate(self._id_list)}
        geometries = np.array([grid.geometry for grid in usable], dtype=object)
        shapely.prepare(geometries)
        self._geometries: NDArray[np.object_] = geometries
        self._build_cells(geometries, cells_per_grid_side)
        self._build_metric(geometries)

    # --- building ---------------------------------------------------------------------------

    def _build_cells(self, geometries: NDArray[np.object_], cells_per_grid_side: int) -> None:
        """Lay the bucket grid over the grids and classify every cell."""
        count = len(geometries)
        if count == 0:
            self._min_lon = self._min_lat = math.inf
            self._max_lon = self._max_lat = -math.inf
            self._n_cols = self._n_rows = 1
            self.cell_width = self.cell_height = 1.0
            self._inv_width = self._inv_height = 1.0
            self._set_tables(
                np.full(1, NO_GRID, dtype=np.int32),
                np.zeros(1, dtype=np.int64),
                np.zeros(0, dtype=np.int32),
                np.zeros(0, dtype=np.int32),
            )
            return
        min_lon, min_lat, max_lon, max_lat = (float(v) for v in shapely.total_bounds(geometries))
        n_cols, n_rows = self._bucket_shape(
            geometries, (min_lon, min_lat, max_lon, max_lat), cells_per_grid_side
        )
        width = (max_lon - min_lon) / n_cols or 1e-9
        height = (max_lat - min_lat) / n_rows or 1e-9
        self._min_lon, self._min_lat = min_lon, min_lat
        self._max_lon, self._max_lat = max_lon, max_lat
        self._n_cols, self._n_rows = n_cols, n_rows
        self.cell_width, self.cell_height = width, height
        self._inv_width, self._inv_height = 1.0 / width, 1.0 / height
        margin = MARGIN_FRACTION * min(width, height)

        x1, y1, x2, y2, owner = self._edges(geometries)
        n_cells = n_cols * n_rows
        # Cells each grid's boundary passes through (or near), as unique (cell, rank) keys.
        traced_cell, traced_edge = self._boundary_cells(x1, y1, x2, y2, margin)
        boundary_keys = np.unique(traced_cell * count + owner[traced_edge])
        boundary_cell = boundary_keys // count
        boundary_rank = boundary_keys % count
        is_boundary = np.zeros(n_cells, dtype=bool)
        is_boundary[boundary_cell] = True

        # Grids that cover a whole cell: the centre is inside and no edge of theirs comes near.
        fill_cell, fill_rank = self._scanline_fill(x1, y1, x2, y2, owner, count)
        fill_keys = fill_cell * count + fill_rank
        near_edge = is_boundary[fill_cell]
        partial = np.zeros(fill_cell.size, dtype=bool)
        keys_near = fill_keys[near_edge]
        found = np.minimum(np.searchsorted(boundary_keys, keys_near), boundary_keys.size - 1)
        partial[near_edge] = boundary_keys[found] == keys_near
        whole = ~partial
        lowest_whole = np.full(n_cells, count, dtype=np.int64)
        np.minimum.at(lowest_whole, fill_cell[whole], fill_rank[whole])

        cells = np.where(lowest_whole < count, lowest_whole, NO_GRID).astype(np.int32)
        # In boundary cells only the grids ranked before the lowest whole-cell grid can matter.
        relevant = boundary_rank < lowest_whole[boundary_cell]
        boundary_cell = boundary_cell[relevant]
        boundary_rank = boundary_rank[relevant]
        tested_cells, first = np.unique(boundary_cell, return_index=True)
        cells[tested_cells] = -2 - np.arange(tested_cells.size, dtype=np.int32)
        offsets = np.append(first, boundary_rank.size).astype(np.int64)
        fallback = np.where(
            lowest_whole[tested_cells] < count, lowest_whole[tested_cells], NO_GRID
        ).astype(np.int32)
        self._set_tables(cells, offsets, boundary_rank.astype(np.int32), fallback)

    @staticmethod
    def _bucket_shape(
        geometries: NDArray[np.object_],
        bounds: tuple[float, float, float, float],
        cells_per_grid_side: int,
    ) -> tuple[int, int]:
        """Columns and rows of square-in-metres cells, sized from the median grid."""
        min_lon, min_lat, max_lon, max_lat = bounds
        kx = METRES_PER_DEGREE * math.cos(math.radians((min_lat + max_lat) / 2))
        ky = METRES_PER_DEGREE
        width_m = (max_lon - min_lon) * kx
        height_m = (max_lat - min_lat) * ky
        side_m = math.sqrt(float(np.median(shapely.area(geometries))) * kx * ky)
        if side_m <= 0:
            side_m = max(width_m, height_m, 1e-6)
        cell_m = side_m / max(1, cells_per_grid_side)
        n_cols = max(1, math.ceil(width_m / cell_m))
        n_rows = max(1, math.ceil(height_m / cell_m))
        if n_cols * n_rows > MAX_CELLS:
            shrink = math.sqrt(n_cols * n_rows / MAX_CELLS)
            n_cols = max(1, int(n_cols / shrink))
            n_rows = max(1, int(n_rows / shrink))
        return n_cols, n_rows

    @staticmethod
    def _edges(
        geometries: NDArray[np.object_],
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, IntArray]:
        """Every ring edge of every grid, with the rank of the grid it belongs to."""
        parts, part_owner = shapely.get_parts(geometries, return_index=True)
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
        same_ring = coord_ring[1:] == coord_ring[:-1]
        x1 = coords[:-1, 0][same_ring]
        y1 = coords[:-1, 1][same_ring]
        x2 = coords[1:, 0][same_ring]
        y2 = coords[1:, 1][same_ring]
        owner = part_owner[ring_part[coord_ring[:-1][same_ring]]].astype(np.int64)
        return x1, y1, x2, y2, owner

    def _boundary_cells(
        self, x1: FloatArray, y1: FloatArray, x2: FloatArray, y2: FloatArray, margin: float
    ) -> tuple[IntArray, IntArray]:
        """Every (cell, edge) pair where the edge passes through or near the cell."""
        axis_x = (self._min_lon, self.cell_width, self._n_cols)
        axis_y = (self._min_lat, self.cell_height, self._n_rows)
        mostly_x = np.abs(x2 - x1) >= np.abs(y2 - y1)
        edges_x = np.flatnonzero(mostly_x)
        edges_y = np.flatnonzero(~mostly_x)
        col_a, row_a, edge_a = _trace_edges(
            x1[edges_x], y1[edges_x], x2[edges_x], y2[edges_x], axis_x, axis_y, margin
        )
        row_b, col_b, edge_b = _trace_edges(
            y1[edges_y], x1[edges_y], y2[edges_y], x2[edges_y], axis_y, axis_x, margin
        )
        edges = np.concatenate([edges_x[edge_a], edges_y[edge_b]])
        cells = np.concatenate([row_a, row_b]) * self._n_cols + np.concatenate([col_a, col_b])
        return cells, edges

    def _scanline_fill(
        self,
        x1: FloatArray,
        y1: FloatArray,
        x2: FloatArray,
        y2: FloatArray,
        owner: IntArray,
        count: int,
    ) -> tuple[IntArray, IntArray]:
        """(cell, rank) for every cell whose centre lies inside a grid (even-odd rule per row).

        An edge crosses a row's centre line when ``min(y) <= y_centre < max(y)`` (half-open, so
        a vertex on the line is counted once): every closed ring crosses a line an even number
        of times, and consecutive crossings of a grid on a row bound its inside spans.
        """
        n_rows, n_cols = self._n_rows, self._n_cols
        y0, height = self._min_lat, self.cell_height
        x0, width = self._min_lon, self.cell_width
        sloped = np.flatnonzero(y1 != y2)
        ax, ay, bx, by = x1[sloped], y1[sloped], x2[sloped], y2[sloped]
        y_lo = np.minimum(ay, by)
        y_hi = np.maximum(ay, by)
        first = np.clip(np.ceil((y_lo - y0) / height - 0.5) - 1, 0, n_rows - 1).astype(np.int64)
        last = np.clip(np.floor((y_hi - y0) / height - 0.5) + 1, 0, n_rows - 1).astype(np.int64)
        edge, row = _expand(first, last - first + 1)
        y_centre = y0 + (row + 0.5) * height
        crosses = (y_lo[edge] <= y_centre) & (y_centre < y_hi[edge])
        edge, row, y_centre = edge[crosses], row[crosses], y_centre[crosses]
        x_cross = ax[edge] + (y_centre - ay[edge]) * (bx[edge] - ax[edge]) / (by[edge] - ay[edge])
        x_cross = np.clip(x_cross, np.minimum(ax, bx)[edge], np.maximum(ax, bx)[edge])
        group = owner[sloped][edge] * n_rows + row
        order = np.lexsort((x_cross, group))
        group, x_cross = group[order], x_cross[order]
        if group.size % 2 or np.any(group[0::2] != group[1::2]):
            raise ValueError("a grid ring is not closed; the index cannot be built")
        starts, ends, span_group = x_cross[0::2], x_cross[1::2], group[0::2]
        col_first = np.clip(np.ceil((starts - x0) / width - 0.5), 0, n_cols).astype(np.int64)
        col_last = np.clip(np.floor((ends - x0) / width - 0.5), -1, n_cols - 1).astype(np.int64)
        span, col = _expand(col_first, col_last - col_first + 1)
        rank = span_group[span] // n_rows
        cell = (span_group[span] % n_rows) * n_cols + col
        return cell, rank

    def _set_tables(
        self,
        cells: NDArray[np.int32],
        offsets: IntArray,
        candidates: NDArray[np.int32],
        fallback: NDArray[np.int32],
    ) -> None:
        """Keep the lookup tables as arrays (bulk) and as fast views for single lookups.

        ``cells[i]`` is a grid rank (answered cell), ``NO_GRID``, or ``-2 - b`` for boundary cell
        ``b`` whose candidates are ``candidates[offsets[b]:offsets[b + 1]]`` (in code order) and
        whose answer, when none of them covers the point, is ``fallback[b]``.
        """
        self._cells = cells
        self._cells_view = cells.data
        self._boundary_offsets = offsets
        self._boundary_candidates = candidates
        self._boundary_fallback = fallback
        self._offset_list = offsets.data
        self._candidate_list = candidates.data
        self._fallback_list = fallback.data

    def _build_metric(self, geometries: NDArray[np.object_]) -> None:
        """The grids on a plane in metres, for nearest-grid questions."""
        if len(geometries) == 0:
            self._metric_origin = (0.0, 0.0)
            self._metric_scale = (METRES_PER_DEGREE, METRES_PER_DEGREE)
        else:
            lon0 = (self._min_lon + self._max_lon) / 2
            lat0 = (self._min_lat + self._max_lat) / 2
            self._metric_origin = (lon0, lat0)
            self._metric_scale = (
                METRES_PER_DEGREE * math.cos(math.radians(lat0)),
                METRES_PER_DEGREE,
            )
        origin = np.array(self._metric_origin)
        scale = np.array(self._metric_scale)
        self._metric_geometries = shapely.transform(geometries, lambda xy: (xy - origin) * scale)
        self._metric_tree = shapely.STRtree(self._metric_geometries)

    # --- questions --------------------------------------------------------------------------

    @property
    def size(self) -> int:
        """How many grids the index holds."""
        return len(self._id_list)

    @property
    def cell_count(self) -> int:
        """How many bucket cells cover the grids' bounding box."""
        return self._n_cols * self._n_rows

    @property
    def boundary_cell_count(self) -> int:
        """How many bucket cells need an exact test."""
        return len(self._fallback_list)

    @property
    def grid_ids(self) -> IntArray:
        """The ids of the indexed grids, in code order."""
        return self._ids.copy()

    def code_of(self, grid_id: int) -> str:
        """The code of an indexed grid."""
        return self._codes[self._rank_of_id[grid_id]]

    def locate_point(self, lon: float, lat: float) -> int | None:
        """The id of the grid covering a WGS-84 point (lowest code on shared edges), or None."""
        if not (self._min_lon <= lon <= self._max_lon and self._min_lat <= lat <= self._max_lat):
            return None
        col = int((lon - self._min_lon) * self._inv_width)
        if col >= self._n_cols:
            col = self._n_cols - 1
        row = int((lat - self._min_lat) * self._inv_height)
        if row >= self._n_rows:
            row = self._n_rows - 1
        value: int = self._cells_view[row * self._n_cols + col]
        if value >= 0:
            return self._id_list[value]
        if value == NO_GRID:
            return None
        rank = self._resolve(-2 - value, lon, lat)
        return None if rank == NO_GRID else self._id_list[rank]

    def _resolve(self, boundary: int, lon: float, lat: float) -> int:
        """The rank for a point in a boundary cell: first covering candidate, else the fallback."""
        geometries = self._geometries
        candidates = self._candidate_list
        for position in range(self._offset_list[boundary], self._offset_list[boundary + 1]):
            rank = candidates[position]
            if shapely.intersects_xy(geometries[rank], lon, lat):
                return rank
        fallback: int = self._fallback_list[boundary]
        return fallback

    def locate_many(self, lons: ArrayLike, lats: ArrayLike) -> IntArray:
        """The covering grid's id for every WGS-84 point (``-1`` for none), in the input's shape."""
        lon = np.asarray(lons, dtype=np.float64)
        lat = np.asarray(lats, dtype=np.float64)
        if lon.shape != lat.shape:
            raise ValueError(f"longitudes {lon.shape} and latitudes {lat.shape} differ in shape")
        flat_lon = lon.ravel()
        flat_lat = lat.ravel()
        result = np.empty(flat_lon.size, dtype=np.int64)
        for start in range(0, flat_lon.size, CHUNK):
            stop = start + CHUNK
            result[start:stop] = self._locate_chunk(flat_lon[start:stop], flat_lat[start:stop])
        return result.reshape(lon.shape)

    def _locate_chunk(self, lon: FloatArray, lat: FloatArray) -> IntArray:
        """``locate_many`` for one slice of flat arrays."""
        if self.size == 0:
            return np.full(lon.size, NO_GRID, dtype=np.int64)
        inside = (
            (lon >= self._min_lon)
            & (lon <= self._max_lon)
            & (lat >= self._min_lat)
            & (lat <= self._max_lat)
        )
        with np.errstate(invalid="ignore"):
            col = np.clip((lon - self._min_lon) * self._inv_width, 0, self._n_cols - 1)
            row = np.clip((lat - self._min_lat) * self._inv_height, 0, self._n_rows - 1)
            cell = row.astype(np.intp) * self._n_cols + col.astype(np.intp)
        cell[~inside] = 0
        ranks = self._cells[cell].astype(np.int64)
        ranks[~inside] = NO_GRID
        pending = np.flatnonzero(ranks <= -2)
        if pending.size:
            ranks[pending] = self._resolve_many(pending, -2 - ranks[pending], lon, lat)
        found = ranks >= 0
        ids = np.full(lon.size, NO_GRID, dtype=np.int64)
        ids[found] = self._ids[ranks[found]]
        return ids

    def _resolve_many(
        self, points: IntArray, boundary: IntArray, lon: FloatArray, lat: FloatArray
    ) -> IntArray:
        """``_resolve`` for many points at once: every (point, candidate) pair tested in one go."""
        starts = self._boundary_offsets[boundary]
        counts = self._boundary_offsets[boundary + 1] - starts
        pair_point, pair_position = _expand(starts, counts)
        pair_rank = self._boundary_candidates[pair_position]
        point_index = points[pair_point]
        covered = shapely.intersects_xy(
            self._geometries[pair_rank], lon[point_index], lat[point_index]
        )
        answer = self._boundary_fallback[boundary].astype(np.int64)
        hits = np.flatnonzero(covered)
        if hits.size:
            hit_point = pair_point[hits]
            first = np.ones(hits.size, dtype=bool)
            first[1:] = hit_point[1:] != hit_point[:-1]
            answer[hit_point[first]] = pair_rank[hits[first]]
        return answer

    def nearest(self, lon: float, lat: float) -> tuple[int, float] | None:
        """The grid nearest to a WGS-84 point and its distance in metres (0 when covered).

        Ties go to the lowest code, as for ``locate_point``; None when the index is empty or
        the point is not a finite coordinate.
        """
        if self.size == 0 or not (math.isfinite(lon) and math.isfinite(lat)):
            return None
        covering = self.locate_point(lon, lat)
        if covering is not None:
            return covering, 0.0
        (lon0, lat0), (kx, ky) = self._metric_origin, self._metric_scale
        probe = Point((lon - lon0) * kx, (lat - lat0) * ky)
        ranks = self._metric_tree.query_nearest(probe, all_matches=True)
        rank = int(np.min(ranks))
        grid_id = self._id_list[rank]
        line = shapely.shortest_line(self._metric_geometries[rank], probe)
        near_x, near_y = shapely.get_coordinates(line)[0]
        return grid_id, distance_m(lon, lat, near_x / kx + lon0, near_y / ky + lat0)


# --- the per-database cache -------------------------------------------------------------------


# Built once: constructing a statement costs as much as running this one.
STAMP_QUERY = select(SpatialVersion.version, SpatialVersion.updated_at).where(
    SpatialVersion.layer == Layer.GRID.value
)
GRIDS_QUERY = select(Grid.id, Grid.code, Grid.geometry).order_by(Grid.code)


async def read_stamp(session: AsyncSession) -> IndexStamp:
    """The grid layer's current version stamp (one primary-key read)."""
    row = (await session.execute(STAMP_QUERY)).first()
    return EMPTY_STAMP if row is None else IndexStamp(int(row[0]), row[1])


async def _load_shapes(session: AsyncSession) -> list[tuple[int, str, bytes]]:
    """Every stored grid's id, code and WKB."""
    rows = await session.execute(GRIDS_QUERY)
    return [(int(grid_id), str(code), bytes(wkb)) for grid_id, code, wkb in rows]


def index_from_rows(rows: Sequence[tuple[int, str, bytes]], stamp: IndexStamp) -> GridIndex:
    """An index from stored (id, code, WKB) rows."""
    return GridIndex((GridShape(i, code, from_wkb(wkb)) for i, code, wkb in rows), stamp)


async def build_grid_index(session: AsyncSession, stamp: IndexStamp | None = None) -> GridIndex:
    """A new index of the grids this session sees, bypassing every cache.

    For transactions that changed grids and look them up before committing.
    """
    if stamp is None:
        stamp = await read_stamp(session)
    rows = await _load_shapes(session)
    return await asyncio.to_thread(index_from_rows, rows, stamp)


class GridIndexCache(StampedCache[IndexStamp, GridIndex]):
    """The current grid index of one database in this process, rebuilt when the stamp moves."""

    def __init__(self) -> None:
        """Start empty; the first request builds."""
        super().__init__(
            build_grid_index, lambda index: index.stamp, lambda a, b: a.version >= b.version
        )

    async def get(self, session: AsyncSession) -> GridIndex:
        """The index matching the stamp this session reads."""
        return await self.for_stamp(session, await read_stamp(session))


_CACHES = PerDatabase(GridIndexCache)


def cache_for(session: AsyncSession) -> GridIndexCache:
    """The grid index cache of the database a session talks to."""
    return _CACHES.of(session)


async def grid_index(session: AsyncSession, cache: GridIndexCache | None = None) -> GridIndex:
    """The current grid index for this session's database, rebuilt first when stale."""
    return await (cache or cache_for(session)).get(session)
