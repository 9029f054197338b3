"""The territorial scope as a matrix: every role against its own place, a sibling, the parent, a
child and another street, for reads and for writes, through the HTTP API.

The policy (``org.scope`` with the table in ``org.roles``): a grant reaches its unit or department
and everything beneath it, never upwards or sideways. Staff roles (intake, dispatcher) also read
the people there; admins (street, district, system) also rename, create people and see full phone
numbers. Everybody reads their own account. Read the tables below as the policy itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.factories.org import PASSWORD, Tree, bearer_headers, create_tree, create_user
from wenming.org import service
from wenming.org.models import AdminUnit, Department, User
from wenming.org.roles import Role

TARGETS = ("own", "sibling", "parent", "child", "other")

# What the five columns mean for a viewer bound at each kind of place (attributes of the Tree).
PLACES: dict[str, dict[str, str]] = {
    "street": {
        "own": "street",
        "sibling": "street_sibling",
        "parent": "district",
        "child": "community",
        "other": "other_street",
    },
    "district": {
        "own": "district",
        "sibling": "other_district",
        "parent": "city",
        "child": "street",
        "other": "other_street",
    },
    # A department has no parent unit of its own: its column "parent" is the owning district.
    "department": {
        "own": "department",
        "sibling": "department_sibling",
        "parent": "district",
        "child": "department_child",
        "other": "other_department",
    },
}


@dataclass(frozen=True)
class Viewer:
    """A role, the Tree attribute it is bound to (None: unbound) and its column meanings."""

    role: Role
    bound_at: str | None
    places: str


# Street-bound roles sit at S1, district-bound ones at the district, the department handler at
# 城管局. A citizen has no binding at all; its columns are those of S1.
VIEWERS: dict[str, Viewer] = {
    "citizen": Viewer(Role.CITIZEN, None, "street"),
    "grid_worker": Viewer(Role.GRID_WORKER, "street", "street"),
    "intake": Viewer(Role.INTAKE, "street", "street"),
    "dispatcher": Viewer(Role.DISPATCHER, "street", "street"),
    "handler@street": Viewer(Role.HANDLER, "street", "street"),
    "handler@department": Viewer(Role.HANDLER, "department", "department"),
    "street_admin": Viewer(Role.STREET_ADMIN, "street", "street"),
    "evaluator": Viewer(Role.EVALUATOR, "street", "street"),
    "district_admin": Viewer(Role.DISTRICT_ADMIN, "district", "district"),
    "sys_admin": Viewer(Role.SYS_ADMIN, "district", "district"),
}

# GET /api/v1/org/units/{code} (or /departments/{code} for a department): 200 or 403.
READ_PLACE: dict[str, tuple[int, ...]] = {
    #                     own  sibling parent child other
    "citizen":            (403, 403,    403,   403,  403),
    "grid_worker":        (200, 403,    403,   200,  403),
    "intake":             (200, 403,    403,   200,  403),
    "dispatcher":         (200, 403,    403,   200,  403),
    "handler@street":     (200, 403,    403,   200,  403),
    "handler@department": (200, 403,    403,   200,  403),
    "street_admin":       (200, 403,    403,   200,  403),
    "evaluator":          (200, 403,    403,   200,  403),
    "district_admin":     (200, 403,    403,   200,  403),
    "sys_admin":          (200, 403,    403,   200,  403),
}  # fmt: skip

ME, RESIDENT = "me", "resident"
# GET /api/v1/org/users?unit=CODE (?department=CODE): exactly who is listed. "resident" is the
# person placed at that target; "me" is the viewer, who always reads their own account.
PEOPLE_AT: dict[str, tuple[set[str], ...]] = {
    #                     own             sibling parent child     other
    "citizen":            (set(),          set(), set(), set(),      set()),
    "grid_worker":        ({ME},           set(), set(), set(),      set()),
    "intake":             ({ME, RESIDENT}, set(), set(), {RESIDENT}, set()),
    "dispatcher":         ({ME, RESIDENT}, set(), set(), {RESIDENT}, set()),
    "handler@street":     ({ME},           set(), set(), set(),      set()),
    "handler@department": ({ME},           set(), set(), set(),      set()),
    "street_admin":       ({ME, RESIDENT}, set(), set(), {RESIDENT}, set()),
    "evaluator":          ({ME},           set(), set(), set(),      set()),
    "district_admin":     ({ME, RESIDENT}, set(), set(), {RESIDENT}, set()),
    "sys_admin":          ({ME, RESIDENT}, set(), set(), {RESIDENT}, set()),
}  # fmt: skip

# GET /api/v1/org/users/{id} of the resident of each target: 200, or 404 so that the existence of
# people outside the viewer's reach does not leak.
READ_PERSON: dict[str, tuple[int, ...]] = {
    #                     own  sibling parent child other
    "citizen":            (404, 404,    404,   404,  404),
    "grid_worker":        (404, 404,    404,   404,  404),
    "intake":             (200, 404,    404,   200,  404),
    "dispatcher":         (200, 404,    404,   200,  404),
    "handler@street":     (404, 404,    404,   404,  404),
    "handler@department": (404, 404,    404,   404,  404),
    "street_admin":       (200, 404,    404,   200,  404),
    "evaluator":          (404, 404,    404,   404,  404),
    "district_admin":     (200, 404,    404,   200,  404),
    "sys_admin":          (200, 404,    404,   200,  404),
}  # fmt: skip

# The resident's phone as each viewer sees it at the viewer's own place.
FULL, MASKED = "13812345678", "138****5678"
PHONE_AT_OWN: dict[str, str | None] = {
    "citizen": None,
    "grid_worker": None,
    "intake": MASKED,
    "dispatcher": MASKED,
    "handler@street": None,
    "handler@department": None,
    "street_admin": FULL,
    "evaluator": None,
    "district_admin": FULL,
    "sys_admin": FULL,
}

DISTRICT_DEPARTMENTS = ["211104-CGJ", "211104-CGJ-ZFD", "211104-ZJJ"]
# GET /api/v1/org/departments: exactly these codes.
DEPARTMENTS: dict[str, list[str]] = {
    "citizen": [],
    "grid_worker": [],
    "intake": [],
    "dispatcher": [],
    "handler@street": [],
    "handler@department": ["211104-CGJ", "211104-CGJ-ZFD"],
    "street_admin": [],
    "evaluator": [],
    "district_admin": DISTRICT_DEPARTMENTS,
    "sys_admin": DISTRICT_DEPARTMENTS,
}

# PATCH /api/v1/org/units/{code} (or /departments/{code}) with a new name: 200 or 403.
RENAME: dict[str, tuple[int, ...]] = {
    #                     own  sibling parent child other
    "citizen":            (403, 403,    403,   403,  403),
    "grid_worker":        (403, 403,    403,   403,  403),
    "intake":             (403, 403,    403,   403,  403),
    "dispatcher":         (403, 403,    403,   403,  403),
    "handler@street":     (403, 403,    403,   403,  403),
    "handler@department": (403, 403,    403,   403,  403),
    "street_admin":       (200, 403,    403,   200,  403),
    "evaluator":          (403, 403,    403,   403,  403),
    "district_admin":     (200, 403,    403,   200,  403),
    "sys_admin":          (200, 403,    403,   200,  403),
}  # fmt: skip

# POST /api/v1/org/users: a grid worker bound at the target unit (a handler at a department).
CREATE_PERSON: dict[str, tuple[int, ...]] = {
    #                     own  sibling parent child other
    "citizen":            (403, 403,    403,   403,  403),
    "grid_worker":        (403, 403,    403,   403,  403),
    "intake":             (403, 403,    403,   403,  403),
    "dispatcher":         (403, 403,    403,   403,  403),
    "handler@street":     (403, 403,    403,   403,  403),
    "handler@department": (403, 403,    403,   403,  403),
    "street_admin":       (201, 403,    403,   201,  403),
    "evaluator":          (403, 403,    403,   403,  403),
    "district_admin":     (201, 403,    403,   201,  403),
    "sys_admin":          (201, 403,    403,   201,  403),
}  # fmt: skip

GRANTED_ROLES = (
    Role.GRID_WORKER,
    Role.INTAKE,
    Role.DISPATCHER,
    Role.HANDLER,
    Role.STREET_ADMIN,
    Role.DISTRICT_ADMIN,
    Role.EVALUATOR,
    Role.SYS_ADMIN,
    Role.CITIZEN,
)
# Where each granted role is placed (a unit the binding rules accept for it; None: unbound).
GRANT_PLACE: dict[Role, str | None] = {
    Role.GRID_WORKER: "community",
    Role.INTAKE: "street",
    Role.DISPATCHER: "street",
    Role.HANDLER: "street",
    Role.STREET_ADMIN: "street",
    Role.DISTRICT_ADMIN: "district",
    Role.EVALUATOR: "street",
    Role.SYS_ADMIN: "district",
    Role.CITIZEN: None,
}
# POST /api/v1/org/users with each role: who may hand out what (privilege escalation is a 403).
GRANTS: dict[str, tuple[int, ...]] = {
    #                 grid intake disp handler street district eval  sys  citizen
    "citizen":        (403, 403,  403, 403,    403,   403,     403,  403, 403),
    "grid_worker":    (403, 403,  403, 403,    403,   403,     403,  403, 403),
    "intake":         (403, 403,  403, 403,    403,   403,     403,  403, 403),
    "dispatcher":     (403, 403,  403, 403,    403,   403,     403,  403, 403),
    "handler@street": (403, 403,  403, 403,    403,   403,     403,  403, 403),
    "handler@department": (403, 403, 403, 403, 403,  403,     403,  403, 403),
    "street_admin":   (201, 403,  403, 201,    403,   403,     403,  403, 201),
    "evaluator":      (403, 403,  403, 403,    403,   403,     403,  403, 403),
    "district_admin": (201, 201,  201, 201,    201,   201,     201,  403, 201),
    "sys_admin":      (201, 201,  201, 201,    201,   201,     201,  201, 201),
}  # fmt: skip

RESIDENT_PLACES = (
    "city",
    "district",
    "street",
    "community",
    "street_sibling",
    "other_district",
    "other_street",
    "department",
    "department_child",
    "department_sibling",
    "other_department",
)


@dataclass(frozen=True)
class Place:
    """A target as plain values (ORM objects expire when a refused request rolls back)."""

    code: str
    is_department: bool
    resident: str
    resident_id: int

    @property
    def path(self) -> str:
        """The API path of the unit or department."""
        kind = "departments" if self.is_department else "units"
        return f"/api/v1/org/{kind}/{self.code}"


@dataclass(frozen=True)
class World:
    """The standard tree with one resident per place and one signed-in viewer."""

    viewer: str
    viewer_id: int
    headers: dict[str, str]
    places: dict[str, Place]

    def target(self, name: str, column: str) -> Place:
        """The place a matrix column means for a viewer."""
        return self.places[PLACES[VIEWERS[name].places][column]]


async def build_world(session: AsyncSession, name: str) -> World:
    """The tree, a grid worker at every unit and a handler at every department, and the viewer."""
    tree = await create_tree(session)
    places: dict[str, Place] = {}
    for attribute in RESIDENT_PLACES:
        node = getattr(tree, attribute)
        is_department = isinstance(node, Department)
        resident = f"r_{attribute}"
        user = await create_user(
            session,
            resident,
            Role.HANDLER if is_department else Role.GRID_WORKER,
            unit=None if is_department else node,
            department=node if is_department else None,
        )
        places[attribute] = Place(node.code, is_department, resident, user.id)
    viewer = VIEWERS[name]
    bound = getattr(tree, viewer.bound_at) if viewer.bound_at else None
    me = await create_user(
        session,
        "viewer",
        viewer.role,
        unit=bound if isinstance(bound, AdminUnit) else None,
        department=bound if isinstance(bound, Department) else None,
    )
    headers = await bearer_headers(session, me)
    await session.commit()
    return World("viewer", me.id, headers, places)


async def name_of(session: AsyncSession, place: Place) -> str | None:
    """The stored name of a unit or department."""
    model = Department if place.is_department else AdminUnit
    return await session.scalar(select(model.name).where(model.code == place.code))


def test_tables_cover_every_role() -> None:
    """Each table has a row for every viewer and one column per target."""
    for table in (READ_PLACE, PEOPLE_AT, READ_PERSON, RENAME, CREATE_PERSON):
        assert set(table) == set(VIEWERS)
        assert all(len(row) == len(TARGETS) for row in table.values())
    assert set(DEPARTMENTS) == set(VIEWERS) == set(PHONE_AT_OWN)
    assert {v.role for v in VIEWERS.values()} == set(Role)
    assert set(GRANT_PLACE) == set(GRANTED_ROLES) == set(Role)
    assert set(GRANTS) == set(VIEWERS)
    assert all(len(row) == len(GRANTED_ROLES) for row in GRANTS.values())


def row(values: tuple[object, ...]) -> dict[str, object]:
    """A table row keyed by its column names."""
    return dict(zip(TARGETS, values, strict=True))


async def observe_reads(client: httpx.AsyncClient, world: World, name: str) -> dict[str, object]:
    """What a viewer gets from every read endpoint for each target, in the tables' shape."""
    read_place: dict[str, object] = {}
    people_at: dict[str, object] = {}
    read_person: dict[str, object] = {}
    for column in TARGETS:
        place = world.target(name, column)
        response = await client.get(place.path, headers=world.headers)
        read_place[column] = response.status_code

        query = {"department" if place.is_department else "unit": place.code}
        response = await client.get("/api/v1/org/users", params=query, headers=world.headers)
        assert response.status_code == 200
        listed = {item["username"] for item in response.json()["items"]}
        assert response.json()["total"] == len(listed)
        names = {place.resident: RESIDENT, world.viewer: ME}
        people_at[column] = {names.get(username, username) for username in listed}

        response = await client.get(f"/api/v1/org/users/{place.resident_id}", headers=world.headers)
        read_person[column] = response.status_code
        expected_body = (
            {"username": place.resident}
            if response.status_code == 200
            else {"detail": f"No user {place.resident_id} within your scope."}
        )
        assert {k: response.json()[k] for k in expected_body} == expected_body

    own = world.target(name, "own")
    response = await client.get(f"/api/v1/org/users/{own.resident_id}", headers=world.headers)
    phone = response.json()["phone"] if response.status_code == 200 else None
    departments = await client.get("/api/v1/org/departments", headers=world.headers)
    return {
        "GET one place": read_place,
        "GET people at": people_at,
        "GET person": read_person,
        "phone at own": phone,
        "GET departments": [d["code"] for d in departments.json()],
    }


