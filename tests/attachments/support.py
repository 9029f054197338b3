"""Images made in the test itself: real JPEG, PNG and WebP files, with or without EXIF, and files
that only pretend to be images."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import ExifTags, Image
from PIL.TiffImagePlugin import IFDRational

RED = (220, 20, 20)
BLUE = (20, 20, 220)
# 41°15'0" N, 122°3'36" E: lon 122.06, lat 41.25 (大洼区)
LAT_DMS = (41, 15, 0)
LON_DMS = (122, 3, 36)

HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(1)</script></svg>"
)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def two_colour(size: tuple[int, int] = (80, 40)) -> Image.Image:
    """An image whose left half is red and right half blue, so a rotation shows."""
    image = Image.new("RGB", size, RED)
    image.paste(BLUE, (size[0] // 2, 0, size[0], size[1]))
    return image


def encode(image: Image.Image, file_format: str, **params: object) -> bytes:
    """The image saved in a format with the given save parameters."""
    out = io.BytesIO()
    image.save(out, file_format, **params)
    return out.getvalue()


def rational(parts: tuple[float, ...], denominator: int = 1) -> tuple[IFDRational, ...]:
    """EXIF rationals of the given numbers (numerators over ``denominator``)."""
    return tuple(IFDRational(part, denominator) for part in parts)


def gps_exif(
    lat: tuple[IFDRational, ...] | None = None,
    lat_ref: object = "N",
    lon: tuple[IFDRational, ...] | None = None,
    lon_ref: object = "E",
    *,
    orientation: int | None = None,
) -> Image.Exif:
    """EXIF with a GPS IFD (41°15'0" N, 122°3'36" E unless told otherwise; None leaves out)."""
    exif = Image.Exif()
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "TestCam"
    gps: dict[int, object] = {
        ExifTags.GPS.GPSLatitudeRef: lat_ref,
        ExifTags.GPS.GPSLatitude: lat if lat is not None else rational(LAT_DMS),
        ExifTags.GPS.GPSLongitudeRef: lon_ref,
        ExifTags.GPS.GPSLongitude: lon if lon is not None else rational(LON_DMS),
    }
    exif[ExifTags.IFD.GPSInfo] = {tag: value for tag, value in gps.items() if value is not None}
    return exif


def jpeg(size: tuple[int, int] = (80, 40), **params: object) -> bytes:
    """A JPEG of the two-colour picture."""
    return encode(two_colour(size), "JPEG", quality=95, **params)


def png(size: tuple[int, int] = (80, 40), **params: object) -> bytes:
    """A PNG of the two-colour picture."""
    return encode(two_colour(size), "PNG", **params)


def webp(size: tuple[int, int] = (80, 40), **params: object) -> bytes:
    """A WebP of the two-colour picture."""
    return encode(two_colour(size), "WEBP", quality=90, **params)


def gif(size: tuple[int, int] = (80, 40)) -> bytes:
    """A GIF of the two-colour picture (a real image, but not an accepted format)."""
    return encode(two_colour(size), "GIF")


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares the given size (a decompression bomb's calling card)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 16)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", pixels)
        + _chunk(b"IEND", b"")
    )


def metadata_of(data: bytes) -> tuple[dict[int, object], dict[int, object], set[str]]:
    """A stored file's EXIF tags, its GPS IFD and its other metadata keys (ICC excluded)."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        exif = image.getexif()
        gps = dict(exif.get_ifd(ExifTags.IFD.GPSInfo))
        keys = {str(key) for key in image.info} & {"exif", "xmp", "comment", "XML:com.adobe.xmp"}
        return dict(exif), gps, keys


def opened(data: bytes) -> Image.Image:
    """A stored file decoded."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image
