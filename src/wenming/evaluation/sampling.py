"""Drawing inspection points for a field inspection, pure and reproducible.

Each location type draws from its own random stream, seeded by the text
``<seed>|<round>|<participant>|<location type>``, over its candidate point codes sorted by code.
The same seed and the same candidates therefore always give the same sample, and a change in one
type's points does not disturb the draw of another. ``random.Random`` seeded with text is stable
across processes and Python versions (seed version 2), so anyone can re-run a recorded draw.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Draw:
    """The points drawn per location type, in draw order, and the types without any point."""

    picked: dict[str, list[str]]
    absent: list[str]


def new_seed() -> str:
    """A fresh random seed to record with a plan (16 hex digits)."""
    return secrets.token_hex(8)


def draw(
    candidates: Mapping[str, Sequence[str]],
    per_type: int,
    *,
    seed: str,
    round_code: str,
    participant_code: str,
) -> Draw:
    """Draw up to ``per_type`` point codes of each location type (all of them when fewer)."""
    if per_type < 1:
        raise ValueError("draw at least one point per location type")
    picked: dict[str, list[str]] = {}
    absent: list[str] = []
    for location_type in sorted(candidates):
        pool = sorted(set(candidates[location_type]))
        if not pool:
            absent.append(location_type)
            continue
        stream = random.Random(f"{seed}|{round_code}|{participant_code}|{location_type}")  # noqa: S311 - an auditable draw, not a secret
        picked[location_type] = stream.sample(pool, min(per_type, len(pool)))
    return Draw(picked, absent)
