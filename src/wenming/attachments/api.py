"""Attachments API: upload a photo, fetch it and its thumbnail by key.

Access model: the key is a capability. Each upload gets its own key of 128 random bits
(``secrets.token_urlsafe``), which nobody can guess or enumerate; whoever holds the key may read
the image, without signing in. Keys are handed out only to the uploader and, once a photo belongs
to a case, only to those who may read that case, so the case's scope rules decide who sees its
photos. Responses are ``Cache-Control: private`` so that shared caches keep no copy.

Uploading is open to everyone, signed in or not, because citizens report without an account.
Credentials are treated as on every other API route: a bearer token or API key needs nothing
more, a browser session cookie needs the page's ``X-CSRF-Token`` header, and invalid credentials
are refused rather than taken as anonymous.

The upload endpoint holds no database transaction while the body arrives and the image is
processed: it resolves the caller in one short unit of work and records the row in another.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response, status
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect

from wenming.attachments import service
from wenming.attachments.images import (
    ACCEPTED_TEXT,
    EXTENSIONS,
    THUMB_CONTENT_TYPE,
    human_size,
)
from wenming.attachments.schemas import ATTACHMENTS_PATH, UploadOut, attachment_url
from wenming.attachments.storage import MediaStore, original_name, thumb_name
from wenming.auth.deps import current_actor
from wenming.core.deps import AppClock, AppSettings, OpenSession
from wenming.core.errors import InvalidInput
from wenming.core.problems import PROBLEM_JSON

router = APIRouter(prefix=ATTACHMENTS_PATH, tags=["attachments"])

FILE_FIELD = "file"
# Room for the multipart framing and part headers around the file itself.
MULTIPART_OVERHEAD = 64 * 1024
MAX_FORM_FIELDS = 8
CACHE_CONTROL = "private, max-age=604800"
IMAGE_CONTENT: dict[str, Any] = {"image/jpeg": {}, "image/png": {}, "image/webp": {}}
PROBLEM_CONTENT: dict[str, Any] = {PROBLEM_JSON: {}}

UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [FILE_FIELD],
                    "properties": {
                        FILE_FIELD: {
                            "type": "string",
                            "format": "binary",
                            "description": f"one {ACCEPTED_TEXT} image; the format is read from "
                            "the content, never from the file name or the declared type",
                        }
                    },
                }
            }
        },
    }
}


async def media_store(request: Request) -> MediaStore:
    """The application's media store (``media/`` in the data directory)."""
    store: MediaStore | None = getattr(request.app.state, "media_store", None)
    if store is None:
        store = MediaStore.from_settings(request.app.state.settings)
        request.app.state.media_store = store
    return store


Media = Annotated[MediaStore, Depends(media_store)]
AttachmentKey = Annotated[str, Path(description="the attachment's key, as returned by the upload")]


def _too_large(max_bytes: int) -> InvalidInput:
    return InvalidInput(
        f"The upload is larger than accepted: at most {max_bytes:,} bytes "
        f"({human_size(max_bytes)}) per image. Send a smaller photo.",
        field=FILE_FIELD,
    )


async def _limited(
    chunks: AsyncGenerator[bytes, None], limit: int, max_bytes: int
) -> AsyncGenerator[bytes, None]:
    """The request body, refused as soon as it grows beyond ``limit`` bytes."""
    received = 0
    async for chunk in chunks:
        received += len(chunk)
        if received > limit:
            raise _too_large(max_bytes)
        yield chunk


