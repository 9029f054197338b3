"""The pure rules of statistical unit codes and department codes (``org.codes``)."""

from __future__ import annotations

import pytest

from wenming.org.codes import (
    SIGNIFICANT_DIGITS,
    UNIT_LEVEL,
    UnitKind,
    department_code_problem,
    hierarchy_problem,
    unit_code_problem,
)


@pytest.mark.parametrize("code", ["211104004000", "000000000000", "999999999999"])
def test_twelve_ascii_digits_are_a_code(code: str) -> None:
    assert unit_code_problem(code) is None


@pytest.mark.parametrize(
    ("code", "length"),
    [
        ("21110400400", 11),
        ("2111040040001", 13),
        ("", 0),
        ("21110400400a", 12),
        ("211104 04000", 12),
        ("２１１１０４００４０００", 12),  # full-width digits
        ("٢١١١٠٤٠٠٤٠٠٠", 12),  # Arabic-Indic digits
        ("211104004000\n", 13),
        ("-21110400400", 12),
    ],
)
def test_anything_else_is_not_a_code(code: str, length: int) -> None:
    assert unit_code_problem(code) == (
        f"code {code!r} must be exactly 12 digits (it has {length} characters), e.g. 211104004000"
    )


def test_a_long_bad_code_is_shortened_in_the_message() -> None:
    problem = unit_code_problem("9" * 5000)
    assert problem == (
        f"code '{'9' * 40}…' must be exactly 12 digits (it has 5000 characters), e.g. 211104004000"
    )


@pytest.mark.parametrize("code", ["211104-CGJ", "ab", "A_1", "x" * 32, "9-9"])
def test_department_codes(code: str) -> None:
    assert department_code_problem(code) is None


@pytest.mark.parametrize(
    "code", ["a", "x" * 33, "-CGJ", "_CGJ", "城管局", "CGJ ZFD", "CGJ\n", "", "CGJ/1"]
)
def test_bad_department_codes(code: str) -> None:
    assert department_code_problem(code) == (
        f"department code {code!r} must be 2-32 letters, digits, '-' or '_' and start with a "
        "letter or digit, e.g. 211104-CGJ"
    )


def test_levels_and_significant_digits() -> None:
    assert {kind: UNIT_LEVEL[kind] for kind in UnitKind} == {
        UnitKind.PROVINCE: 1,
        UnitKind.CITY: 2,
        UnitKind.DISTRICT: 3,
        UnitKind.STREET: 4,
        UnitKind.TOWN: 4,
        UnitKind.COMMUNITY: 5,
        UnitKind.VILLAGE: 5,
    }
    assert SIGNIFICANT_DIGITS == {1: 2, 2: 4, 3: 6, 4: 9, 5: 12}


# (code, kind, parent code, parent kind): a valid placement of each kind.
VALID = [
    ("210000000000", UnitKind.PROVINCE, None, None),
    ("211100000000", UnitKind.CITY, "210000000000", UnitKind.PROVINCE),
    ("211104000000", UnitKind.DISTRICT, "211100000000", UnitKind.CITY),
    ("211104004000", UnitKind.STREET, "211104000000", UnitKind.DISTRICT),
    ("211104101000", UnitKind.TOWN, "211104000000", UnitKind.DISTRICT),
    ("211104004001", UnitKind.COMMUNITY, "211104004000", UnitKind.STREET),
    ("211104101201", UnitKind.VILLAGE, "211104101000", UnitKind.TOWN),
    ("211104004100", UnitKind.COMMUNITY, "211104004000", UnitKind.STREET),
    # The top of a deployment may be any level; its digits are still checked.
    ("211104000000", UnitKind.DISTRICT, None, None),
]


@pytest.mark.parametrize(("code", "kind", "parent_code", "parent_kind"), VALID)
def test_valid_placements(
    code: str, kind: UnitKind, parent_code: str | None, parent_kind: UnitKind | None
) -> None:
    assert hierarchy_problem(code, kind, parent_code, parent_kind) is None


@pytest.mark.parametrize(
    ("code", "kind", "parent_code", "parent_kind", "problem"),
    [
        # Digits beyond the level's significant part must be zeros.
        (
            "211104004001",
            UnitKind.STREET,
            "211104000000",
            UnitKind.DISTRICT,
            "a street code keeps only its first 9 digits and ends in zeros; 211104004001 does not",
        ),
        (
            "210100000000",
            UnitKind.PROVINCE,
            None,
            None,
            "a province code keeps only its first 2 digits and ends in zeros; "
            "210100000000 does not",
        ),
        (
            "211104000001",
            UnitKind.DISTRICT,
            "211100000000",
            UnitKind.CITY,
            "a district code keeps only its first 6 digits and ends in zeros; "
            "211104000001 does not",
        ),
        # The level's own digits must not be all zero.
        (
            "211104000000",
            UnitKind.STREET,
            "211104000000",
            UnitKind.DISTRICT,
            "code 211104000000 does not identify a street: its own digits are all zero",
        ),
        (
            "211104004000",
            UnitKind.COMMUNITY,
            "211104004000",
            UnitKind.STREET,
            "code 211104004000 does not identify a community: its own digits are all zero",
        ),
        (
            "000000000000",
            UnitKind.PROVINCE,
            None,
            None,
            "code 000000000000 does not identify a province: its own digits are all zero",
        ),
        # The parent must be exactly one level up.
        (
            "211104004000",
            UnitKind.STREET,
            "211100000000",
            UnitKind.CITY,
            "a street must sit directly under a unit of level 3, not under a city",
        ),
        (
            "211104004001",
            UnitKind.VILLAGE,
            "211104000000",
            UnitKind.DISTRICT,
            "a village must sit directly under a unit of level 4, not under a district",
        ),
        (
            "211104004000",
            UnitKind.TOWN,
            "211104004000",
            UnitKind.STREET,
            "a town must sit directly under a unit of level 3, not under a street",
        ),
        # The code must extend its parent's code.
        (
            "211102001000",
            UnitKind.STREET,
            "211104000000",
            UnitKind.DISTRICT,
            "code 211102001000 does not lie under parent 211104000000: its first 6 digits must "
            "be 211104",
        ),
        (
            "211104005001",
            UnitKind.COMMUNITY,
            "211104004000",
            UnitKind.STREET,
            "code 211104005001 does not lie under parent 211104004000: its first 9 digits must "
            "be 211104004",
        ),
        (
            "221100000000",
            UnitKind.CITY,
            "210000000000",
            UnitKind.PROVINCE,
            "code 221100000000 does not lie under parent 210000000000: its first 2 digits must "
            "be 21",
        ),
    ],
)
def test_invalid_placements(
    code: str,
    kind: UnitKind,
    parent_code: str | None,
    parent_kind: UnitKind | None,
    problem: str,
) -> None:
    assert hierarchy_problem(code, kind, parent_code, parent_kind) == problem
