"""Input fields of the API that DRF's own are too lenient for."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class NumberField(serializers.FloatField):
    """A float that refuses JSON booleans. Python's bool is an int, so DRF's FloatField took
    `true` as 1.0 (a latitude of 1 degree). Numeric strings are still taken: form-encoded
    bodies carry nothing else. Every number of a request body uses this field
    (tests/api/test_numbers.py tries each one the schema lists)."""

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool):
            self.fail("invalid")
        return float(super().to_internal_value(data))


class RequiredBooleanField(serializers.BooleanField):
    """A boolean that must be sent, in form data too (DRF reads a missing form boolean as an
    unticked checkbox: false)."""

    default_empty_html = serializers.empty
