"""A tiny city with one neighbourhood over the west district."""

from __future__ import annotations

from typing import Any

import pytest

from tests import factories


@pytest.fixture
def city(tiny_city: Any) -> Any:
    tiny_city.barri = factories.area(
        "Barri Oest", factories.square(1.0, 10.0, 0.1), authority=tiny_city.west
    )
    return tiny_city
