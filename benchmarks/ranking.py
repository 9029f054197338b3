"""Cost of ranking a year: 1,000 participants × 500 items × 2 rounds (1,000,000 item scores).

Times ``rules.rank_year`` — every (round, participant) scored item by item with re-weighting for
absent location types and method weights (40/20/40 in the first round, nominal maxima in the
second), the rounds summed into the year, the year ranked within five categories with a
tie-break — against a baseline over the same in-memory scores: a plain sum per participant and a
sort. Scores are generated from a fixed seed.

With ``--database`` it also stores the same scores in a fresh SQLite database (migrated, rows
written through ``sqlite3`` directly for speed), times ``service.refresh_totals`` over both rounds
(what importing every score triggers: read the scores, score each pair, store its round total)
and then ``service.ranking`` end to end through the product's async session (read the stored
totals, combine, rank, filter).

    .venv/bin/python benchmarks/ranking.py [--participants 1000] [--items 500] [--repeat 5]
                                           [--database]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from wenming.core.config import Environment, Settings
from wenming.core.db import Database
from wenming.core.migrate import upgrade
from wenming.evaluation import service
from wenming.evaluation.rules import (
    Combine,
    Item,
    Method,
    RoundPlan,
    TieBreak,
    TieBreakKind,
    rank_year,
)

LOCATION_TYPES = [
    "main_road",
    "commercial_street",
    "back_lane",
    "square",
    "park",
    "residential_compound",
    "old_compound",
    "construction_site",
    "school_surroundings",
    "market",
    "mall_supermarket",
    "hospital",
    "station",
    "service_hall",
    "hotel_restaurant",
    "cultural_venue",
    "practice_centre",
    "community",
    "patriotic_base",
    "youth_centre",
    "bus",
]
CATEGORIES = [
    "provincial_capital",
    "prefecture_city",
    "county_city",
    "central_district",
    "other_district",
]
NOW = datetime(2026, 11, 27, tzinfo=UTC).isoformat()


def make_items(count: int, rng: random.Random) -> list[Item]:
    """60 % field items (one or two location types), 20 % survey, 20 % material."""
    items = []
    for n in range(count):
        share = n / count
        method = Method.FIELD if share < 0.6 else Method.SURVEY if share < 0.8 else Method.MATERIAL
        types = frozenset(rng.sample(LOCATION_TYPES, rng.choice((1, 2))))
        items.append(
            Item(
                f"I{n:04d}",
                method,
                rng.choice((100, 150, 200, 300, 500)),
                f"P{n % 6}",
                f"C{n % 30}",
                types if method is Method.FIELD else frozenset(),
            )
        )
    return items


def make_scores(
    items: list[Item], participants: list[str], rounds: list[str], rng: random.Random
) -> tuple[dict[tuple[str, str], dict[str, int]], dict[tuple[str, str], list[str]]]:
    """Points per item for every (round, participant) and up to two absent types each."""
    scores: dict[tuple[str, str], dict[str, int]] = {}
    absent: dict[tuple[str, str], list[str]] = {}
    for round_code in rounds:
        for code in participants:
            scores[(round_code, code)] = {
                i.code: rng.randint(i.max_points // 2, i.max_points) for i in items
            }
            absent[(round_code, code)] = rng.sample(LOCATION_TYPES, rng.choice((0, 1, 2)))
    return scores, absent


def timed(work: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Median wall time in seconds over ``repeat`` runs, and the last result."""
    times = []
    result: object = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def store(
    path: Path,
    items: list[Item],
    rounds: list[RoundPlan],
    categories: list[tuple[str, str]],
    scores: dict[tuple[str, str], dict[str, int]],
    absent: dict[tuple[str, str], list[str]],
) -> None:
    """The index, the year, its rounds, the participants and every score in a migrated file."""
    connection = sqlite3.connect(path)
    cursor = connection.cursor()
    cursor.execute(
        "INSERT INTO eval_index_version (id, code, name, note, example, created_at) "
        "VALUES (1, 'bench', 'bench', '', 0, ?)",
        (NOW,),
    )
    cursor.execute(
        "INSERT INTO eval_project (id, version_id, code, name, sort_order) "
        "VALUES (1, 1, 'P', 'P', 0)"
    )
    cursor.execute(
        "INSERT INTO eval_content (id, version_id, project_id, code, name, sort_order) "
        "VALUES (1, 1, 1, 'C', 'C', 0)"
    )
    cursor.executemany(
        "INSERT INTO eval_item (id, version_id, content_id, code, text, method, max_points, "
        "per_finding, sort_order) VALUES (?, 1, 1, ?, ?, ?, ?, ?, ?)",
        [
            (n + 1, i.code, i.code, i.method.value, i.max_points, None, n)
            for n, i in enumerate(items)
        ],
    )
    cursor.executemany(
        "INSERT INTO eval_item_location_type (item_id, location_type) VALUES (?, ?)",
        [(n + 1, t) for n, i in enumerate(items) for t in i.location_types],
    )
    cursor.execute(
        "INSERT INTO eval_year (id, year, name, version_id, combine, tie_breaks, created_at) "
        "VALUES (1, 2022, '2022', 1, 'sum', '[\"latest\"]', ?)",
        (NOW,),
    )
    for n, plan in enumerate(rounds):
        cursor.execute(
            "INSERT INTO eval_round (id, code, year_id, name, sort_order) VALUES (?, ?, 1, ?, ?)",
            (n + 1, plan.code, plan.code, n),
        )
        for method, weight in (plan.weights or {}).items():
            cursor.execute(
                "INSERT INTO eval_method_weight (round_id, method, weight) VALUES (?, ?, ?)",
                (n + 1, method.value, weight),
            )
    cursor.executemany(
        "INSERT INTO eval_participant (id, code, name, category_code, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        [(n + 1, code, code, category, NOW) for n, (code, category) in enumerate(categories)],
    )
    round_id = {plan.code: n + 1 for n, plan in enumerate(rounds)}
    participant_id = {code: n + 1 for n, (code, _) in enumerate(categories)}
    item_id = {i.code: n + 1 for n, i in enumerate(items)}
    for (round_code, code), obtained in scores.items():
        cursor.executemany(
            "INSERT INTO eval_score (round_id, participant_id, item_id, points, source, "
            "updated_at) VALUES (?, ?, ?, ?, 'import', ?)",
            [
                (round_id[round_code], participant_id[code], item_id[i], v, NOW)
                for i, v in obtained.items()
            ],
        )
        cursor.executemany(
            "INSERT INTO eval_absent_type (round_id, participant_id, location_type) "
            "VALUES (?, ?, ?)",
            [(round_id[round_code], participant_id[code], t) for t in absent[(round_code, code)]],
        )
    connection.commit()
    connection.close()


