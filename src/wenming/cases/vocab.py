"""The closed vocabularies of cases: kinds, campaign areas, sources, urgencies, photo purposes."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    """部件 (a managed object is broken) or 事件 (something happened)."""

    COMPONENT = "component"
    EVENT = "event"


class Area(StrEnum):
    """The civilized-city campaign area a category counts towards."""

    INFRASTRUCTURE = "infrastructure"  # 基础设施
    SANITATION = "sanitation"  # 环境卫生
    CITYSCAPE = "cityscape"  # 市容秩序
    TRAFFIC = "traffic"  # 交通秩序
    PUBLICITY = "publicity"  # 氛围宣传
    CIVILITY = "civility"  # 市民素质


AREA_LABELS: dict[Area, tuple[str, str]] = {
    Area.INFRASTRUCTURE: ("基础设施", "Infrastructure"),
    Area.SANITATION: ("环境卫生", "Sanitation"),
    Area.CITYSCAPE: ("市容秩序", "Cityscape and order"),
    Area.TRAFFIC: ("交通秩序", "Traffic order"),
    Area.PUBLICITY: ("氛围宣传", "Publicity"),
    Area.CIVILITY: ("市民素质", "Civility"),
}


class Source(StrEnum):
    """Where a report came from."""

    CITIZEN = "citizen"
    GRID_WORKER = "grid_worker"
    HOTLINE = "hotline_12345"
    INSPECTION = "inspection"
    EVALUATION = "evaluation"
    VIDEO = "video"
    LEADERSHIP = "leadership"


class Urgency(StrEnum):
    """How fast it must be dealt with; urgent and emergency cases have shorter limits."""

    NORMAL = "normal"
    URGENT = "urgent"
    EMERGENCY = "emergency"


class Purpose(StrEnum):
    """Why a photo is on a case."""

    REPORT = "report"  # what the reporter saw
    BEFORE = "before"  # the handler's photo on arrival
    AFTER = "after"  # the handler's photo once fixed
    CHECK = "check"  # the checker's photo on site