@pytest.mark.parametrize("name", VIEWERS)
async def test_reads(name: str, session: AsyncSession, client: httpx.AsyncClient) -> None:
    world = await build_world(session, name)
    assert await observe_reads(client, world, name) == {
        "GET one place": row(READ_PLACE[name]),
        "GET people at": row(PEOPLE_AT[name]),
        "GET person": row(READ_PERSON[name]),
        "phone at own": PHONE_AT_OWN[name],
        "GET departments": DEPARTMENTS[name],
    }


@pytest.mark.parametrize("name", VIEWERS)
async def test_own_account_unknown_ids_and_phones(
    name: str, session: AsyncSession, client: httpx.AsyncClient
) -> None:
    """Everyone reads themselves with their full phone; an unknown id answers exactly like a person
    out of reach; a listing masks phones the same way as a single read."""
    world = await build_world(session, name)
    me = await client.get(f"/api/v1/org/users/{world.viewer_id}", headers=world.headers)
    assert (me.status_code, me.json()["username"], me.json()["phone"]) == (200, "viewer", FULL)

    other = world.target(name, "other")
    missing = await client.get("/api/v1/org/users/999999", headers=world.headers)
    hidden = await client.get(f"/api/v1/org/users/{other.resident_id}", headers=world.headers)
    assert (missing.status_code, hidden.status_code) == (404, 404)
    assert missing.json()["type"] == hidden.json()["type"] == "/problems/not-found"

    own = world.target(name, "own")
    listing = await client.get("/api/v1/org/users", headers=world.headers)
    phones = {item["username"]: item["phone"] for item in listing.json()["items"]}
    assert phones.get(own.resident) == PHONE_AT_OWN[name]
    assert phones["viewer"] == FULL


