"""Citizens' photos: check an upload, make it safe to publish, and read where it was taken.

Every photo is decoded and encoded again. That is what makes it safe: the type is decided by a
decoder, not by the file name or the browser's content type; a file that is not a picture, or is
damaged, or would need gigabytes of memory, is refused with a message a citizen understands; and
the new file carries pixels only, so no EXIF, XMP, comment or colour profile (with the place, the
time or the phone's serial number) is published.

Output: opaque pictures become JPEG. Pictures with real transparency (a PNG or WebP where some
pixel is not fully opaque) become WebP, which keeps the alpha channel and is far smaller than PNG.
Animated PNG and WebP keep their first frame only.
"""

from __future__ import annotations

import io
import math
import uuid
from dataclasses import dataclass
from functools import cache
from typing import IO, Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import ExifTags, Image, ImageCms, ImageOps

from config.errors import ApplicationError

# Pixels one photo may have, as declared by its header, checked before decoding. A flat 50 MP PNG
# compresses to a few kilobytes yet needs 200 MB of memory decoded, so the byte limit alone does
# not protect the workers. 50 MP still admits the full-resolution mode of 48-50 MP phone cameras;
# Pillow's own MAX_IMAGE_PIXELS applies as well when it is lower.
MAX_PIXELS = 50_000_000

ACCEPTED = "JPEG, PNG or WebP"
# Only these decoders are ever tried, so a GIF, SVG, PDF or TIFF is never parsed at all.
_DECODERS = ("JPEG", "PNG", "WEBP")
# MPO is the multi-picture JPEG some cameras write; its first picture is an ordinary JPEG.
_FORMATS = {"JPEG", "MPO", "PNG", "WEBP"}
# Modes a colour profile can be applied to, and the mode that comes out.
_PROFILE_MODES = {"RGB": "RGB", "RGBA": "RGBA", "CMYK": "RGB"}
_EXTENSIONS = {"JPEG": "jpg", "WEBP": "webp"}
_CHUNK = 1024 * 1024
# Errors a decoder raises on a damaged file (UnidentifiedImageError is an OSError).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError)


class PhotoRejected(ApplicationError):
    """The upload is not a photo we accept. The message is for the citizen; extra["reason"] is
    one of "too_large", "empty", "not_a_photo", "damaged", "too_many_pixels",
    "request_too_many_pixels"."""

    code = "photo_rejected"


