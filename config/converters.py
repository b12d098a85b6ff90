"""Path converters. `<id:name>` is a row's id: at most 18 ASCII digits, so it always fits a
bigint. Django's `<int:...>` takes any number of digits, and a lookup through a relation (a
player's user id) then failed in the database (a 500) instead of finding nothing (a 404).
Importing this module registers it; every urls.py that uses it imports it."""

from __future__ import annotations

from django.urls import register_converter


class IdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")
