"""Bodies of the phone app's API (pydantic v2): reports with a reporter key, "my reports",
ratings, "not fixed", and citizen accounts by phone number."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints

from wenming.cases.public import PublicCase, Status
from wenming.cases.schemas import CaseCode, CaseCreate, CategoryOut, Latitude, Longitude, Strict
from wenming.cases.vocab import Area, Kind, Purpose
from wenming.cases.workflow import State
from wenming.geo.crs import Crs, from_wgs84

# A per-report secret the device draws (at least 128 random bits, base64url) and keeps.
ReporterSecret = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{22,128}$")]
MobilePhone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^1[3-9][0-9]{9}$")]
Password = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Comment = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class Rating(StrEnum):
    """The reporter's verdict on the result."""

    SATISFIED = "satisfied"  # 满意
    BASICALLY = "basically_satisfied"  # 基本满意
    DISSATISFIED = "dissatisfied"  # 不满意


class AppReportIn(CaseCreate):
    """A citizen's report from the app: a case, plus the secret that will prove its reporter."""

    reporter_secret: ReporterSecret | None = None

    def case(self) -> CaseCreate:
        """The report itself, without the secret (the secret is not part of the case)."""
        return CaseCreate.model_validate(self.model_dump(exclude={"reporter_secret"}))


class PublicCategoryOut(BaseModel):
    """A category as the public sees it."""

    kind: Kind
    code: str
    name_zh: str
    name_en: str
    area: Area
    icon: str


class PublicPhotoOut(BaseModel):
    """A photo staff approved for the public."""

    purpose: Purpose
    url: str
    thumb_url: str


class PublicCaseOut(BaseModel):
    """A report as anyone may see it (``cases.public``): no personal data, approved photos."""

    code: str
    category: PublicCategoryOut
    state: State
    status: Status
    description: str
    address: str
    lon: float | None = Field(description="in the coordinate system asked for (crs)")
    lat: float | None
    requested_at: datetime
    updated_at: datetime
    supporters: int
    photos: list[PublicPhotoOut]

    @classmethod
    def of(cls, case: PublicCase, crs: Crs) -> PublicCaseOut:
        """The wire shape of a public case, its point expressed in ``crs``."""
        lon, lat = case.lon, case.lat
        if lon is not None and lat is not None:
            lon, lat = from_wgs84(lon, lat, crs)
        c = case.category
        return cls(
            code=case.code,
            category=PublicCategoryOut(
                kind=c.kind,
                code=c.code,
                name_zh=c.name_zh,
                name_en=c.name_en,
                area=c.area,
                icon=c.icon,
            ),
            state=case.state,
            status=case.status,
            description=case.description,
            address=case.address,
            lon=lon,
            lat=lat,
            requested_at=case.requested_at,
            updated_at=case.updated_at,
            supporters=case.supporters,
            photos=[
                PublicPhotoOut(purpose=p.purpose, url=p.url, thumb_url=p.thumb_url)
                for p in case.photos
            ],
        )


class NearbyOut(PublicCaseOut):
    """An open public report near the point: a likely duplicate to say "me too" to."""

    distance_m: int


class ReceiptOut(BaseModel):
    """What the reporter keeps: the tracking code, and whether this call created the case."""

    code: str
    state: State
    created: bool
    category: CategoryOut
    address: str
    created_at: datetime


class MineItem(Strict):
    """A tracking code the device keeps, with the report's secret when it has one."""

    code: CaseCode
    secret: ReporterSecret | None = None


class MineIn(Strict):
    """The tracking codes kept on a device."""

    items: Annotated[list[MineItem], Field(max_length=100)]


class StepOut(BaseModel):
    """One step of a report's timeline as its reporter sees it (no staff names)."""

    action: str
    to_state: State
    at: datetime
    note: str


class ReportStatusOut(BaseModel):
    """One of my reports: where it stands, its timeline, and what I may do now."""

    code: str
    state: State
    category: CategoryOut
    description: str
    address: str
    created_at: datetime
    closed_at: datetime | None
    reopen_until: datetime | None
    is_reporter: bool
    has_contact: bool
    can_rate: bool
    can_reopen: bool
    rating: Rating | None
    rating_comment: str | None
    timeline: list[StepOut]


class ReporterIn(Strict):
    """Who the reporter is when they have no account: the report's secret."""

    secret: ReporterSecret | None = None


class RatingIn(Strict):
    """The reporter's rating of a closed case."""

    secret: ReporterSecret | None = None
    rating: Rating
    comment: Comment = ""


class NotFixedIn(Strict):
    """The reporter says the problem is still there: the case is reopened within the window."""

    secret: ReporterSecret | None = None
    note: Reason


class CitizenIn(Strict):
    """A citizen account: a mainland mobile number and a password."""

    phone: MobilePhone
    password: Password
    display_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=50)] = ""


class CitizenOut(BaseModel):
    """The signed-in citizen."""

    phone: str
    display_name: str


class PatrolStartIn(Strict):
    """Start a patrol, in one of my grids or across all of them."""

    grid_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{14,15}$")] | None = None


class FixIn(Strict):
    """One GPS fix from the phone (the Geolocation API answers in WGS-84)."""

    lon: Longitude
    lat: Latitude
    at: AwareDatetime
    accuracy_m: Annotated[float, Field(ge=0, le=100_000)] | None = None


class FixesIn(Strict):
    """Fixes taken since the last batch, in any order."""

    points: Annotated[list[FixIn], Field(max_length=500)]


class PatrolOut(BaseModel):
    """A patrol: who, where, when, how far and how long."""

    id: int
    worker: str
    grid_code: str | None
    started_at: datetime
    ended_at: datetime | None
    distance_m: float
    duration_s: int
    point_count: int
