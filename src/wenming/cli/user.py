"""``wenming user``: create people with a role, and API keys for machine clients."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.cli.common import (
    describe,
    fail,
    load_settings,
    new_app,
    read_secret_line,
    require_current_schema,
    run_in_session,
)
from wenming.core.clock import SystemClock
from wenming.core.errors import Conflict, InvalidInput, NotFound
from wenming.org import service
from wenming.org.models import User
from wenming.org.roles import ROLE_LABELS, Role

app = new_app("People: create users with a role, issue API keys.")

ROLE_CHOICES = ", ".join(role.value for role in Role)


async def check_binding(
    session: AsyncSession, username: str, role: Role, unit: str | None, department: str | None
) -> None:
    """Refuse, before asking for a password, a taken username or a role bound to the wrong place."""
    found_unit, found_department = await service.resolve_binding(session, unit, department)
    if problem := service.binding_problem(role, found_unit, found_department):
        raise InvalidInput(problem, field="department_code" if department else "unit_code")
    name = username.strip().lower()
    if await session.scalar(select(User.id).where(User.username == name)) is not None:
        raise Conflict(f"username {name!r} is taken; choose another", field="username")


def ask_password() -> str:
    """The new password: prompted twice without echo on a terminal, else one line of stdin."""
    if sys.stdin.isatty():
        password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        return password
    password = read_secret_line()
    if not password:
        fail("--password: no password given; pass --password or pipe one line to stdin")
    return password


@app.command("create")
def create(
    username: Annotated[
        str,
        typer.Option(help="Sign-in name: lowercase letters, digits, '.', '_' or '-'."),
    ],
    role: Annotated[str, typer.Option(help=f"Role to grant, one of: {ROLE_CHOICES}.")],
    unit: Annotated[
        str | None,
        typer.Option(
            help="12-digit code of the unit the role is bound to, e.g. 211104004000. "
            "Every role but citizen and handler needs one."
        ),
    ] = None,
    department: Annotated[
        str | None,
        typer.Option(help="Code of the department a handler works for, e.g. 211104-CGJ."),
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(
            help="Password (at least 8 characters). Omit it to be asked twice without echo, "
            "or pipe it as one line on stdin."
        ),
    ] = None,
    display_name: Annotated[
        str | None, typer.Option(help="Name shown in the application; defaults to the username.")
    ] = None,
    phone: Annotated[str | None, typer.Option(help="Phone number (digits).")] = None,
) -> None:
    """Create a user holding one role bound to a unit or a department.

    Nothing is written when anything is refused.
    """
    settings = load_settings()
    require_current_schema(settings)
    try:
        parsed_role = service.parse_role(role)
    except InvalidInput as exc:
        fail(describe(exc))
    run_in_session(
        settings,
        lambda session: check_binding(session, username, parsed_role, unit, department),
        write=False,
    )
    secret = password if password is not None else ask_password()
    try:
        service.check_password(secret)
    except InvalidInput as exc:
        fail(describe(exc))

    async def work(session: AsyncSession) -> str:
        found_unit, found_department = await service.resolve_binding(session, unit, department)
        user = await service.create_user(
            session,
            username=username,
            display_name=display_name or username.strip().lower(),
            password=secret,
            now=SystemClock().now(),
            phone=phone,
        )
        await service.assign_role(
            session,
            user,
            parsed_role,
            now=SystemClock().now(),
            unit=found_unit,
            department=found_department,
        )
        place = found_unit or found_department
        where = f" at {place.name} ({place.code})" if place is not None else ""
        zh, en = ROLE_LABELS[parsed_role]
        return f"Created user {user.username} ({user.display_name}) as {zh} / {en}{where}."

    typer.echo(run_in_session(settings, work))


@app.command("apikey")
def apikey(
    name: Annotated[str, typer.Argument(help="Username of the user the key acts as.")],
    label: Annotated[
        str, typer.Option(help="Which client uses the key, e.g. 'open311 gateway'.")
    ] = "command line",
) -> None:
    """Create an API key for a user and print it once: the key is stored only as a digest."""
    # Imported here: the authentication service hashes a dummy password when it is imported,
    # a cost every other command (and ``--help``) should not pay.
    from wenming.auth.service import create_api_key

    settings = load_settings()
    require_current_schema(settings)

    async def work(session: AsyncSession) -> str:
        username = name.strip().lower()
        user = await session.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFound(f"no user named {username!r}")
        if not user.is_active:
            raise Conflict(f"user {username!r} is disabled; enable the account first")
        _row, key = await create_api_key(session, user, label, SystemClock().now())
        return key

    key = run_in_session(settings, work)
    typer.echo(key)
    typer.echo(
        f"API key for {name.strip().lower()} ({label.strip()}). Store it now: it cannot be "
        "shown again. Send it as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'.",
        err=True,
    )
