"""Geography lookup benchmark: point → grid in bulk, one point at a time, and over HTTP.

In-process part (one Python process, same data, same points):

* 5,000 irregular grids tiling about 50 km² around 大洼区 (122° E, 41° N): a lattice of 100 m
  cells whose corners are jittered and whose edges wiggle through three shared intermediate
  points, so the polygons are non-convex with 16 vertices and neighbours share edges exactly;
* 1,000,000 uniformly random points over the tiled rectangle widened by 1 % on each side
  (about 4 % of them fall outside every grid);
* the baseline: a plain shapely ``STRtree.query(points, predicate="within")`` (point creation
  included, as a caller must create them; query-only time is reported too);
* ``GridIndex.locate_many`` (bulk) and ``GridIndex.locate_point`` (single; median and p95 of
  per-call times, timer overhead included);
* both answers are checked to be identical on every point (the baseline's answer for a point is
  the lowest-code grid it lies within; random points never land exactly on an edge).

Server part: the real application (``create_app``) with the locate router, on a migrated SQLite
database (PostgreSQL with ``--postgres-url``) holding the same 5,000 grids under ten communities,
under uvicorn (one worker, 127.0.0.1, a free port). Closed-loop load (wrk when installed, else an
asyncio client) with a fixed number of requests per run compares ``GET /api/v1/geo/locate`` at
random points inside the grids against two trivial GET endpoints of the same app: ``/healthz``
(one ``SELECT 1`` in a read session) and ``/bench/ping`` (a constant answer, no database).
Runs are interleaved and repeated; medians are reported. Every locate answer must be 200.

    .venv/bin/python benchmarks/geo_lookup.py                 # about 2 minutes on 2 cores
    .venv/bin/python benchmarks/geo_lookup.py --skip-server   # the in-process part only

Results are printed as Markdown and saved as JSON under ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import json
import math
import os
import platform
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from fastapi import FastAPI
from shapely.geometry import Polygon

from wenming.core.config import Environment, Settings
from wenming.core.db import Database
from wenming.core.migrate import upgrade
from wenming.geo.geometry import METRES_PER_DEGREE, area_m2, box_of, to_wkb
from wenming.geo.index import GridIndex, GridShape, read_stamp
from wenming.geo.lookup import locate
from wenming.geo.models import Grid
from wenming.geo.version import Layer, bump_version
from wenming.main import create_app
from wenming.org import service as org_service
from wenming.org.codes import UnitKind

HOST = "127.0.0.1"
LOCATE_PATH = "/api/v1/geo/locate"
PING_PATH = "/bench/ping"
ORIGIN_LON, ORIGIN_LAT = 122.0, 41.0
CELL_M = 100.0
COLUMNS, ROWS = 100, 50
COMMUNITIES = 10
# Points are drawn from the tiled rectangle widened by 1 % on every side, so some miss.
OUTSIDE_MARGIN = 0.01
RESULTS_DIR = Path(__file__).resolve().parent / "results"
SERVER_START_TIMEOUT_S = 60.0
NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


# --- the tessellation ---------------------------------------------------------------------------


def irregular_tiling(seed: int = 20261127) -> list[Polygon]:
    """``COLUMNS x ROWS`` non-convex polygons tiling a rectangle, in lon/lat, row by row.

    Lattice corners are jittered by up to a quarter cell; every cell edge runs through three
    intermediate points pushed sideways by up to a tenth of a cell. An edge's points are made
    once and used by both cells beside it (reversed for one), so neighbours share edges exactly.
    """
    rng = np.random.default_rng(seed)
    corners = np.stack(
        np.meshgrid(np.arange(COLUMNS + 1, dtype=float), np.arange(ROWS + 1, dtype=float)),
        axis=-1,
    )
    corners[1:-1, 1:-1] += rng.uniform(-0.25, 0.25, (ROWS - 1, COLUMNS - 1, 2))
    steps = np.array([0.25, 0.5, 0.75])

    def wiggle(start: np.ndarray, end: np.ndarray, outer: bool) -> np.ndarray:
        """Three points between two corners, pushed sideways (not on the tiling's outline)."""
        along = start + (end - start) * steps[:, None]
        direction = end - start
        normal = np.array([-direction[1], direction[0]]) / np.hypot(*direction)
        push = 0.0 if outer else rng.uniform(-0.1, 0.1, 3)
        result: np.ndarray = along + normal * np.reshape(push, (-1, 1))
        return result

    horizontal = {
        (i, j): wiggle(corners[j, i], corners[j, i + 1], j in (0, ROWS))
        for j in range(ROWS + 1)
        for i in range(COLUMNS)
    }
    vertical = {
        (i, j): wiggle(corners[j, i], corners[j + 1, i], i in (0, COLUMNS))
        for j in range(ROWS)
        for i in range(COLUMNS + 1)
    }
    kx = METRES_PER_DEGREE * math.cos(math.radians(ORIGIN_LAT)) / CELL_M
    ky = METRES_PER_DEGREE / CELL_M
    polygons = []
    for j in range(ROWS - 1, -1, -1):  # north to south, west to east: the grid-code order
        for i in range(COLUMNS):
            ring = np.vstack(
                [
                    corners[j, i][None],
                    horizontal[(i, j)],
                    corners[j, i + 1][None],
                    vertical[(i + 1, j)],
                    corners[j + 1, i + 1][None],
                    horizontal[(i, j + 1)][::-1],
                    corners[j + 1, i][None],
                    vertical[(i, j)][::-1],
                ]
            )
            lonlat = ring / [kx, ky] + [ORIGIN_LON, ORIGIN_LAT]
            polygons.append(Polygon(lonlat))
    return polygons


def check_tiling(polygons: list[Polygon]) -> float:
    """Fail unless every polygon is valid and they tile without overlap; returns the area (m²)."""
    invalid = [n for n, p in enumerate(polygons) if not p.is_valid]
    if invalid:
        raise SystemExit(f"tiling has {len(invalid)} invalid polygons, e.g. #{invalid[0]}")
    union = shapely.union_all(polygons)
    total = sum(p.area for p in polygons)
    if abs(union.area - total) > 1e-9 * total:
        raise SystemExit("tiling polygons overlap")
    return area_m2(union)


def grid_code(n: int) -> tuple[str, str]:
    """(community code, grid code) of the n-th grid: ten communities of 500 grids each."""
    community = n // (len_per_community := COLUMNS * ROWS // COMMUNITIES)
    street = 4 if community < COMMUNITIES // 2 else 5
    community_code = f"211104{street:03d}{community + 1:03d}"
    return community_code, f"{community_code}{n % len_per_community + 1:03d}"


# --- in-process measurements --------------------------------------------------------------------


@dataclass
class InProcess:
    """What the in-process part measured."""

    grids: int
    points: int
    polygon_vertices: int
    tiling_area_km2: float
    points_outside: int
    build_s: float
    cells: int
    boundary_cells: int
    strtree_points_per_s: float
    strtree_query_only_points_per_s: float
    bulk_points_per_s: float
    bulk_ratio: float
    bulk_ratio_query_only: float
    single_median_us: float
    single_p95_us: float
    strtree_single_median_us: float
    strtree_single_p95_us: float
    mismatches_bulk: int
    mismatches_single: int


def best_of(repeats: int, run: Any) -> tuple[float, Any]:
    """The shortest wall time of ``repeats`` calls and the last result."""
    best = math.inf
    result = None
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - started)
    return best, result


