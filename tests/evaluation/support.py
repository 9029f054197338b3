"""Evaluation test fixtures: a small index, a 2022 year with two half-year rounds, participants
(大洼区 from the org tree, 双台子区 from the tree, two external ones), inspection points and the
people of the standard world plus evaluators."""

from __future__ import annotations

from dataclasses import dataclass

from shapely.geometry import Point
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.factories.cases import World, create_world
from tests.factories.geo import lonlat
from tests.factories.org import create_user
from wenming.evaluation import indexfile, service
from wenming.evaluation.schemas import SetupIn
from wenming.geo.models import InspectionPoint
from wenming.org.models import AdminUnit, User
from wenming.org.roles import Role

SMALL_INDEX = """
code: test-2022
name: 测试体系 (test)
projects:
  - code: HJ
    name: 环境卫生
    contents:
      - code: HJ01
        name: 公共区域卫生
        items:
          - code: F1
            text: 道路无暴露垃圾
            method: field
            max_points: 10
            per_finding: 1
            location_types: [main_road]
          - code: F2
            text: 农贸市场整洁
            method: field
            max_points: 6
            per_finding: 2
            location_types: [market]
          - code: F3
            text: 广场公园干净
            method: field
            max_points: 4
            per_finding: 0.5
            location_types: [park, square]
  - code: SZ
    name: 市民素质
    contents:
      - code: SZ01
        name: 满意度
        items:
          - code: S1
            text: 市民满意
            method: survey
            max_points: 10
      - code: SZ02
        name: 台账
        items:
          - code: M1
            text: 志愿服务台账
            method: material
            max_points: 10
"""

SETUP = {
    "years": [
        {
            "year": 2022,
            "name": "2022年度",
            "index": "test-2022",
            "combine": "sum",
            "rounds": [
                {"code": "2022H1", "name": "2022 上半年"},
                {"code": "2022H2", "name": "2022 下半年"},
            ],
        }
    ],
    "participants": [
        {"code": "211104", "name": "大洼区", "category": "other_district", "unit": "211104000000"},
        {
            "code": "211102",
            "name": "双台子区",
            "category": "other_district",
            "unit": "211102000000",
        },
        {"code": "X1", "name": "外市甲区", "category": "other_district"},
        {"code": "X2", "name": "外省乙市", "category": "prefecture_city"},
    ],
}


@dataclass
class EvalWorld:
    """The standard world with an evaluation set up on it."""

    world: World
    evaluator: User
    evaluator_two: User


async def add_point(
    session: AsyncSession, code: str, location_type: str, unit: AdminUnit, x: float = 50
) -> InspectionPoint:
    """An inspection point of a type inside a unit."""
    lon, lat = lonlat(x, 50)
    point = InspectionPoint(
        code=code,
        name=f"点位{code}",
        location_type=location_type,
        geometry=Point(lon, lat).wkb,
        geometry_type="Point",
        lon=lon,
        lat=lat,
        min_lon=lon,
        min_lat=lat,
        max_lon=lon,
        max_lat=lat,
        unit_id=unit.id,
        updated_at=NOW,
    )
    session.add(point)
    await session.flush()
    return point


async def create_evaluation(session: AsyncSession) -> EvalWorld:
    """The world, the small index, the 2022 year and its participants, points in 大洼区."""
    world = await create_world(session)
    await service.import_index(session, None, indexfile.parse_yaml(SMALL_INDEX), now=NOW)
    await service.apply_setup(session, None, SetupIn.model_validate(SETUP), now=NOW)
    for n in range(5):
        await add_point(session, f"MR{n:02d}", "main_road", world.tree.community, x=10 + n)
    for n in range(3):
        await add_point(session, f"PK{n:02d}", "park", world.tree.community_of_sibling, x=900)
    await add_point(session, "MK00", "market", world.tree.other_street, x=2000)
    evaluator = await create_user(session, "evaluator", Role.EVALUATOR, unit=world.tree.province)
    evaluator_two = await create_user(
        session, "evaluator2", Role.EVALUATOR, unit=world.tree.province
    )
    return EvalWorld(world, evaluator, evaluator_two)
