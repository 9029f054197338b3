"""Request and response bodies of the evaluation API and of the set-up file (pydantic v2)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from wenming.evaluation.rules import Combine, Method
from wenming.org.codes import UNIT_CODE_PATTERN

Code = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_.-]{1,32}$")]
RoundCode = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_-]{1,16}$")
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Points = Annotated[Decimal, Field(ge=0, le=10000, decimal_places=2, allow_inf_nan=False)]
AttachmentKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{16,64}$")]


class Strict(BaseModel):
    """Unknown fields are a mistake the caller should hear about."""

    # YAML set-up files write codes such as 211104 unquoted; they mean the text.
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)


class CategoryIn(Strict):
    """A ranking category; an existing code is renamed."""

    code: Code
    name_zh: Name
    name_en: Name
    sort_order: int = Field(default=0, ge=0, le=32000)


class RoundIn(Strict):
    """A round of a year, e.g. 2022H1 (2022 上半年)."""

    code: RoundCode
    name: Name
    weight: Points | None = Field(default=None, description="only for weighted years")
    mock: bool = Field(
        default=False,
        description="a self-evaluation (模拟测评): scored and explained, left out of the year",
    )
    method_weights: dict[Method, Points] = Field(
        default_factory=dict,
        description="what each method is worth, e.g. {field: 40, survey: 20, material: 40}; "
        "empty: each method is worth its items' nominal maximum",
    )


class YearIn(Strict):
    """An evaluation year with its rounds."""

    year: int = Field(ge=2000, le=2100)
    name: Name
    index: Code = Field(description="code of the index version the year is scored on")
    combine: Combine = Combine.SUM
    tie_breaks: list[Annotated[str, StringConstraints(max_length=40)]] = Field(
        default_factory=list, description="e.g. ['latest', 'method:field', 'round:2022H1']"
    )
    rounds: list[RoundIn] = Field(default_factory=list)


class ParticipantIn(Strict):
    """A participant: a unit of the org tree (``unit``) or external (no unit)."""

    code: Code
    name: Name
    category: Code
    unit: Annotated[str, StringConstraints(pattern=UNIT_CODE_PATTERN)] | None = None


class AbsentIn(Strict):
    """Location types that do not exist in a participant in a round."""

    round: RoundCode
    participant: Code
    location_types: list[Code]


class CycleIn(Strict):
    """A cycle of years and their weights, e.g. {2018: 15, 2019: 25, 2020: 60}."""

    code: Code
    name: Name
    years: dict[int, Points]


class SetupIn(Strict):
    """The set-up file (YAML) or API body: categories, years with rounds, participants, cycles."""

    categories: list[CategoryIn] = Field(default_factory=list)
    years: list[YearIn] = Field(default_factory=list)
    participants: list[ParticipantIn] = Field(default_factory=list)
    absent_location_types: list[AbsentIn] = Field(default_factory=list)
    cycles: list[CycleIn] = Field(default_factory=list)


class SetupReport(BaseModel):
    """What a set-up changed."""

    categories: int
    years: int
    rounds: int
    participants: int
    absent_location_types: int
    cycles: int


class IndexVersionOut(BaseModel):
    """An index version in a list."""

    code: str
    name: str
    example: bool
    items: int


class ImportReport(BaseModel):
    """How many rows an import wrote."""

    rows: int


class RankRowOut(BaseModel):
    """One participant's line in a ranking; scores are 2-decimal strings."""

    rank: int
    participant_code: str
    participant_name: str
    category: str
    category_name: str
    rounds: dict[str, Decimal | None]
    total: Decimal


class RankingOut(BaseModel):
    """A year's (or a cycle's) ranking by category."""

    period: str
    columns: list[str]
    rows: list[RankRowOut]


class EvidenceOut(BaseModel):
    """One checklist verdict behind a field item's score: where, how many findings, the proof."""

    point_code: str
    point_name: str
    findings: int
    note: str
    attachment_key: str | None


class ItemScoreOut(BaseModel):
    """Where a participant's points on one item came from (explainable scores)."""

    item_code: str
    project: str
    content: str
    method: Method
    max_points: Decimal
    obtained: Decimal | None
    lost: Decimal | None
    counted: Decimal | None = Field(description="contribution after re-weighting and weights")
    applicable: bool
    evidence: list[EvidenceOut] = Field(
        default_factory=list, description="field items: the checklist verdicts at drawn points"
    )


class RoundScoreOut(BaseModel):
    """A participant's round total and its make-up."""

    round: str
    total: Decimal
    methods: dict[str, Decimal]
    projects: dict[str, Decimal]
    absent_location_types: list[str]
    items: list[ItemScoreOut]


class PlanIn(Strict):
    """Draw a sampling plan for one participant in one round."""

    round: RoundCode
    participant: Code
    per_type: int = Field(ge=1, le=100)
    seed: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")] | None = Field(
        default=None, description="leave empty for a fresh random seed (recorded with the plan)"
    )


class SampledPointOut(BaseModel):
    """A drawn point."""

    id: int
    point_code: str
    point_name: str
    location_type: str
    draw_order: int
    evaluator: str | None


class PlanOut(BaseModel):
    """A sampling plan: its seed, what it drew from and what it drew."""

    id: int
    round: str
    participant: str
    per_type: int
    seed: str
    population: dict[str, int]
    absent_location_types: list[str]
    points: list[SampledPointOut]


class AssignIn(Strict):
    """Evaluators (usernames) to share the drawn points among, in draw order."""

    evaluators: list[Annotated[str, StringConstraints(min_length=1, max_length=50)]] = Field(
        min_length=1
    )


class CheckIn(Strict):
    """An evaluator's verdict on one item at one point: 0 findings is a pass."""

    findings: int = Field(ge=0, le=1000)
    note: Note = ""
    attachment_key: AttachmentKey | None = None


class ChecklistItemOut(BaseModel):
    """One applicable item at a point, with the verdict given so far (if any)."""

    code: str
    text: str
    max_points: Decimal
    per_finding: Decimal
    findings: int | None
    deduction: Decimal | None
    note: str
    attachment_key: str | None


class ChecklistPointOut(BaseModel):
    """An evaluator's assigned point and its checklist."""

    id: int
    round: str
    participant: str
    point_code: str
    point_name: str
    location_type: str
    lon: float
    lat: float
    items: list[ChecklistItemOut]


class RectificationCaseOut(BaseModel):
    """A rectification case filed from a field deduction."""

    round: str
    item_code: str
    point_code: str
    case_code: str
    state: str


class RectificationOut(BaseModel):
    """A participant's rectification cases and how many are closed (以测促建)."""

    created: int
    closed: int
    rate: Decimal | None = Field(description="closed ÷ created in percent, 1 decimal")
    cases: list[RectificationCaseOut]


class EvidenceIn(Strict):
    """An evidence file for a material item: the key from POST /api/v1/attachments."""

    attachment_key: AttachmentKey
    note: Note = ""


class ReviewIn(Strict):
    """A reviewer's points on a material item (0 to its max, at most 2 decimals)."""

    points: Points
    note: Note = ""


class MaterialOut(BaseModel):
    """A material item's evidence and review."""

    item_code: str
    max_points: Decimal
    evidence: list[str]
    points: Decimal | None
    note: str
