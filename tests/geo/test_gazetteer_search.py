"""Address search against a small gazetteer: the golden list of queries, interpolation, the
trigram index kept in step with imports and inspection points, and the public endpoint."""

from __future__ import annotations

import csv
from pathlib import Path

import httpx
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.factories.gazetteer import create_gazetteer, xingsheng_xy
from tests.factories.geo import collection, create_geography, feature, lonlat, point
from tests.factories.org import Tree, create_tree
from wenming.geo.gazetteer.importer import import_gazetteer
from wenming.geo.gazetteer.models import GazetteerName
from wenming.geo.gazetteer.search import Candidate, search
from wenming.geo.geometry import distance_m
from wenming.geo.models import InspectionPoint
from wenming.geo.version import Layer

GOLDEN = Path(__file__).parent / "data" / "gazetteer_golden.csv"


async def world(session: AsyncSession) -> Tree:
    """The standard tree with boundaries, every grid and the test gazetteer."""
    tree = await create_tree(session)
    await create_geography(session, tree)
    await create_gazetteer(session, tree)
    return tree


def first_code(candidate: Candidate) -> str:
    """The code of an answer's own kind ('' for an interpolated number)."""
    return candidate.codes.get(candidate.kind, "")


def golden_rows() -> list[dict[str, str]]:
    """The golden queries."""
    with GOLDEN.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_the_golden_list_covers_forty_queries_and_every_shape() -> None:
    rows = golden_rows()
    assert len(rows) >= 40
    assert {row["kind"] for row in rows} == {"address", "road", "place", "point"}
    assert {row["interpolated"] for row in rows} == {"true", "false"}


async def test_golden_queries_answer_with_the_expected_first_result(session: AsyncSession) -> None:
    await world(session)
    rows = golden_rows()
    expected = [
        (row["query"], row["kind"], row["code"], row["label"], row["interpolated"] == "true")
        for row in rows
    ]
    actual = []
    for row in rows:
        found = await search(session, row["query"], 5)
        top = found[0] if found else None
        actual.append(
            (row["query"], "", "", "", False)
            if top is None
            else (row["query"], top.kind, first_code(top), top.label, top.interpolated)
        )
    assert actual == expected


async def test_a_door_plate_answer_carries_codes_coordinates_and_grid(
    session: AsyncSession,
) -> None:
    await world(session)
    found = await search(session, "兴盛路12号", 3)
    lon, lat = lonlat(*xingsheng_xy(12))
    assert found[0].as_dict() == {
        "label": "兴盛路 12 号",
        "kind": "address",
        "codes": {"address": "XS-012", "road": "RD-XS"},
        "lon": round(lon, 7),
        "lat": round(lat, 7),
        "grid_code": "211104004001006",
        "score": 1.0,
        "interpolated": False,
    }
    assert [c.kind for c in found] == ["address", "road"]


async def test_a_missing_number_is_interpolated_between_its_same_side_neighbours(
    session: AsyncSession,
) -> None:
    await world(session)
    found = (await search(session, "兴盛路17号", 1))[0]
    (x15, y15), (x19, y19) = xingsheng_xy(15), xingsheng_xy(19)
    assert (found.interpolated, found.codes, found.grid_code) == (
        True,
        {"road": "RD-XS"},
        "211104004001002",
    )
    assert distance_m(found.lon, found.lat, *lonlat((x15 + x19) / 2, (y15 + y19) / 2)) < 0.05
    even = (await search(session, "兴盛路58号", 1))[0]
    x56, y56 = xingsheng_xy(56)
    x60, _ = xingsheng_xy(60)
    assert distance_m(even.lon, even.lat, *lonlat((x56 + x60) / 2, y56)) < 0.05
    assert y56 < 0


async def test_ranking_prefers_the_named_street_and_keeps_the_other_road(
    session: AsyncSession,
) -> None:
    await world(session)
    found = await search(session, "田家街道中街3号", 10)
    assert [(c.kind, first_code(c)) for c in found[:2]] == [
        ("address", "ZB-003"),
        ("address", "ZA-003"),
    ]
    assert found[0].score > found[1].score


async def test_limit_and_nothing_found(session: AsyncSession) -> None:
    await world(session)
    assert len(await search(session, "兴盛", 1)) == 1
    assert await search(session, "长江路", 5) == []
    assert await search(session, "，。", 5) == []


async def test_a_reimported_road_is_found_by_its_new_name_only(session: AsyncSession) -> None:
    await world(session)
    renamed = feature(
        {"type": "LineString", "coordinates": [list(lonlat(200, -100)), list(lonlat(200, 100))]},
        code="RD-GM",
        name="育英街",
        aliases=["育英大街"],
    )
    report = await import_gazetteer(session, Layer.ROAD, collection(renamed), NOW)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 0)
    assert [c.label for c in await search(session, "育英街2号", 1)] == ["育英街 2 号"]
    assert [c.label for c in await search(session, "育英大街", 1)] == ["育英街"]
    assert await search(session, "光明街", 5) == []


async def test_inspection_points_follow_their_table_through_triggers(session: AsyncSession) -> None:
    await world(session)
    point_id = await session.scalar(
        select(InspectionPoint.id).where(InspectionPoint.code == "PT-BH")
    )
    await session.execute(
        update(InspectionPoint).where(InspectionPoint.id == point_id).values(name="湿地公园")
    )
    assert [c.label for c in await search(session, "湿地公园", 1)] == ["湿地公园"]
    assert await search(session, "滨河公园", 1) == []
    await session.execute(text("DELETE FROM geo_point WHERE id = :id"), {"id": point_id})
    assert await search(session, "湿地公园", 1) == []
    names = await session.scalar(
        select(GazetteerName.id).where(GazetteerName.kind == "point").limit(1)
    )
    assert names is None


async def test_the_public_endpoint_answers_without_signing_in(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    await world(session)
    response = await client.get("/api/v1/geo/search", params={"q": "一中", "limit": 2})
    assert response.status_code == 200
    body = response.json()
    lon, lat = lonlat(700, -60)
    assert body == {
        "query": "一中",
        "candidates": [
            {
                "label": "第一初级中学",
                "kind": "place",
                "codes": {"place": "PL-YZ"},
                "lon": round(lon, 7),
                "lat": round(lat, 7),
                "grid_code": "211104004002007",
                "score": 0.97,
                "interpolated": False,
            }
        ],
    }


async def test_malformed_search_parameters_are_named(client: httpx.AsyncClient) -> None:
    empty = await client.get("/api/v1/geo/search", params={"q": ""})
    assert empty.status_code == 422
    assert empty.headers["content-type"].startswith("application/problem+json")
    assert "q" in empty.text
    too_many = await client.get("/api/v1/geo/search", params={"q": "兴盛", "limit": 500})
    assert too_many.status_code == 422
    assert "limit" in too_many.text


async def test_a_plate_import_for_a_point_in_a_grid_takes_the_grid_community(
    session: AsyncSession,
) -> None:
    await world(session)
    report = await import_gazetteer(
        session,
        Layer.ADDRESS,
        collection(feature(point(1150, -40), code="XS-NEW", road_code="RD-XS", number=500)),
        NOW,
    )
    assert report.created == 1
    found = (await search(session, "测试三社区兴盛路500号", 1))[0]
    assert (found.label, found.codes["address"], found.grid_code) == (
        "兴盛路 500 号",
        "XS-NEW",
        "211104005001008",
    )
