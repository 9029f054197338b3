"""Rules for administrative units and their 12-digit statistical codes: pure, no I/O."""

from __future__ import annotations

import re
from enum import StrEnum


class UnitKind(StrEnum):
    """The kinds of administrative unit, from province down to community or village."""

    PROVINCE = "province"
    CITY = "city"
    DISTRICT = "district"
    STREET = "street"
    TOWN = "town"
    COMMUNITY = "community"
    VILLAGE = "village"


UNIT_LEVEL: dict[UnitKind, int] = {
    UnitKind.PROVINCE: 1,
    UnitKind.CITY: 2,
    UnitKind.DISTRICT: 3,
    UnitKind.STREET: 4,
    UnitKind.TOWN: 4,
    UnitKind.COMMUNITY: 5,
    UnitKind.VILLAGE: 5,
}

# How many leading digits of the 12-digit code identify a unit of each level.
SIGNIFICANT_DIGITS: dict[int, int] = {1: 2, 2: 4, 3: 6, 4: 9, 5: 12}

UNIT_KIND_LABELS: dict[UnitKind, tuple[str, str]] = {
    UnitKind.PROVINCE: ("省", "Province"),
    UnitKind.CITY: ("市", "City"),
    UnitKind.DISTRICT: ("区县", "District"),
    UnitKind.STREET: ("街道", "Street"),
    UnitKind.TOWN: ("镇", "Town"),
    UnitKind.COMMUNITY: ("社区", "Community"),
    UnitKind.VILLAGE: ("村", "Village"),
}

UNIT_CODE_LENGTH = 12
# The same rules as patterns for request parameters (OpenAPI shows them to API clients).
UNIT_CODE_PATTERN = r"^[0-9]{12}$"
DEPARTMENT_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{1,31}$"
# ASCII digits only: ``\d`` would also accept full-width and other Unicode digits.
_UNIT_CODE = re.compile(r"[0-9]{12}")
_DEPARTMENT_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{1,31}")


def _shown(value: str, limit: int = 40) -> str:
    """A value quoted for an error message, shortened when it is long."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


def unit_code_problem(code: str) -> str | None:
    """Why a string is not a 12-digit statistical code, or None when it is one."""
    if not _UNIT_CODE.fullmatch(code):
        return (
            f"code {_shown(code)} must be exactly {UNIT_CODE_LENGTH} digits "
            f"(it has {len(code)} characters), e.g. 211104004000"
        )
    return None


def department_code_problem(code: str) -> str | None:
    """Why a string is not a usable department code, or None when it is one."""
    if not _DEPARTMENT_CODE.fullmatch(code):
        return (
            f"department code {_shown(code)} must be 2-32 letters, digits, '-' or '_' "
            "and start with a letter or digit, e.g. 211104-CGJ"
        )
    return None


def hierarchy_problem(
    code: str, kind: UnitKind, parent_code: str | None, parent_kind: UnitKind | None
) -> str | None:
    """Why a unit cannot sit under its parent (level or code prefix), or None when it can."""
    level = UNIT_LEVEL[kind]
    significant = SIGNIFICANT_DIGITS[level]
    if code[significant:].strip("0"):
        return (
            f"a {kind.value} code keeps only its first {significant} digits and ends in zeros; "
            f"{code} does not"
        )
    own_digits = code[SIGNIFICANT_DIGITS.get(level - 1, 0) : significant]
    if not own_digits.strip("0"):
        return f"code {code} does not identify a {kind.value}: its own digits are all zero"
    if parent_kind is None or parent_code is None:
        return None
    parent_level = UNIT_LEVEL[parent_kind]
    if parent_level != level - 1:
        return (
            f"a {kind.value} must sit directly under a unit of level {level - 1}, "
            f"not under a {parent_kind.value}"
        )
    parent_digits = SIGNIFICANT_DIGITS[parent_level]
    if code[:parent_digits] != parent_code[:parent_digits]:
        return (
            f"code {code} does not lie under parent {parent_code}: its first {parent_digits} "
            f"digits must be {parent_code[:parent_digits]}"
        )
    return None
