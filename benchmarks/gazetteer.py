"""Gazetteer benchmark: address search and reverse geocoding over 500,000 door plates.

Data (synthetic, deterministic): 大洼区 > 大洼街道 > ten communities, 1,000 grids of 500 m × 500 m
tiling 50 km × 5 km around 122° E, 41° N; 2,500 roads of 1 km on a 50 × 50 lattice (two-character
names from a pool of 60 characters + 路/街/大街/巷, one alias each); numbers 1..222 per road at
9 m spacing, odd numbers 12 m north of the centre line and even numbers 12 m south, numbers ending
in 7 left out: 200 plates a road, 500,000 in all; 5,000 named places with an alias.
Everything is written with bulk statements (the search index is filled by the same triggers an
import fires).

Measured in one process, one session, each call timed on its own (``time.perf_counter``):

* ``search(session, q, 10, grids=...)`` as ``GET /api/v1/geo/search`` calls it (grid codes from
  the process's recent grid snapshot) for 2,000 queries mixing the shapes of docs/gazetteer.md:
  road + number, full administrative prefix, Chinese numerals, full-width digits, a wrong
  character (typo), an interpolated (missing) number, a place, a place alias, and as-you-type
  prefixes of one and two characters;
* ``reverse_label(session, lon, lat)`` at 2,000 random points over the roads (the index is built
  by the first call, reported apart), checking the layers' stamps on every call, and again with
  a staleness bound of 1 s (``now=..., max_staleness=...``: no query within the bound);
* the baseline: a primary-key read of one door plate (``SELECT ... WHERE id = ?``) through the
  same session, 2,000 times.

    .venv/bin/python benchmarks/gazetteer.py                                   # SQLite
    .venv/bin/python benchmarks/gazetteer.py --postgres-url postgresql://...   # PostgreSQL

The PostgreSQL database is emptied first (schema ``public`` dropped and re-created). Results are
printed as Markdown and saved as JSON under ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from shapely.geometry import LineString, box
from sqlalchemy import bindparam, create_engine, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.core.db import create_engine_for, sync_url
from wenming.core.migrate import upgrade
from wenming.geo.gazetteer.models import DoorPlate, GazetteerName, NamedPlace, Road
from wenming.geo.gazetteer.reverse import cache_for, reverse_label
from wenming.geo.gazetteer.search import search
from wenming.geo.geometry import METRES_PER_DEGREE, to_wkb
from wenming.geo.index import cache_for as grid_cache_for
from wenming.geo.models import Grid
from wenming.geo.version import Layer, bump_version
from wenming.org import service as org_service
from wenming.org.codes import UnitKind
from wenming.org.models import AdminUnit

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
ORIGIN_LON, ORIGIN_LAT = 122.0, 41.0
KX = METRES_PER_DEGREE * np.cos(np.radians(ORIGIN_LAT))
KY = METRES_PER_DEGREE
ROAD_COLUMNS, ROAD_ROWS, ROAD_LENGTH_M, ROW_SPACING_M = 50, 50, 1_000.0, 100.0
PLATES_PER_SIDE, PLATE_SPACING_M, PLATE_OFFSET_M = 111, 9.0, 12.0
GRID_SIDE_M, COMMUNITIES = 500.0, 10
PLACES = 5_000
QUERIES = 2_000
STALENESS = timedelta(seconds=1)
CHUNK = 10_000
POOL = (
    "兴盛光明和平新华建设胜利解放幸福团结友谊文化育才振兴繁荣康宁"
    "祥和锦绣福源向阳红星东风前进民主青年永安长春海滨湖滨"
)
SUFFIXES = ("路", "街", "大街", "巷")
CHINESE = "零一二三四五六七八九"
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def lonlat(x: float, y: float) -> tuple[float, float]:
    """WGS-84 of a metric position around the origin."""
    return ORIGIN_LON + x / KX, ORIGIN_LAT + y / KY


def road_names(rng: np.random.Generator) -> list[str]:
    """2,500 distinct road names."""
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < ROAD_COLUMNS * ROAD_ROWS:
        a, b = rng.choice(len(POOL), 2, replace=False)
        name = POOL[a] + POOL[b] + SUFFIXES[int(rng.integers(len(SUFFIXES)))]
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def chinese_number(n: int) -> str:
    """A number in Chinese numerals (1..999), as people say it: 一百零三, 二十七."""
    hundreds, rest = divmod(n, 100)
    tens, ones = divmod(rest, 10)
    text_ = ""
    if hundreds:
        text_ += CHINESE[hundreds] + "百"
        if tens == 0 and ones:
            text_ += "零"
    if tens:
        text_ += ("" if tens == 1 and not hundreds else CHINESE[tens]) + "十"
    if ones:
        text_ += CHINESE[ones]
    return text_


async def build(url: str, rng: np.random.Generator) -> dict[str, Any]:
    """Migrate and fill the database; return what the queries are drawn from."""
    upgrade(url)
    engine = create_engine_for(url, pool_size=1)
    names = road_names(rng)
    started = time.perf_counter()
    async with AsyncSession(engine) as session, session.begin():

        async def unit(code: str, name: str, kind: UnitKind, parent: AdminUnit | None) -> AdminUnit:
            return await org_service.create_unit(
                session, code=code, name=name, kind=kind, parent=parent, now=NOW
            )

        province = await unit("210000000000", "辽宁省", UnitKind.PROVINCE, None)
        city = await unit("211100000000", "盘锦市", UnitKind.CITY, province)
        district = await unit("211104000000", "大洼区", UnitKind.DISTRICT, city)
        street = await unit("211104004000", "大洼街道", UnitKind.STREET, district)
        communities = [
            await unit(f"211104004{c:03d}", f"示例{c}社区", UnitKind.COMMUNITY, street)
            for c in range(1, COMMUNITIES + 1)
        ]
        width = ROAD_COLUMNS * ROAD_LENGTH_M
        height = ROAD_ROWS * ROW_SPACING_M
        grid_rows: list[dict[str, Any]] = []
        columns = int(width / GRID_SIDE_M)
        for row in range(int(height / GRID_SIDE_M)):
            community = communities[row % COMMUNITIES]
            for column in range(columns):
                x0, y0 = column * GRID_SIDE_M, height - (row + 1) * GRID_SIDE_M
                (lon0, lat0), (lon1, lat1) = (
                    lonlat(x0, y0),
                    lonlat(x0 + GRID_SIDE_M, y0 + GRID_SIDE_M),
                )
                shape = box(lon0, lat0, lon1, lat1)
                grid_rows.append(
                    {
                        "code": f"{community.code}{row // COMMUNITIES * columns + column + 1:03d}",
                        "community_id": community.id,
                        "geometry": to_wkb(shape),
                        "area_m2": GRID_SIDE_M**2,
                        "min_lon": lon0,
                        "min_lat": lat0,
                        "max_lon": lon1,
                        "max_lat": lat1,
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                )
        await session.execute(insert(Grid), grid_rows)
        await bump_version(session, Layer.GRID, NOW)
        roads: list[dict[str, Any]] = []
        name_rows: list[dict[str, Any]] = []
        for index, name in enumerate(names):
            column, row = divmod(index, ROAD_ROWS)
            x0, y = column * ROAD_LENGTH_M, (row + 0.5) * ROW_SPACING_M
            start, end = lonlat(x0, y), lonlat(x0 + ROAD_LENGTH_M, y)
            line = LineString([start, end])
            middle = lonlat(x0 + ROAD_LENGTH_M / 2, y)
            roads.append(
                {
                    "id": index + 1,
                    "code": f"R{index + 1:05d}",
                    "name": name,
                    "aliases": name[:2] + "老" + name[2:],
                    "geometry": to_wkb(line),
                    "length_m": ROAD_LENGTH_M,
                    "lon": middle[0],
                    "lat": middle[1],
                    "min_lon": start[0],
                    "min_lat": start[1],
                    "max_lon": end[0],
                    "max_lat": end[1],
                    "unit_id": communities[int(y // GRID_SIDE_M) % COMMUNITIES].id,
                    "synthetic": True,
                    "updated_at": NOW,
                }
            )
            for alias, spelled in ((False, name), (True, name[:2] + "老" + name[2:])):
                name_rows.append(
                    {
                        "kind": "road",
                        "ref_id": index + 1,
                        "code": f"R{index + 1:05d}",
                        "name": spelled,
                        "alias": alias,
                        "search_text": spelled,
                        "unit_code": street.code,
                        "lon": middle[0],
                        "lat": middle[1],
                    }
                )
        await session.execute(insert(Road), roads)
        plates: list[dict[str, Any]] = []
        stored = 0
        for road in roads:
            column, row = divmod(int(road["id"]) - 1, ROAD_ROWS)
            x0, y = column * ROAD_LENGTH_M, (row + 0.5) * ROW_SPACING_M
            for k in range(PLATES_PER_SIDE):
                for number, dy in ((2 * k + 1, PLATE_OFFSET_M), (2 * k + 2, -PLATE_OFFSET_M)):
                    if number % 10 == 7:
                        continue
                    lon, lat = lonlat(x0 + 5 + k * PLATE_SPACING_M, y + dy)
                    plates.append(
                        {
                            "code": f"{road['code']}-{number:04d}",
                            "road_id": road["id"],
                            "number": number,
                            "suffix": "",
                            "lon": lon,
                            "lat": lat,
                            "unit_id": road["unit_id"],
                            "synthetic": True,
                            "updated_at": NOW,
                        }
                    )
            if len(plates) >= CHUNK:
                await session.execute(insert(DoorPlate), plates)
                stored += len(plates)
                plates = []
        if plates:
            await session.execute(insert(DoorPlate), plates)
            stored += len(plates)
        places: list[dict[str, Any]] = []
        place_names: list[str] = []
        kinds = ("市场", "小学", "花园", "医院", "广场")
        for index in range(PLACES):
            a, b, c = rng.choice(len(POOL), 3, replace=False)
            name = f"{POOL[a]}{POOL[b]}{POOL[c]}{kinds[index % len(kinds)]}"
            place_names.append(name)
            x, y = rng.uniform(0, width), rng.uniform(0, height)
            lon, lat = lonlat(x, y)
            places.append(
                {
                    "id": index + 1,
                    "code": f"P{index + 1:05d}",
                    "name": name,
                    "place_type": "other",
                    "aliases": name[:2] + kinds[index % len(kinds)],
                    "lon": lon,
                    "lat": lat,
                    "unit_id": communities[0].id,
                    "synthetic": True,
                    "updated_at": NOW,
                }
            )
            for alias, spelled in ((False, name), (True, name[:2] + kinds[index % len(kinds)])):
                name_rows.append(
                    {
                        "kind": "place",
                        "ref_id": index + 1,
                        "code": f"P{index + 1:05d}",
                        "name": spelled,
                        "alias": alias,
                        "search_text": spelled,
                        "unit_code": communities[0].code,
                        "lon": lon,
                        "lat": lat,
                    }
                )
        await session.execute(insert(NamedPlace), places)
        for start in range(0, len(name_rows), CHUNK):
            await session.execute(insert(GazetteerName), name_rows[start : start + CHUNK])
        for layer in (Layer.ROAD, Layer.ADDRESS, Layer.PLACE):
            await bump_version(session, layer, NOW)
    if url.startswith("postgresql"):
        async with engine.connect() as connection:
            await connection.execute(text("COMMIT"))
            await connection.execute(text("ANALYZE"))
    await engine.dispose()
    return {
        "names": names,
        "place_names": place_names,
        "plates": stored,
        "load_s": round(time.perf_counter() - started, 1),
        "width": width,
        "height": height,
    }


def queries(rng: np.random.Generator, data: dict[str, Any]) -> list[tuple[str, str]]:
    """(shape, query) pairs, cycling through the shapes."""
    names: list[str] = data["names"]
    places: list[str] = data["place_names"]
    outside = "甲乙丙丁戊己庚辛壬癸"

    def present() -> int:
        while True:
            n = int(rng.integers(1, 2 * PLATES_PER_SIDE + 1))
            if n % 10 != 7:
                return n

    makers: list[tuple[str, Callable[[], str]]] = [
        ("road + number", lambda: f"{rng.choice(names)}{present()}号"),
        (
            "full prefix",
            lambda: f"辽宁省盘锦市大洼区大洼街道{rng.choice(names)}{present()}号",
        ),
        ("Chinese numeral", lambda: f"{rng.choice(names)}{chinese_number(present())}号"),
        (
            "full-width digits",
            lambda: f"{rng.choice(names)}{str(present()).translate(FULL_WIDTH)}号",
        ),
        (
            "typo",
            lambda: (
                (lambda n: n[0] + outside[int(rng.integers(10))] + n[2:])(str(rng.choice(names)))
                + f"{present()}号"
            ),
        ),
        ("interpolated", lambda: f"{rng.choice(names)}{10 * int(rng.integers(0, 22)) + 7}号"),
        ("place", lambda: str(rng.choice(places))),
        ("place alias", lambda: (lambda p: p[:2] + p[3:])(str(rng.choice(places)))),
        ("as you type: 1 char", lambda: str(rng.choice(names))[0]),
        ("as you type: 2 chars", lambda: str(rng.choice(names))[:2]),
    ]
    return [(makers[i % len(makers)][0], makers[i % len(makers)][1]()) for i in range(QUERIES)]


def summary(times: list[float]) -> dict[str, float]:
    """Median, p95 and p99 in milliseconds."""
    ordered = sorted(times)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 3)

    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": at(0.95),
        "p99_ms": at(0.99),
    }


async def timed(call: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    """One call's duration and result."""
    started = time.perf_counter()
    result = await call()
    return time.perf_counter() - started, result


