"""Organisation API: units, departments and people, always filtered by the caller's scope."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from wenming.auth.deps import SignedInActor
from wenming.core.deps import MAX_ROW_ID, AppClock, DbSession, RowId
from wenming.org import repository, service
from wenming.org.codes import DEPARTMENT_CODE_PATTERN, UNIT_CODE_PATTERN
from wenming.org.schemas import (
    DepartmentOut,
    DepartmentRename,
    Page,
    UnitOut,
    UnitRename,
    UserCreate,
    UserOut,
)

router = APIRouter(prefix="/api/v1/org", tags=["organisation"])

UnitCode = Annotated[
    str, Path(pattern=UNIT_CODE_PATTERN, description="12-digit statistical code of the unit")
]
DepartmentCode = Annotated[
    str, Path(pattern=DEPARTMENT_CODE_PATTERN, description="code of the department")
]


@router.get("/units", response_model=list[UnitOut], summary="Units you may read")
async def list_units(
    session: DbSession,
    actor: SignedInActor,
    parent: Annotated[
        str | None,
        Query(pattern=UNIT_CODE_PATTERN, description="only the children of this unit code"),
    ] = None,
) -> list[UnitOut]:
    """Your units and everything beneath them, in code order."""
    return await repository.list_units(session, actor, under=parent)


@router.get("/units/{code}", response_model=UnitOut, summary="One unit")
async def get_unit(code: UnitCode, session: DbSession, actor: SignedInActor) -> UnitOut:
    """A unit by its 12-digit code; 403 when it lies outside your scope."""
    return await repository.get_unit(session, actor, code)


@router.patch("/units/{code}", response_model=UnitOut, summary="Rename a unit")
async def rename_unit(
    code: UnitCode, body: UnitRename, session: DbSession, clock: AppClock, actor: SignedInActor
) -> UnitOut:
    """Admins rename units inside their scope."""
    await service.rename_unit_as(session, actor, code, body.name, clock.now())
    return await repository.get_unit(session, actor, code)


@router.get("/departments", response_model=list[DepartmentOut], summary="Departments you may read")
async def list_departments(session: DbSession, actor: SignedInActor) -> list[DepartmentOut]:
    """Your department subtree, or the departments of your territory."""
    return await repository.list_departments(session, actor)


@router.get("/departments/{code}", response_model=DepartmentOut, summary="One department")
async def get_department(
    code: DepartmentCode, session: DbSession, actor: SignedInActor
) -> DepartmentOut:
    """A department by its code; 403 when it lies outside your scope."""
    return await repository.get_department(session, actor, code)


@router.patch("/departments/{code}", response_model=DepartmentOut, summary="Rename a department")
async def rename_department(
    code: DepartmentCode,
    body: DepartmentRename,
    session: DbSession,
    clock: AppClock,
    actor: SignedInActor,
) -> DepartmentOut:
    """Admins rename departments inside their scope."""
    await service.rename_department_as(session, actor, code, body.name, clock.now())
    return await repository.get_department(session, actor, code)


@router.get("/users", response_model=Page[UserOut], summary="People you may read")
async def list_users(
    session: DbSession,
    actor: SignedInActor,
    unit: Annotated[
        str | None,
        Query(pattern=UNIT_CODE_PATTERN, description="only people assigned in this unit"),
    ] = None,
    department: Annotated[
        str | None,
        Query(
            pattern=DEPARTMENT_CODE_PATTERN, description="only people assigned in this department"
        ),
    ] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_ROW_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[UserOut]:
    """People with an assignment inside your scope; phones masked unless you manage them."""
    items, total = await repository.list_users(
        session, actor, unit_code=unit, department_code=department, offset=offset, limit=limit
    )
    return Page[UserOut](items=items, total=total, offset=offset, limit=limit)


@router.get("/users/{user_id}", response_model=UserOut, summary="One person")
async def get_user(user_id: RowId, session: DbSession, actor: SignedInActor) -> UserOut:
    """A person inside your scope; 404 for anyone else."""
    return await repository.get_user(session, actor, user_id)


@router.post(
    "/users", response_model=UserOut, status_code=status.HTTP_201_CREATED, summary="Create a user"
)
async def create_user(
    body: UserCreate, session: DbSession, clock: AppClock, actor: SignedInActor
) -> UserOut:
    """Admins create users with a role they may grant, bound inside their scope."""
    user = await service.create_user_as(
        session,
        actor,
        username=body.username,
        display_name=body.display_name,
        password=body.password,
        role=body.role,
        now=clock.now(),
        unit_code=body.unit_code,
        department_code=body.department_code,
        phone=body.phone,
    )
    return await repository.created_user(session, actor, user)
