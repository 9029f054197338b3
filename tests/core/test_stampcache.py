"""Values built per version stamp: built once per stamp, never replaced by an older one."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from wenming.core.stampcache import StampedCache
from wenming.geo.gazetteer.reverse import stamp_at_least


@dataclass(frozen=True)
class Built:
    stamp: int


def counting_cache(built: list[int]) -> StampedCache[int, Built]:
    async def build(_session: AsyncSession, stamp: int) -> Built:
        built.append(stamp)
        await asyncio.sleep(0)
        return Built(stamp)

    return StampedCache(build, lambda value: value.stamp, lambda a, b: a >= b)


async def test_concurrent_callers_of_one_stamp_build_once(session: AsyncSession) -> None:
    built: list[int] = []
    cache = counting_cache(built)
    values = await asyncio.gather(*(cache.for_stamp(session, 3) for _ in range(5)))
    assert built == [3] and cache.builds == 1
    assert all(value is values[0] for value in values)
    assert cache.current is values[0]


async def test_an_older_stamp_is_built_for_its_caller_and_kept_out(session: AsyncSession) -> None:
    built: list[int] = []
    cache = counting_cache(built)
    newer = await cache.for_stamp(session, 5)
    older = await cache.for_stamp(session, 4)
    assert (older.stamp, cache.current) == (4, newer)
    assert await cache.for_stamp(session, 5) is newer
    newest = await cache.for_stamp(session, 6)
    assert (cache.current, built) == (newest, [5, 4, 6])


def test_a_gazetteer_stamp_is_newer_only_when_no_layer_went_back() -> None:
    base = (("address", 2), ("place", 1), ("road", 3))
    assert stamp_at_least(base, base)
    assert stamp_at_least((("address", 3), ("place", 1), ("road", 3)), base)
    assert not stamp_at_least((("address", 3), ("place", 0), ("road", 3)), base)
    assert stamp_at_least((("address", 1),), ())
    assert not stamp_at_least((), (("road", 1),))
