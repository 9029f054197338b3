"""The demo district: 大洼区's real codes and townships, with synthetic communities, departments
and people, so that every role has an account to sign in with on a fresh install.

Real: 辽宁省 > 盘锦市 > 大洼区 (211104) and its 16 township-level units (``data/``). Synthetic,
flagged ``synthetic=True`` and named with the ``（示例）`` label: every community and village, every
department, every person and phone number.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from importlib import resources

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.core.errors import Conflict
from wenming.core.security import hash_password
from wenming.org import service
from wenming.org.codes import UnitKind
from wenming.org.models import AdminUnit, Department, User
from wenming.org.roles import Role

SYNTHETIC_LABEL = "（示例）"
TOWNSHIPS_FILE = "dawa_townships_2022.csv"

PROVINCE = ("210000000000", "辽宁省")
CITY = ("211100000000", "盘锦市")
DISTRICT = ("211104000000", "大洼区")
DISTRICT_CODE = DISTRICT[0]
STREET_ADMIN_UNIT = "211104004000"  # 大洼街道, a real sub-district

# Synthetic names, handed out in order: three communities per 街道, two villages per 镇.
COMMUNITIES_PER_STREET = 3
VILLAGES_PER_TOWN = 2
COMMUNITY_NAMES = (
    "向阳", "幸福", "和平", "建设", "新华", "光明", "育才", "锦绣", "滨河",
    "振兴", "文化", "友谊", "春晖", "福源", "安居", "祥和", "繁荣", "康宁",
)  # fmt: skip
VILLAGE_NAMES = (
    "前进", "红旗", "胜利", "东升", "永丰", "太平", "兴隆", "富民", "团结", "双河",
    "三合", "长兴", "金穗", "苇塘", "稻香", "蟹田", "柳河", "荣华", "新风", "丰收",
)  # fmt: skip
FIRST_COMMUNITY_SERIAL = 1  # 001-199: residents' committees (社区)
FIRST_VILLAGE_SERIAL = 201  # 200-399: village committees (村)

HANDLER_DEPARTMENT = "211104-CGJ"
# (code, name, parent department code or None for a top department of the district)
DEPARTMENTS: tuple[tuple[str, str, str | None], ...] = (
    ("211104-CGJ", "城管局（综合执法局）", None),
    ("211104-CGJ-ZF1", "执法一中队", "211104-CGJ"),
    ("211104-ZJJ", "住建局", None),
    ("211104-JJDD", "交警大队", None),
    ("211104-STHJ", "生态环境分局", None),
    ("211104-SCJG", "市场监管局", None),
    ("211104-WMB", "文明办", None),
    ("211104-HWZX", "环卫中心", None),
)


@dataclass(frozen=True)
class DemoLogin:
    """One demo sign-in as printed by ``wenming demo``: the role, its credentials and its place."""

    role: Role
    username: str
    password: str
    unit_name: str


@dataclass(frozen=True)
class DemoPerson:
    """A synthetic person of the demo; ``place`` is a unit code or a department code."""

    username: str
    display_name: str
    phone: str
    role: Role
    place: str
    password: str | None = None


@dataclass(frozen=True)
class DemoUnit:
    """A unit of the demo tree before it is stored."""

    code: str
    name: str
    kind: UnitKind
    parent_code: str | None
    synthetic: bool


def township_units() -> list[DemoUnit]:
    """The 16 real township-level units of 大洼区, read from the packaged data file."""
    text = resources.files("wenming").joinpath("data", TOWNSHIPS_FILE).read_text("utf-8")
    return [
        DemoUnit(
            code=row["code"],
            name=row["name"],
            kind=UnitKind(row["kind"]),
            parent_code=row["parent_code"],
            synthetic=False,
        )
        for row in csv.DictReader(io.StringIO(text))
    ]


def community_units(townships: list[DemoUnit]) -> list[DemoUnit]:
    """Synthetic communities under each 街道 and villages under each 镇, with statistical codes."""
    units: list[DemoUnit] = []
    community_names = iter(COMMUNITY_NAMES)
    village_names = iter(VILLAGE_NAMES)
    for township in townships:
        if township.kind is UnitKind.STREET:
            count, first, kind, names, suffix = (
                COMMUNITIES_PER_STREET,
                FIRST_COMMUNITY_SERIAL,
                UnitKind.COMMUNITY,
                community_names,
                "社区",
            )
        else:
            count, first, kind, names, suffix = (
                VILLAGES_PER_TOWN,
                FIRST_VILLAGE_SERIAL,
                UnitKind.VILLAGE,
                village_names,
                "村",
            )
        for serial in range(first, first + count):
            units.append(
                DemoUnit(
                    code=f"{township.code[:9]}{serial:03d}",
                    name=f"{next(names)}{suffix}{SYNTHETIC_LABEL}",
                    kind=kind,
                    parent_code=township.code,
                    synthetic=True,
                )
            )
    return units


def demo_units() -> list[DemoUnit]:
    """The whole demo tree, parents before children."""
    top = [
        DemoUnit(PROVINCE[0], PROVINCE[1], UnitKind.PROVINCE, None, False),
        DemoUnit(CITY[0], CITY[1], UnitKind.CITY, PROVINCE[0], False),
        DemoUnit(DISTRICT[0], DISTRICT[1], UnitKind.DISTRICT, CITY[0], False),
    ]
    townships = township_units()
    return top + townships + community_units(townships)


def _first_community_of(street_code: str) -> str:
    return f"{street_code[:9]}{FIRST_COMMUNITY_SERIAL:03d}"


GRID_WORKER_COMMUNITY = _first_community_of(STREET_ADMIN_UNIT)

DEMO_PEOPLE: tuple[DemoPerson, ...] = (
    DemoPerson(
        "demo_citizen", "刘佳（示例）", "13800000001", Role.CITIZEN, DISTRICT_CODE,
        "Demo-2026-citizen",
    ),
    DemoPerson(
        "demo_grid_worker", "王磊（示例）", "13800000002", Role.GRID_WORKER,
        GRID_WORKER_COMMUNITY, "Demo-2026-grid",
    ),
    DemoPerson(
        "demo_intake", "赵敏（示例）", "13800000003", Role.INTAKE, DISTRICT_CODE,
        "Demo-2026-intake",
    ),
    DemoPerson(
        "demo_dispatcher", "孙强（示例）", "13800000004", Role.DISPATCHER, DISTRICT_CODE,
        "Demo-2026-dispatch",
    ),
    DemoPerson(
        "demo_handler", "周涛（示例）", "13800000005", Role.HANDLER, HANDLER_DEPARTMENT,
        "Demo-2026-handler",
    ),
    DemoPerson(
        "demo_street_admin", "吴静（示例）", "13800000006", Role.STREET_ADMIN,
        STREET_ADMIN_UNIT, "Demo-2026-street",
    ),
    DemoPerson(
        "demo_district_admin", "郑伟（示例）", "13800000007", Role.DISTRICT_ADMIN,
        DISTRICT_CODE, "Demo-2026-district",
    ),
    DemoPerson(
        "demo_evaluator", "冯丽（示例）", "13800000008", Role.EVALUATOR, DISTRICT_CODE,
        "Demo-2026-evaluator",
    ),
    DemoPerson(
        "demo_sys_admin", "陈刚（示例）", "13800000009", Role.SYS_ADMIN, PROVINCE[0],
        "Demo-2026-sysadmin",
    ),
    # People without a password: they fill the people lists but cannot sign in.
    DemoPerson(
        "demo_grid_worker_2", "李娜（示例）", "13800000010", Role.GRID_WORKER,
        f"{STREET_ADMIN_UNIT[:9]}002",
    ),
    DemoPerson(
        "demo_grid_worker_3", "张伟（示例）", "13800000011", Role.GRID_WORKER,
        f"211104101{FIRST_VILLAGE_SERIAL:03d}",
    ),
    DemoPerson(
        "demo_grid_worker_4", "杨帆（示例）", "13800000012", Role.GRID_WORKER,
        _first_community_of("211104005000"),
    ),
    DemoPerson(
        "demo_street_admin_2", "黄丹（示例）", "13800000013", Role.STREET_ADMIN,
        "211104005000",
    ),
    DemoPerson("demo_handler_2", "何军（示例）", "13800000014", Role.HANDLER, "211104-ZJJ"),
    DemoPerson("demo_handler_3", "高峰（示例）", "13800000015", Role.HANDLER, "211104-CGJ-ZF1"),
    DemoPerson("demo_handler_4", "林霞（示例）", "13800000016", Role.HANDLER, "211104-HWZX"),
    DemoPerson("demo_citizen_2", "马慧（示例）", "13800000017", Role.CITIZEN, DISTRICT_CODE),
)  # fmt: skip

SEEDED_MARKER = "demo_district_admin"


def _place_names() -> dict[str, str]:
    """Unit and department names by code, for labelling logins without reading the database."""
    names = {unit.code: unit.name for unit in demo_units()}
    names.update({code: name for code, name, _parent in DEPARTMENTS})
    return names


def demo_logins() -> list[DemoLogin]:
    """The demo's sign-ins, one per role, in the order of the roles."""
    names = _place_names()
    return [
        DemoLogin(role=p.role, username=p.username, password=p.password, unit_name=names[p.place])
        for p in DEMO_PEOPLE
        if p.password is not None
    ]


