"""Wire shapes of the geography API (pydantic), kept apart from the ORM models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from wenming.geo.version import Layer


class FeatureNote(BaseModel):
    """A remark about one feature: its 0-based position in ``features``, its code, the reason."""

    index: int | None
    code: str | None
    reason: str


class LegacyCode(BaseModel):
    """A 14-digit grid code and the 15-digit code it is stored under."""

    index: int
    code: str
    stored_as: str


class ImportReportOut(BaseModel):
    """What an import did."""

    layer: Layer
    created: int
    updated: int
    unchanged: int
    repaired: list[FeatureNote]
    legacy_codes: list[LegacyCode]
    version: int


class GridWorkerOut(BaseModel):
    """A grid worker as the viewer may see them: name masked (王**) and phone hidden or masked
    unless the viewer may read that person and see contacts."""

    username: str | None
    display_name: str
    phone: str | None


class GridDetail(BaseModel):
    """A unit grid with its place in the territory, attributes and workers."""

    code: str
    community_code: str
    community_name: str
    street_code: str | None
    street_name: str | None
    area_m2: float
    land_use: str | None
    management_grade: str | None
    responsible_party: str = Field(
        description="the responsible party (责任主体); the community itself when none is "
        "named (属地兜底)"
    )
    responsible_party_is_fallback: bool
    bbox: list[float] = Field(description="[min_lon, min_lat, max_lon, max_lat]")
    synthetic: bool
    workers: list[GridWorkerOut]


class GridWorkersIn(BaseModel):
    """The complete set of grid workers for a grid, by username (an empty list unassigns all)."""

    model_config = ConfigDict(str_strip_whitespace=True)

    usernames: list[str] = Field(max_length=50)
