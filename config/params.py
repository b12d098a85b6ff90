"""Text from a request turned into numbers, dates and times: the one place that does it.

Every surface (the site's pages and JSON, the REST API, Open311, the staff pages) reads its
parameters through these functions, so each parameter either gets a value the code after it can
use (a finite number in range, an aware instant PostgreSQL and Python can both hold, a whole
number that fits a bigint) or an `InvalidParameter`, which each surface answers as a 400 in its
own error shape. The traps this closes, each once a 500 somewhere:

- `str.isdigit()` is true for "²" and "①", which `int()` refuses; only ASCII digits count here;
- `float()` takes "nan", "inf" and "1e400" (infinite), which break arithmetic, JSON and SQL;
- ISO 8601 and Python allow offsets up to ±23:59 (Django's parser raises ValueError past that),
  PostgreSQL only ±15:59, and an instant near year 1 or 9999 may not exist in UTC or after
  adding a period; instants and days are kept between EARLIEST and LATEST;
- a number with 5,000 digits makes `int()` raise, one with 20 overflows a bigint.

Places too: `point()` (a latitude and longitude pair) and `bbox()` (west,south,east,north), so a
bad coordinate or box gets the same 400 on every surface.

`RefuseNulMiddleware` refuses a NUL character anywhere in a request's path or query string (a
value PostgreSQL cannot hold, even in a lookup), answered by config.jsonapi.refusal() in the
shape of the surface the request was for.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime, time

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from config.errors import ApplicationError
from config.jsonapi import refusal

# What a date or instant parameter may be: before it nobody filed a report, after it nothing is
# planned, and both leave room for the periods added to them (90 days, a year).
EARLIEST = date(1900, 1, 1)
LATEST = date(2999, 12, 31)
# A whole number parameter never needs more: it fits a bigint, also after multiplying by a page
# size, and int() never sees a number too long to convert.
MAX_WHOLE = 10**12


class InvalidParameter(ApplicationError):
    """A query or form parameter that is not what its name promises: HTTP 400."""

    code = "invalid"

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message, extra={"fields": {name: [message]}})
        self.name = name


def whole_number(value: str, name: str, *, minimum: int = 0, maximum: int = MAX_WHOLE) -> int:
    """A whole number written in ASCII digits, between minimum and maximum."""
    text = value.strip()
    refused = _("%(name)s must be a whole number from %(minimum)s to %(maximum)s.")
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(maximum)):
        raise InvalidParameter(
            name, refused % {"name": name, "minimum": minimum, "maximum": maximum}
        )
    number = int(text)
    if not minimum <= number <= maximum:
        raise InvalidParameter(
            name, refused % {"name": name, "minimum": minimum, "maximum": maximum}
        )
    return number


def finite_number(
    value: str, name: str, *, minimum: float = -math.inf, maximum: float = math.inf
) -> float:
    """A finite number (never NaN or infinite) between minimum and maximum."""
    try:
        number = float(value) if len(value) <= 100 else math.nan
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise InvalidParameter(
            name,
            _("%(name)s must be a number, not %(value)s.") % {"name": name, "value": _shown(value)},
        )
    if not minimum <= number <= maximum:
        limits = {"name": name, "minimum": f"{minimum:g}", "maximum": f"{maximum:g}"}
        raise InvalidParameter(
            name, _("%(name)s must be a number from %(minimum)s to %(maximum)s.") % limits
        )
    return number


def _shown(value: str) -> str:
    """A refused value as an error message quotes it: short, so a huge one is not echoed."""
    return repr(value if len(value) <= 40 else value[:40] + "…")


def latitude(value: str, name: str = "lat") -> float:
    return finite_number(value, name, minimum=-90, maximum=90)


def longitude(value: str, name: str = "lon") -> float:
    return finite_number(value, name, minimum=-180, maximum=180)


def numbers(value: str, name: str, count: int) -> list[float]:
    """Exactly `count` finite numbers separated by commas."""
    parts = value.split(",", count)
    if len(parts) != count:
        raise InvalidParameter(
            name,
            _("%(name)s must be %(count)d numbers separated by commas.")
            % {"name": name, "count": count},
        )
    return [finite_number(part, name) for part in parts]


def moment(value: str, name: str) -> datetime:
    """An ISO 8601 date and time (or a date: its start, in the site's time zone), in UTC."""
    text = value.strip()
    try:
        # An unescaped "+" of an offset arrives in a query string as a space.
        parsed = parse_datetime(text) or parse_datetime(text.replace(" ", "+"))
        if parsed is None:
            parsed = datetime.combine(_parse_day(text, name), time.min)
        aware = parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)
        # In UTC: PostgreSQL refuses offsets Python accepts (e.g. +20:41).
        instant = aware.astimezone(UTC)
    except (ValueError, OverflowError):
        raise _bad_moment(name) from None
    if not EARLIEST <= instant.date() <= LATEST:
        raise _out_of_range(name)
    return instant


