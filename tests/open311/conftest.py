from __future__ import annotations

from dataclasses import dataclass

import pytest

from accounts.models import ApiScope, User
from accounts.services import api_client_create
from tests import factories
from tests.conftest import TinyCity


@dataclass
class Keys:
    write: str  # acts for a partner app's account
    read: str
    west_system: str  # acts for staff of the west district: its own system
    write_user: User


@pytest.fixture
def keys(tiny_city: TinyCity) -> Keys:
    partner = factories.UserFactory.create(email="app@partner.example.org")
    write = api_client_create(name="Partner app", scope=ApiScope.WRITE, user=partner)[1]
    read = api_client_create(name="Reader", scope=ApiScope.READ)[1]
    west = api_client_create(name="West CRM", scope=ApiScope.WRITE, user=tiny_city.west_staff)[1]
    return Keys(write, read, west, partner)