async def observe_writes(
    session: AsyncSession, client: httpx.AsyncClient, world: World, name: str
) -> dict[str, object]:
    """What a viewer gets from every write for each target; refusals must leave no trace."""
    rename: dict[str, object] = {}
    create: dict[str, object] = {}
    for column in TARGETS:
        place = world.target(name, column)
        before = await name_of(session, place)
        new_name = f"更名-{column}"
        response = await client.patch(place.path, json={"name": new_name}, headers=world.headers)
        rename[column] = response.status_code
        if response.status_code == 200:
            assert response.json()["name"] == new_name
            assert await name_of(session, place) == new_name
        else:
            assert response.json()["type"] == "/problems/out-of-scope"
            assert await name_of(session, place) == before

        username = f"new_{column}"
        body = {"username": username, "display_name": "新人", "password": PASSWORD}
        body["phone"] = "13900001111"
        if place.is_department:
            body.update(role="handler", department_code=place.code)
        else:
            body.update(role="grid_worker", unit_code=place.code)
        response = await client.post("/api/v1/org/users", json=body, headers=world.headers)
        create[column] = response.status_code
        created = await session.scalar(select(User.id).where(User.username == username))
        if response.status_code == 201:
            assert response.json()["id"] == created
            assert response.json()["phone"] == "13900001111"
            assert response.json()["roles"] == [
                {
                    "role": body["role"],
                    "unit_code": body.get("unit_code"),
                    "department_code": body.get("department_code"),
                }
            ]
        else:
            assert response.json()["type"] in ("/problems/forbidden", "/problems/out-of-scope")
            assert created is None

    grants: dict[str, object] = {}
    for role in GRANTED_ROLES:
        username = f"granted_{role.value}"
        body = {"username": username, "display_name": "新人", "password": PASSWORD}
        body["role"] = role.value
        place_name = GRANT_PLACE[role]
        if place_name is not None:
            body["unit_code"] = world.places[place_name].code
        response = await client.post("/api/v1/org/users", json=body, headers=world.headers)
        grants[role.value] = response.status_code
        created = await session.scalar(select(User.id).where(User.username == username))
        assert (created is not None) == (response.status_code == 201)
    return {"PATCH rename": rename, "POST person": create, "POST role": grants}


