"""``/api/v1/attachments``: anonymous uploads checked by content, bytes served by key with the
right headers, field-named 422s and problem+json 404s."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.attachments.support import (
    HTML,
    PDF,
    SVG,
    gif,
    gps_exif,
    jpeg,
    metadata_of,
    opened,
    png,
    png_declaring,
    webp,
)
from tests.attachments.test_storage import files_under
from tests.conftest import NOW, TEST_SECRET
from tests.factories.org import bearer_headers, create_user
from wenming.attachments.images import human_size
from wenming.attachments.models import Attachment
from wenming.attachments.storage import MediaStore
from wenming.auth.csrf import CSRF_COOKIE
from wenming.auth.service import SESSION_KIND_WEB, issue_session
from wenming.core.config import Settings
from wenming.core.deps import SESSION_COOKIE
from wenming.core.security import sign

PATH = "/api/v1/attachments"
KEY = re.compile(r"^[A-Za-z0-9_-]{22}$")
NOT_AN_IMAGE = (
    "The file is not a complete JPEG, PNG or WebP image. Send a photo in one of these formats "
    "(other formats, documents and damaged or incomplete files are not accepted)."
)


def invalid_file(detail: str) -> dict[str, Any]:
    """The problem body of a refused upload."""
    return {
        "type": "/problems/invalid-input",
        "title": "Invalid input",
        "status": 422,
        "detail": detail,
        "errors": [{"field": "file", "message": detail}],
        "instance": PATH,
    }


async def post(
    client: httpx.AsyncClient,
    data: bytes,
    filename: str = "photo.jpg",
    content_type: str = "image/jpeg",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await client.post(
        PATH, files={"file": (filename, data, content_type)}, headers=headers or {}
    )


async def count(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(Attachment)) or 0


async def test_an_anonymous_upload_answers_201_with_key_urls_and_gps_hint(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    response = await post(client, jpeg(exif=gps_exif(orientation=6)))
    assert response.status_code == 201, response.text
    body = response.json()
    key = body["key"]
    assert KEY.match(key)
    row = await session.scalar(select(Attachment).where(Attachment.key == key))
    assert row is not None
    assert body == {
        "key": key,
        "content_type": "image/jpeg",
        "width": 40,
        "height": 80,
        "size_bytes": row.size_bytes,
        "url": f"{PATH}/{key}",
        "thumb_url": f"{PATH}/{key}/thumb",
        "gps_hint": {"lon": 122.06, "lat": 41.25},
    }
    assert response.headers["location"] == f"{PATH}/{key}"
    assert (row.uploader_id, row.created_at, row.width, row.height) == (None, NOW, 40, 80)

    original = await client.get(body["url"])
    assert original.status_code == 200
    assert original.content == MediaStore.from_settings(settings).read(
        f"{row.sha256[:2]}/{row.sha256[2:4]}/{row.sha256}.jpg"
    )
    assert hashlib.sha256(original.content).hexdigest() == row.sha256
    assert len(original.content) == row.size_bytes
    assert original.headers["content-type"] == "image/jpeg"
    assert original.headers["cache-control"] == "private, max-age=604800"
    assert original.headers["x-content-type-options"] == "nosniff"
    assert original.headers["etag"] == f'"{row.sha256}"'
    assert opened(original.content).size == (40, 80)
    assert metadata_of(original.content) == ({}, {}, set())

    thumb = await client.get(body["thumb_url"])
    assert thumb.status_code == 200
    assert thumb.headers["content-type"] == "image/jpeg"
    assert thumb.headers["cache-control"] == "private, max-age=604800"
    assert thumb.headers["x-content-type-options"] == "nosniff"
    assert thumb.headers["etag"] == f'"{row.sha256}-thumb"'
    assert opened(thumb.content).size == (40, 80)
    assert metadata_of(thumb.content) == ({}, {}, set())


@pytest.mark.parametrize(
    ("data", "content_type", "extension", "size"),
    [
        (png((1000, 500)), "image/png", "png", (320, 160)),
        (webp((500, 1000)), "image/webp", "webp", (160, 320)),
    ],
    ids=["png", "webp"],
)
async def test_png_and_webp_are_stored_in_their_own_format(
    client: httpx.AsyncClient,
    settings: Settings,
    data: bytes,
    content_type: str,
    extension: str,
    size: tuple[int, int],
) -> None:
    # Named and declared as a JPEG: the name and the declared type count for nothing.
    response = await post(client, data)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["content_type"], body["gps_hint"]) == (content_type, None)
    original = await client.get(body["url"])
    assert original.headers["content-type"] == content_type
    sha = original.headers["etag"].strip('"')
    assert f"{sha[:2]}/{sha[2:4]}/{sha}.{extension}" in files_under(
        MediaStore.from_settings(settings).root
    )
    thumb = await client.get(body["thumb_url"])
    assert opened(thumb.content).size == size


@pytest.mark.parametrize(
    ("data", "declared"),
    [
        (HTML, "image/jpeg"),
        (PDF, "image/jpeg"),
        (SVG, "image/svg+xml"),
        (gif(), "image/gif"),
        (jpeg((400, 300))[:-300], "image/jpeg"),
        (b"plain text", "text/plain"),
    ],
    ids=["html", "pdf", "svg", "gif", "truncated-jpeg", "text"],
)
async def test_a_photo_jpg_that_is_no_accepted_image_is_refused(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, data: bytes, declared: str
) -> None:
    response = await post(client, data, "photo.jpg", declared)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == invalid_file(NOT_AN_IMAGE)
    assert await count(session) == 0
    assert files_under(MediaStore.from_settings(settings).root) == []


async def test_an_empty_file_is_refused(client: httpx.AsyncClient) -> None:
    response = await post(client, b"")
    assert response.json() == invalid_file("The file is empty. Send a JPEG, PNG or WebP image.")


async def test_a_file_over_the_byte_limit_is_refused(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    data = jpeg((300, 200))
    settings.attachment_max_bytes = len(data) - 1
    response = await post(client, data)
    assert response.status_code == 422
    assert response.json() == invalid_file(
        f"The file has {len(data):,} bytes; at most {len(data) - 1:,} bytes "
        f"({human_size(len(data) - 1)}) are accepted. Send a smaller photo."
    )
    assert await count(session) == 0


async def test_a_body_far_over_the_limit_is_refused_before_it_is_read(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    settings.attachment_max_bytes = 1024
    response = await post(client, b"\xff\xd8" + b"\x00" * (200 * 1024))
    assert response.status_code == 422
    assert response.json() == invalid_file(
        "The upload is larger than accepted: at most 1,024 bytes (1 KiB) per image. Send a "
        "smaller photo."
    )


async def test_a_chunked_body_over_the_limit_is_refused(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    settings.attachment_max_bytes = 1024
    boundary = "wenming-boundary"

    async def chunks() -> AsyncIterator[bytes]:
        yield f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '.encode()
        yield b'filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
        for _ in range(100):
            yield b"\x00" * 1024
        yield f"\r\n--{boundary}--\r\n".encode()

    response = await client.post(
        PATH,
        content=chunks(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 422
    assert response.json()["detail"].startswith("The upload is larger than accepted")


async def test_a_decompression_bomb_is_refused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await post(client, png_declaring(100_000, 100_000), "photo.png", "image/png")
    assert response.status_code == 422
    assert response.json() == invalid_file(
        "The image is larger than accepted: at most 40,000,000 pixels (width × height) are "
        "accepted. Send a smaller photo."
    )
    assert await count(session) == 0


async def test_the_pixel_limit_comes_from_the_settings(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    settings.attachment_max_pixels = 5_000
    response = await post(client, png((100, 60)), "photo.png", "image/png")
    assert response.json() == invalid_file(
        "The image has 100 × 60 pixels; at most 5,000 pixels (width × height) are accepted. "
        "Send a smaller photo."
    )


async def test_the_same_content_twice_is_two_keys_one_file_and_identical_answers(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    data = jpeg((120, 90), exif=gps_exif())
    first, second = (await post(client, data)).json(), (await post(client, data)).json()
    assert first["key"] != second["key"]
    assert {k: v for k, v in first.items() if k not in ("key", "url", "thumb_url")} == {
        k: v for k, v in second.items() if k not in ("key", "url", "thumb_url")
    }
    assert await count(session) == 2
    assert len(files_under(MediaStore.from_settings(settings).root)) == 2
    for suffix in ("", "/thumb"):
        one = await client.get(f"{PATH}/{first['key']}{suffix}")
        two = await client.get(f"{PATH}/{second['key']}{suffix}")
        assert (one.status_code, two.status_code) == (200, 200)
        assert one.content == two.content
        assert dict(one.headers) == dict(two.headers)


async def test_an_unchanged_copy_answers_304(client: httpx.AsyncClient) -> None:
    body = (await post(client, jpeg())).json()
    first = await client.get(body["url"])
    etag = first.headers["etag"]
    again = await client.get(body["url"], headers={"If-None-Match": f'W/"other", {etag}'})
    assert (again.status_code, again.content) == (304, b"")
    assert (again.headers["etag"], again.headers["cache-control"]) == (
        etag,
        "private, max-age=604800",
    )
    other = await client.get(body["url"], headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200


@pytest.mark.parametrize("suffix", ["", "/thumb"])
async def test_an_unknown_key_is_a_404_problem(client: httpx.AsyncClient, suffix: str) -> None:
    response = await client.get(f"{PATH}/AAAAAAAAAAAAAAAAAAAAAA{suffix}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "/problems/not-found",
        "title": "Not found",
        "status": 404,
        "detail": "No attachment has this key. Check the link, or upload the photo again.",
        "instance": f"{PATH}/AAAAAAAAAAAAAAAAAAAAAA{suffix}",
    }


async def test_the_signed_in_uploader_is_recorded(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await create_user(session, "grid_li")
    headers = await bearer_headers(session, user)
    await session.commit()
    response = await post(client, jpeg(), headers=headers)
    assert response.status_code == 201
    row = await session.scalar(select(Attachment).where(Attachment.key == response.json()["key"]))
    assert row is not None and row.uploader_id == user.id


async def test_an_invalid_token_is_refused_not_taken_as_anonymous(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await post(client, jpeg(), headers={"Authorization": "Bearer not-a-token"})
    assert (response.status_code, response.json()["type"]) == (401, "/problems/not-authenticated")
    assert await count(session) == 0


async def test_a_browser_session_needs_the_csrf_header(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await create_user(session, "citizen_zhao")
    issued = await issue_session(session, user.id, SESSION_KIND_WEB, NOW, timedelta(hours=1))
    await session.commit()
    client.cookies.set(SESSION_COOKIE, issued.token)
    client.cookies.set(CSRF_COOKIE, "browser-nonce")
    refused = await post(client, jpeg())
    assert (refused.status_code, refused.json()["type"]) == (403, "/problems/csrf-failed")
    assert await count(session) == 0
    accepted = await post(
        client, jpeg(), headers={"X-CSRF-Token": sign(TEST_SECRET, "browser-nonce")}
    )
    assert accepted.status_code == 201
    row = await session.scalar(select(Attachment).where(Attachment.key == accepted.json()["key"]))
    assert row is not None and row.uploader_id == user.id


async def test_a_body_without_the_file_field_is_refused(client: httpx.AsyncClient) -> None:
    missing = invalid_file("Send the image as the field 'file' of a multipart/form-data body.")
    as_json = await client.post(PATH, json={"file": "aGVsbG8="})
    assert (as_json.status_code, as_json.json()) == (422, missing)
    other_field = await client.post(PATH, files={"photo": ("a.jpg", jpeg(), "image/jpeg")})
    assert (other_field.status_code, other_field.json()) == (422, missing)
    as_text = await client.post(
        PATH, data={"file": "not a file"}, files={"note": ("a.txt", b"x", "text/plain")}
    )
    assert (as_text.status_code, as_text.json()) == (422, missing)


async def test_two_files_are_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        PATH,
        files=[
            ("file", ("a.jpg", jpeg(), "image/jpeg")),
            ("file", ("b.jpg", jpeg(), "image/jpeg")),
        ],
    )
    assert response.status_code == 422
    assert response.json() == invalid_file(
        "The multipart body cannot be read (Too many files. Maximum number of files is 1.). "
        "Send one image as the field 'file'."
    )
