"""The map's rollup (reports.MapCell, reports.map.rollup): kept exact by PostgreSQL's triggers on
every kind of write, without deadlocks, and giving the map the same answer as the live query."""

from __future__ import annotations

import math
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from authorities.models import Category
from reports import map as mapdata
from reports.map import rollup, tiles
from reports.map.grid import Grid
from reports.map.query import STATE_GROUPS, MapFilters
from reports.models import HIDDEN_STATES, MapCell, Report, ReportState
from tests import factories
from tests.conftest import TinyCity

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the rollup is kept by PostgreSQL triggers"
)

Key = tuple[int, int, int, int, int]  # zoom, x, y, category, state group
Sums = tuple[int, float, float, int]  # n, latitude sum, longitude sum, id sum


@pytest.fixture(autouse=True)
def _map_cache() -> Iterator[None]:
    mapdata.invalidate_all()
    yield
    mapdata.invalidate_all()


def _group(state: str) -> int:
    """The state group the map's state filter puts a public report's state in."""
    for name, code in rollup.STATE_GROUP.items():
        if state in STATE_GROUPS[name]:
            return code
    return rollup.OTHER


def expected_cells() -> dict[Key, Sums]:
    """The rollup computed in Python from the public reports, with grid.py's arithmetic."""
    found: dict[Key, list[float]] = defaultdict(lambda: [0, 0.0, 0.0, 0])
    for report in Report.objects.public():
        for zoom in range(rollup.ROLLUP_ZOOM + 1):
            x, y = Grid(zoom).cell_of(report.latitude, report.longitude)
            sums = found[zoom, x, y, report.category_id, _group(report.state)]
            sums[0] += 1
            sums[1] += report.latitude
            sums[2] += report.longitude
            sums[3] += report.pk
    return {key: (int(s[0]), s[1], s[2], int(s[3])) for key, s in found.items()}


def rollup_cells() -> dict[Key, Sums]:
    return {
        (c.zoom, c.x, c.y, c.category_id, c.state_group): (
            c.n,
            c.latitude_sum,
            c.longitude_sum,
            c.id_sum,
        )
        for c in MapCell.objects.all()
    }


def assert_rollup_exact() -> None:
    expected, kept = expected_cells(), rollup_cells()
    assert sorted(kept) == sorted(expected)  # the same cells: none missing, none left at 0
    for key, (n, lat, lon, ids) in expected.items():
        got = kept[key]
        assert (got[0], got[3]) == (n, ids), key
        assert math.isclose(got[1], lat, rel_tol=1e-12), key
        assert math.isclose(got[2], lon, rel_tol=1e-12), key


def _new_reports(city: TinyCity, places: list[tuple[float, float]], **fields: Any) -> list[Report]:
    """Reports written in one INSERT statement (the trigger sees them together)."""
    now = timezone.now()
    start = Report.objects.count()
    made = [
        Report(
            ref=f"R{start + i:07d}",
            title=f"Report {start + i}",
            description="-",
            category=fields.get("category", city.pothole),
            latitude=lat,
            longitude=lon,
            authority=city.city,
            state=fields.get("state", ReportState.OPEN),
            is_private=fields.get("is_private", False),
            created_at=now,
            updated_at=now,
        )
        for i, (lat, lon) in enumerate(places)
    ]
    return Report.objects.bulk_create(made)


def _random_places(rng: random.Random, n: int) -> list[tuple[float, float]]:
    """Points in and around the tiny city, some on a cell's corner at some zoom (so on an edge at
    every finer one), some a double short of one, and a few anywhere on Earth."""
    places = []
    for _ in range(n):
        kind = rng.random()
        lat, lon = rng.uniform(10.0, 10.2), rng.uniform(1.0, 1.2)
        grid = Grid(rng.randrange(0, rollup.ROLLUP_ZOOM + 1))
        x, y = grid.cell_of(lat, lon)
        if kind < 0.55:
            places.append((lat, lon))
        elif kind < 0.75:
            places.append((y * grid.cell - 90.0, x * grid.cell - 180.0))
        elif kind < 0.9:
            below = math.nextafter(x * grid.cell - 180.0, -math.inf)
            places.append((math.nextafter(y * grid.cell - 90.0, -math.inf), below))
        else:
            places.append((rng.uniform(-90, 90), rng.uniform(-180, 180)))
    return places


# --- the counts -----------------------------------------------------------------------------


