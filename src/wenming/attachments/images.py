"""Uploaded images, bytes in and bytes out: what they really are, and the copies worth keeping.

Pure functions without I/O. The format is decided by the content (Pillow reads the header and
decodes every pixel), never by a file name or a declared content type. Only JPEG, PNG and WebP are
accepted. Each kept copy is re-encoded from the decoded pixels, which drops every metadata block
(EXIF with its GPS position, XMP, comments, text chunks) and anything appended to the file; only
the ICC colour profile is carried over, because it changes how colours look and says nothing
about where or by whom a photo was taken.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

from PIL import ExifTags, Image, ImageOps

from wenming.core.errors import InvalidInput

FIELD = "file"
ACCEPTED_TEXT = "JPEG, PNG or WebP"
# Pillow's name of a decoded format -> the content type it is served with. A multi-picture JPEG
# (MPO, written by many phone cameras) is a JPEG whose first picture is the photo.
CONTENT_TYPES = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
}
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
OPEN_FORMATS = ("JPEG", "PNG", "WEBP")

THUMB_LONG_SIDE = 320
THUMB_CONTENT_TYPE = "image/jpeg"
JPEG_QUALITY = 90
WEBP_QUALITY = 90
THUMB_QUALITY = 80
# Modes each encoder writes as they are; anything else is converted first.
JPEG_MODES = frozenset({"L", "RGB", "CMYK"})
PNG_MODES = frozenset({"1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"})
WEBP_MODES = frozenset({"RGB", "RGBA"})
NO_GPS_AT = (0.0, 0.0)


@dataclass(frozen=True)
class ImageInfo:
    """What an accepted upload is: its content type and its size in pixels as decoded."""

    content_type: str
    width: int
    height: int


@dataclass(frozen=True)
class ProcessedImage:
    """The copies to keep of an accepted upload and what was learnt from it.

    ``data`` is the upright original re-encoded without metadata; ``thumbnail`` a JPEG whose long
    side is at most 320 px; ``gps`` the (lon, lat) in WGS-84 read from EXIF before it was dropped.
    """

    content_type: str
    data: bytes
    width: int
    height: int
    thumbnail: bytes
    thumb_width: int
    thumb_height: int
    gps: tuple[float, float] | None

    @property
    def extension(self) -> str:
        """The file name extension of the stored original (``jpg``, ``png`` or ``webp``)."""
        return EXTENSIONS[self.content_type]


def human_size(size: int) -> str:
    """A byte count as people read it: ``10 MiB``, ``1.5 MiB``, ``64 KiB``, ``900 bytes``."""
    for unit, factor in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if size >= factor:
            return f"{size / factor:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


def _refuse(detail: str) -> InvalidInput:
    return InvalidInput(detail, field=FIELD)


def _not_an_image() -> InvalidInput:
    return _refuse(
        f"The file is not a complete {ACCEPTED_TEXT} image. Send a photo in one of these "
        "formats (other formats, documents and damaged or incomplete files are not accepted)."
    )


def _too_many_pixels(limit: int, width: int | None = None, height: int | None = None) -> str:
    found = f"The image has {width} × {height} pixels; " if width and height else "The image is "
    accepted = f"at most {limit:,} pixels (width × height) are accepted"
    if width and height:
        return f"{found}{accepted}. Send a smaller photo."
    return f"{found}larger than accepted: {accepted}. Send a smaller photo."


def _pixel_limit(max_pixels: int) -> int:
    """Our limit, never above Pillow's own bomb limit (which would warn or refuse by itself)."""
    pillow_limit = Image.MAX_IMAGE_PIXELS
    return min(max_pixels, pillow_limit) if pillow_limit else max_pixels


def _decode(data: bytes, max_bytes: int, max_pixels: int) -> tuple[Image.Image, ImageInfo]:
    """Open, check and fully decode an upload; every refusal is an InvalidInput on ``file``."""
    if not data:
        raise _refuse(f"The file is empty. Send a {ACCEPTED_TEXT} image.")
    if len(data) > max_bytes:
        raise _refuse(
            f"The file has {len(data):,} bytes; at most {max_bytes:,} bytes "
            f"({human_size(max_bytes)}) are accepted. Send a smaller photo."
        )
    limit = _pixel_limit(max_pixels)
    try:
        probe = Image.open(io.BytesIO(data), formats=OPEN_FORMATS)
        content_type = CONTENT_TYPES.get(probe.format or "")
        width, height = probe.size
        if content_type is None:
            raise _not_an_image()
        if width * height > limit:
            raise _refuse(_too_many_pixels(limit, width, height))
        probe.verify()
        image = Image.open(io.BytesIO(data), formats=OPEN_FORMATS)
        image.load()
    except InvalidInput:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _refuse(_too_many_pixels(limit)) from exc
    except Exception as exc:
        # Whatever Pillow raises while reading untrusted bytes (OSError for unknown or truncated
        # data, SyntaxError from verify, ValueError, struct.error, ...) means the same thing here.
        raise _not_an_image() from exc
    return image, ImageInfo(content_type=content_type, width=width, height=height)


