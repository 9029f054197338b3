"""Request and response bodies of the case API (pydantic v2), kept apart from the ORM models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from wenming.cases.calendar import LimitUnit
from wenming.cases.vocab import Area, Kind, Purpose, Source, Urgency
from wenming.cases.workflow import Action, State, Step
from wenming.geo.crs import Crs
from wenming.org.codes import DEPARTMENT_CODE_PATTERN, UNIT_CODE_PATTERN

Text200 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9]{5,15}$")]
AttachmentKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{16,64}$")]
CategoryCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")]
CaseCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{4,16}$")]
UnitCode = Annotated[str, StringConstraints(pattern=UNIT_CODE_PATTERN)]
DepartmentCode = Annotated[str, StringConstraints(pattern=DEPARTMENT_CODE_PATTERN)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]


class Strict(BaseModel):
    """Unknown fields are a mistake the caller should hear about."""

    model_config = ConfigDict(extra="forbid")


class CaseCreate(Strict):
    """A new report. Give a point (with its coordinate system), or a unit code and an address."""

    category_kind: Kind
    category_code: CategoryCode
    description: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)
    ]
    source: Source = Source.CITIZEN
    lon: Longitude | None = None
    lat: Latitude | None = None
    crs: Crs = Crs.WGS84
    address: Text200 = ""
    unit_code: UnitCode | None = None
    component_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{16}$")] | None = None
    urgency: Urgency = Urgency.NORMAL
    reporter_name: Name | None = None
    reporter_phone: Phone | None = None
    anonymous: bool = False
    public: bool = True
    attachments: Annotated[list[AttachmentKey], Field(max_length=9)] = []


class TargetIn(Strict):
    """A responsible unit: exactly one of a department code or a street/community unit code."""

    department_code: DepartmentCode | None = None
    unit_code: UnitCode | None = None


class ActionIn(Strict):
    """The body of a workflow action; which fields are needed depends on the action."""

    note: Note = ""
    version: Annotated[int, Field(ge=1, le=2_147_483_647)] | None = None
    target: TargetIn | None = None
    merge_into: CaseCode | None = None
    until: AwareDatetime | None = None
    attachments: Annotated[list[AttachmentKey], Field(max_length=9)] = []
    before_attachments: Annotated[list[AttachmentKey], Field(max_length=9)] = []


class SupportIn(Strict):
    """A "me too" from someone who saw the same problem."""

    name: Name | None = None
    phone: Phone | None = None


class PlaceOut(BaseModel):
    """A unit or department by code and name."""

    code: str
    name: str


class CategoryOut(BaseModel):
    """A category as listed to reporters and admins."""

    kind: Kind
    code: str
    class_code: str
    name_zh: str
    name_en: str
    area: Area
    department_key: str | None
    public: bool
    after_photo: bool
    duplicate_radius_m: int
    icon: str
    active: bool


class CategoryCreate(Strict):
    """A new category (admins)."""

    kind: Kind
    code: CategoryCode
    name_zh: Name
    name_en: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
    area: Area
    department_key: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{1,20}$")] | None = None
    public: bool = True
    after_photo: bool = True
    duplicate_radius_m: Annotated[int, Field(ge=1, le=5000)] = 50
    icon: Annotated[str, StringConstraints(pattern=r"^[a-z]{1,20}$")] = "other"
    handle_amount: Annotated[int, Field(ge=1, le=100_000)]
    handle_unit: LimitUnit


class CategoryUpdate(Strict):
    """Changes to a category (admins); absent fields stay as they are."""

    name_zh: Name | None = None
    name_en: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)] | None
    ) = None
    area: Area | None = None
    department_key: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{0,20}$")] | None = None
    public: bool | None = None
    after_photo: bool | None = None
    duplicate_radius_m: Annotated[int, Field(ge=1, le=5000)] | None = None
    icon: Annotated[str, StringConstraints(pattern=r"^[a-z]{1,20}$")] | None = None
    active: bool | None = None


class TimeLimitIn(Strict):
    """One time limit (admins): for a category (or every category) and urgency (or any)."""

    category_kind: Kind | None = None
    category_code: CategoryCode | None = None
    urgency: Urgency | None = None
    step: Step
    amount: Annotated[int, Field(ge=1, le=100_000)]
    unit: LimitUnit


class TimeLimitOut(BaseModel):
    """A configured time limit."""

    category_kind: Kind | None
    category_code: str | None
    urgency: Urgency | None
    step: Step
    amount: int
    unit: LimitUnit


class RoutingRuleIn(Strict):
    """A routing rule (admins): what it matches and where it sends the case."""

    category_kind: Kind | None = None
    category_code: CategoryCode | None = None
    area_unit_code: UnitCode | None = None
    component_owner_code: DepartmentCode | None = None
    target: TargetIn
    note: Text200 = ""


class RoutingRuleOut(BaseModel):
    """A routing rule as stored."""

    id: int
    category_kind: Kind | None
    category_code: str | None
    area_unit_code: str | None
    component_owner_code: str | None
    target_department: PlaceOut | None
    target_unit: PlaceOut | None
    note: str


class SuggestionOut(BaseModel):
    """The routing suggestion for a case and why."""

    department: PlaceOut | None
    unit: PlaceOut | None
    reason: str
    rule_id: int | None


class AttachmentOut(BaseModel):
    """A photo on a case."""

    key: str
    purpose: Purpose
    url: str
    thumb_url: str


class EventOut(BaseModel):
    """One entry of a case's timeline."""

    action: str
    from_state: State | None
    to_state: State
    actor: str
    at: datetime
    note: str
    data: dict[str, object]
    attachments: list[AttachmentOut]


class CaseSummary(BaseModel):
    """A case as a row of a queue."""

    code: str
    state: State
    source: Source
    urgency: Urgency
    category: CategoryOut
    description: str
    address: str
    lon: float | None
    lat: float | None
    street: PlaceOut | None
    community: PlaceOut | None
    responsible_department: PlaceOut | None
    responsible_unit: PlaceOut | None
    due_at: datetime | None
    overdue: bool
    escalation_level: int
    pending: str | None
    created_at: datetime
    version: int


class CaseOut(CaseSummary):
    """A case in full, with what the current user may do to it."""

    grid_code: str | None
    component_code: str | None
    reporter_name: str | None
    reporter_phone: str | None
    anonymous: bool
    public: bool
    rework_count: int
    extension_count: int
    reopen_count: int
    supporters: int
    merged_into: str | None
    pending_due_at: datetime | None
    closed_at: datetime | None
    suggestion: SuggestionOut | None
    allowed_actions: list[Action]
    attachments: list[AttachmentOut]
    events: list[EventOut]


class CaseCreated(BaseModel):
    """The answer to a new report: the case and the likely duplicates found around it."""

    case: CaseOut
    likely_duplicates: list[CaseSummary]


class CasePage(BaseModel):
    """One page of a queue."""

    items: list[CaseSummary]
    total: int
    page: int
    page_size: int
