"""Roles and what each may do: a pure table, no I/O."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """The roles a user can hold; each assignment binds one to a unit or a department."""

    CITIZEN = "citizen"
    GRID_WORKER = "grid_worker"
    INTAKE = "intake"
    DISPATCHER = "dispatcher"
    HANDLER = "handler"
    STREET_ADMIN = "street_admin"
    DISTRICT_ADMIN = "district_admin"
    EVALUATOR = "evaluator"
    SYS_ADMIN = "sys_admin"


class Permission(StrEnum):
    """Things an actor may do on the data of a unit or department inside their scope."""

    READ_ORG = "read_org"
    READ_PEOPLE = "read_people"
    MANAGE_ORG = "manage_org"
    MANAGE_PEOPLE = "manage_people"
    SEE_CONTACTS = "see_contacts"
    READ_CASES = "read_cases"  # every case whose place lies in the territory
    HANDLE_CASES = "handle_cases"  # the cases a unit or department is responsible for


STAFF_READ = frozenset({Permission.READ_ORG, Permission.READ_PEOPLE})
COMMAND_CENTRE = STAFF_READ | {Permission.READ_CASES}
ADMIN = frozenset(
    {
        Permission.READ_ORG,
        Permission.READ_PEOPLE,
        Permission.MANAGE_ORG,
        Permission.MANAGE_PEOPLE,
        Permission.SEE_CONTACTS,
        Permission.READ_CASES,
    }
)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CITIZEN: frozenset(),
    Role.GRID_WORKER: frozenset({Permission.READ_ORG}),
    Role.INTAKE: COMMAND_CENTRE,
    Role.DISPATCHER: COMMAND_CENTRE,
    Role.HANDLER: frozenset({Permission.READ_ORG, Permission.HANDLE_CASES}),
    Role.STREET_ADMIN: ADMIN,
    Role.DISTRICT_ADMIN: ADMIN,
    Role.EVALUATOR: frozenset({Permission.READ_ORG}),
    Role.SYS_ADMIN: ADMIN,
}

# Roles whose assignment names a department (the "条") rather than a territorial unit (the "块").
DEPARTMENT_ROLES = frozenset({Role.HANDLER})
# Roles that may be bound to either; a handler may also work for a street or community office.
UNIT_OR_DEPARTMENT_ROLES = frozenset({Role.HANDLER})
# Roles that need no binding at all.
UNBOUND_ROLES = frozenset({Role.CITIZEN})

# The unit levels (3 district, 4 street/town, 5 community/village) a role may be bound at, for the
# roles whose name says where they work; a role not listed may be bound at any unit. A street admin
# bound at a district would silently become a district admin, so the binding itself is refused.
ROLE_UNIT_LEVELS: dict[Role, frozenset[int]] = {
    Role.STREET_ADMIN: frozenset({4}),
    Role.DISTRICT_ADMIN: frozenset({3}),
    Role.HANDLER: frozenset({4, 5}),
}

ROLE_LABELS: dict[Role, tuple[str, str]] = {
    Role.CITIZEN: ("市民", "Citizen"),
    Role.GRID_WORKER: ("网格员", "Grid worker"),
    Role.INTAKE: ("受理员/值班长", "Intake clerk / shift leader"),
    Role.DISPATCHER: ("派遣员", "Dispatcher"),
    Role.HANDLER: ("责任单位处置人员", "Handler (responsible unit)"),
    Role.STREET_ADMIN: ("镇街管理员", "Street / town admin"),
    Role.DISTRICT_ADMIN: ("区管理员", "District admin"),
    Role.EVALUATOR: ("测评员", "Evaluator"),
    Role.SYS_ADMIN: ("系统管理员", "System admin"),
}


def permissions_of(role: Role) -> frozenset[Permission]:
    """What a role may do inside its scope."""
    return ROLE_PERMISSIONS[role]
