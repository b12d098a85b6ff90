"""Test data in one place. Reports are made through the service, so they are routed for real."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import factory

from accounts.models import User
from authorities import services as authority_services
from authorities.models import Authority, AuthorityKind, Category, StaffRole
from reports import services as report_services
from reports.models import Report


def square(lon: float, lat: float, size: float) -> dict[str, Any]:
    """A GeoJSON square with its south-west corner at (lon, lat)."""
    ring = [
        [lon, lat],
        [lon + size, lat],
        [lon + size, lat + size],
        [lon, lat + size],
        [lon, lat],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    display_name = factory.Faker("name")
    password = factory.django.Password("pw-for-tests")


class CategoryFactory(factory.django.DjangoModelFactory[Category]):
    class Meta:
        model = Category
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")
    group = "Roads"


def authority(
    name: str,
    boundary: dict[str, Any] | None,
    *,
    parent: Authority | None = None,
    categories: Sequence[Category] = (),
    slug: str = "",
) -> Authority:
    kind = AuthorityKind.DISTRICT if parent else AuthorityKind.COUNCIL
    obj = Authority(
        name=name,
        slug=slug,
        parent=parent,
        kind=kind,
        boundary=boundary,
        email=f"{name.lower().replace(' ', '-')}@council.example.org",
    )
    authority_services.authority_save(authority=obj)
    for category in categories:
        authority_services.authority_category_set(authority=obj, category=category)
    return obj


def staff(authority: Authority, role: str = StaffRole.INSPECTOR, **fields: Any) -> User:
    user = UserFactory.create(**fields)
    authority_services.staff_membership_set(user=user, authority=authority, role=role)
    return user


def report(
    category: Category,
    latitude: float,
    longitude: float,
    *,
    reporter: User | None = None,
    **fields: Any,
) -> Report:
    if reporter is None and "reporter_email" not in fields:
        reporter = UserFactory.create()
    defaults: dict[str, Any] = {"title": "Pothole", "description": "A deep one."}
    return report_services.report_create(
        category=category,
        latitude=latitude,
        longitude=longitude,
        reporter=reporter,
        **{**defaults, **fields},
    )


# --- gamification ------------------------------------------------------------------------------


def area(name: str, boundary: dict[str, Any], authority: Authority | None = None) -> Any:
    """A neighbourhood, saved through the service so routing places reports in it."""
    from authorities.models import Area

    return authority_services.area_save(
        area=Area(name=name, boundary=boundary, authority=authority, latitude=0, longitude=0)
    )


class RewardFactory(factory.django.DjangoModelFactory[Any]):
    class Meta:
        model = "gamification.Reward"

    title = factory.Sequence(lambda n: f"Prize {n}")
    sponsor = "Bicing"
    cost = 10
    stock = 5
    per_user_limit = 1
    is_approved = True


class ChallengeFactory(factory.django.DjangoModelFactory[Any]):
    class Meta:
        model = "gamification.Challenge"

    title = factory.Sequence(lambda n: f"Challenge {n}")
    starts_at = factory.LazyFunction(lambda: _now() - _days(1))
    ends_at = factory.LazyFunction(lambda: _now() + _days(6))
    metric = "verified_reports"
    target = 2
    bonus_points = 25


def _now() -> Any:
    from django.utils import timezone

    return timezone.now()


def _days(n: int) -> Any:
    from datetime import timedelta

    return timedelta(days=n)
