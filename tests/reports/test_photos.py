"""Citizens' photos: what is refused, what is kept, and that nothing private leaves with them."""

from __future__ import annotations

import io
import re
import struct
import warnings
import zlib
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image, ImageCms
from PIL.TiffImagePlugin import IFDRational

from reports import photos
from reports.models import ReportPhoto
from reports.photos import PhotoRejected, extract_gps, process_photo

GPS = ExifTags.GPS
# 33° 51' 35.9" S, 151° 12' 40.123456" W, written as exact rationals.
SOUTH = (IFDRational(33, 1), IFDRational(51, 1), IFDRational(359, 10))
WEST = (IFDRational(151, 1), IFDRational(12, 1), IFDRational(40_123_456, 1_000_000))
LATITUDE = 33 + 51 / 60 + 35.9 / 3600
LONGITUDE = 151 + 12 / 60 + 40.123456 / 3600


# --- building pictures in memory ------------------------------------------------------------


def encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def upload(data: bytes, name: str = "photo.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def exif_with(gps: dict[int, Any] | None = None, orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    if gps is not None:
        exif.get_ifd(ExifTags.IFD.GPSInfo).update(gps)
    return exif


def southwest_gps() -> dict[int, Any]:
    return {
        GPS.GPSLatitudeRef: "S",
        GPS.GPSLatitude: SOUTH,
        GPS.GPSLongitudeRef: "W",
        GPS.GPSLongitude: WEST,
    }


def camera_jpeg(size: tuple[int, int] = (400, 200), orientation: int = 6) -> bytes:
    """A landscape picture, red on the left and blue on the right, as a phone held upright
    stores it: sideways, with an orientation tag, GPS, XMP, a comment and a colour profile."""
    image = Image.new("RGB", size, (220, 0, 0))
    image.paste((0, 0, 220), (size[0] // 2, 0, size[0], size[1]))
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = exif_with(southwest_gps(), orientation)
    return encode(
        image,
        "JPEG",
        exif=exif,
        xmp=b"<x:xmpmeta>Pixel 9</x:xmpmeta>",
        comment=b"serial 1234",
        icc_profile=icc,
    )


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares a huge size but holds almost nothing: cheap to make, ruinous to
    decode."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    idat = zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def reopen(result: photos.ProcessedPhoto) -> Image.Image:
    result.content.seek(0)
    image = Image.open(io.BytesIO(result.content.read()))
    image.load()
    return image


def rejection(data: bytes | SimpleUploadedFile) -> PhotoRejected:
    with pytest.raises(PhotoRejected) as caught:
        process_photo(upload(data) if isinstance(data, bytes) else data)
    assert caught.value.code == "photo_rejected"
    return caught.value


def close(a: object, b: tuple[int, ...], tolerance: int = 12) -> bool:
    """Whether pixel `a` is `b` give or take JPEG's rounding."""
    assert isinstance(a, tuple)
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


class CountingStream(io.BytesIO):
    """A stream that remembers how much was read from it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


# --- metadata and GPS -------------------------------------------------------------------------


def test_gps_is_read_before_the_exif_is_stripped() -> None:
    result = process_photo(upload(camera_jpeg()))

    assert result.gps is not None
    assert result.gps == pytest.approx((-LATITUDE, -LONGITUDE), abs=1e-6)
    image = reopen(result)
    assert not image.getexif()
    assert not {"exif", "icc_profile", "xmp", "comment"} & set(image.info)


@pytest.mark.parametrize(
    ("refs", "signs"),
    [
        (("N", "E"), (1, 1)),
        (("S", "W"), (-1, -1)),
        ((b"S\x00", b"E\x00"), (-1, 1)),
        (("n", "w"), (1, -1)),
    ],
)
def test_the_hemisphere_letters_give_the_signs(
    refs: tuple[Any, Any], signs: tuple[int, int]
) -> None:
    gps: dict[int, Any] = {
        GPS.GPSLatitudeRef: refs[0],
        GPS.GPSLatitude: SOUTH,
        GPS.GPSLongitudeRef: refs[1],
        GPS.GPSLongitude: WEST,
    }
    data = encode(Image.new("RGB", (8, 8)), "JPEG", exif=exif_with(gps))

    assert extract_gps(io.BytesIO(data)) == pytest.approx(
        (signs[0] * LATITUDE, signs[1] * LONGITUDE), abs=1e-6
    )


def test_gps_is_read_from_png_and_webp_too() -> None:
    for fmt in ("PNG", "WEBP"):
        exif = exif_with(southwest_gps()).tobytes()  # PNG skips an Exif object with no base tags
        data = encode(Image.new("RGB", (8, 8)), fmt, exif=exif)

        assert extract_gps(io.BytesIO(data)) == pytest.approx((-LATITUDE, -LONGITUDE), abs=1e-6)


BROKEN_GPS: dict[str, dict[int, Any]] = {
    "no hemisphere": {GPS.GPSLatitude: SOUTH, GPS.GPSLongitudeRef: "W", GPS.GPSLongitude: WEST},
    "odd hemisphere": {**southwest_gps(), GPS.GPSLatitudeRef: "Q"},
    "zero denominator": {**southwest_gps(), GPS.GPSLatitude: (IFDRational(33, 0), 0.0, 0.0)},
    "latitude over 90": {**southwest_gps(), GPS.GPSLatitude: (IFDRational(91, 1), 0.0, 0.0)},
    "longitude over 180": {**southwest_gps(), GPS.GPSLongitude: (200.0, 0.0, 0.0)},
    "too many parts": {**southwest_gps(), GPS.GPSLatitude: (1.0, 2.0, 3.0, 4.0)},
    "parts of nothing": {**southwest_gps(), GPS.GPSLatitude: ()},
    "no fix": {**southwest_gps(), GPS.GPSStatus: "V"},
    "null island": {
        GPS.GPSLatitudeRef: "N",
        GPS.GPSLatitude: (0.0, 0.0, 0.0),
        GPS.GPSLongitudeRef: "E",
        GPS.GPSLongitude: (0.0, 0.0, 0.0),
    },
    "empty": {},
}


@pytest.mark.parametrize("gps", BROKEN_GPS.values(), ids=BROKEN_GPS.keys())
def test_broken_gps_tags_give_no_position_and_no_error(gps: dict[int, Any]) -> None:
    data = encode(Image.new("RGB", (8, 8)), "JPEG", exif=exif_with(gps))

    assert extract_gps(io.BytesIO(data)) is None
    assert process_photo(io.BytesIO(data)).gps is None


def test_a_lone_number_is_read_as_degrees() -> None:
    gps = {**southwest_gps(), GPS.GPSLatitude: IFDRational(339, 10)}
    data = encode(Image.new("RGB", (8, 8)), "JPEG", exif=exif_with(gps))

    assert extract_gps(io.BytesIO(data)) == pytest.approx((-33.9, -LONGITUDE), abs=1e-6)


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_garbage_exif_gives_no_position_and_the_photo_is_still_accepted() -> None:
    data = encode(Image.new("RGB", (8, 8)), "JPEG", exif=b"Exif\x00\x00MM\x00*garbage")

    assert extract_gps(io.BytesIO(data)) is None
    assert process_photo(io.BytesIO(data)).format == "JPEG"


def test_extract_gps_gives_none_for_a_file_that_is_no_photo() -> None:
    assert extract_gps(io.BytesIO(b"just some text")) is None
    assert extract_gps(io.BytesIO(b"")) is None


def test_extract_gps_and_process_photo_can_read_the_same_upload_in_turn() -> None:
    file = upload(camera_jpeg())

    assert extract_gps(file) is not None
    assert process_photo(file).gps is not None


def test_the_stored_name_is_generated_and_never_the_citizens() -> None:
    result = process_photo(upload(camera_jpeg(), name="../../Jane Doe's house.jpg"))

    assert re.fullmatch(r"[0-9a-f]{32}\.jpg", result.content.name or "")


# --- orientation, size, colour ----------------------------------------------------------------


def test_the_exif_orientation_is_applied_so_the_picture_is_upright() -> None:
    result = process_photo(upload(camera_jpeg((400, 200), orientation=6)))

    image = reopen(result)
    assert (result.width, result.height) == image.size == (200, 400)
    # Orientation 6 means "turn 90° clockwise to view": the left (red) half ends on top.
    assert close(image.getpixel((100, 50)), (220, 0, 0))
    assert close(image.getpixel((100, 350)), (0, 0, 220))


def test_an_orientation_tag_with_an_impossible_value_is_ignored() -> None:
    data = encode(Image.new("RGB", (40, 20)), "JPEG", exif=exif_with(orientation=42))

    assert process_photo(io.BytesIO(data)).width == 40


def test_large_photos_are_scaled_down_to_the_longest_side_keeping_the_aspect_ratio(
    settings: Any,
) -> None:
    settings.FIXPOINT_PHOTO_MAX_SIDE = 100
    data = encode(Image.new("RGB", (1200, 900), (10, 120, 40)), "JPEG")

    result = process_photo(io.BytesIO(data))

    assert (result.width, result.height) == reopen(result).size == (100, 75)
    assert close(reopen(result).getpixel((50, 37)), (10, 120, 40))


def test_small_photos_keep_their_size() -> None:
    result = process_photo(io.BytesIO(encode(Image.new("RGB", (300, 200)), "JPEG")))

    assert (result.width, result.height) == (300, 200)


def test_a_png_with_transparency_becomes_a_webp_that_keeps_it() -> None:
    image = Image.new("RGBA", (60, 40), (0, 128, 255, 255))
    image.paste((0, 0, 0, 0), (0, 0, 30, 40))
    exif = exif_with(southwest_gps(), orientation=1).tobytes()

    result = process_photo(io.BytesIO(encode(image, "PNG", exif=exif)), name="sign.png")

    out = reopen(result)
    assert result.format == out.format == "WEBP" and out.mode == "RGBA"
    assert result.gps is not None and not out.getexif() and "exif" not in out.info
    assert re.fullmatch(r"[0-9a-f]{32}\.webp", result.content.name or "")
    assert out.getchannel("A").getpixel((10, 20)) == 0
    assert out.getchannel("A").getpixel((50, 20)) == 255


@pytest.mark.parametrize(
    "image",
    [
        Image.new("RGBA", (60, 40), (0, 128, 255, 255)),  # an opaque screenshot
        Image.new("P", (60, 40), 3),
        Image.new("LA", (60, 40), (90, 255)),
        Image.new("1", (60, 40), 1),
    ],
    ids=["opaque RGBA", "palette", "grey with opaque alpha", "black and white"],
)
def test_opaque_pictures_of_any_mode_become_jpegs(image: Image.Image) -> None:
    result = process_photo(io.BytesIO(encode(image, "PNG")))

    out = reopen(result)
    assert result.format == out.format == "JPEG" and out.mode in ("RGB", "L")


def test_a_palette_png_with_a_transparent_colour_keeps_the_transparency() -> None:
    image = Image.new("P", (20, 20), 0)
    image.putpalette([255, 0, 0, 0, 255, 0])
    image.paste(1, (0, 0, 10, 20))

    out = reopen(process_photo(io.BytesIO(encode(image, "PNG", transparency=1))))

    assert out.mode == "RGBA" and out.getchannel("A").getpixel((5, 5)) == 0
    assert close(out.getpixel((15, 5)), (255, 0, 0, 255))


def test_a_cmyk_jpeg_becomes_an_rgb_jpeg() -> None:
    data = encode(Image.new("CMYK", (50, 50), (0, 255, 255, 0)), "JPEG")  # pure red ink

    out = reopen(process_photo(io.BytesIO(data)))

    assert out.mode == "RGB"
    assert close(out.getpixel((25, 25)), (255, 0, 0), tolerance=20)


def test_a_sixteen_bit_grey_png_is_scaled_not_clipped_to_white() -> None:
    buffer = io.BytesIO()
    Image.new("I;16", (20, 20), 32_896).save(buffer, "PNG")  # half of 65535

    out = reopen(process_photo(io.BytesIO(buffer.getvalue())))

    assert out.mode == "L" and out.getpixel((10, 10)) == pytest.approx(128, abs=2)


def test_a_webp_photo_is_accepted_and_becomes_a_jpeg() -> None:
    data = encode(Image.new("RGB", (80, 60), (200, 100, 50)), "WEBP", exif=exif_with(orientation=8))

    result = process_photo(io.BytesIO(data))

    assert result.format == "JPEG" and (result.width, result.height) == (60, 80)
    assert not reopen(result).getexif()


def swapped_primaries_profile() -> bytes:
    """sRGB with the red and blue primaries exchanged: in its eyes (255, 0, 0) is pure blue.
    A stand-in for a real wide-gamut profile (an iPhone's Display P3) with a visible effect."""
    icc = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    (count,) = struct.unpack(">I", icc[128:132])
    entries = {bytes(icc[132 + 12 * i : 136 + 12 * i]): 136 + 12 * i for i in range(count)}
    red, blue = entries[b"rXYZ"], entries[b"bXYZ"]  # each: offset and size of the tag data
    icc[red : red + 8], icc[blue : blue + 8] = icc[blue : blue + 8], icc[red : red + 8]
    return bytes(icc)


def test_an_embedded_colour_profile_is_applied_and_not_kept() -> None:
    icc = swapped_primaries_profile()
    exif = exif_with(orientation=6)
    data = encode(Image.new("RGB", (40, 20), (255, 0, 0)), "JPEG", icc_profile=icc, exif=exif)

    out = reopen(process_photo(io.BytesIO(data)))

    assert "icc_profile" not in out.info and out.size == (20, 40)
    assert close(out.getpixel((10, 20)), (0, 0, 255), tolerance=20)


def test_a_broken_colour_profile_is_ignored() -> None:
    data = encode(Image.new("RGB", (30, 30), (30, 160, 90)), "JPEG", icc_profile=b"rubbish" * 20)

    out = reopen(process_photo(io.BytesIO(data)))

    assert "icc_profile" not in out.info and close(out.getpixel((15, 15)), (30, 160, 90))


# --- what is refused --------------------------------------------------------------------------


def test_a_file_over_the_byte_limit_is_refused_having_read_one_byte_more(settings: Any) -> None:
    settings.FIXPOINT_PHOTO_MAX_BYTES = 1000
    stream = CountingStream(b"\xff\xd8" + b"\x00" * 50_000)

    with pytest.raises(PhotoRejected) as caught:
        process_photo(stream)

    assert stream.bytes_read == 1001
    assert caught.value.message == "This file is too large: a photo may be at most 1000\xa0bytes."
    assert caught.value.extra["reason"] == "too_large"


def test_a_file_just_at_the_byte_limit_is_accepted(settings: Any) -> None:
    data = encode(Image.new("RGB", (16, 16)), "PNG")
    settings.FIXPOINT_PHOTO_MAX_BYTES = len(data)

    assert process_photo(io.BytesIO(data)).format == "JPEG"


def test_an_upload_that_django_knows_is_too_large_is_not_read_at_all(settings: Any) -> None:
    file = upload(b"x" * 11 * 1024 * 1024)

    error = rejection(file)

    assert file.tell() == 0
    assert "at most 10.0\xa0MB" in error.message


NOT_PHOTOS = {
    "text named .jpg": b"not an image at all",
    "GIF": encode(Image.new("RGB", (10, 10)), "GIF"),
    "SVG": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "PDF": encode(Image.new("RGB", (10, 10)), "PDF"),
    "TIFF": encode(Image.new("RGB", (10, 10)), "TIFF"),
    "HTML": b"<!doctype html><p>hello",
}


@pytest.mark.parametrize("data", NOT_PHOTOS.values(), ids=NOT_PHOTOS.keys())
def test_files_that_are_not_jpeg_png_or_webp_are_refused_naming_the_accepted_formats(
    data: bytes,
) -> None:
    error = rejection(data)

    assert error.message == "This file is not a photo we can use. Send a JPEG, PNG or WebP image."
    assert error.extra == {"reason": "not_a_photo", "name": "photo.jpg"}


def test_an_empty_file_is_refused() -> None:
    assert rejection(b"").message == "This file is empty."


@pytest.mark.parametrize(
    ("fmt", "reason"),
    # Pillow decodes a WebP as it opens it, so a cut one cannot even be identified.
    [("JPEG", "damaged"), ("PNG", "damaged"), ("WEBP", "not_a_photo")],
)
def test_a_truncated_image_is_refused_naming_the_accepted_formats(fmt: str, reason: str) -> None:
    data = encode(Image.effect_noise((300, 300), 60).convert("RGB"), fmt)

    error = rejection(data[: len(data) // 2])

    assert error.extra["reason"] == reason
    assert "Send a JPEG, PNG or WebP" in error.message
    if reason == "damaged":
        assert error.message.startswith("This image is damaged or incomplete.")


@pytest.mark.parametrize(
    ("width", "height"),
    [(8000, 8000), (10_000, 10_000), (60_000, 60_000)],
    ids=["over our limit", "over Pillow's warning", "over Pillow's error"],
)
def test_a_decompression_bomb_is_refused_from_its_header(width: int, height: int) -> None:
    data = png_header(width, height)

    for action in ("error", "ignore"):  # as in the tests, and as in production
        with warnings.catch_warnings():
            warnings.simplefilter(action, Image.DecompressionBombWarning)
            error = rejection(data)

        # Not "damaged": the bogus pixel data was never decoded.
        assert error.extra["reason"] == "too_many_pixels"
        assert error.message == (
            "This image has too many pixels to process (at most 50 megapixels). "
            "Send a smaller photo."
        )


def test_the_pixel_limit_applies_to_real_images_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(photos, "MAX_PIXELS", 10_000)
    data = encode(Image.new("RGB", (101, 100)), "PNG", compress_level=9)

    assert rejection(data).extra["reason"] == "too_many_pixels"
    assert process_photo(io.BytesIO(encode(Image.new("RGB", (100, 100)), "PNG"))).width == 100


# --- the caller's side ------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_content_saves_into_a_report_photo_with_its_dimensions() -> None:
    result = process_photo(upload(camera_jpeg()))
    photo = ReportPhoto()

    photo.image.save(result.content.name or "", result.content, save=False)
    photo.save()

    photo.refresh_from_db()
    assert (photo.width, photo.height) == (result.width, result.height) == (200, 400)
    assert str(photo.image.name).endswith(result.content.name or "?")
    with Image.open(photo.image.path) as stored:
        assert not stored.getexif()


# --- the pixel budget of one request -----------------------------------------------------------


def test_a_jpeg_costs_the_pixels_it_is_decoded_at_not_its_header_size(settings: Any) -> None:
    settings.FIXPOINT_PHOTO_MAX_SIDE = 256
    budget = photos.PixelBudget(1_000_000)
    data = encode(Image.new("RGB", (2000, 2000), (10, 20, 30)), "JPEG")

    process_photo(io.BytesIO(data), budget=budget)

    # libjpeg decodes it at 1/4 (500 x 500), the smallest scale still at least 256 on each side
    assert budget.left == 1_000_000 - 500 * 500


def test_a_photo_over_what_the_request_has_left_is_refused_from_its_header(settings: Any) -> None:
    budget = photos.PixelBudget(1_000_000)
    process_photo(io.BytesIO(encode(Image.new("RGB", (800, 800)), "PNG")), budget=budget)

    for action in ("error", "ignore"):
        with warnings.catch_warnings():
            warnings.simplefilter(action, Image.DecompressionBombWarning)
            with pytest.raises(PhotoRejected) as caught:
                process_photo(upload(png_header(1000, 1000), name="b.png"), budget=budget)

        assert caught.value.extra == {"reason": "request_too_many_pixels", "name": "b.png"}
    assert budget.left == 1_000_000 - 640_000
    assert process_photo(io.BytesIO(encode(Image.new("RGB", (600, 600)), "PNG")), budget=budget)
    assert budget.left == 0


def test_the_request_budget_defaults_to_the_setting(settings: Any) -> None:
    settings.FIXPOINT_PHOTO_MAX_REQUEST_PIXELS = 1234

    assert photos.PixelBudget().left == 1234
