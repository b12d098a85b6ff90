"""Writes to authorities, categories and boundaries. Each change that routing depends on bumps the
routing version in the same transaction, so every process rebuilds its index from committed data."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

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

    Features with codes are matched to authorities of the same parent and kind by code only,
    features without by name (see _plan_matches); a file in which a code (or, without codes, a
    name) repeats is refused, so no two features ever write the same authority. Every geometry is
    checked before anything is written, so a bad feature at the end of a large file is reported
    without a half-imported file left behind.
    """
    checked = [_check_feature(feature) for feature in features]
    summary = ImportSummary(repaired=sum(1 for c in checked if c.repaired))
    with transaction.atomic():
        # Scoped by kind too: neighbourhoods and districts under one city reuse the same codes.
        siblings = Authority.objects.filter(parent=parent, kind=kind).defer("boundary")
        matches = _plan_matches(features, list(siblings), "authorities")
        slugs = _new_slugs(features, matches, Authority)
        for done, (feature, boundary, authority) in enumerate(
            zip(features, checked, matches, strict=True), 1
        ):
            if authority is None:
                authority = Authority(parent=parent, kind=kind, slug=slugs[feature.number])
                summary.created += 1
            else:
                summary.updated += 1
            authority.name, authority.code = feature.name, feature.code
            authority.boundary = boundary.geojson
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


Imported = TypeVar("Imported", Authority, Area)


def _plan_matches(
    features: Sequence[BoundaryFeature], existing: Sequence[Imported], plural: str
) -> list[Imported | None]:
    """The existing object each feature updates, or None for a new one.

    With codes, a feature matches only the object with its code: a name says nothing (a national
    ward file has dozens of wards called "Castle", each with its own code), and an object without
    a code is never matched. Without codes, it matches by name. Either way the key must be unique
    in the file and among the existing objects, so two features never write the same object.
    """
    field = _match_field(features)
    found: dict[str, list[Imported]] = {}
    for obj in existing:
        key = getattr(obj, field)
        if key:
            found.setdefault(key, []).append(obj)
    matches: list[Imported | None] = []
    for feature in features:
        key = getattr(feature, field)
        candidates = found.get(key, [])
        if len(candidates) > 1:
            raise BoundaryImportError(
                f"feature {feature.number} ({feature.name!r}): {len(candidates)} {plural} there "
                f"already have the {field} {key!r}; import with a code per feature, or rename or "
                "recode one of them."
            )
        matches.append(candidates[0] if candidates else None)
    return matches


def _match_field(features: Sequence[BoundaryFeature]) -> str:
    """ "code" when the features have codes, else "name"; refuses a file where either repeats."""
    field = "code" if any(feature.code for feature in features) else "name"
    first: dict[str, int] = {}
    for feature in features:
        key = getattr(feature, field)
        if not key:
            raise BoundaryImportError(
                f"feature {feature.number} ({feature.name!r}) has no {field}, while others do."
            )
        if key in first:
            raise BoundaryImportError(
                f"features {first[key]} and {feature.number} have the same {field} {key!r}: "
                + (
                    "each feature needs its own code."
                    if field == "code"
                    else "import with a code per feature (--code-field) to keep them apart."
                )
            )
        first[key] = feature.number
    return field


def _new_slugs(
    features: Sequence[BoundaryFeature],
    matches: Sequence[Authority | Area | None],
    model: type[Authority] | type[Area],
) -> dict[int, str]:
    """Slugs for the features that create an object, by feature number.

    A slug is made once, when its object is created, and never changed by a later import (not
    even when the name changes), so links and --parent arguments keep working. It is the name's
    slug ("old-town") when the name is unique in the file and the slug is free, otherwise the
    name's and the code's ("castle-w07"); only if that is taken too, a number is added.
    """
    taken = set(model.objects.values_list("slug", flat=True))
    names = Counter(feature.name for feature in features)
    slugs: dict[int, str] = {}
    for feature, match in zip(features, matches, strict=True):
        if match is None:
            slug = _free_slug(feature, names[feature.name] > 1, taken, model)
            slugs[feature.number] = slug
            taken.add(slug)
    return slugs


def _free_slug(
    feature: BoundaryFeature, repeated: bool, taken: set[str], model: type[Authority] | type[Area]
) -> str:
    name = slugify(feature.name) or model._meta.model_name or "item"
    code = slugify(feature.code)[:40]
    candidates = [] if repeated and code else [name[:90]]
    if code:
        candidates.append(f"{name[: 89 - len(code)]}-{code}")
    for candidate in candidates:
        if candidate not in taken:
            return candidate
    n = 2
    while f"{candidates[-1]}-{n}" in taken:
        n += 1
    return f"{candidates[-1]}-{n}"


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
            raise InvalidAuthority(
                _("%(name)s cannot be its own ancestor.") % {"name": authority.name}
            )
        parent = parent.parent


# --- Named areas (neighbourhoods) --------------------------------------------------------------


def areas_import(
    *,
    features: Sequence[BoundaryFeature],
    kind: str = "neighbourhood",
    authority: Authority | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportSummary:
    """Create or update one named area per feature, matched among the areas of that kind as
    authorities are (by code only when the features have codes, else by name; see
    _plan_matches), with slugs made the same way."""
    checked = [_check_feature(feature) for feature in features]
    summary = ImportSummary(repaired=sum(1 for c in checked if c.repaired))
    with transaction.atomic():
        matches = _plan_matches(
            features, list(Area.objects.filter(kind=kind).defer("boundary")), "areas"
        )
        slugs = _new_slugs(features, matches, Area)
        for done, (feature, boundary, match) in enumerate(
            zip(features, checked, matches, strict=True), 1
        ):
            area = match or Area(kind=kind, slug=slugs[feature.number])
            summary.created += match is None
            summary.updated += match is not None
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


def _fill_area(area: Area, feature: BoundaryFeature, geometry: Any, authority: Any) -> None:
    centre = geometry.representative_point()  # inside the area even when it is U-shaped
    area.name, area.code, area.authority = feature.name, feature.code, authority
    area.boundary = to_geojson(geometry)
    area.latitude, area.longitude = round(centre.y, 6), round(centre.x, 6)
    area.bbox = [round(v, 6) for v in geometry.bounds]
