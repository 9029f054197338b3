"""Attachment use cases: store an upload, find attachments by their keys.

Image work (checking, decoding, re-encoding, hashing) and file writes run off the event loop, in
a small pool of its own with one thread per core (at most four): the loop keeps serving other
requests meanwhile, and at most that many decoded pictures are held in memory at once, however
many uploads arrive together (the rest wait their turn). Services flush; the edge commits.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.attachments import images
from wenming.attachments.models import KEY_MAX_LENGTH, Attachment
from wenming.attachments.storage import MediaStore, original_name, thumb_name
from wenming.core.config import Settings
from wenming.core.errors import InvalidInput, NotFound

KEY_BYTES = 16  # 128 random bits, 22 characters
IMAGE_WORKERS = ThreadPoolExecutor(
    max_workers=max(1, min(4, os.cpu_count() or 1)), thread_name_prefix="wenming-images"
)


@dataclass(frozen=True)
class Upload:
    """A stored upload: its row, and the (lon, lat) WGS-84 position its EXIF named, if any.

    The position is a hint for the reporting form only; it is not stored anywhere.
    """

    attachment: Attachment
    gps_hint: tuple[float, float] | None


@dataclass(frozen=True)
class PreparedUpload:
    """An upload checked, processed and written to the store, not yet recorded in the database."""

    image: images.ProcessedImage
    sha256: str


def new_key() -> str:
    """A fresh public key: 128 random bits, URL-safe (22 characters)."""
    return secrets.token_urlsafe(KEY_BYTES)


def _prepare(store: MediaStore, data: bytes, max_bytes: int, max_pixels: int) -> PreparedUpload:
    processed = images.process_image(data, max_bytes=max_bytes, max_pixels=max_pixels)
    sha256 = hashlib.sha256(processed.data).hexdigest()
    store.put(original_name(sha256, processed.extension), processed.data)
    store.put(thumb_name(sha256), processed.thumbnail)
    return PreparedUpload(image=processed, sha256=sha256)


async def prepare_upload(store: MediaStore, data: bytes, *, settings: Settings) -> PreparedUpload:
    """Check and process an upload and write its files, off the event loop; no database work.

    Edges that must not hold a database transaction while the CPU works (the upload endpoint)
    call this first and ``record_upload`` afterwards. Refusals are InvalidInput on ``file``.
    """
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(
        IMAGE_WORKERS,
        _prepare,
        store,
        data,
        settings.attachment_max_bytes,
        settings.attachment_max_pixels,
    )


async def record_upload(
    session: AsyncSession, prepared: PreparedUpload, *, uploader_id: int | None, now: datetime
) -> Upload:
    """Add the row of a prepared upload under a new key (flushed, not committed)."""
    processed = prepared.image
    row = Attachment(
        key=new_key(),
        sha256=prepared.sha256,
        content_type=processed.content_type,
        width=processed.width,
        height=processed.height,
        size_bytes=len(processed.data),
        thumb_width=processed.thumb_width,
        thumb_height=processed.thumb_height,
        uploader_id=uploader_id,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return Upload(attachment=row, gps_hint=processed.gps)


async def store_upload(
    session: AsyncSession,
    store: MediaStore,
    data: bytes,
    *,
    uploader_id: int | None,
    now: datetime,
    settings: Settings,
) -> Upload:
    """Check an uploaded image by its content, store its clean copies and add its row.

    Refuses anything but a complete JPEG, PNG or WebP within the configured size and pixel
    limits (InvalidInput on ``file``). The stored original is upright and carries no metadata
    but its colour profile; the GPS position read from it comes back as ``gps_hint``.
    """
    prepared = await prepare_upload(store, data, settings=settings)
    return await record_upload(session, prepared, uploader_id=uploader_id, now=now)


def _is_key_shaped(key: str) -> bool:
    return 0 < len(key) <= KEY_MAX_LENGTH


async def attachment_by_key(session: AsyncSession, key: str) -> Attachment:
    """The attachment with this key; NotFound otherwise."""
    row = (
        await session.scalar(select(Attachment).where(Attachment.key == key))
        if _is_key_shaped(key)
        else None
    )
    if row is None:
        raise NotFound("No attachment has this key. Check the link, or upload the photo again.")
    return row


async def attachments_by_keys(session: AsyncSession, keys: Sequence[str]) -> list[Attachment]:
    """The attachments with these keys, in the order given.

    Unknown or repeated keys are refused with InvalidInput on ``attachments`` naming them, so a
    case event never refers to a photo that does not exist or lists one photo twice.
    """
    repeated = [key for key, count in Counter(keys).items() if count > 1]
    if repeated:
        names = ", ".join(repr(key) for key in repeated)
        raise InvalidInput(
            f"Each attachment may be listed once; listed more than once: {names}.",
            field="attachments",
        )
    wanted = [key for key in keys if _is_key_shaped(key)]
    rows = (
        (await session.scalars(select(Attachment).where(Attachment.key.in_(wanted)))).all()
        if wanted
        else []
    )
    by_key = {row.key: row for row in rows}
    unknown = [key for key in keys if key not in by_key]
    if unknown:
        names = ", ".join(repr(key) for key in unknown)
        raise InvalidInput(
            f"Unknown attachment key{'s' if len(unknown) > 1 else ''}: {names}. Upload each "
            "photo with POST /api/v1/attachments first and send the key it returns.",
            field="attachments",
        )
    return [by_key[key] for key in keys]
