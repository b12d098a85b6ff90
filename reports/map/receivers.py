"""Keeping the cache fresh: report saves, deletes and state changes bump the tiles they touch
after commit; category edits and a migrate invalidate everything."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import DEFAULT_DB_ALIAS
from django.db.models.signals import post_delete, post_init, post_migrate, post_save

from authorities.models import Category
from config import cache as shared_cache
from config.aftercommit import after_commit
from reports import spatial_index
from reports.models import HIDDEN_STATES, Report

from .tiles import bump_locations, invalidate_all

_LOADED_AT = "_mapdata_loaded_at"


def connect_signals() -> None:
    """Connect the receivers that keep cached tiles fresh. Idempotent."""
    post_init.connect(_remember_location, sender=Report, dispatch_uid="mapdata-report-init")
    post_save.connect(_on_report_saved, sender=Report, dispatch_uid="mapdata-report-saved")
    post_delete.connect(_on_report_deleted, sender=Report, dispatch_uid="mapdata-report-deleted")
    post_save.connect(_on_category_changed, sender=Category, dispatch_uid="mapdata-cat-saved")
    post_delete.connect(_on_category_changed, sender=Category, dispatch_uid="mapdata-cat-deleted")
    post_migrate.connect(_on_post_migrate, dispatch_uid="mapdata-repair-rtree")
    # Tile bumps this process made while Redis was out of reach are lost: start a new generation.
    shared_cache.reconnected.connect(_on_cache_back, dispatch_uid="mapdata-cache-back")


def _on_cache_back(**_: Any) -> None:
    invalidate_all()


def _remember_location(instance: Report, **_: Any) -> None:
    # Where the report was when loaded: if it moves, the tile it leaves must be bumped too.
    values = instance.__dict__
    if "latitude" in values and "longitude" in values:
        values[_LOADED_AT] = (values["latitude"], values["longitude"])


def _locations(report: Report) -> set[tuple[float, float]]:
    places = {(report.latitude, report.longitude)}
    loaded_at = report.__dict__.get(_LOADED_AT)  # where it was when loaded: a move leaves a tile
    if loaded_at is not None:
        places.add((float(loaded_at[0]), float(loaded_at[1])))
    return places


def _bump_after_commit(places: Iterable[tuple[float, float]], using: str | None) -> None:
    # After commit: a tile recomputed before then would not see the change, and would be kept.
    after_commit(bump_locations, sorted(places), using=using)


def on_state_changed(report: Report) -> None:
    """On report_state_changed (reports.apps): the report's tiles, and those it left."""
    _bump_after_commit(_locations(report), report._state.db)


def bump_reports_after_commit(reports: Iterable[Report]) -> None:
    """For reports whose tiles were not bumped when they were filed (reports.followups)."""
    places = {place for report in reports for place in _locations(report)}
    _bump_after_commit(places, DEFAULT_DB_ALIAS)


def _on_report_saved(
    instance: Report, using: str, created: bool = False, raw: bool = False, **_: Any
) -> None:
    if raw:  # loaddata: no signals-driven side effects
        return
    if not created:  # a new report is bumped when its first state is announced, in the same
        # transaction (reports.services.report_create, the only way reports are made)
        _bump_after_commit(_locations(instance), using)
    instance.__dict__[_LOADED_AT] = (instance.latitude, instance.longitude)


def _on_report_deleted(instance: Report, using: str, **_: Any) -> None:
    if instance.state not in HIDDEN_STATES:
        _bump_after_commit(_locations(instance), using)


def _on_category_changed(using: str, **_: Any) -> None:
    after_commit(invalidate_all, using=using)


def _on_post_migrate(sender: Any, using: str = DEFAULT_DB_ALIAS, **_: Any) -> None:
    if getattr(sender, "label", None) == "reports":
        spatial_index.repair_spatial_index(using)