def day(value: str, name: str) -> date:
    """An ISO 8601 date (2026-05-01) between EARLIEST and LATEST."""
    found = _parse_day(value.strip(), name)
    if not EARLIEST <= found <= LATEST:
        raise _out_of_range(name)
    return found


def _parse_day(text: str, name: str) -> date:
    try:
        found = parse_date(text)
    except ValueError:  # well formed but impossible, like 2026-02-30
        found = None
    if found is None:
        raise _bad_moment(name)
    return found


def _bad_moment(name: str) -> InvalidParameter:
    example = {"name": name, "example": "2026-05-01T10:30:00Z"}
    return InvalidParameter(name, _("%(name)s must be a date and time like %(example)s.") % example)


def _out_of_range(name: str) -> InvalidParameter:
    limits = {"name": name, "earliest": EARLIEST, "latest": LATEST}
    return InvalidParameter(
        name, _("%(name)s must be between %(earliest)s and %(latest)s.") % limits
    )


class DayField(forms.DateField):
    """A form's date between EARLIEST and LATEST, so a period computed from it always exists."""

    default_validators = [MinValueValidator(EARLIEST), MaxValueValidator(LATEST)]


# --- places --------------------------------------------------------------------------------------

# west, south, east, north in degrees
Box = tuple[float, float, float, float]


def point(
    lat: str | None, lon: str | None, *, names: tuple[str, str] = ("lat", "lon")
) -> tuple[float, float]:
    """A WGS84 point from its two parameters (`names`: what the caller calls them, as errors
    name them): both present, finite, latitude within ±90 and longitude within ±180."""
    found = optional_point(lat, lon, names=names)
    if found is None:
        pair = {"lat": names[0], "lon": names[1]}
        raise InvalidParameter(names[0], _("Give %(lat)s and %(lon)s as numbers.") % pair)
    return found


def optional_point(
    lat: str | None, lon: str | None, *, names: tuple[str, str] = ("lat", "lon")
) -> tuple[float, float] | None:
    """As point(), but None when neither is given (empty counts as not given)."""
    lat, lon = (lat or "").strip() or None, (lon or "").strip() or None
    if lat is None and lon is None:
        return None
    for value, name in ((lat, names[0]), (lon, names[1])):
        if value is None:
            pair = {"lat": names[0], "lon": names[1]}
            raise InvalidParameter(
                name, _("%(lat)s and %(lon)s go together: give both or neither.") % pair
            )
    return latitude(str(lat), names[0]), longitude(str(lon), names[1])


def bbox(value: str | None, name: str = "bbox") -> Box:
    """west,south,east,north in degrees, not inside out; clamped to the world (a zoomed-out map
    repeats it sideways, and past its edges there is nothing to refuse)."""
    if not (value or "").strip():
        raise InvalidParameter(
            name, _("Give %(name)s=west,south,east,north in degrees.") % {"name": name}
        )
    try:
        west, south, east, north = numbers(str(value), name, 4)
    except InvalidParameter:
        raise InvalidParameter(
            name,
            _("%(name)s must be west,south,east,north: four numbers in degrees.") % {"name": name},
        ) from None
    if west > east or south > north:
        raise InvalidParameter(
            name,
            _("%(name)s must be west,south,east,north with west <= east and south <= north.")
            % {"name": name},
        )
    return (_clamp(west, 180), _clamp(south, 90), _clamp(east, 180), _clamp(north, 90))


def _clamp(value: float, limit: float) -> float:
    return max(-limit, min(limit, value))


class RefuseNulMiddleware:
    """A NUL character in the path is a 404 and in the query string a 400, before any view runs:
    no address or parameter of this site holds one, and PostgreSQL refuses it even in a lookup
    (a 500 wherever a view forgot to check). Form and JSON bodies are the forms' and serializers'
    business: they refuse NUL with a field error and keep what was typed."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path:
            return refusal(request, 404, "There is nothing at this address.")
        query = request.META.get("QUERY_STRING", "")
        if "%00" in query or "\x00" in query:
            message = "A parameter contains a NUL character."
            named = [
                name or "(no name)"
                for name, values in QueryDict(query).lists()
                if "\x00" in name or any("\x00" in value for value in values)
            ]
            fields = {name.replace("\x00", ""): [message] for name in named}
            return refusal(request, 400, message, fields)
        return self.get_response(request)
