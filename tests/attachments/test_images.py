"""Images are judged by their content; kept copies are upright, metadata-free and thumbnailed; the
EXIF GPS position comes back as a hint and nowhere else."""

from __future__ import annotations

import warnings

import pytest
from PIL import Image, ImageCms, ImageOps

from tests.attachments.support import (
    BLUE,
    HTML,
    PDF,
    SVG,
    encode,
    gif,
    gps_exif,
    jpeg,
    metadata_of,
    opened,
    png,
    png_declaring,
    rational,
    two_colour,
    webp,
)
from wenming.attachments.images import (
    ImageInfo,
    gps_position,
    human_size,
    inspect_image,
    process_image,
)
from wenming.core.errors import InvalidInput

MAX_BYTES = 1024 * 1024
MAX_PIXELS = 1_000_000
NOT_AN_IMAGE = (
    "The file is not a complete JPEG, PNG or WebP image. Send a photo in one of these formats "
    "(other formats, documents and damaged or incomplete files are not accepted)."
)


def refusal(data: bytes, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS) -> str:
    """The detail of the refusal of ``data``; fails when it is accepted."""
    with pytest.raises(InvalidInput) as refused:
        inspect_image(data, max_bytes, max_pixels)
    assert refused.value.field == "file"
    assert refused.value.problem()["errors"] == [{"field": "file", "message": refused.value.detail}]
    with pytest.raises(InvalidInput) as again:
        process_image(data, max_bytes=max_bytes, max_pixels=max_pixels)
    assert again.value.detail == refused.value.detail
    return refused.value.detail


@pytest.mark.parametrize(
    ("data", "content_type"),
    [(jpeg(), "image/jpeg"), (png(), "image/png"), (webp(), "image/webp")],
    ids=["jpeg", "png", "webp"],
)
def test_accepted_formats_are_recognised_by_content(data: bytes, content_type: str) -> None:
    assert inspect_image(data, MAX_BYTES, MAX_PIXELS) == ImageInfo(content_type, 80, 40)


@pytest.mark.parametrize(
    "data",
    [
        b"just some text, not a photo\n",
        HTML,
        SVG,
        PDF,
        gif(),
        encode(two_colour(), "BMP"),
        encode(two_colour(), "TIFF"),
        jpeg()[:200],
        jpeg((400, 300))[:-300],
        png((400, 300))[:-40],
        webp((400, 300))[:-60],
        b"\xff\xd8\xff" + b"\x00" * 64,
    ],
    ids=[
        "text",
        "html",
        "svg",
        "pdf",
        "gif",
        "bmp",
        "tiff",
        "jpeg-header-only",
        "truncated-jpeg",
        "truncated-png",
        "truncated-webp",
        "jpeg-magic-then-garbage",
    ],
)
def test_anything_else_is_refused_saying_what_is_accepted(data: bytes) -> None:
    assert refusal(data) == NOT_AN_IMAGE


def test_an_empty_file_is_refused() -> None:
    assert refusal(b"") == "The file is empty. Send a JPEG, PNG or WebP image."


def test_too_many_bytes_are_refused_before_decoding() -> None:
    data = jpeg()
    assert refusal(data, max_bytes=len(data) - 1) == (
        f"The file has {len(data):,} bytes; at most {len(data) - 1:,} bytes "
        f"({human_size(len(data) - 1)}) are accepted. Send a smaller photo."
    )
    assert inspect_image(data, len(data), MAX_PIXELS).content_type == "image/jpeg"


def test_too_many_pixels_are_refused_from_the_header() -> None:
    assert refusal(png((200, 100)), max_pixels=19_999) == (
        "The image has 200 × 100 pixels; at most 19,999 pixels (width × height) are accepted. "
        "Send a smaller photo."
    )
    assert inspect_image(png((200, 100)), MAX_BYTES, 20_000) == ImageInfo("image/png", 200, 100)