async def read_file_field(request: Request, max_bytes: int) -> bytes:
    """The bytes of the multipart field ``file``, reading no more of the body than may be needed.

    A body declared or found larger than the limit is refused before it is read to the end.
    """
    missing = InvalidInput(
        f"Send the image as the field '{FILE_FIELD}' of a multipart/form-data body.",
        field=FILE_FIELD,
    )
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise missing
    limit = max_bytes + MULTIPART_OVERHEAD
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(max_bytes)
    try:
        async with aclosing(_limited(request.stream(), limit, max_bytes)) as body:
            parser = MultiPartParser(request.headers, body, max_files=1, max_fields=MAX_FORM_FIELDS)
            form = await parser.parse()
    except MultiPartException as exc:
        raise InvalidInput(
            f"The multipart body cannot be read ({exc.message}). Send one image as the field "
            f"'{FILE_FIELD}'.",
            field=FILE_FIELD,
        ) from exc
    except ClientDisconnect as exc:
        raise InvalidInput("The upload was interrupted; send it again.", field=FILE_FIELD) from exc
    try:
        upload = form.get(FILE_FIELD)
        if not isinstance(upload, UploadFile):
            raise missing
        return await upload.read()
    finally:
        await form.close()


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=UploadOut,
    summary="Upload a photo",
    openapi_extra=UPLOAD_BODY,
    responses={
        403: {"content": PROBLEM_CONTENT, "description": "cookie session without CSRF token"},
        422: {"content": PROBLEM_CONTENT, "description": "not an accepted image, or too large"},
    },
)
async def upload_attachment(
    request: Request,
    response: Response,
    open_session: OpenSession,
    clock: AppClock,
    settings: AppSettings,
    store: Media,
) -> UploadOut:
    """Store one JPEG, PNG or WebP photo; anyone may upload, signed in or not.

    The image is checked by its content, turned upright, stripped of all metadata (EXIF GPS
    included) and thumbnailed. The answer holds its key, to be sent with a report or a case
    action, and ``gps_hint``, the position its EXIF named (stored nowhere).
    """
    async with open_session() as session:
        actor = await current_actor(request, session, clock)
    data = await read_file_field(request, settings.attachment_max_bytes)
    prepared = await service.prepare_upload(store, data, settings=settings)
    async with open_session() as session:
        upload = await service.record_upload(
            session, prepared, uploader_id=actor.user_id, now=clock.now()
        )
    response.headers["Location"] = attachment_url(upload.attachment.key)
    return UploadOut.of_upload(upload)


def _matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names this entity tag (weak or strong) or ``*``."""
    if not if_none_match:
        return False
    tags = [tag.strip() for tag in if_none_match.split(",")]
    return any(tag == "*" or tag.removeprefix("W/") == etag for tag in tags)


async def _serve(
    request: Request, store: MediaStore, name: str, content_type: str, etag: str
) -> Response:
    headers = {
        "ETag": etag,
        "Cache-Control": CACHE_CONTROL,
        "X-Content-Type-Options": "nosniff",
    }
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    body = await asyncio.to_thread(store.read, name)
    return Response(body, media_type=content_type, headers=headers)


@router.get(
    "/{key}",
    response_class=Response,
    summary="A photo",
    responses={
        200: {"content": IMAGE_CONTENT, "description": "the stored original"},
        304: {"description": "unchanged since the ETag sent in If-None-Match"},
        404: {"content": PROBLEM_CONTENT, "description": "no attachment has this key"},
    },
)
async def get_attachment(
    key: AttachmentKey, request: Request, open_session: OpenSession, store: Media
) -> Response:
    """The stored original: upright, without metadata; its ETag is its SHA-256."""
    async with open_session() as session:
        row = await service.attachment_by_key(session, key)
    name = original_name(row.sha256, EXTENSIONS[row.content_type])
    return await _serve(request, store, name, row.content_type, f'"{row.sha256}"')


@router.get(
    "/{key}/thumb",
    response_class=Response,
    summary="A photo's thumbnail",
    responses={
        200: {"content": {THUMB_CONTENT_TYPE: {}}, "description": "long side at most 320 px"},
        304: {"description": "unchanged since the ETag sent in If-None-Match"},
        404: {"content": PROBLEM_CONTENT, "description": "no attachment has this key"},
    },
)
async def get_thumbnail(
    key: AttachmentKey, request: Request, open_session: OpenSession, store: Media
) -> Response:
    """The JPEG thumbnail (long side at most 320 px)."""
    async with open_session() as session:
        row = await service.attachment_by_key(session, key)
    etag = f'"{row.sha256}-thumb"'
    return await _serve(request, store, thumb_name(row.sha256), THUMB_CONTENT_TYPE, etag)
