"""Sampling draws are reproducible from their recorded seed and independent per location type."""

from __future__ import annotations

import pytest

from wenming.evaluation.sampling import draw, new_seed

CANDIDATES = {
    "main_road": [f"MR{n:02d}" for n in range(20)],
    "park": ["PK01", "PK02"],
    "market": [],
}
PINNED = ["MR05", "MR14", "MR10"]


def test_the_same_seed_gives_the_same_sample() -> None:
    first = draw(CANDIDATES, 3, seed="abc", round_code="2022H1", participant_code="211104")
    again = draw(CANDIDATES, 3, seed="abc", round_code="2022H1", participant_code="211104")
    assert first == again
    assert len(first.picked["main_road"]) == 3
    assert sorted(first.picked["park"]) == ["PK01", "PK02"]  # fewer than N: all of them
    assert first.absent == ["market"]


def test_candidate_order_does_not_matter() -> None:
    shuffled = {**CANDIDATES, "main_road": list(reversed(CANDIDATES["main_road"]))}
    assert draw(shuffled, 3, seed="abc", round_code="R", participant_code="P") == draw(
        CANDIDATES, 3, seed="abc", round_code="R", participant_code="P"
    )


def test_one_types_points_do_not_disturb_another_types_draw() -> None:
    base = draw(CANDIDATES, 3, seed="abc", round_code="R", participant_code="P")
    more_parks = {**CANDIDATES, "park": ["PK01", "PK02", "PK03", "PK04"]}
    changed = draw(more_parks, 3, seed="abc", round_code="R", participant_code="P")
    assert changed.picked["main_road"] == base.picked["main_road"]


def test_different_seeds_usually_differ_and_seeds_are_fresh() -> None:
    samples = {
        tuple(draw(CANDIDATES, 5, seed=s, round_code="R", participant_code="P").picked["main_road"])
        for s in ("a", "b", "c", "d")
    }
    assert len(samples) > 1
    assert new_seed() != new_seed()
    assert len(new_seed()) == 16


def test_the_stream_is_pinned() -> None:
    # A recorded draw must stay re-runnable on any later Python: pin one outcome.
    picked = draw(CANDIDATES, 3, seed="abc", round_code="R", participant_code="P").picked
    assert picked["main_road"] == PINNED


def test_at_least_one_point_per_type() -> None:
    with pytest.raises(ValueError, match="at least one"):
        draw(CANDIDATES, 0, seed="abc", round_code="R", participant_code="P")
