"""Wire shapes of the attachments API (pydantic), kept apart from the ORM model."""

from __future__ import annotations

from pydantic import BaseModel, Field

from wenming.attachments.models import Attachment
from wenming.attachments.service import Upload

ATTACHMENTS_PATH = "/api/v1/attachments"


def attachment_url(key: str) -> str:
    """Where the stored original of an attachment is served."""
    return f"{ATTACHMENTS_PATH}/{key}"


def thumbnail_url(key: str) -> str:
    """Where the thumbnail of an attachment is served."""
    return f"{ATTACHMENTS_PATH}/{key}/thumb"


class GpsHint(BaseModel):
    """A WGS-84 position read from a photo's EXIF, offered to fill in the report's location."""

    lon: float
    lat: float


class AttachmentOut(BaseModel):
    """A stored image; ``key`` is its public, unguessable name (a capability to read it)."""

    key: str
    content_type: str = Field(description="image/jpeg, image/png or image/webp")
    width: int = Field(description="pixels, upright")
    height: int = Field(description="pixels, upright")
    size_bytes: int = Field(description="size of the stored original")
    url: str = Field(description="path of the stored original")
    thumb_url: str = Field(description="path of the JPEG thumbnail (long side 320 px)")

    @classmethod
    def of(cls, row: Attachment) -> AttachmentOut:
        """The wire shape of an attachment row."""
        return cls(
            key=row.key,
            content_type=row.content_type,
            width=row.width,
            height=row.height,
            size_bytes=row.size_bytes,
            url=attachment_url(row.key),
            thumb_url=thumbnail_url(row.key),
        )


class UploadOut(AttachmentOut):
    """A new upload, with the position its EXIF recorded (the stored copies no longer hold it)."""

    gps_hint: GpsHint | None = Field(
        description="WGS-84 lon/lat from the photo's EXIF GPS tags, or null when it had none"
    )

    @classmethod
    def of_upload(cls, upload: Upload) -> UploadOut:
        """The answer to an upload."""
        hint = upload.gps_hint
        return cls(
            **AttachmentOut.of(upload.attachment).model_dump(),
            gps_hint=GpsHint(lon=hint[0], lat=hint[1]) if hint else None,
        )