def test_every_state_counts_in_the_state_group_the_map_filters_it_by(db: None) -> None:
    with connection.cursor() as cursor:
        for state in ReportState.values:
            for private in (False, True):
                cursor.execute("SELECT fixpoint_map_group(%s, %s)", [state, private])
                hidden = private or state in HIDDEN_STATES
                assert cursor.fetchone()[0] == (None if hidden else _group(state)), state
    # "all" is the three groups together: the read sums them without a filter.
    public = {s for s in ReportState.values if s not in HIDDEN_STATES}
    assert set(STATE_GROUPS["all"]) == public


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_rollup_equals_the_live_grouping_after_every_kind_of_write(
    tiny_city: TinyCity, seed: int
) -> None:
    rng = random.Random(seed)
    reports = _new_reports(tiny_city, _random_places(rng, 60))
    reports += _new_reports(tiny_city, _random_places(rng, 20), category=tiny_city.bins)
    reports.append(factories.report(tiny_city.pothole, *tiny_city.WEST))  # one at a time
    assert_rollup_exact()

    for report in rng.sample(reports, 30):  # state changes, one statement each
        state = rng.choice(ReportState.values)
        Report.objects.filter(pk=report.pk).update(state=state)
    assert_rollup_exact()

    some = [r.pk for r in rng.sample(reports, 25)]  # one statement moving many
    Report.objects.filter(pk__in=some).update(state=ReportState.FIXED)
    assert_rollup_exact()

    for report in rng.sample(reports, 20):  # moves: to another cell, or within its cell
        lat, lon = _random_places(rng, 1)[0] if rng.random() < 0.7 else (0, 0)
        moved = Report.objects.get(pk=report.pk)
        if (lat, lon) == (0, 0):
            lat, lon = moved.latitude + 1e-9, moved.longitude - 1e-9
        moved.latitude, moved.longitude = lat, lon
        moved.save(update_fields=["latitude", "longitude"])
    assert_rollup_exact()

    for report in rng.sample(reports, 15):  # re-categorised
        Report.objects.filter(pk=report.pk).update(
            category=rng.choice([tiny_city.pothole, tiny_city.bins])
        )
    assert_rollup_exact()

    for report in rng.sample(reports, 15):  # made private, and some public again
        Report.objects.filter(pk=report.pk).update(is_private=True)
    Report.objects.filter(pk__in=[r.pk for r in reports[:40]]).update(is_private=False)
    assert_rollup_exact()

    Report.objects.filter(pk__in=[r.pk for r in rng.sample(reports, 30)]).delete()
    assert_rollup_exact()

    Report.objects.update(updated_at=timezone.now())  # changes nothing the map shows
    assert_rollup_exact()


def test_a_cell_whose_last_report_leaves_is_deleted(tiny_city: TinyCity) -> None:
    reports = _new_reports(tiny_city, [(10.05, 1.05), (10.05, 1.05), (10.15, 1.15)])
    assert MapCell.objects.filter(zoom=17).count() == 2

    Report.objects.filter(pk=reports[2].pk).update(state=ReportState.SPAM)
    Report.objects.filter(pk=reports[0].pk).delete()

    assert MapCell.objects.filter(zoom=17).count() == 1
    assert set(MapCell.objects.values_list("n", "id_sum")) == {(1, reports[1].pk)}
    Report.objects.all().delete()
    assert not MapCell.objects.exists()


def test_a_rebuild_counts_what_the_triggers_counted(tiny_city: TinyCity) -> None:
    _new_reports(tiny_city, _random_places(random.Random(7), 80))
    Report.objects.filter(pk__in=Report.objects.values("pk")[:10]).update(is_private=True)
    kept = rollup_cells()

    rows = rollup.map_rollup_rebuild()

    assert rows == len(kept)
    assert rollup_cells().keys() == kept.keys()
    assert_rollup_exact()


# --- the map's answer ---------------------------------------------------------------------------


def _tiles(
    grid: Grid, filters: MapFilters, monkeypatch: pytest.MonkeyPatch, *, live: bool
) -> dict[Any, Any]:
    box = (0.9, 9.9, 1.3, 10.3)
    wanted = grid.tiles(box) if grid.tile_count(box) <= 24 else [grid.tile_of(10.1, 1.1)]
    with monkeypatch.context() as patched:
        if live:
            patched.setattr(tiles, "rollup_serves", lambda *_: False)
        return tiles._compute_tiles(grid, wanted, filters, timezone.now())