def inspect_image(data: bytes, max_bytes: int, max_pixels: int) -> ImageInfo:
    """Decide by content whether an upload is an acceptable image; InvalidInput on ``file`` if not.

    Refused: empty files, more than ``max_bytes`` bytes, formats other than JPEG/PNG/WebP,
    damaged or truncated files, and more than ``max_pixels`` pixels (decompression bombs), which
    are refused from the header before any pixel is decoded.
    """
    image, info = _decode(data, max_bytes, max_pixels)
    image.close()
    return info


def _decimal(value: Any) -> float | None:
    """One EXIF rational (or number) as a finite float, or None."""
    try:
        number = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if math.isfinite(number) else None


def _degrees(parts: Any, ref: Any, positive: str, negative: str, limit: float) -> float | None:
    """EXIF degrees/minutes/seconds and a hemisphere letter as signed decimal degrees, or None."""
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    if not isinstance(ref, str):
        return None
    hemisphere = ref.strip("\x00 ").upper()
    if hemisphere not in (positive, negative):
        return None
    if not isinstance(parts, tuple | list) or not 1 <= len(parts) <= 3:
        return None
    numbers = [_decimal(part) for part in parts]
    if any(n is None or n < 0 for n in numbers):
        return None
    values = [n for n in numbers if n is not None] + [0.0] * (3 - len(numbers))
    degrees, minutes, seconds = values
    if minutes >= 60 or seconds > 60:
        return None
    result = degrees + minutes / 60 + seconds / 3600
    if result > limit:
        return None
    return -result if hemisphere == negative else result


def gps_position(exif: Image.Exif) -> tuple[float, float] | None:
    """The (lon, lat) in WGS-84 decimal degrees recorded in EXIF, or None when absent or nonsense.

    Rounded to 7 decimals (about 1 cm). A position of exactly (0, 0) is what cameras without a
    fix write, so it counts as absent too.
    """
    try:
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    except Exception:  # a damaged GPS block is no position; the copies drop it anyway
        return None
    lat = _degrees(
        gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef), "N", "S", 90.0
    )
    lon = _degrees(
        gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef), "E", "W", 180.0
    )
    if lat is None or lon is None:
        return None
    position = (round(lon, 7), round(lat, 7))
    return None if position == NO_GPS_AT else position


def _encode(image: Image.Image, content_type: str, icc_profile: bytes | None) -> bytes:
    """The pixels of an image in the given format, with no metadata but the colour profile.

    Empties the image's own metadata on the way (it is a private copy of the caller's).
    """
    params: dict[str, Any] = {}
    if icc_profile:
        params["icc_profile"] = icc_profile
    if content_type == "image/jpeg":
        if image.mode not in JPEG_MODES:
            image = _flatten(image)
        params.update(quality=JPEG_QUALITY)
        file_format = "JPEG"
    elif content_type == "image/png":
        if image.mode not in PNG_MODES:
            image = image.convert("RGBA")
        transparency = image.info.get("transparency")
        if transparency is not None:
            params["transparency"] = transparency
        file_format = "PNG"
    else:
        if image.mode not in WEBP_MODES:
            image = image.convert("RGBA" if image.has_transparency_data else "RGB")
        params.update(quality=WEBP_QUALITY)
        file_format = "WEBP"
    # Encoders fall back to the decoded file's metadata (comments, text chunks, EXIF) when it is
    # left on the image; only what is passed explicitly above may be written.
    image.info = {}
    out = io.BytesIO()
    image.save(out, file_format, **params)
    return out.getvalue()


def _flatten(image: Image.Image) -> Image.Image:
    """The image as RGB; transparent parts become white (JPEG has no transparency)."""
    if image.mode == "RGB":
        return image
    if image.has_transparency_data:
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _thumbnail(image: Image.Image) -> Image.Image:
    """An RGB (or greyscale) copy whose long side is at most THUMB_LONG_SIDE pixels."""
    thumb = image.copy() if image.mode in ("L", "RGB") else _flatten(image)
    thumb.thumbnail((THUMB_LONG_SIDE, THUMB_LONG_SIDE), Image.Resampling.LANCZOS)
    return thumb


def process_image(data: bytes, *, max_bytes: int, max_pixels: int) -> ProcessedImage:
    """Check an upload like ``inspect_image``, then make the copies to store.

    Reads the EXIF GPS position, turns the picture upright by its EXIF orientation, re-encodes
    it in its own format without metadata and makes a JPEG thumbnail (long side 320 px). CPU-heavy:
    call it off the event loop.
    """
    image, info = _decode(data, max_bytes, max_pixels)
    icc_profile = image.info.get("icc_profile") or None
    try:
        gps = gps_position(image.getexif())
        upright = ImageOps.exif_transpose(image)
    except Exception:
        # EXIF that cannot be read names neither a position nor an orientation; the picture
        # itself decoded fine, so it is kept as it is, and the copies drop the damaged block.
        gps, upright = None, image.copy()
    image.close()
    thumb = _thumbnail(upright)
    # The thumbnail keeps the profile only while its colours are still in the same space.
    thumb_icc = icc_profile if thumb.mode == upright.mode else None
    return ProcessedImage(
        content_type=info.content_type,
        data=_encode(upright, info.content_type, icc_profile),
        width=upright.width,
        height=upright.height,
        thumbnail=_encode(thumb, THUMB_CONTENT_TYPE, thumb_icc),
        thumb_width=thumb.width,
        thumb_height=thumb.height,
        gps=gps,
    )