async def measure(url: str, data: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """Search, reverse and baseline timings."""
    engine = create_engine_for(url, pool_size=1)
    results: dict[str, Any] = {}
    async with AsyncSession(engine) as session:
        plate_ids = [int(i) for i in rng.integers(1, data["plates"] + 1, QUERIES)]
        baseline: list[float] = []
        by_pk = select(DoorPlate.code, DoorPlate.lon, DoorPlate.lat).where(
            DoorPlate.id == bindparam("id")
        )
        for plate_id in plate_ids[:50]:
            await session.execute(by_pk, {"id": plate_id})
        for plate_id in plate_ids:
            duration, _ = await timed(lambda p=plate_id: session.execute(by_pk, {"id": p}))
            baseline.append(duration)
        results["baseline primary-key read"] = summary(baseline)

        asked = queries(rng, data)
        grids = await grid_cache_for(session).get(session)
        for _shape, query in asked[:50]:
            await search(session, query, 10, grids=grids)
        by_shape: dict[str, list[float]] = {}
        every: list[float] = []
        answered = 0
        for shape, query in asked:
            duration, found = await timed(lambda q=query: search(session, q, 10, grids=grids))
            by_shape.setdefault(shape, []).append(duration)
            every.append(duration)
            answered += bool(found)
        results["search (all shapes)"] = summary(every)
        for shape, times in by_shape.items():
            results[f"search: {shape}"] = summary(times)
        results["search answered"] = f"{answered} of {len(asked)}"

        build_s, _ = await timed(lambda: cache_for(session).get(session))
        results["reverse index build s"] = round(build_s, 2)
        spots = [
            lonlat(rng.uniform(0, data["width"]), rng.uniform(0, data["height"]))
            for _ in range(QUERIES)
        ]
        reverse_times: list[float] = []
        for lon, lat in spots:
            duration, _ = await timed(lambda a=lon, b=lat: reverse_label(session, a, b))
            reverse_times.append(duration)
        results["reverse_label (stamp read every call)"] = summary(reverse_times)
        bounded: list[float] = []
        for lon, lat in spots:
            duration, _ = await timed(
                lambda a=lon, b=lat: reverse_label(
                    session, a, b, now=datetime.now(UTC), max_staleness=STALENESS
                )
            )
            bounded.append(duration)
        results["reverse_label (staleness bound 1 s)"] = summary(bounded)
    await engine.dispose()
    return results


def reset_postgres(url: str) -> None:
    """Empty a PostgreSQL database (public schema)."""
    engine = create_engine(sync_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def main() -> None:
    """Build, measure, print and save."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres-url", help="an own PostgreSQL database (it is emptied)")
    parser.add_argument(
        "--sqlite-path",
        type=Path,
        help="keep the SQLite database in this file; an existing one is measured again as is",
    )
    args = parser.parse_args()
    rng = np.random.default_rng(20261127)
    with tempfile.TemporaryDirectory() as directory:
        sqlite_path = args.sqlite_path or Path(directory) / "gazetteer.sqlite3"
        saved = sqlite_path.with_suffix(".json")
        if args.postgres_url:
            url, backend = args.postgres_url, "postgresql"
            reset_postgres(url)
            data = asyncio.run(build(url, rng))
        else:
            url, backend = f"sqlite:///{sqlite_path}", "sqlite"
            if sqlite_path.exists() and saved.exists():
                data = json.loads(saved.read_text(encoding="utf-8"))
            else:
                data = asyncio.run(build(url, rng))
                saved.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        results = asyncio.run(measure(url, data, rng))
    print(
        f"## Gazetteer on {backend}: {data['plates']:,} door plates stored, "
        f"loaded in {data['load_s']} s"
    )
    print()
    print("| what | p50 ms | p95 ms | p99 ms |")
    print("|---|---:|---:|---:|")
    for name, value in results.items():
        if isinstance(value, dict):
            print(f"| {name} | {value['p50_ms']} | {value['p95_ms']} | {value['p99_ms']} |")
    for name, value in results.items():
        if not isinstance(value, dict):
            print(f"\n{name}: {value}")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    (out / f"gazetteer-{backend}-{stamp}.json").write_text(
        json.dumps(
            {
                "backend": backend,
                "plates": data["plates"],
                "load_s": data["load_s"],
                "python": platform.python_version(),
                "results": results,
            },
            ensure_ascii=False,
            indent=2,
        ),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
