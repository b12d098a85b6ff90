"""Writes to authorities, categories and boundaries. Each change that routing depends on bumps the
routing version in the same transaction, so every process rebuilds its index from committed data."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from config.aftercommit import after_commit

from . import routing
from .exceptions import BoundaryImportError, InvalidAuthority, InvalidBoundary
from .geometry import check_boundary, to_geojson
from .models import (
    Area,
    Authority,
    AuthorityCategory,
    AuthorityKind,
    Category,
    RoutingVersion,
    StaffMembership,
    StaffRole,
)

logger = logging.getLogger(__name__)


def routing_changed() -> None:
    """Bump the routing version. This process checks it at its next lookup (inside this
    transaction it sees its own change), again after commit, and at its next request or task,
    which also catches an index built from a transaction that was then rolled back. Other
    processes check within FIXPOINT_ROUTING_FRESHNESS_SECONDS (routing.request_freshness_check)."""
    updated = RoutingVersion.objects.filter(pk=1).update(
        version=F("version") + 1, changed_at=timezone.now()
    )
    if not updated:
        RoutingVersion.objects.get_or_create(pk=1, defaults={"version": 1})
    routing.changed_here()
    after_commit(routing.changed_here)


@transaction.atomic
def authority_save(*, authority: Authority) -> Authority:
    """Create or update an authority after checking its boundary and its place in the tree."""
    if authority.boundary is not None:
        checked = check_boundary(authority.boundary)
        authority.boundary = checked.geojson
    if not authority.slug:
        authority.slug = _unique_slug(authority.name)
    _refuse_parent_cycle(authority)
    authority.save()
    routing_changed()
    return authority


@transaction.atomic
def authority_delete(*, authority: Authority) -> None:
    authority.delete()
    routing_changed()


@transaction.atomic
def routing_object_save(*, obj: Category | AuthorityCategory) -> None:
    """Save a category or a category-handled link; both change what routing offers."""
    obj.full_clean()
    obj.save()
    routing_changed()


@transaction.atomic
def routing_object_delete(*, obj: Category | AuthorityCategory) -> None:
    obj.delete()
    routing_changed()


@transaction.atomic
def authority_category_set(
    *,
    authority: Authority,
    category: Category,
    email: str = "",
    is_active: bool = True,
) -> AuthorityCategory:
    """Make an authority handle a category (or update where it is delivered)."""
    link, _ = AuthorityCategory.objects.update_or_create(
        authority=authority,
        category=category,
        defaults={"email": email or authority.email, "is_active": is_active},
    )
    routing_changed()
    return link


@transaction.atomic
def category_upsert(*, slug: str, name: str, group: str, **fields: Any) -> Category:
    category, _ = Category.objects.update_or_create(
        slug=slug, defaults={"name": name, "group": group, **fields}
    )
    routing_changed()
    return category


@transaction.atomic
def staff_membership_set(
    *, user: Any, authority: Authority, role: str = StaffRole.INSPECTOR
) -> StaffMembership:
    """Give a person this role at this authority (a new membership, or a new role)."""
    membership = StaffMembership.objects.filter(user=user, authority=authority).first()
    membership = membership or StaffMembership(user=user, authority=authority)
    membership.role = role
    return staff_membership_save(membership=membership)


@transaction.atomic
def staff_membership_save(*, membership: StaffMembership) -> StaffMembership:
    """Save a membership as edited (the admin may move it to another authority or person); its
    person becomes staff, so that they can sign in to the admin."""
    membership.save()
    user = membership.user
    if not user.is_staff:
        type(user).objects.filter(pk=user.pk).update(is_staff=True)
        user.is_staff = True
    return membership


# --- Importing boundary files ----------------------------------------------------------------


@dataclass(frozen=True)
class BoundaryFeature:
    number: int  # 1-based position in the file, for messages
    name: str
    code: str
    geometry: dict[str, Any]


@dataclass
class ImportSummary:
    created: int = 0
    updated: int = 0
    repaired: int = 0


def boundaries_import(
    *,
    features: Sequence[BoundaryFeature],
    parent: Authority | None = None,
    kind: str = AuthorityKind.COUNCIL,
    progress: Callable[[int, int], None] | None = None,
) -> ImportSummary:
    """Create or update one authority per feature, all or nothing.

    Every geometry is checked before anything is written, so a bad feature at the end of a large
    file is reported without a half-imported file left behind.
    """
    checked = [_check_feature(feature) for feature in features]
    summary = ImportSummary(repaired=sum(1 for c in checked if c.repaired))
    with transaction.atomic():
        for done, (feature, boundary) in enumerate(zip(features, checked, strict=True), 1):
            authority = _match_authority(feature, parent, kind)
            if authority is None:
                authority = Authority(name=feature.name, parent=parent, kind=kind)
                summary.created += 1
            else:
                summary.updated += 1
            authority.name, authority.code = feature.name, feature.code
            authority.boundary = boundary.geojson
            if not authority.slug:
                authority.slug = _unique_slug(feature.name)
            authority.save()
            if progress:
                progress(done, len(features))
        routing_changed()
    return summary


def _check_feature(feature: BoundaryFeature) -> Any:
    try:
        return check_boundary(feature.geometry)
    except InvalidBoundary as exc:
        raise BoundaryImportError(
            f"feature {feature.number} ({feature.name!r}): {exc.message}"
        ) from exc


def _match_authority(
    feature: BoundaryFeature, parent: Authority | None, kind: str
) -> Authority | None:
    # Scoped by kind too: neighbourhoods and districts under one city reuse the same codes.
    siblings = Authority.objects.filter(parent=parent, kind=kind)
    if feature.code:
        by_code = siblings.filter(code=feature.code).first()
        if by_code:
            return by_code
    return siblings.filter(name=feature.name).first()


def _unique_slug(name: str, model: type[Authority] | type[Area] = Authority) -> str:
    base = slugify(name)[:90] or model._meta.model_name or "item"
    slug, n = base, 1
    while model.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def _refuse_parent_cycle(authority: Authority) -> None:
    parent = authority.parent
    while parent is not None:
        if authority.pk is not None and parent.pk == authority.pk:
            raise InvalidAuthority(f"{authority.name} cannot be its own ancestor.")
        parent = parent.parent


# --- Named areas (neighbourhoods) --------------------------------------------------------------


def areas_import(
    *,
    features: Sequence[BoundaryFeature],
    kind: str = "neighbourhood",
    authority: Authority | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportSummary:
    """Create or update one named area per feature (matched by kind and code, else name)."""
    checked = [_check_feature(feature) for feature in features]
    summary = ImportSummary(repaired=sum(1 for c in checked if c.repaired))
    with transaction.atomic():
        for done, (feature, boundary) in enumerate(zip(features, checked, strict=True), 1):
            area = _match_area(feature, kind)
            summary.created += area.pk is None
            summary.updated += area.pk is not None
            _fill_area(area, feature, boundary.geometry, authority)
            area.save()
            if progress:
                progress(done, len(features))
        routing_changed()
    return summary


@transaction.atomic
def area_save(*, area: Area) -> Area:
    """Save an area edited by hand: its boundary is checked and its centre recomputed."""
    checked = check_boundary(area.boundary)
    feature = BoundaryFeature(0, area.name, area.code, area.boundary)
    if not area.slug:
        area.slug = _unique_slug(area.name, Area)
    _fill_area(area, feature, checked.geometry, area.authority)
    area.save()
    routing_changed()
    return area


def _match_area(feature: BoundaryFeature, kind: str) -> Area:
    same_kind = Area.objects.filter(kind=kind)
    found = same_kind.filter(code=feature.code).first() if feature.code else None
    found = found or same_kind.filter(name=feature.name).first()
    return found or Area(kind=kind, slug=_unique_slug(feature.name, Area))


def _fill_area(area: Area, feature: BoundaryFeature, geometry: Any, authority: Any) -> None:
    centre = geometry.representative_point()  # inside the area even when it is U-shaped
    area.name, area.code, area.authority = feature.name, feature.code, authority
    area.boundary = to_geojson(geometry)
    area.latitude, area.longitude = round(centre.y, 6), round(centre.x, 6)
    area.bbox = [round(v, 6) for v in geometry.bounds]
