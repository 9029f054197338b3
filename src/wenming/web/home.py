"""The home page: per role, what the person holds, what they can see and what they can do next."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.core.deps import DbSession
from wenming.i18n import N_
from wenming.org import repository
from wenming.org.roles import Permission, Role
from wenming.org.scope import Actor
from wenming.web.cases import reporting_sources
from wenming.web.deps import PageActor
from wenming.web.rendering import (
    has_permission,
    may_create_users,
    may_see_cases,
    may_see_evaluation,
    may_take_calls,
    primary_role,
    render,
)

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class HomeText:
    """The words of one role's home page (msgids, translated when shown)."""

    heading: str
    intro: str
    coming: str


HOME_TEXT: dict[Role | None, HomeText] = {
    Role.CITIZEN: HomeText(
        N_("Citizen services"),
        N_("You are signed in as a registered citizen of the district."),
        N_(
            "Coming next: alerts when a report you follow changes, and photos added to a "
            "report later."
        ),
    ),
    Role.GRID_WORKER: HomeText(
        N_("Grid worker desk"),
        N_("You patrol the grids of your community and report what you find."),
        N_("Coming next: storefront duty checks (门前四包) on your patrols."),
    ),
    Role.INTAKE: HomeText(
        N_("Intake desk"),
        N_("You review the reports that come in for your territory."),
        N_("Coming next: intake and dispatch statistics per unit."),
    ),
    Role.DISPATCHER: HomeText(
        N_("Dispatch desk"),
        N_("You send filed cases to the unit responsible for them."),
        N_("Coming next: dispatch statistics: on-time and accurate dispatch per unit."),
    ),
    Role.HANDLER: HomeText(
        N_("Responsible unit desk"),
        N_("You fix the problems assigned to your unit within the time limit."),
        N_("Coming next: your unit's performance: on-time handling, rework and closure rates."),
    ),
    Role.STREET_ADMIN: HomeText(
        N_("Street administration"),
        N_("You oversee your street or town and everything beneath it, and manage its people."),
        N_("Coming next: self-inspection and dashboards for your territory."),
    ),
    Role.DISTRICT_ADMIN: HomeText(
        N_("District command centre"),
        N_("You see the whole district: its streets, communities, departments and people."),
        N_("Coming next: district dashboards and evaluation results."),
    ),
    Role.EVALUATOR: HomeText(
        N_("Evaluation desk"),
        N_("You take part in the evaluation rounds of the civilized-city campaign."),
        N_("Coming next: evaluation results on the district dashboards."),
    ),
    Role.SYS_ADMIN: HomeText(
        N_("System administration"),
        N_("You maintain the organisation tree, the departments, the users and their roles."),
        N_(
            "Coming next: pages for case categories, time limits and routing rules (today "
            "through the API and the command line)."
        ),
    ),
    None: HomeText(
        N_("Your account"),
        N_("Your account holds no role yet. Ask an administrator to assign one."),
        "",
    ),
}


@dataclass(frozen=True)
class ActionCard:
    """A link to a page that exists now, with what it is for (msgids)."""

    href: str
    title: str
    description: str


def case_cards(actor: Actor) -> list[ActionCard]:
    """The case pages for this actor: a handler's own tasks, the queue, the overdue board and the
    intake form, as their roles allow."""
    cards: list[ActionCard] = []
    if actor.has_role(Role.HANDLER):
        cards.append(
            ActionCard(
                "/cases?mine=1&state=open",
                N_("My unit's tasks"),
                N_(
                    "Open cases your unit is responsible for: accept, fix, report back with photos."
                ),
            )
        )
    if may_see_cases(actor) and actor.roles - {Role.HANDLER, Role.CITIZEN}:
        cards.append(
            ActionCard(
                "/cases",
                N_("Case queue"),
                N_("The cases you may see, filtered by state, category, street, source and more."),
            )
        )
    if has_permission(actor, Permission.READ_CASES):
        cards.append(
            ActionCard(
                "/cases/overdue",
                N_("Overdue board"),
                N_("Open cases past their due time, the most escalated first."),
            )
        )
    if may_take_calls(actor):
        cards.append(
            ActionCard(
                "/hotline",
                N_("Hotline desk"),
                N_("Take a 12345 call: the caller's earlier cases, address search and the map."),
            )
        )
    if reporting_sources(actor):
        cards.append(
            ActionCard(
                "/cases/new",
                N_("Enter a report"),
                N_("Record a hotline call, an instruction, an inspection or a patrol finding."),
            )
        )
    return cards


