from __future__ import annotations

from dataclasses import dataclass

import pytest

from accounts.models import User
from authorities.models import StaffRole
from tests import factories
from tests.conftest import TinyCity


@dataclass
class Roles:
    """An administrator, an inspector and a viewer at each of the two districts of tiny_city."""

    west: dict[str, User]
    east: dict[str, User]


@pytest.fixture
def roles(tiny_city: TinyCity) -> Roles:
    def three(authority):  # type: ignore[no-untyped-def]
        return {role: factories.staff(authority, role=role) for role in StaffRole.values}

    return Roles(west=three(tiny_city.west), east=three(tiny_city.east))