def per_call_us(calls: Iterator[Any]) -> list[float]:
    """Wall time of each call of an iterator of zero-argument callables, in µs."""
    times = []
    clock = time.perf_counter_ns
    for call in calls:
        started = clock()
        call()
        times.append((clock() - started) / 1000)
    return times


def in_process(polygons: list[Polygon], n_points: int, repeats: int, seed: int) -> InProcess:
    """Baseline, bulk and single lookups over the same points, answers cross-checked."""
    shapes = [GridShape(n + 1, grid_code(n)[1], p) for n, p in enumerate(polygons)]
    started = time.perf_counter()
    index = GridIndex(shapes)
    build_s = time.perf_counter() - started
    min_lon, min_lat, max_lon, max_lat = shapely.total_bounds(polygons)
    pad_lon = (max_lon - min_lon) * OUTSIDE_MARGIN
    pad_lat = (max_lat - min_lat) * OUTSIDE_MARGIN
    rng = np.random.default_rng(seed)
    lons = rng.uniform(min_lon - pad_lon, max_lon + pad_lon, n_points)
    lats = rng.uniform(min_lat - pad_lat, max_lat + pad_lat, n_points)

    geometries = np.array(polygons, dtype=object)
    tree = shapely.STRtree(geometries)
    points = shapely.points(lons, lats)
    query_only_s, _pairs = best_of(repeats, lambda: tree.query(points, predicate="within"))
    baseline_s, pairs = best_of(
        repeats, lambda: tree.query(shapely.points(lons, lats), predicate="within")
    )
    bulk_s, found = best_of(repeats, lambda: index.locate_many(lons, lats))

    # The baseline's answer: the lowest-code grid each point lies within (codes follow ids here).
    expected = np.full(n_points, -1, dtype=np.int64)
    order = np.lexsort((pairs[1], pairs[0]))
    point_index, tree_index = pairs[0][order], pairs[1][order]
    first = np.ones(point_index.size, dtype=bool)
    first[1:] = point_index[1:] != point_index[:-1]
    expected[point_index[first]] = tree_index[first] + 1
    mismatches_bulk = int(np.count_nonzero(expected != found))

    sample = min(n_points, 200_000)
    sample_lons = lons[:sample].tolist()
    sample_lats = lats[:sample].tolist()
    locate_point = index.locate_point
    single = sorted(
        per_call_us(
            (lambda x=x, y=y: locate_point(x, y))
            for x, y in zip(sample_lons, sample_lats, strict=True)
        )
    )
    answers = [locate_point(x, y) for x, y in zip(sample_lons, sample_lats, strict=True)]
    mismatches_single = sum(
        (-1 if a is None else a) != b for a, b in zip(answers, found[:sample].tolist(), strict=True)
    )
    tree_sample = 20_000
    tree_single = sorted(
        per_call_us((lambda p=p: tree.query(p, predicate="within")) for p in points[:tree_sample])
    )
    return InProcess(
        grids=len(polygons),
        points=n_points,
        polygon_vertices=int(np.median(shapely.get_num_coordinates(geometries))) - 1,
        tiling_area_km2=check_tiling(polygons) / 1e6,
        points_outside=int(np.count_nonzero(found == -1)),
        build_s=build_s,
        cells=index.cell_count,
        boundary_cells=index.boundary_cell_count,
        strtree_points_per_s=n_points / baseline_s,
        strtree_query_only_points_per_s=n_points / query_only_s,
        bulk_points_per_s=n_points / bulk_s,
        bulk_ratio=baseline_s / bulk_s,
        bulk_ratio_query_only=query_only_s / bulk_s,
        single_median_us=single[len(single) // 2],
        single_p95_us=single[int(len(single) * 0.95)],
        strtree_single_median_us=tree_single[len(tree_single) // 2],
        strtree_single_p95_us=tree_single[int(len(tree_single) * 0.95)],
        mismatches_bulk=mismatches_bulk,
        mismatches_single=mismatches_single,
    )


# --- the database and the server ----------------------------------------------------------------


def bench_settings(database_url: str, data_dir: Path) -> Settings:
    """Production-like settings for a throwaway database."""
    return Settings(
        env=Environment.PRODUCTION,
        secret_key=secrets.token_urlsafe(48),
        database_url=database_url,
        data_dir=data_dir,
    )


async def seed(database_url: str, data_dir: Path, polygons: list[Polygon]) -> None:
    """The district, two streets, ten communities and the grids, then the layer's version."""
    database = Database(bench_settings(database_url, data_dir))
    try:
        async with database.session() as session:
            district = await org_service.create_unit(
                session,
                code="211104000000",
                name="大洼区",
                kind=UnitKind.DISTRICT,
                parent=None,
                now=NOW,
            )
            streets = {
                4: await org_service.create_unit(
                    session,
                    code="211104004000",
                    name="大洼街道",
                    kind=UnitKind.STREET,
                    parent=district,
                    now=NOW,
                ),
                5: await org_service.create_unit(
                    session,
                    code="211104005000",
                    name="田家街道",
                    kind=UnitKind.STREET,
                    parent=district,
                    now=NOW,
                ),
            }
            communities = {}
            for n in range(0, len(polygons), len(polygons) // COMMUNITIES):
                code = grid_code(n)[0]
                communities[code] = await org_service.create_unit(
                    session,
                    code=code,
                    name=f"基准{code[-3:]}社区（合成）",
                    kind=UnitKind.COMMUNITY,
                    parent=streets[int(code[6:9])],
                    now=NOW,
                )
            for n, polygon in enumerate(polygons):
                community_code, code = grid_code(n)
                box = box_of(polygon)
                session.add(
                    Grid(
                        code=code,
                        community_id=communities[community_code].id,
                        geometry=to_wkb(polygon),
                        area_m2=area_m2(polygon),
                        min_lon=box.min_lon,
                        min_lat=box.min_lat,
                        max_lon=box.max_lon,
                        max_lat=box.max_lat,
                        synthetic=True,
                        created_at=NOW,
                        updated_at=NOW,
                    )
                )
            await session.flush()
            await bump_version(session, Layer.GRID, NOW)
    finally:
        await database.dispose()


@dataclass
class QueryCost:
    """Per-call cost of the database work a locate request does, measured in-process."""

    backend: str
    stamp_read_us: float
    locate_us: float


async def query_cost(
    database_url: str, data_dir: Path, lons: list[float], lats: list[float]
) -> QueryCost:
    """Median µs of the stamp read alone and of a whole ``lookup.locate`` (warm index)."""
    database = Database(bench_settings(database_url, data_dir))
    try:
        async with database.session(write=False) as session:
            await locate(session, lons[0], lats[0])
            stamp_times = []
            for _ in range(2000):
                started = time.perf_counter_ns()
                await read_stamp(session)
                stamp_times.append((time.perf_counter_ns() - started) / 1000)
            locate_times = []
            for lon, lat in zip(lons[:2000], lats[:2000], strict=True):
                started = time.perf_counter_ns()
                await locate(session, lon, lat)
                locate_times.append((time.perf_counter_ns() - started) / 1000)
        return QueryCost(
            database.backend, statistics.median(stamp_times), statistics.median(locate_times)
        )
    finally:
        await database.dispose()


def build_app(database_url: str, data_dir: Path) -> FastAPI:
    """The real application plus the locate router (when not mounted) and a constant GET."""
    app = create_app(bench_settings(database_url, data_dir))
    if not any(getattr(route, "path", None) == LOCATE_PATH for route in app.routes):
        from wenming.geo.lookup_api import router

        app.include_router(router)

    @app.get(PING_PATH)
    async def ping() -> dict[str, bool]:
        """A constant answer: the cost of the framework alone."""
        return {"ok": True}

    return app


def serve(args: argparse.Namespace) -> None:
    """Run the benchmark app under uvicorn: one worker, loopback only, no access log."""
    import uvicorn

    uvicorn.run(
        build_app(args.database_url, Path(args.data_dir)),
        host=HOST,
        port=args.port,
        workers=1,
        log_level="warning",
        access_log=False,
    )


def free_port() -> int:
    """A loopback TCP port nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def running_server(database_url: str, data_dir: Path, log_path: Path) -> Iterator[int]:
    """Start the app in a subprocess, wait for /healthz, stop it afterwards; yields the port."""
    port = free_port()
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "serve",
        "--database-url",
        database_url,
        "--data-dir",
        str(data_dir),
        "--port",
        str(port),
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + SERVER_START_TIMEOUT_S
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"server exited:\n{log_path.read_text(errors='replace')}")
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not answer in time")
                try:
                    with urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=2):
                        break
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    time.sleep(0.1)
            yield port
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass
class LoadRun:
    """One measured run against one endpoint."""

    endpoint: str
    repeat: int
    client: str
    requests: int
    ok: int
    other: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float


# (requests sent, answered 200, other answers or errors, seconds, (p50 ms, p99 ms))
RunOutcome = tuple[int, int, int, float, tuple[float, float]]

WRK_SCRIPT = """
local paths = {}
local budget = 0
local answered = 0
local next_path = 0

function init(args)
  budget = tonumber(args[1])
  for line in io.lines(args[2]) do paths[#paths + 1] = line end
end

function request()
  next_path = next_path % #paths + 1
  return wrk.format("GET", paths[next_path])
end

function response(status, headers, body)
  answered = answered + 1
  if answered == budget then
    io.write("budget reached\\n")
    io.flush()
  end
end

function done(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "status_errors": %d, "socket_errors": %d, '
    .. '"p50_us": %d, "p99_us": %d}\\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def wrk_run(
    port: int, paths_file: Path, script: Path, requests: int, concurrency: int
) -> RunOutcome:
    """Closed-loop load with one wrk thread until ``requests`` answers (or 120 s)."""
    command = [
        "wrk",
        "-t1",
        f"-c{concurrency}",
        "-d120s",
        "--timeout",
        "30s",
        "-s",
        str(script),
        f"http://{HOST}:{port}/",
        "--",
        str(requests),
        str(paths_file),
    ]
    summary = ""
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("budget reached"):
                process.send_signal(signal.SIGINT)
            elif line.startswith("{"):
                summary = line
        process.wait(timeout=30)
    if not summary:
        raise RuntimeError("wrk printed no summary")
    data = json.loads(summary)
    seconds = data["duration_us"] / 1e6
    sent = int(data["requests"])
    ok = sent - int(data["status_errors"])
    other = int(data["status_errors"]) + int(data["socket_errors"])
    return sent, ok, other, seconds, (data["p50_us"] / 1000, data["p99_us"] / 1000)


async def python_run(port: int, paths: list[str], requests: int, concurrency: int) -> RunOutcome:
    """The same closed loop with asyncio connections (when wrk is not installed)."""
    remaining = requests
    latencies: list[float] = []
    ok = other = 0
    counter = iter(range(sys.maxsize))

    async def connection() -> None:
        nonlocal remaining, ok, other
        reader, writer = await asyncio.open_connection(HOST, port)
        while remaining > 0:
            remaining -= 1
            path = paths[next(counter) % len(paths)]
            started = time.perf_counter()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            length = next(
                (
                    int(v)
                    for k, _, v in (ln.partition(":") for ln in lines)
                    if k.lower() == "content-length"
                ),
                0,
            )
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if lines[0].split(" ")[1] == "200":
                ok += 1
            else:
                other += 1
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    latencies.sort()
    return (
        ok + other,
        ok,
        other,
        seconds,
        (latencies[len(latencies) // 2] * 1000, latencies[int(len(latencies) * 0.99)] * 1000),
    )


def server_part(
    args: argparse.Namespace, polygons: list[Polygon], workdir: Path
) -> tuple[list[LoadRun], list[QueryCost], str]:
    """Seed each database, then load the three endpoints in turn, repeated."""
    index = GridIndex([GridShape(n + 1, grid_code(n)[1], p) for n, p in enumerate(polygons)])
    min_lon, min_lat, max_lon, max_lat = shapely.total_bounds(polygons)
    rng = np.random.default_rng(7)
    lons = rng.uniform(min_lon, max_lon, 20_000)
    lats = rng.uniform(min_lat, max_lat, 20_000)
    inside = index.locate_many(lons, lats) >= 0
    lons, lats = lons[inside][:10_000], lats[inside][:10_000]
    locate_paths = [
        f"{LOCATE_PATH}?lon={x!r}&lat={y!r}"
        for x, y in zip(lons.tolist(), lats.tolist(), strict=True)
    ]
    endpoints = {
        "locate": locate_paths,
        "healthz": ["/healthz"],
        "ping": [PING_PATH],
    }
    client = "wrk" if shutil.which("wrk") and args.client != "python" else "python"
    script = workdir / "geo_lookup.lua"
    script.write_text(WRK_SCRIPT)
    backends = [("sqlite", f"sqlite:///{workdir / 'bench.sqlite3'}")]
    if args.postgres_url:
        backends.append(("postgresql", args.postgres_url))
    runs: list[LoadRun] = []
    costs: list[QueryCost] = []
    for backend, url in backends:
        upgrade(url)
        asyncio.run(seed(url, workdir, polygons))
        costs.append(asyncio.run(query_cost(url, workdir, lons.tolist(), lats.tolist())))
        with running_server(url, workdir, workdir / f"server-{backend}.log") as port:
            for repeat in range(args.repeats + 1):  # run 0 warms every endpoint up
                for name, paths in endpoints.items():
                    paths_file = workdir / f"{name}.paths"
                    paths_file.write_text("\n".join(paths) + "\n")
                    budget = args.warmup if repeat == 0 else args.requests
                    if client == "wrk":
                        sent, ok, other, seconds, (p50, p99) = wrk_run(
                            port, paths_file, script, budget, args.concurrency
                        )
                    else:
                        sent, ok, other, seconds, (p50, p99) = asyncio.run(
                            python_run(port, paths, budget, args.concurrency)
                        )
                    if repeat == 0:
                        continue
                    run = LoadRun(
                        f"{backend} {name}",
                        repeat,
                        client,
                        sent,
                        ok,
                        other,
                        seconds,
                        ok / seconds,
                        p50,
                        p99,
                    )
                    runs.append(run)
                    print(
                        f"{run.endpoint:<18} run {repeat}: {run.rps:7.0f} req/s  "
                        f"p50 {p50:5.1f} ms  p99 {p99:5.1f} ms  non-200 {other}",
                        flush=True,
                    )
        if args.postgres_url and backend == "postgresql":
            reset_postgres(url)
    return runs, costs, client


def reset_postgres(url: str) -> None:
    """Leave the dedicated PostgreSQL database empty again."""
    from sqlalchemy import create_engine, text

    from wenming.core.db import sync_url

    engine = create_engine(sync_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


# --- report -------------------------------------------------------------------------------------


def version_of(package: str) -> str:
    """An installed package's version, or 'absent'."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def machine() -> dict[str, Any]:
    """The machine and software the numbers were measured on."""
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "system": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "shapely": shapely.__version__,
        "geos": ".".join(str(v) for v in shapely.geos_version),
        "fastapi": version_of("fastapi"),
        "uvicorn": version_of("uvicorn"),
    }


def shown_command(argv: list[str]) -> str:
    """The command line as run, with the PostgreSQL URL (it may hold a password) left out."""
    shown = [".venv/bin/python benchmarks/geo_lookup.py"]
    hide_next = False
    for arg in argv:
        if hide_next:
            shown.append('"$WENMING_BENCH_DATABASE_URL"')
            hide_next = False
        elif arg == "--postgres-url":
            shown.append(arg)
            hide_next = True
        elif arg.startswith("--postgres-url="):
            shown.append('--postgres-url "$WENMING_BENCH_DATABASE_URL"')
        else:
            shown.append(arg)
    return " ".join(shown)


def median_rps(runs: list[LoadRun], endpoint: str) -> float:
    """The median throughput of one endpoint's runs."""
    return statistics.median(r.rps for r in runs if r.endpoint == endpoint)


def markdown(
    env: dict[str, Any],
    result: InProcess,
    runs: list[LoadRun],
    costs: list[QueryCost],
    args: argparse.Namespace,
    client: str,
) -> str:
    """The ready-to-paste section for docs/performance.md."""
    command = shown_command(sys.argv[1:])
    if args.postgres_url and "--postgres-url" not in command:
        command = f"WENMING_BENCH_DATABASE_URL=postgresql://… {command}"
    lines = [
        "## Geography lookup",
        "",
        f"Measured {env['date'][:10]} on {env['cpus']} × {env['cpu']}, {env['system']}, "
        f"Python {env['python']}, numpy {env['numpy']}, shapely {env['shapely']} "
        f"(GEOS {env['geos']}), FastAPI {env['fastapi']}, uvicorn {env['uvicorn']}.",
        "",
        "```",
        command,
        "```",
        "",
        f"{result.grids:,} irregular grids ({result.polygon_vertices} vertices each, non-convex, "
        f"shared edges) tiling {result.tiling_area_km2:.1f} km²; {result.points:,} uniformly "
        f"random points over their bounding box widened by 1 % ({result.points_outside:,} "
        "outside every grid). "
        f"Index build {result.build_s:.2f} s, {result.cells:,} bucket cells of which "
        f"{result.boundary_cells:,} need exact tests.",
        "",
        "| in-process lookup | result | target |",
        "|---|---:|---:|",
        f'| shapely `STRtree.query(points, predicate="within")` incl. creating the points '
        f"| {result.strtree_points_per_s / 1e6:.2f} M points/s | baseline |",
        f"| same, query only (points prepared beforehand) "
        f"| {result.strtree_query_only_points_per_s / 1e6:.2f} M points/s | |",
        f"| `GridIndex.locate_many` (bulk) | **{result.bulk_points_per_s / 1e6:.2f} M points/s** "
        f"| ≥ 1.5 M points/s |",
        f"| bulk ÷ STRtree-within | **{result.bulk_ratio:.1f}×** "
        f"({result.bulk_ratio_query_only:.1f}× vs query only) | |",
        f"| `GridIndex.locate_point` (single), median / p95 "
        f"| **{result.single_median_us:.2f} µs** / {result.single_p95_us:.2f} µs "
        "| ≤ 15 µs median |",
        f'| STRtree single `query(point, predicate="within")`, median / p95 '
        f"| {result.strtree_single_median_us:.2f} µs / {result.strtree_single_p95_us:.2f} µs | |",
        f"| answers differing from the baseline (bulk / single) "
        f"| {result.mismatches_bulk} / {result.mismatches_single} | 0 |",
    ]
    if runs:
        lines += [
            "",
            f"HTTP, one uvicorn worker on 127.0.0.1, {client} with {args.concurrency} "
            f"connections, {args.requests:,} requests per run after {args.warmup:,} warm-up "
            f"requests, median of {args.repeats} interleaved runs; locate at 10,000 random points "
            "inside the grids (all answered 200). `/healthz` opens a read session and runs "
            "`SELECT 1`; `/bench/ping` returns a constant without touching the database.",
            "",
            "| database | endpoint | req/s | p50 ms | p99 ms | locate ÷ this |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for backend in dict.fromkeys(r.endpoint.split()[0] for r in runs):
            locate_rps = median_rps(runs, f"{backend} locate")
            for name in ("locate", "healthz", "ping"):
                endpoint = f"{backend} {name}"
                mine = [r for r in runs if r.endpoint == endpoint]
                rps = median_rps(runs, endpoint)
                p50 = statistics.median(r.p50_ms for r in mine)
                p99 = statistics.median(r.p99_ms for r in mine)
                ratio = "" if name == "locate" else f"**{locate_rps / rps:.2f}**"
                path = {"locate": "/api/v1/geo/locate", "healthz": "/healthz"}.get(name, PING_PATH)
                lines.append(
                    f"| {backend} | `{path}` | {rps:,.0f} | {p50:.1f} | {p99:.1f} | {ratio} |"
                )
        lines += ["", "Target: locate ≥ 0.7 × a trivial GET on the same server."]
    if costs:
        lines += [
            "",
            "Database work per locate request (in-process, warm index, median): "
            + "; ".join(
                f"{c.backend}: version-stamp read {c.stamp_read_us:.0f} µs, whole "
                f"`lookup.locate` (stamp + units in one query) {c.locate_us:.0f} µs"
                for c in costs
            )
            + ".",
        ]
    return "\n".join(lines)


def run_command(args: argparse.Namespace) -> None:
    """Measure, print the Markdown section, save the JSON."""
    env = machine()
    started = time.monotonic()
    polygons = irregular_tiling()
    print(f"{len(polygons)} grids, {args.points:,} points; in-process part…", flush=True)
    result = in_process(polygons, args.points, args.repeats, seed=1)
    print(json.dumps(asdict(result), indent=2), flush=True)
    runs: list[LoadRun] = []
    costs: list[QueryCost] = []
    client = ""
    if not args.skip_server:
        with tempfile.TemporaryDirectory(prefix="wenming-geo-bench-") as tmp:
            runs, costs, client = server_part(args, polygons, Path(tmp))
    section = markdown(env, result, runs, costs, args, client)
    print()
    print(section)
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"geo_lookup-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(
        json.dumps(
            {
                "environment": env,
                "in_process": asdict(result),
                "runs": [asdict(r) for r in runs],
                "query_cost": [asdict(c) for c in costs],
                "seconds": time.monotonic() - started,
            },
            indent=2,
        )
    )
    print(f"\nsaved {out}")
    if result.mismatches_bulk or result.mismatches_single:
        raise SystemExit("the index and the baseline disagree")
    if any(r.other for r in runs):
        raise SystemExit("some requests were not answered 200")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The measurement (default) or the ``serve`` sub-command it spawns."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command")
    serve_parser = sub.add_parser("serve", help="serve the benchmark app (spawned by the run)")
    serve_parser.add_argument("--database-url", required=True)
    serve_parser.add_argument("--data-dir", required=True)
    serve_parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--points", type=int, default=1_000_000, help="random points")
    parser.add_argument("--repeats", type=int, default=3, help="repeats (best / median)")
    parser.add_argument("--requests", type=int, default=20_000, help="requests per HTTP run")
    parser.add_argument("--warmup", type=int, default=2_000, help="warm-up requests")
    parser.add_argument("--concurrency", type=int, default=32, help="open connections")
    parser.add_argument("--client", choices=("auto", "python"), default="auto")
    parser.add_argument("--skip-server", action="store_true", help="in-process part only")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("WENMING_BENCH_DATABASE_URL", ""),
        help="a dedicated, disposable PostgreSQL database (emptied afterwards)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Dispatch."""
    args = parse_args(argv)
    if args.command == "serve":
        serve(args)
    else:
        run_command(args)


if __name__ == "__main__":
    main()