@pytest.mark.parametrize("name", VIEWERS)
async def test_writes(name: str, session: AsyncSession, client: httpx.AsyncClient) -> None:
    world = await build_world(session, name)
    assert await observe_writes(session, client, world, name) == {
        "PATCH rename": row(RENAME[name]),
        "POST person": row(CREATE_PERSON[name]),
        "POST role": {
            role.value: status for role, status in zip(GRANTED_ROLES, GRANTS[name], strict=True)
        },
    }


@pytest.mark.parametrize("role", [Role.DISTRICT_ADMIN, Role.SYS_ADMIN, Role.STREET_ADMIN])
async def test_street_admin_cannot_raise_anyone_even_in_own_street(
    role: Role, session: AsyncSession, client: httpx.AsyncClient
) -> None:
    world = await build_world(session, "street_admin")
    body = {
        "username": "climber",
        "display_name": "Climber",
        "password": PASSWORD,
        "role": role.value,
        "unit_code": world.places["street"].code,
    }
    response = await client.post("/api/v1/org/users", json=body, headers=world.headers)
    assert response.status_code == 403
    assert response.json()["detail"] == f"your roles may not create users with role {role.value}"
    assert await session.scalar(select(User.id).where(User.username == "climber")) is None


@pytest.mark.parametrize(("role", "status"), [(Role.INTAKE, 403), (Role.GRID_WORKER, 201)])
async def test_each_grant_counts_only_where_it_applies(
    role: Role, status: int, session: AsyncSession, client: httpx.AsyncClient
) -> None:
    """A district admin of D2 who is also street admin of S2 may not make an intake clerk in S2:
    the district admin grant may hand out intake but not in S2, the street admin grant reaches S2
    but may not hand out intake. A grid worker in S2 is fine."""
    tree: Tree = await create_tree(session)
    admin = await create_user(session, "twohats", Role.DISTRICT_ADMIN, unit=tree.other_district)
    await service.assign_role(session, admin, Role.STREET_ADMIN, now=NOW, unit=tree.street_sibling)
    headers = await bearer_headers(session, admin)
    sibling_code = tree.street_sibling.code
    await session.commit()
    body = {
        "username": "elsewhere",
        "display_name": "x",
        "password": PASSWORD,
        "role": role.value,
        "unit_code": sibling_code,
    }
    response = await client.post("/api/v1/org/users", json=body, headers=headers)
    assert response.status_code == status