def test_a_decompression_bomb_is_refused_by_pillow_s_own_limit() -> None:
    # 10^10 pixels: Pillow itself raises DecompressionBombError while opening.
    bomb = png_declaring(100_000, 100_000)
    assert len(bomb) < 100
    assert refusal(bomb, max_pixels=10**12) == (
        "The image is larger than accepted: at most 89,478,485 pixels (width × height) are "
        "accepted. Send a smaller photo."
    )


def test_pillow_s_bomb_warning_range_is_refused_too() -> None:
    # 10^8 pixels lie between Pillow's warning and error limits: our limit never exceeds Pillow's.
    bomb = png_declaring(10_000, 10_000)
    assert Image.MAX_IMAGE_PIXELS == 89_478_485
    with pytest.warns(Image.DecompressionBombWarning):
        detail = refusal(bomb, max_pixels=10**12)
    assert detail == (
        "The image has 10000 × 10000 pixels; at most 89,478,485 pixels (width × height) are "
        "accepted. Send a smaller photo."
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        assert refusal(bomb, max_pixels=10**12) == (
            "The image is larger than accepted: at most 89,478,485 pixels (width × height) are "
            "accepted. Send a smaller photo."
        )


def test_exif_orientation_6_is_applied() -> None:
    data = jpeg(exif=gps_exif(orientation=6))
    assert inspect_image(data, MAX_BYTES, MAX_PIXELS) == ImageInfo("image/jpeg", 80, 40)
    result = process_image(data, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)
    assert (result.width, result.height) == (40, 80)
    upright = opened(result.data)
    assert upright.size == (40, 80)
    # Turned a quarter clockwise: the left (red) half is now on top, the blue half below.
    top, bottom = upright.getpixel((20, 10)), upright.getpixel((20, 70))
    assert isinstance(top, tuple) and isinstance(bottom, tuple)
    assert top[0] > 180 > top[2] and bottom[2] > 180 > bottom[0]
    assert (result.thumb_width, result.thumb_height) == (40, 80)
    assert opened(result.thumbnail).size == (40, 80)


def test_gps_is_read_exactly_and_stripped_from_every_copy() -> None:
    data = jpeg(exif=gps_exif(), comment=b"taken at home")
    assert metadata_of(data)[1] != {}
    result = process_image(data, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)
    assert result.gps == (122.06, 41.25)
    for copy in (result.data, result.thumbnail):
        assert metadata_of(copy) == ({}, {}, set())
        assert b"TestCam" not in copy and b"taken at home" not in copy


@pytest.mark.parametrize("file_format", ["PNG", "WEBP"])
def test_gps_in_png_and_webp_is_read_and_stripped(file_format: str) -> None:
    exif = gps_exif(rational((23, 7, 30)), "S", rational((46, 30, 0)), "W")
    data = encode(two_colour(), file_format, exif=exif)
    result = process_image(data, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)
    assert result.gps == (-46.5, -23.125)
    assert metadata_of(result.data) == ({}, {}, set())
    assert metadata_of(result.thumbnail) == ({}, {}, set())


@pytest.mark.parametrize(
    "exif",
    [
        Image.Exif(),
        gps_exif(lat_ref="X"),
        gps_exif(lon_ref=None),
        gps_exif(lat=rational((95, 0, 0))),
        gps_exif(lon=rational((181, 0, 0))),
        gps_exif(lat=rational((41, 75, 0))),
        gps_exif(lat=(*rational((41, 15)), *rational((0,), 0))),
        gps_exif(lat=rational((0, 0, 0)), lon=rational((0, 0, 0))),
    ],
    ids=[
        "no-exif",
        "bad-ref",
        "missing-ref",
        "lat-over-90",
        "lon-over-180",
        "75-minutes",
        "zero-denominator",
        "null-island",
    ],
)
def test_absent_or_nonsense_gps_gives_no_hint(exif: Image.Exif) -> None:
    data = jpeg(exif=exif)
    assert process_image(data, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS).gps is None


def test_gps_with_decimal_minutes_and_a_byte_reference() -> None:
    exif = gps_exif(rational((410, 153, 0), 10), b"N\x00", rational((1220, 36, 0), 10), "E")
    assert gps_position(opened(jpeg(exif=exif)).getexif()) == (122.06, 41.255)


def test_the_icc_colour_profile_is_kept() -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = jpeg(exif=gps_exif(), icc_profile=profile)
    result = process_image(data, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)
    assert opened(result.data).info.get("icc_profile") == profile
    assert opened(result.thumbnail).info.get("icc_profile") == profile
    assert metadata_of(result.data) == ({}, {}, set())


@pytest.mark.parametrize(
    ("data", "content_type", "file_format"),
    [
        (jpeg((1000, 600)), "image/jpeg", "JPEG"),
        (png((1000, 600)), "image/png", "PNG"),
        (webp((1000, 600)), "image/webp", "WEBP"),
    ],
    ids=["jpeg", "png", "webp"],
)
def test_each_format_is_kept_and_thumbnailed(
    data: bytes, content_type: str, file_format: str
) -> None:
    result = process_image(data, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)
    assert (result.content_type, result.width, result.height) == (content_type, 1000, 600)
    assert opened(result.data).format == file_format
    assert (result.thumb_width, result.thumb_height) == (320, 192)
    thumb = opened(result.thumbnail)
    assert (thumb.format, thumb.size) == ("JPEG", (320, 192))
    assert result.extension == {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}[file_format]


def test_a_small_image_is_not_enlarged_and_transparency_turns_white_in_the_thumbnail() -> None:
    image = Image.new("RGBA", (30, 20), (0, 0, 0, 0))
    image.paste((*BLUE, 255), (0, 0, 15, 20))
    result = process_image(encode(image, "PNG"), max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)
    assert opened(result.data).mode == "RGBA"
    thumb = opened(result.thumbnail)
    assert (thumb.size, thumb.mode) == ((30, 20), "RGB")
    right = thumb.getpixel((25, 10))
    assert isinstance(right, tuple) and min(right) > 240


def test_processing_is_deterministic_so_equal_uploads_store_equal_bytes() -> None:
    data = jpeg(exif=gps_exif(orientation=6))
    first = process_image(data, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)
    second = process_image(data, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)
    assert (first.data, first.thumbnail) == (second.data, second.thumbnail)


def test_bytes_appended_to_an_image_are_not_kept() -> None:
    data = jpeg() + HTML
    result = process_image(data, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)
    assert HTML not in result.data
    assert opened(result.data).size == (80, 40)


@pytest.mark.parametrize(
    ("size", "text"),
    [(900, "900 bytes"), (1024, "1 KiB"), (1536, "1.5 KiB"), (10 * 1024 * 1024, "10 MiB")],
)
def test_sizes_read_like_people_write_them(size: int, text: str) -> None:
    assert human_size(size) == text


def _with_app1(data: bytes, payload: bytes) -> bytes:
    """A JPEG with one more APP1 segment right after its start marker."""
    segment = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    return data[:2] + segment + data[2:]


def test_damaged_exif_gives_no_hint_and_is_not_kept() -> None:
    data = _with_app1(jpeg(), b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08" + b"\xff" * 40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Pillow reports the corrupt block
        result = process_image(data, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)
    assert (result.width, result.height, result.gps) == (80, 40, None)
    assert metadata_of(result.data) == ({}, {}, set())


def test_exif_that_cannot_be_read_leaves_the_picture_as_it_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unreadable(_image: Image.Image) -> Image.Image:
        raise SyntaxError("not a TIFF file")

    monkeypatch.setattr(ImageOps, "exif_transpose", unreadable)
    result = process_image(
        jpeg(exif=gps_exif(orientation=6)), max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS
    )
    assert (result.width, result.height, result.gps) == (80, 40, None)
    assert metadata_of(result.data) == ({}, {}, set())
