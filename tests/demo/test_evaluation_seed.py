"""The demo's synthetic evaluation: the example index, six participants of one category scored in
two rounds from a fixed seed, ranked, and seeded once."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from wenming.demo.evaluation_seed import EvaluationSeedSummary, seed_demo_evaluation
from wenming.demo.seed import seed_demo
from wenming.evaluation import service


async def test_the_demo_evaluation_is_ranked_and_seeded_once(session: AsyncSession) -> None:
    await seed_demo(session, NOW)
    # 24 items of the example index x 6 participants x 2 rounds.
    assert await seed_demo_evaluation(session, NOW) == EvaluationSeedSummary(6, 288, True)
    table = await service.ranking(session, None, 2026, None)
    assert table.columns == ["2026H1", "2026H2"]
    assert [
        (r.rank, r.participant_code, r.rounds["2026H1"], r.rounds["2026H2"], r.total)
        for r in table.rows
    ] == [
        (1, "211104", Decimal("88.00"), Decimal("84.50"), Decimal("172.50")),
        (2, "DEMO05", Decimal("82.00"), Decimal("83.50"), Decimal("165.50")),
        (3, "DEMO02", Decimal("81.50"), Decimal("80.00"), Decimal("161.50")),
        (4, "DEMO01", Decimal("81.00"), Decimal("80.00"), Decimal("161.00")),
        (5, "DEMO04", Decimal("81.00"), Decimal("78.00"), Decimal("159.00")),
        (6, "DEMO03", Decimal("79.50"), Decimal("78.00"), Decimal("157.50")),
    ]
    assert await seed_demo_evaluation(session, NOW) == EvaluationSeedSummary(6, 288, False)
