"""A synthetic evaluation for the demo: the packaged example index, the year 2026 in two rounds,
大洼区 and five invented districts of its category (labelled 示例), and item scores drawn from a
fixed seed, so that the bulletin, the rankings and the participants' pages have something to
show. Nothing here is a real evaluation result."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from importlib.resources import files

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.evaluation import service
from wenming.evaluation.indexfile import parse_yaml
from wenming.evaluation.models import IndexVersion
from wenming.evaluation.schemas import SetupIn

DEMO_YEAR = 2026
ROUNDS = (("2026H1", "2026 上半年（示例）"), ("2026H2", "2026 下半年（示例）"))
# (code, name): invented districts ranked with 大洼区 in 其他城区类.
OTHERS = (
    ("DEMO01", "示例甲区"),
    ("DEMO02", "示例乙区"),
    ("DEMO03", "示例丙区"),
    ("DEMO04", "示例丁区"),
    ("DEMO05", "示例戊区"),
)
DAWA = ("211104", "大洼区", "211104000000")
SCORE_SEED = 2026


@dataclass(frozen=True)
class EvaluationSeedSummary:
    """What the demo evaluation holds and whether this call created it."""

    participants: int
    scores: int
    changed: bool


def _setup(index_code: str) -> SetupIn:
    participants: list[dict[str, str]] = [
        {"code": DAWA[0], "name": DAWA[1], "category": "other_district", "unit": DAWA[2]}
    ]
    participants += [
        {"code": code, "name": name, "category": "other_district"} for code, name in OTHERS
    ]
    return SetupIn.model_validate(
        {
            "years": [
                {
                    "year": DEMO_YEAR,
                    "name": "2026年度（示例）",
                    "index": index_code,
                    "combine": "sum",
                    "rounds": [{"code": code, "name": name} for code, name in ROUNDS],
                }
            ],
            "participants": participants,
        }
    )


def _scores_csv(items: list[tuple[str, int]]) -> str:
    """Scores for every item of every participant in both rounds: a fixed share of each item's
    maximum (大洼区 a little higher, as in the campaign it models), in half points."""
    rng = random.Random(SCORE_SEED)  # noqa: S311 - synthetic demo scores, not a secret
    lines = ["round,participant_code,item_code,score"]
    codes = [DAWA[0], *(code for code, _name in OTHERS)]
    for round_code, _name in ROUNDS:
        for participant in codes:
            low = 0.85 if participant == DAWA[0] else 0.7
            for item_code, max_hundredths in items:
                top = max_hundredths / 100
                score = min(top, round(top * rng.uniform(low, 1.0) * 2) / 2)
                lines.append(f"{round_code},{participant},{item_code},{score:.2f}")
    return "\n".join(lines) + "\n"


async def seed_demo_evaluation(session: AsyncSession, now: datetime) -> EvaluationSeedSummary:
    """Load the demo evaluation once; a second call changes nothing."""
    text = files("wenming.data").joinpath("evaluation/example-index.yaml").read_text("utf-8")
    spec = parse_yaml(text)
    items = [(item.code, item.max_points) for _p, _c, item in spec.items()]
    participants = 1 + len(OTHERS)
    if await session.scalar(select(IndexVersion.id).where(IndexVersion.code == spec.code)):
        return EvaluationSeedSummary(participants, len(items) * participants * len(ROUNDS), False)
    await service.import_index(session, None, spec, now=now)
    await service.apply_setup(session, None, _setup(spec.code), now=now)
    scores = await service.import_scores(session, None, _scores_csv(items), now=now)
    return EvaluationSeedSummary(participants, scores, True)