def action_cards(actor: Actor, counts: dict[str, int]) -> list[ActionCard]:
    """The pages this actor can use today, most useful first; lists with nothing in them are left
    out (a handler of a department sees no administrative unit, for example)."""
    cards = case_cards(actor)
    if actor.has_role(Role.CITIZEN, Role.GRID_WORKER):
        cards.insert(
            0,
            ActionCard(
                "/m/",
                N_("指尖 phone app"),
                N_(
                    "Report from your phone with photos and the location; grid workers also "
                    "patrol and check on site."
                ),
            ),
        )
    if may_see_evaluation(actor):
        cards.append(
            ActionCard(
                "/evaluation",
                N_("Evaluation"),
                N_("Checklists of sampled points, participants' scores and the bulletins."),
            )
        )
    if may_create_users(actor):
        cards.append(
            ActionCard(
                "/org/people/new",
                N_("Create a user"),
                N_("Add a person with a role you may grant, inside your territory."),
            )
        )
    if counts.get("/org/people"):
        cards.append(
            ActionCard(
                "/org/people",
                N_("People"),
                N_(
                    "The people of your territory; phone numbers are masked unless you manage them."
                ),
            )
        )
    if counts.get("/org/units"):
        cards.append(
            ActionCard(
                "/org/units",
                N_("Administrative units"),
                N_("The tree of streets, towns, communities and villages you can see."),
            )
        )
    if counts.get("/org/departments"):
        cards.append(
            ActionCard(
                "/org/departments",
                N_("Departments"),
                N_("The functional departments you can see."),
            )
        )
    if actor.roles - {Role.CITIZEN}:
        cards.append(
            ActionCard(
                "/account/api-keys",
                N_("My API keys"),
                N_("Keys for programs that act as you; each is shown once and stored hashed."),
            )
        )
        cards.append(
            ActionCard(
                "/docs",
                N_("API documentation"),
                N_("The interactive OpenAPI documentation of the platform."),
            )
        )
    return cards


async def scope_summary(session: AsyncSession, actor: Actor) -> list[tuple[str, int, str]]:
    """How much the actor can see: (label msgid, count, page) per kind of record, leaving out
    the kinds the actor sees none of."""
    summary: list[tuple[str, int, str]] = []
    if has_permission(actor, Permission.READ_ORG):
        units = await repository.count_units(session, actor)
        departments = await repository.count_departments(session, actor)
        summary.append((N_("Units"), units, "/org/units"))
        summary.append((N_("Departments"), departments, "/org/departments"))
    if has_permission(actor, Permission.READ_PEOPLE):
        _, total = await repository.list_users(session, actor, limit=1)
        summary.append((N_("People"), total, "/org/people"))
    return [entry for entry in summary if entry[1] > 0]


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    """The signed-in person's home page, shaped by their broadest role."""
    assert actor.user_id is not None
    role = primary_role(actor)
    me = await repository.get_user(session, actor, actor.user_id)
    summary = await scope_summary(session, actor)
    context: dict[str, Any] = {
        "role": role,
        "text": HOME_TEXT[role],
        "me": me,
        "assignments": await repository.own_assignments(session, actor),
        "summary": summary,
        "cards": action_cards(actor, {page: count for _label, count, page in summary}),
    }
    return render(request, "home.html", context, actor=actor)