@lru_cache(maxsize=1)
def _password_hashes() -> dict[str, str]:
    """The argon2 hash of each demo password, computed once per process and in parallel."""
    people = [p for p in DEMO_PEOPLE if p.password is not None]
    workers = max(1, min(len(people), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        hashes = pool.map(hash_password, [p.password or "" for p in people])
        return {p.username: digest for p, digest in zip(people, hashes, strict=True)}


async def is_seeded(session: AsyncSession) -> bool:
    """Whether the demo district has already been seeded into this database."""
    found = await session.scalar(select(User.id).where(User.username == SEEDED_MARKER))
    return found is not None


async def seed_demo(session: AsyncSession, now: datetime) -> list[DemoLogin]:
    """Seed the demo district once and return its sign-ins; a second call only returns them.

    Refuses a database that already holds an organisation the demo did not create. Flushes only:
    the caller commits.
    """
    if await is_seeded(session):
        return demo_logins()
    existing = await session.scalar(select(func.count()).select_from(AdminUnit))
    if existing:
        raise Conflict(
            f"this database already holds {existing} administrative units that the demo did not "
            "create; the demo seeds only an empty database. Point WENMING_DATA_DIR (or "
            "WENMING_DATABASE_URL) at a new database."
        )
    hashes = await asyncio.to_thread(_password_hashes)
    units: dict[str, AdminUnit] = {}
    for spec in demo_units():
        units[spec.code] = await service.create_unit(
            session,
            code=spec.code,
            name=spec.name,
            kind=spec.kind,
            parent=units[spec.parent_code] if spec.parent_code else None,
            now=now,
            synthetic=spec.synthetic,
        )
    departments: dict[str, Department] = {}
    for code, name, parent_code in DEPARTMENTS:
        departments[code] = await service.create_department(
            session,
            code=code,
            name=name,
            unit=units[DISTRICT_CODE],
            parent=departments[parent_code] if parent_code else None,
            now=now,
            synthetic=True,
        )
    for person in DEMO_PEOPLE:
        user = await service.create_user(
            session,
            username=person.username,
            display_name=person.display_name,
            password=None,
            now=now,
            phone=person.phone,
            synthetic=True,
        )
        user.password_hash = hashes.get(person.username)
        await service.assign_role(
            session,
            user,
            person.role,
            now=now,
            unit=units.get(person.place),
            department=departments.get(person.place),
        )
    await session.flush()
    return demo_logins()
