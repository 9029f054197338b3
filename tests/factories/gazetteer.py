"""Gazetteer factories: a small gazetteer on the standard geography (tests.factories.geo), stored
through the real import.

Layout (metres; the district spans x 0..1200, y -100..100):
- 兴盛路 (alias 兴盛大路), district road along y = 0 from x = 0 to 1200; plates 1..119 every 20 m,
  odd numbers at y = +10, even at y = -10 (number n at x = 10 + 20·((n-1)//2)); 17, 27 and 58
  left out; buildings 1 and 2 at number 20; 12-1 号 beside 12 号.
- 光明街 in 测试一社区, north-south at x = 200 from y = -100 to 100; plates 1..6 in y -90..-40.
- 中街 twice: in 测试二社区 (大洼街道) at x = 600 and in 测试三社区 (田家街道) at x = 1000,
  north-south; plates 1..8.
- 人民大街 (alias 人民街), along y = 60 from x = 0 to 800, no plates.
- places 中心农贸市场 (中心市场), 第一初级中学 (一中), 锦华园 (锦华小区), 区人民医院 (人民医院);
  the inspection point 滨河公园（示例） (a park) at (900, -60).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.factories.geo import collection, feature, lonlat, point
from tests.factories.org import Tree
from wenming.geo.gazetteer.importer import import_gazetteer
from wenming.geo.service import import_layer
from wenming.geo.version import Layer

XINGSHENG_MISSING = (17, 27, 58)


def line(*corners: tuple[float, float]) -> dict[str, Any]:
    """A GeoJSON LineString through metric corners."""
    return {"type": "LineString", "coordinates": [list(lonlat(x, y)) for x, y in corners]}


def xingsheng_xy(number: int) -> tuple[float, float]:
    """Where plate ``number`` of 兴盛路 stands (metres)."""
    return 10.0 + 20.0 * ((number - 1) // 2), 10.0 if number % 2 else -10.0


def road_features() -> list[dict[str, Any]]:
    """The roads."""
    return [
        feature(
            line((0, 0), (1200, 0)),
            code="RD-XS",
            name="兴盛路",
            aliases=["兴盛大路"],
            unit_code="211104000000",
        ),
        feature(line((200, -100), (200, 100)), code="RD-GM", name="光明街"),
        feature(line((600, -100), (600, 100)), code="RD-ZJ-1", name="中街"),
        feature(line((1000, -100), (1000, 100)), code="RD-ZJ-2", name="中街"),
        feature(
            line((0, 60), (800, 60)),
            code="RD-RM",
            name="人民大街",
            aliases="人民街",
            unit_code="211104004000",
        ),
    ]


def plate_features() -> list[dict[str, Any]]:
    """The door plates."""
    plates = [
        feature(point(*xingsheng_xy(n)), code=f"XS-{n:03d}", road_code="RD-XS", number=n)
        for n in range(1, 120)
        if n not in XINGSHENG_MISSING
    ]
    x12, y12 = xingsheng_xy(12)
    plates.append(
        feature(point(x12 + 4, y12), code="XS-012-1", road_code="RD-XS", number=12, suffix="-1")
    )
    x20, y20 = xingsheng_xy(20)
    plates += [
        feature(
            point(x20, y20 - 15 * b),
            code=f"XS-020-{b}",
            road_code="RD-XS",
            number=20,
            building=str(b),
        )
        for b in (1, 2)
    ]
    for road, x, prefix in (("RD-GM", 200, "GM"), ("RD-ZJ-1", 600, "ZA"), ("RD-ZJ-2", 1000, "ZB")):
        for n in range(1, 9 if road != "RD-GM" else 7):
            side = 8.0 if n % 2 else -8.0
            plates.append(
                feature(
                    point(x + side, -90.0 + 10.0 * ((n - 1) // 2)),
                    code=f"{prefix}-{n:03d}",
                    road_code=road,
                    number=n,
                )
            )
    return plates


def place_features() -> list[dict[str, Any]]:
    """The named places."""
    return [
        feature(
            point(300, 80),
            code="PL-SC",
            name="中心农贸市场",
            place_type="market",
            aliases=["中心市场"],
        ),
        feature(
            point(700, -60), code="PL-YZ", name="第一初级中学", place_type="school", aliases="一中"
        ),
        feature(
            point(1100, 50),
            code="PL-JH",
            name="锦华园",
            place_type="compound",
            aliases=["锦华小区"],
        ),
        feature(
            point(500, 85),
            code="PL-YY",
            name="区人民医院",
            place_type="hospital",
            aliases=["人民医院"],
        ),
    ]


async def create_gazetteer(session: AsyncSession, tree: Tree) -> None:
    """Store the gazetteer above (needs the standard geography with all grids)."""
    assert tree.district.code == "211104000000"
    await import_gazetteer(session, Layer.ROAD, collection(*road_features()), NOW)
    await import_gazetteer(session, Layer.ADDRESS, collection(*plate_features()), NOW)
    await import_gazetteer(session, Layer.PLACE, collection(*place_features()), NOW)
    await import_layer(
        session,
        Layer.POINT,
        collection(
            feature(point(900, -60), code="PT-BH", name="滨河公园（示例）", location_type="park")
        ),
        NOW,
    )
