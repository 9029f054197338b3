"""The demo district's synthetic gazetteer: drawn deterministically, odd and even plates on the two
sides of each road, seeded with the demo geography, searchable and reverse-geocodable."""

from __future__ import annotations

from shapely.geometry import LineString, Point
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from wenming.demo import gazetteer_seed
from wenming.demo.gazetteer_seed import demo_gazetteer, place_aliases, seed_demo_gazetteer
from wenming.demo.geo_seed import seed_demo_geography
from wenming.demo.seed import seed_demo
from wenming.geo.gazetteer.models import DoorPlate, NamedPlace, Road
from wenming.geo.gazetteer.reverse import reverse_label
from wenming.geo.gazetteer.search import search

GAZETTEER = demo_gazetteer()


def test_roads_are_the_demo_roads_joined_by_name() -> None:
    names = [road.properties["name"] for road in GAZETTEER.roads]
    assert len(names) == len(set(names)) == 39
    assert {"兴盛路", "向海大街", "新兴镇中街", "光明东巷", "中兴商业街"} <= set(names)
    assert all("示例" not in name for name in names)


def test_odd_and_even_plates_stand_on_opposite_sides_and_numbers_ending_in_7_are_missing() -> None:
    road = next(r for r in GAZETTEER.roads if r.properties["name"] == "兴盛路")
    plates = [p for p in GAZETTEER.plates if p.properties["road_code"] == road.code]
    numbers = {p.properties["number"] for p in plates}
    assert not any(n % 10 == 7 for n in numbers)
    assert {1, 2, 3, 12, 20} <= numbers
    line = road.geometry
    assert isinstance(line, LineString)

    def side(number: int) -> float:
        spot = next(
            p.geometry
            for p in plates
            if p.properties["number"] == number and "building" not in p.properties
        )
        assert isinstance(spot, Point)
        (x0, y0), (x1, y1) = line.coords[0], line.coords[-1]
        return (x1 - x0) * (spot.y - y0) - (y1 - y0) * (spot.x - x0)

    assert side(1) > 0 > side(2)
    assert side(11) > 0 > side(12)
    buildings = sorted(
        p.properties["building"]
        for p in plates
        if p.properties["number"] == 20 and "building" in p.properties
    )
    assert buildings == ["1", "2"]


def test_place_aliases_are_the_short_names_people_use() -> None:
    assert place_aliases("区人民医院") == ["人民医院"]
    assert place_aliases("第一初级中学") == ["一中"]
    assert place_aliases("中心农贸市场") == ["中心市场"]
    assert place_aliases("阳光小区") == ["阳光"]
    assert place_aliases("金地家园") == []


def test_the_module_says_it_is_synthetic() -> None:
    assert gazetteer_seed.__doc__ is not None
    assert "SYNTHETIC" in gazetteer_seed.__doc__


async def test_the_demo_seeds_a_searchable_gazetteer_once(session: AsyncSession) -> None:
    await seed_demo(session, NOW)
    await seed_demo_geography(session, NOW)
    counts = []
    for model in (Road, DoorPlate, NamedPlace):
        counts.append(await session.scalar(select(func.count()).select_from(model)))
        flags = (await session.scalars(select(model.synthetic).distinct())).all()
        assert flags == [True], model.__name__
    assert counts == [39, len(GAZETTEER.plates), len(GAZETTEER.places)]
    assert len(GAZETTEER.plates) > 2_000
    again = await seed_demo_gazetteer(session, NOW)
    assert (again.roads, again.plates, again.places, again.changed) == (
        39,
        len(GAZETTEER.plates),
        len(GAZETTEER.places),
        False,
    )
    found = (await search(session, "辽宁省盘锦市大洼区兴盛路十二号", 1))[0]
    assert (found.label, found.kind, found.interpolated) == ("兴盛路 12 号", "address", False)
    assert found.grid_code is not None
    assert await reverse_label(session, found.lon, found.lat) == "兴盛路 12 号"
    missing = (await search(session, "兴盛路17号", 1))[0]
    assert (missing.label, missing.interpolated) == ("兴盛路 17 号", True)
    market = (await search(session, "中心市场", 1))[0]
    assert (market.label, market.kind) == ("中心农贸市场", "place")