async def rank_from_database(path: Path, repeat: int) -> tuple[float, list[float]]:
    """Wall time of recomputing every stored round total (what an import of all the scores
    triggers), then of ``service.ranking`` on the stored year, one fresh session per run."""
    settings = Settings(
        env=Environment.TEST,
        secret_key="benchmark-secret-key-that-is-long-enough-0123456789",  # noqa: S106
        database_url=f"sqlite:///{path}",
    )
    database = Database(settings)
    times = []
    try:
        start = time.perf_counter()
        async with database.session() as session:
            await service.refresh_totals(session, round_ids=[1, 2], now=datetime.fromisoformat(NOW))
        refresh = time.perf_counter() - start
        for _ in range(repeat):
            start = time.perf_counter()
            async with database.session(write=False) as session:
                table = await service.ranking(session, None, 2022)
            times.append(time.perf_counter() - start)
            assert len(table.rows) > 0
    finally:
        await database.dispose()
    return refresh, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=1000)
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--database", action="store_true", help="also time service.ranking on SQLite"
    )
    args = parser.parse_args()
    rng = random.Random(20221)
    items = make_items(args.items, rng)
    participants = [f"D{n:04d}" for n in range(args.participants)]
    categories = [(code, CATEGORIES[n % len(CATEGORIES)]) for n, code in enumerate(participants)]
    rounds = [
        RoundPlan("2022H1", {Method.FIELD: 40_00, Method.SURVEY: 20_00, Method.MATERIAL: 40_00}),
        RoundPlan("2022H2"),
    ]
    scores, absent = make_scores(items, participants, [r.code for r in rounds], rng)

    def baseline() -> object:
        totals = {
            code: sum(sum(scores[(r.code, code)].values()) for r in rounds) for code in participants
        }
        return sorted(participants, key=lambda c: (categories_of[c], -totals[c]))

    categories_of = dict(categories)

    def ranking() -> object:
        return rank_year(
            items,
            rounds,
            categories,
            scores,
            absent=absent,
            rule=Combine.SUM,
            tie_breaks=[TieBreak(TieBreakKind.LATEST)],
            category_order=CATEGORIES,
        )

    base_s, _ = timed(baseline, args.repeat)
    rank_s, table = timed(ranking, args.repeat)
    cells = args.participants * args.items * len(rounds)
    print(f"{args.participants} participants × {args.items} items × {len(rounds)} rounds")
    print(f"= {cells:,} item scores; median of {args.repeat} runs")
    print(f"baseline (plain integer sum + sort): {base_s * 1000:8.1f} ms")
    print(f"rank_year (scoring, re-weighting, ranking): {rank_s * 1000:8.1f} ms")
    print(f"ratio: {rank_s / base_s:.1f}×")
    assert hasattr(table, "ranked")
    top = table.ranked[0]  # type: ignore[attr-defined]
    print(f"first: {top.entry.code} ({top.entry.category}) {top.entry.total} points")
    assert isinstance(top.entry.total, Decimal)
    if args.database:
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "ranking.sqlite3"
            upgrade(f"sqlite:///{path}")
            start = time.perf_counter()
            store(path, items, rounds, categories, scores, absent)
            print(f"stored {cells:,} scores in SQLite in {time.perf_counter() - start:.1f} s")
            refresh, times = asyncio.run(rank_from_database(path, args.repeat))
            print(f"refresh_totals of both rounds (read 1,000,000 scores, score, store 2,000 "
                  f"totals): {refresh:.1f} s")  # fmt: skip
            print(
                f"service.ranking on SQLite (read totals, combine, rank): "
                f"{statistics.median(times) * 1000:8.1f} ms (median of {len(times)})"
            )


if __name__ == "__main__":
    main()