@pytest.mark.parametrize("state", ["all", "open", "fixed"])
def test_the_rollup_and_the_live_query_give_the_same_features_at_every_grid_zoom(
    tiny_city: TinyCity, state: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(11)
    places = [(rng.uniform(10.0, 10.2), rng.uniform(1.0, 1.2)) for _ in range(150)]
    places += [(10.1 + rng.gauss(0, 1e-4), 1.1 + rng.gauss(0, 1e-4)) for _ in range(40)]
    reports = _new_reports(tiny_city, places)
    for report in rng.sample(reports, 90):
        Report.objects.filter(pk=report.pk).update(
            state=rng.choice(ReportState.values),
            category=rng.choice([tiny_city.pothole, tiny_city.bins]),
        )
    both = (tiny_city.bins.pk, tiny_city.pothole.pk)

    for zoom in range(rollup.ROLLUP_ZOOM + 1):
        for categories in ((), (tiny_city.bins.pk,), both):
            filters = MapFilters(categories=categories, state=state)
            grid = Grid(zoom)
            rolled = _tiles(grid, filters, monkeypatch, live=False)
            live = _tiles(grid, filters, monkeypatch, live=True)
            assert rolled == live, (zoom, categories)
    assert any(t[0] for t in live.values())  # features were compared, not empty tiles


def test_the_map_reads_the_rollup_up_to_zoom_18_without_an_age_filter(
    tiny_city: TinyCity,
) -> None:
    _new_reports(tiny_city, [(10.05, 1.05), (10.05, 1.0501)])
    read: list[str] = []

    def record(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        read.append(sql)
        return execute(sql, *args)

    with connection.execute_wrapper(record):
        for zoom, age in ((17, None), (12, None), (18, None), (19, None), (12, 30)):
            read.clear()
            mapdata.invalidate_all()
            mapdata.viewport(  # a street's width: zooms 18 and 19 keep their own grids
                west=1.049, south=10.049, east=1.051, north=10.051, zoom=zoom,
                filters=MapFilters(max_age_days=age),
            )  # fmt: skip
            from_rollup = "reports_mapcell" in read[0]
            assert from_rollup == (zoom <= rollup.ROLLUP_ZOOM and age is None), (zoom, age)


# --- concurrency -----------------------------------------------------------------------------


def _waiting_for_a_lock(pid: int) -> bool:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


def _wait_until(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 20
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.django_db(transaction=True)
def test_two_transactions_filing_in_the_same_cells_in_opposite_orders_do_not_deadlock(
    tiny_city: TinyCity,
) -> None:
    """Each transaction files a western report (pothole) and an eastern one (bins) in one
    statement, in opposite orders. Taking the cells' locks in the statement's row order, as a
    row-level trigger would, the first would hold the pothole rows and wait for the bins rows
    the second holds while it waits for the pothole rows: a deadlock. A third transaction holds
    the western report's zoom-17 cell so that both statements are under way at once."""
    west, east = (10.05, 1.05), (10.05, 1.15)
    _new_reports(tiny_city, [west])  # the cell the third transaction holds exists
    x, y = Grid(17).cell_of(*west)
    holder = connections.create_connection("default")
    holder.set_autocommit(False)
    with holder.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM reports_mapcell WHERE zoom = 17 AND x = %s AND y = %s"
            " AND category_id = %s FOR UPDATE",
            [x, y, tiny_city.pothole.pk],
        )
    pids: dict[str, int] = {}
    errors: list[BaseException] = []

    def file(name: str, places: list[tuple[tuple[float, float], Category]]) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pids[name] = cursor.fetchone()[0]
            with transaction.atomic():
                now = timezone.now()
                Report.objects.bulk_create(
                    Report(
                        ref=f"{name}{i}", title=name, description="-", category=category,
                        latitude=lat, longitude=lon, authority=tiny_city.city,
                        state=ReportState.OPEN, created_at=now, updated_at=now,
                    )
                    for i, ((lat, lon), category) in enumerate(places)
                )  # fmt: skip
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    first = threading.Thread(
        target=file, args=("A", [(west, tiny_city.pothole), (east, tiny_city.bins)])
    )
    second = threading.Thread(
        target=file, args=("B", [(east, tiny_city.bins), (west, tiny_city.pothole)])
    )
    first.start()
    _wait_until(lambda: "A" in pids and _waiting_for_a_lock(pids["A"]))
    second.start()
    _wait_until(lambda: "B" in pids and _waiting_for_a_lock(pids["B"]))
    holder.rollback()
    holder.close()
    first.join(30)
    second.join(30)

    assert errors == []
    assert Report.objects.count() == 5
    assert_rollup_exact()
