"""Who may run and read evaluations. Built on ``org.scope``: a participant that is a unit of the
org tree is read only by those whose territory holds it; external participants are read by every
evaluation reader. ``None`` stands for the operator at the command line, who may do everything."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, true

from wenming.core.deps import require_authenticated
from wenming.core.errors import Forbidden
from wenming.evaluation.models import Participant
from wenming.i18n import N_
from wenming.org.roles import Role
from wenming.org.scope import Actor, visible_units

# Provincial offices run evaluations with a system admin bound at the province; a district runs
# its own (self-evaluation) with its district admin.
MANAGERS = frozenset({Role.SYS_ADMIN, Role.DISTRICT_ADMIN})
READERS = MANAGERS | {Role.EVALUATOR, Role.STREET_ADMIN}

Viewer = Actor | None


def require_manager(actor: Viewer) -> None:
    """Refuse anyone but a system or district admin (401 for the anonymous public)."""
    if actor is None:
        return
    require_authenticated(actor.user_id)
    if not actor.has_role(*MANAGERS):
        raise Forbidden(N_("Only a system admin or a district admin manages evaluations."))


def require_reader(actor: Viewer) -> None:
    """Refuse anyone without an evaluation role (401 for the anonymous public)."""
    if actor is None:
        return
    require_authenticated(actor.user_id)
    if not actor.has_role(*READERS):
        raise Forbidden(
            N_(
                "Evaluation results are read by evaluators and by street, district and system "
                "admins."
            )
        )


def require_evaluator(actor: Actor) -> None:
    """Refuse anyone who is not an evaluator (401 for the anonymous public)."""
    require_authenticated(actor.user_id)
    if not actor.has_role(Role.EVALUATOR):
        raise Forbidden(N_("Only evaluators fill in checklists."))


def readable_participants(actor: Viewer) -> ColumnElement[bool]:
    """The participants an actor may read: external ones, and units inside their territory."""
    if actor is None:
        return true()
    return or_(Participant.unit_id.is_(None), Participant.unit_id.in_(visible_units(actor)))
