"""Open311 fixtures: the standard world and API keys acting as its people."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.factories.cases import World, create_world
from wenming.auth.service import create_api_key
from wenming.org.models import User


@pytest.fixture
async def world(session: AsyncSession) -> World:
    return await create_world(session)


async def api_key(session: AsyncSession, user: User) -> str:
    """A fresh API key acting as the user."""
    _row, key = await create_api_key(session, user, "open311 client", NOW)
    return key


@pytest.fixture
async def citizen_key(session: AsyncSession, world: World) -> str:
    """The key of a partner app's account: a citizen."""
    return await api_key(session, world.people.citizen)
