"""Storing uploads and finding them by key, on both databases."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.attachments.support import HTML, gps_exif, jpeg, metadata_of, png
from tests.attachments.test_storage import files_under
from tests.conftest import NOW
from tests.factories.org import create_user
from wenming.attachments.models import Attachment
from wenming.attachments.service import (
    Upload,
    attachment_by_key,
    attachments_by_keys,
    store_upload,
)
from wenming.attachments.storage import MediaStore, original_name, thumb_name
from wenming.core.config import Settings
from wenming.core.errors import InvalidInput, NotFound
from wenming.org.models import User

KEY = re.compile(r"^[A-Za-z0-9_-]{22}$")


@pytest.fixture
def store(settings: Settings) -> MediaStore:
    return MediaStore.from_settings(settings)


async def upload(
    session: AsyncSession,
    store: MediaStore,
    settings: Settings,
    data: bytes,
    uploader: User | None = None,
) -> Upload:
    return await store_upload(
        session,
        store,
        data,
        uploader_id=uploader.id if uploader else None,
        now=NOW,
        settings=settings,
    )


async def test_an_upload_is_stored_clean_and_recorded(
    session: AsyncSession, store: MediaStore, settings: Settings
) -> None:
    user = await create_user(session, "citizen_wang")
    result = await upload(session, store, settings, jpeg(exif=gps_exif(orientation=6)), user)
    row = result.attachment
    assert result.gps_hint == (122.06, 41.25)
    stored = store.read(original_name(row.sha256, "jpg"))
    thumb = store.read(thumb_name(row.sha256))
    assert KEY.match(row.key)
    assert (row.sha256, row.size_bytes) == (hashlib.sha256(stored).hexdigest(), len(stored))
    assert (row.content_type, row.width, row.height) == ("image/jpeg", 40, 80)
    assert (row.thumb_width, row.thumb_height) == (40, 80)
    assert (row.uploader_id, row.created_at) == (user.id, NOW)
    assert metadata_of(stored) == ({}, {}, set())
    assert metadata_of(thumb) == ({}, {}, set())
    session.expunge_all()
    reloaded = await attachment_by_key(session, row.key)
    assert (reloaded.id, reloaded.created_at, reloaded.uploader_id) == (row.id, NOW, user.id)


async def test_the_same_picture_twice_is_two_rows_and_one_file(
    session: AsyncSession, store: MediaStore, settings: Settings
) -> None:
    data = png()
    first = (await upload(session, store, settings, data)).attachment
    second = (await upload(session, store, settings, data)).attachment
    assert first.key != second.key
    assert first.id != second.id
    assert first.sha256 == second.sha256
    sha = first.sha256
    assert files_under(store.root) == [
        f"{sha[:2]}/{sha[2:4]}/{sha}.png",
        f"thumbs/{sha[:2]}/{sha[2:4]}/{sha}.jpg",
    ]
    assert await session.scalar(select(func.count()).select_from(Attachment)) == 2


async def test_a_refused_upload_leaves_no_row_and_no_file(
    session: AsyncSession, store: MediaStore, settings: Settings
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await upload(session, store, settings, HTML)
    assert refused.value.field == "file"
    assert await session.scalar(select(func.count()).select_from(Attachment)) == 0
    assert files_under(store.root) == []


async def test_settings_limit_the_size(
    session: AsyncSession, store: MediaStore, settings: Settings
) -> None:
    data = jpeg()
    settings.attachment_max_bytes = len(data) - 1
    with pytest.raises(InvalidInput, match=f"The file has {len(data):,} bytes"):
        await upload(session, store, settings, data)
    settings.attachment_max_bytes = len(data)
    settings.attachment_max_pixels = 80 * 40 - 1
    with pytest.raises(InvalidInput, match="The image has 80 × 40 pixels"):
        await upload(session, store, settings, data)


async def test_attachments_by_keys_keeps_the_given_order(
    session: AsyncSession, store: MediaStore, settings: Settings
) -> None:
    rows = [
        (await upload(session, store, settings, jpeg((60 + i, 40)))).attachment for i in (0, 1, 2)
    ]
    keys = [rows[2].key, rows[0].key, rows[1].key]
    found = await attachments_by_keys(session, keys)
    assert [row.id for row in found] == [rows[2].id, rows[0].id, rows[1].id]
    assert await attachments_by_keys(session, []) == []


async def test_unknown_keys_are_named(
    session: AsyncSession, store: MediaStore, settings: Settings
) -> None:
    known = (await upload(session, store, settings, jpeg())).attachment.key
    with pytest.raises(InvalidInput) as refused:
        await attachments_by_keys(session, [known, "nope"])
    assert refused.value.field == "attachments"
    assert refused.value.detail == (
        "Unknown attachment key: 'nope'. Upload each photo with POST /api/v1/attachments first "
        "and send the key it returns."
    )
    with pytest.raises(InvalidInput) as refused:
        await attachments_by_keys(session, ["x" * 500, known, "missing-key-1234567890"])
    assert refused.value.detail == (
        f"Unknown attachment keys: '{'x' * 500}', 'missing-key-1234567890'. Upload each photo "
        "with POST /api/v1/attachments first and send the key it returns."
    )


async def test_a_key_listed_twice_is_refused(
    session: AsyncSession, store: MediaStore, settings: Settings
) -> None:
    key = (await upload(session, store, settings, jpeg())).attachment.key
    with pytest.raises(InvalidInput) as refused:
        await attachments_by_keys(session, [key, key])
    assert (refused.value.field, refused.value.detail) == (
        "attachments",
        f"Each attachment may be listed once; listed more than once: '{key}'.",
    )


@pytest.mark.parametrize("key", ["", "unknown-key-0000000000", "k" * 44])
async def test_an_unknown_key_is_not_found(session: AsyncSession, key: str) -> None:
    with pytest.raises(NotFound) as missing:
        await attachment_by_key(session, key)
    assert missing.value.detail == (
        "No attachment has this key. Check the link, or upload the photo again."
    )


async def test_deleting_the_uploader_keeps_the_attachment(
    session: AsyncSession, store: MediaStore, settings: Settings
) -> None:
    user = await create_user(session, "leaving_user")
    row = (await upload(session, store, settings, jpeg(), user)).attachment
    await session.execute(delete(User).where(User.id == user.id))
    session.expunge_all()
    kept = await attachment_by_key(session, row.key)
    assert (kept.id, kept.uploader_id) == (row.id, None)