class PixelBudget:
    """The pixels one request may still have decoded, over all its photos
    (FIXPOINT_PHOTO_MAX_REQUEST_PIXELS). A photo's cost is known from its header before any pixel
    is decoded: its size, or for a JPEG the smaller size libjpeg will decode it at (draft). Three
    49-megapixel PNGs in one form once cost a worker 3.9 s; now the second is refused unread."""

    def __init__(self, pixels: int | None = None) -> None:
        self.limit = settings.FIXPOINT_PHOTO_MAX_REQUEST_PIXELS if pixels is None else pixels
        self.left = self.limit

    def spend(self, pixels: int, name: str) -> None:
        if pixels > self.left:
            raise _reject(
                _(
                    "Together with the photos before it, this one has too many pixels to process "
                    "at once (at most %(mp)s megapixels a time). Send it again on its own or "
                    "smaller."
                )
                % {"mp": max(1, self.limit // 1_000_000)},
                "request_too_many_pixels",
                name,
            )
        self.left -= pixels


@dataclass(frozen=True)
class ProcessedPhoto:
    content: ContentFile[bytes]  # named "<uuid4 hex>.jpg" or ".webp", never after the upload
    width: int
    height: int
    format: str  # "JPEG" or "WEBP"
    gps: tuple[float, float] | None  # (latitude, longitude) from the original's EXIF


def process_photo(
    upload: UploadedFile | IO[bytes], *, name: str = "", budget: PixelBudget | None = None
) -> ProcessedPhoto:
    """Check an upload and return it as a clean, upright, bounded JPEG (or WebP if transparent).

    `name` is only used in PhotoRejected.extra (for logs): never for the stored name or the type.
    `budget`, shared by the photos of one request, is charged before the pixels are decoded.
    Raises PhotoRejected with a message for the citizen.
    """
    name = name or str(getattr(upload, "name", "") or "")
    image = _open(_read_limited(upload, name), name)
    _draft(image)
    if budget is not None:
        budget.spend(image.width * image.height, name)
    _decode(image, name)
    gps = _gps_of(image)  # read now: nothing below carries the EXIF over
    image = _normalise_mode(_to_srgb(_upright(image)))
    side = settings.FIXPOINT_PHOTO_MAX_SIDE
    image.thumbnail((side, side), Image.Resampling.LANCZOS)
    data, fmt = _encode(image)
    content = ContentFile(data, name=f"{uuid.uuid4().hex}.{_EXTENSIONS[fmt]}")
    return ProcessedPhoto(
        content=content, width=image.width, height=image.height, format=fmt, gps=gps
    )


def extract_gps(upload: UploadedFile | IO[bytes]) -> tuple[float, float] | None:
    """(latitude, longitude) in decimal degrees from a photo's EXIF, or None.

    None also for anything process_photo would refuse: it is meant for an offer ("place the pin
    where the photo was taken?"), never for a decision, so it does not raise.
    """
    try:
        image = _open(_read_limited(upload, ""), "")
    except PhotoRejected:
        return None
    return _gps_of(image)


# --- reading and decoding ---------------------------------------------------------------------


def _read_limited(upload: UploadedFile | IO[bytes], name: str) -> bytes:
    """The upload's bytes, reading at most one byte over the limit: a huge body is never held."""
    limit = settings.FIXPOINT_PHOTO_MAX_BYTES
    size = getattr(upload, "size", None)
    if isinstance(size, int) and size > limit:  # Django knows the size: refuse without reading
        raise _too_large(limit, name)
    if _seekable(upload):
        upload.seek(0)  # a form or extract_gps may have read it already
    chunks: list[bytes] = []
    total = 0
    while total <= limit:
        chunk = upload.read(min(_CHUNK, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    if total > limit:
        raise _too_large(limit, name)
    if not total:
        raise _reject(_("This file is empty."), "empty", name)
    return b"".join(chunks)


def _seekable(upload: UploadedFile | IO[bytes]) -> bool:
    seekable = getattr(upload, "seekable", None)
    return bool(seekable()) if callable(seekable) else hasattr(upload, "seek")


def _open(data: bytes, name: str) -> Image.Image:
    """Identify the picture from its header and check its size before any pixel is decoded."""
    try:
        image = Image.open(io.BytesIO(data), formats=_DECODERS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # The warning is an exception only where warnings are errors (the tests); elsewhere it
        # is logged and the check below refuses the same image.
        raise _too_many_pixels(name) from exc
    except _DECODE_ERRORS as exc:
        raise _not_a_photo(name) from exc
    if image.format not in _FORMATS:
        raise _not_a_photo(name)
    if image.width * image.height > _pixel_limit():
        raise _too_many_pixels(name)
    return image


def _pixel_limit() -> int:
    return min(MAX_PIXELS, Image.MAX_IMAGE_PIXELS or MAX_PIXELS)


def _draft(image: Image.Image) -> None:
    """JPEG only (a no-op otherwise): let libjpeg decode at 1/2, 1/4 or 1/8 scale when the result
    is still at least `side` on both sides. Much less memory and time for big camera photos.
    Nothing is decoded yet; the image's size is now what will be."""
    side = settings.FIXPOINT_PHOTO_MAX_SIDE
    image.draft(None, (side, side))


def _decode(image: Image.Image, name: str) -> None:
    try:
        image.load()
    except _DECODE_ERRORS as exc:  # truncated or corrupt data
        raise _reject(
            _("This image is damaged or incomplete. Send a %(formats)s photo.")
            % {"formats": ACCEPTED},
            "damaged",
            name,
        ) from exc


# --- making it safe and presentable -----------------------------------------------------------


def _upright(image: Image.Image) -> Image.Image:
    try:
        return ImageOps.exif_transpose(image)
    except Exception:  # malformed EXIF fails in many ways; the pixels are fine
        return image


def _to_srgb(image: Image.Image) -> Image.Image:
    """Apply an embedded colour profile (e.g. an iPhone's Display P3, a print shop's CMYK), since
    the profile itself is dropped and browsers show untagged pictures as sRGB."""
    icc = image.info.get("icc_profile")
    output_mode = _PROFILE_MODES.get(image.mode)
    if not isinstance(icc, bytes) or not icc or output_mode is None:
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(image, source, _srgb(), outputMode=output_mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image  # a broken profile, or one for another colour space: use the values as-is
    return converted if converted is not None else image


@cache
def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _normalise_mode(image: Image.Image) -> Image.Image:
    """RGB or L for JPEG; RGBA (for WebP) only when some pixel is actually transparent."""
    if image.mode in ("I", "I;16"):
        # 16-bit greyscale PNG: convert() would clip every value over 255 to white.
        image = image.point(lambda value: value / 257)
    if image.mode in ("RGB", "L"):
        return image
    if image.mode in ("1", "I", "I;16"):
        return image.convert("L")
    if not image.has_transparency_data:
        return image.convert("RGB")  # CMYK without a profile, P, YCbCr...
    rgba = image.convert("RGBA")
    alpha = rgba.getchannel("A")
    # Screenshots are often RGBA and fully opaque: they are better off as JPEG.
    opaque = alpha.histogram()[255] == alpha.width * alpha.height
    return rgba.convert("RGB") if opaque else rgba


def _encode(image: Image.Image) -> tuple[bytes, str]:
    # Pillow writes some metadata it finds in `info` (a JPEG comment, for one): start empty.
    image.info = {}
    buffer = io.BytesIO()
    if image.mode == "RGBA":
        image.save(buffer, "WEBP", quality=85)
        return buffer.getvalue(), "WEBP"
    image.save(buffer, "JPEG", quality=85, optimize=True, progressive=True)
    return buffer.getvalue(), "JPEG"


# --- GPS --------------------------------------------------------------------------------------


def _gps_of(image: Image.Image) -> tuple[float, float] | None:
    try:
        gps = image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        if _text(gps.get(ExifTags.GPS.GPSStatus)) == "V":  # the receiver said "no fix"
            return None
        latitude = _degrees(
            gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef), "N", "S", 90
        )
        longitude = _degrees(
            gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef), "E", "W", 180
        )
    except Exception:  # EXIF from the wild is odd in endless ways; GPS is optional
        return None
    if latitude is None or longitude is None or latitude == longitude == 0:
        return None  # (0, 0) is what some phones write when they have no fix
    return latitude, longitude


def _degrees(value: Any, ref: Any, positive: str, negative: str, bound: int) -> float | None:
    """Degrees, minutes, seconds (rationals) and a hemisphere letter as signed decimal degrees.
    Without a valid hemisphere the sign is unknown, and a pin on the wrong side is worse."""
    hemisphere = _text(ref).upper()
    if hemisphere not in (positive, negative) or value is None:
        return None
    # A lone number is read as degrees; text makes float() raise, which _gps_of catches.
    parts = [float(part) for part in value] if isinstance(value, tuple | list) else [float(value)]
    if not 1 <= len(parts) <= 3:
        return None
    if not all(math.isfinite(part) and part >= 0 for part in parts):  # x/0 reads as nan
        return None
    degrees = sum(part / 60**index for index, part in enumerate(parts))
    if degrees > bound:
        return None
    return -degrees if hemisphere == negative else degrees


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("ascii", errors="ignore")
    return value.strip("\x00 ") if isinstance(value, str) else ""


# --- messages ---------------------------------------------------------------------------------


def _reject(message: str, reason: str, name: str) -> PhotoRejected:
    return PhotoRejected(message, extra={"reason": reason, "name": name})


def _not_a_photo(name: str) -> PhotoRejected:
    return _reject(
        _("This file is not a photo we can use. Send a %(formats)s image.") % {"formats": ACCEPTED},
        "not_a_photo",
        name,
    )


def _too_large(limit: int, name: str) -> PhotoRejected:
    return _reject(
        _("This file is too large: a photo may be at most %(size)s.")
        % {"size": filesizeformat(limit)},
        "too_large",
        name,
    )


def _too_many_pixels(name: str) -> PhotoRejected:
    return _reject(
        _(
            "This image has too many pixels to process (at most %(mp)s megapixels). "
            "Send a smaller photo."
        )
        % {"mp": _pixel_limit() // 1_000_000},
        "too_many_pixels",
        name,
    )
