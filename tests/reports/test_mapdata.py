"""The map's viewport endpoint: clusters far out, reports close in, filters, bounds, the tile cache
and its freshness, on SQLite and PostgreSQL alike (run the suite on both)."""

from __future__ import annotations

import importlib
import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from authorities import services as authority_services
from reports import map as mapdata
from reports import services, spatial_index
from reports.map import tiles as map_tiles
from reports.models import Report, ReportState
from tests import factories
from tests.conftest import TinyCity

CITY_BBOX = "0.99,9.99,1.21,10.21"  # the whole tiny city and a little around it; from zoom 13 on
# this box has too many tiles for a finer grid, so its grid stays at zoom 13 (cells ~1.2 km)
CaptureCommits = Callable[..., AbstractContextManager[list[Callable[[], None]]]]


@pytest.fixture(autouse=True)
def _map_cache() -> Iterator[None]:
    # Tiles cached by another test (another database) must never answer this one. A new
    # generation rather than cache.clear(): other test runs may share the Redis database.
    mapdata.connect_signals()
    mapdata.invalidate_all()
    yield
    mapdata.invalidate_all()


def get(client: Client, zoom: int, bbox: str = CITY_BBOX, **params: Any) -> dict[str, Any]:
    response = client.get("/map/reports.json", {"bbox": bbox, "zoom": zoom, **params})
    assert response.status_code == 200, response.content
    data: dict[str, Any] = response.json()
    assert data["type"] == "FeatureCollection"
    return data


def total(data: dict[str, Any]) -> int:
    return sum(f["properties"].get("count", 1) for f in data["features"])


def refs(data: dict[str, Any]) -> set[str]:
    return {f["properties"]["ref"] for f in data["features"] if not f["properties"]["cluster"]}


def clusters(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in data["features"] if f["properties"]["cluster"]]


def around(report: Report, size: float = 0.002) -> str:
    """A street-sized bbox around a report (street zoom keeps its own grid there)."""
    lat, lon = report.latitude, report.longitude
    return f"{lon - size},{lat - size},{lon + size},{lat + size}"


def staff_for(city: TinyCity, report: Report) -> Any:
    return {city.west.pk: city.west_staff, city.east.pk: city.east_staff}.get(
        report.authority_id, city.city_staff
    )


def spread(city: TinyCity, n: int, *, seed: int = 0) -> list[Report]:
    """n reports on a lattice over both districts (pothole) and the north half (bins)."""
    made = []
    for i in range(n):
        lat = 10.003 + (i * 37 % 97) / 97 * 0.19
        lon = 1.003 + (i * 53 % 89) / 89 * 0.19
        category = city.pothole if lat < 10.099 else city.bins
        made.append(factories.report(category, lat, lon, title=f"Report {i}"))
    return made


# --- clusters and reports ----------------------------------------------------------------------


def test_far_out_nearby_reports_come_back_as_one_cluster_at_their_mean_position(
    tiny_city: TinyCity, client: Client
) -> None:
    a = factories.report(tiny_city.pothole, 10.0501, 1.0501)
    b = factories.report(tiny_city.pothole, 10.0503, 1.0504)
    c = factories.report(tiny_city.pothole, 10.0502, 1.0509)

    data = get(client, zoom=12)

    assert len(data["features"]) == 1
    feature = data["features"][0]
    assert feature["properties"] == {"cluster": True, "count": 3}
    lon, lat = feature["geometry"]["coordinates"]
    assert lat == pytest.approx(statistics.mean([a.latitude, b.latitude, c.latitude]), abs=1e-7)
    assert lon == pytest.approx(statistics.mean([a.longitude, b.longitude, c.longitude]), abs=1e-7)


def test_at_street_zoom_the_same_reports_are_single_reports_with_their_details(
    tiny_city: TinyCity, client: Client
) -> None:
    a = factories.report(tiny_city.pothole, 10.0501, 1.0501, title="Deep hole")
    b = factories.report(tiny_city.pothole, 10.0503, 1.0504)
    c = factories.report(tiny_city.bins, 10.0502, 1.0509)

    data = get(client, zoom=17, bbox=around(b))

    assert refs(data) == {a.ref, b.ref, c.ref}
    first = next(f for f in data["features"] if f["properties"]["ref"] == a.ref)
    assert first["geometry"]["coordinates"] == [1.0501, 10.0501]
    assert first["properties"] == {
        "cluster": False,
        "ref": a.ref,
        "title": "Deep hole",
        "state": "open",
        "state_label": "Open",
        "category": "pothole",
        "colour": tiny_city.pothole.colour,
        "url": f"/reports/{a.ref}/",
    }


def test_a_cell_with_one_report_gives_the_report_even_far_out(
    tiny_city: TinyCity, client: Client
) -> None:
    alone = factories.report(tiny_city.pothole, *tiny_city.WEST)
    factories.report(tiny_city.pothole, 10.0301, 1.1501)
    factories.report(tiny_city.pothole, 10.0302, 1.1502)

    data = get(client, zoom=12)

    assert refs(data) == {alone.ref}
    assert [f["properties"]["count"] for f in clusters(data)] == [2]


@pytest.mark.parametrize("zoom", [0, 5, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 25])
def test_counts_add_up_to_the_public_reports_at_every_zoom(
    tiny_city: TinyCity, client: Client, zoom: int
) -> None:
    spread(tiny_city, 40)

    data = get(client, zoom=zoom)

    assert total(data) == 40
    assert len(data["features"]) <= 40


@pytest.mark.parametrize("zoom", [6, 9, 11, 12, 13])
def test_clusters_match_a_plain_python_grouping_on_every_database(
    tiny_city: TinyCity, client: Client, zoom: int
) -> None:
    # The same reference on SQLite and PostgreSQL: both databases give the same answer.
    made = spread(tiny_city, 40)
    cell = 90 / 2**zoom
    groups: dict[tuple[int, int], list[Report]] = defaultdict(list)
    for r in made:
        groups[math.floor((r.longitude + 180) / cell), math.floor((r.latitude + 90) / cell)].append(
            r
        )
    expected = {
        (len(group) if len(group) > 1 else group[0].ref): (
            statistics.mean(r.longitude for r in group),
            statistics.mean(r.latitude for r in group),
        )
        for group in groups.values()
        if len(group) == 1 or sum(len(g) == len(group) for g in groups.values()) == 1
    }  # keyed by ref, or by count where that count is unique

    features = get(client, zoom=zoom)["features"]

    assert len(features) == len(groups)
    found = {f["properties"].get("count") or f["properties"]["ref"]: f for f in features}
    for label, position in expected.items():
        assert found[label]["geometry"]["coordinates"] == pytest.approx(position, abs=1e-7)


@pytest.mark.parametrize("zoom", [11, 13, 15, 16])
def test_any_box_gives_exactly_the_cells_it_touches(
    tiny_city: TinyCity, client: Client, zoom: int
) -> None:
    made = spread(tiny_city, 60)
    made += [factories.report(r.category, r.latitude + 1e-5, r.longitude) for r in made[:9]]
    for i in range(12):
        west, south = 1.0 + (i * 0.37 % 1) * 0.15, 10.0 + (i * 0.61 % 1) * 0.15
        box = (west, south, west + 0.01 + i * 0.004, south + 0.008 + i * 0.003)
        cell = 90 / 2 ** mapdata.grid_for(box, zoom).zoom
        x0, y0 = math.floor((box[0] + 180) / cell), math.floor((box[1] + 90) / cell)
        x1, y1 = math.floor((box[2] + 180) / cell), math.floor((box[3] + 90) / cell)
        groups: dict[tuple[int, int], list[str]] = defaultdict(list)
        for r in made:
            cx, cy = math.floor((r.longitude + 180) / cell), math.floor((r.latitude + 90) / cell)
            if x0 <= cx <= x1 and y0 <= cy <= y1:
                groups[cx, cy].append(r.ref)
        expected = sorted(g[0] if len(g) == 1 else str(len(g)) for g in groups.values())

        data = get(client, zoom=zoom, bbox=",".join(map(str, box)))

        found = sorted(
            f["properties"]["ref"]
            if not f["properties"]["cluster"]
            else str(f["properties"]["count"])
            for f in data["features"]
        )
        assert found == expected, box


def test_clusters_split_as_the_map_zooms_in(tiny_city: TinyCity, client: Client) -> None:
    made = spread(tiny_city, 40)

    sizes = [len(get(client, zoom=z)["features"]) for z in (7, 9, 11, 13)]

    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
    for report in made:
        assert report.ref in refs(get(client, zoom=17, bbox=around(report)))


# --- what is never shown and the filters -----------------------------------------------------


def test_unconfirmed_and_spam_reports_never_appear(tiny_city: TinyCity, client: Client) -> None:
    shown = factories.report(tiny_city.pothole, 10.05, 1.05)
    factories.report(
        tiny_city.pothole, 10.0501, 1.0501, reporter_name="A", reporter_email="a@example.org"
    )
    spam = factories.report(tiny_city.pothole, 10.0502, 1.0502)
    services.report_transition(
        report_id=spam.pk, to_state=ReportState.SPAM, actor=tiny_city.west_staff
    )

    for zoom in (3, 12, 17, 20):
        data = get(client, zoom=zoom)
        assert total(data) == 1
        assert refs(data) == {shown.ref}


@pytest.fixture
def mixed(tiny_city: TinyCity) -> dict[str, Report]:
    """One report in each interesting state and category, at least 0.03 degrees apart: more than
    two cells at the city box's zoom-13 grid, so each is a single report."""
    made = {
        "open": factories.report(tiny_city.pothole, 10.01, 1.01),
        "verified": factories.report(tiny_city.pothole, 10.04, 1.04),
        "in_progress": factories.report(tiny_city.pothole, 10.07, 1.07),
        "fixed": factories.report(tiny_city.pothole, 10.01, 1.13),
        "closed": factories.report(tiny_city.pothole, 10.04, 1.16),
        "duplicate": factories.report(tiny_city.pothole, 10.07, 1.19),
        "bins": factories.report(tiny_city.bins, 10.15, 1.15),
    }
    for state in ("verified", "in_progress", "fixed", "closed"):
        report = made[state]
        services.report_transition(
            report_id=report.pk, to_state=state, actor=staff_for(tiny_city, report)
        )
    services.report_transition(
        report_id=made["duplicate"].pk,
        to_state=ReportState.DUPLICATE,
        actor=tiny_city.east_staff,
        duplicate_of_id=made["fixed"].pk,  # East's too: staff name originals they can see
    )
    return made


ALL = {"open", "verified", "in_progress", "fixed", "closed", "duplicate", "bins"}
OPEN = {"open", "verified", "in_progress", "bins"}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ALL),
        ({"state": "all"}, ALL),
        ({"state": "open"}, OPEN),
        ({"state": "fixed"}, {"fixed", "closed"}),
        ({"category": "bins"}, {"bins"}),
        ({"category": "pothole", "state": "fixed"}, {"fixed", "closed"}),
        ({"category": "pothole,bins", "state": "open"}, OPEN),
        ({"category": ["bins", "pothole"], "state": "open"}, OPEN),
        ({"category": " bins , pothole ", "state": "open"}, OPEN),
        ({"category": "", "state": "", "age": ""}, ALL),
    ],
)
def test_state_and_category_filters(
    mixed: dict[str, Report], client: Client, params: dict[str, Any], expected: set[str]
) -> None:
    data = get(client, zoom=17, **params)

    assert refs(data) == {mixed[name].ref for name in expected}
    assert total(get(client, zoom=8, **params)) == len(expected)


def test_age_filter_keeps_reports_created_within_that_many_days(
    tiny_city: TinyCity, client: Client
) -> None:
    now = timezone.now()
    new = factories.report(tiny_city.pothole, 10.01, 1.01, at=now - timedelta(days=2))
    factories.report(tiny_city.pothole, 10.05, 1.05, at=now - timedelta(days=9))

    assert refs(get(client, zoom=17, age="7")) == {new.ref}
    assert total(get(client, zoom=10, age="7")) == 1
    assert total(get(client, zoom=10, age="10")) == 2


def test_map_filters_apply_to_a_queryset_like_the_map(
    mixed: dict[str, Report], tiny_city: TinyCity
) -> None:
    filters = mapdata.MapFilters(categories=(tiny_city.pothole.pk,), state="open")

    found = filters.apply(Report.objects.all())

    assert set(found.values_list("ref", flat=True)) == {
        mixed[s].ref for s in ("open", "verified", "in_progress")
    }


# --- the bounding box ----------------------------------------------------------------------


def test_bbox_edges_are_inclusive_and_far_away_reports_are_left_out(
    tiny_city: TinyCity, client: Client
) -> None:
    corner = factories.report(tiny_city.pothole, 10.02, 1.02)
    inside = factories.report(tiny_city.pothole, 10.03, 1.03)
    east = factories.report(tiny_city.pothole, 10.03, 1.15)  # ~0.1 degree beyond the east edge
    north = factories.report(tiny_city.bins, 10.15, 1.03)

    data = get(client, zoom=17, bbox="1.02,10.02,1.05,10.05")

    assert refs(data) == {corner.ref, inside.ref}
    assert not refs(data) & {east.ref, north.ref}


def test_reports_just_past_the_edge_in_a_cell_the_box_touches_are_included(
    tiny_city: TinyCity, client: Client
) -> None:
    # At zoom 17 a cell is 90 / 2**17 = 0.00069 degrees: whole cells are answered, so the map
    # already has the markers a short pan will show.
    near = factories.report(tiny_city.pothole, 10.03, 1.050001)

    assert refs(get(client, zoom=17, bbox="1.02,10.02,1.05,10.05")) == {near.ref}


def test_a_zoomed_out_world_bbox_is_clamped_not_refused(
    tiny_city: TinyCity, client: Client
) -> None:
    spread(tiny_city, 5)

    assert total(get(client, zoom=0, bbox="-540,-100,540,100")) == 5
    assert total(get(client, zoom=2, bbox="-180,-90,180,90")) == 5


def test_a_fractional_or_very_deep_zoom_is_accepted(tiny_city: TinyCity, client: Client) -> None:
    made = spread(tiny_city, 3)

    assert total(get(client, zoom="12.6")) == 3  # type: ignore[arg-type]
    assert refs(get(client, zoom=30)) == {r.ref for r in made}


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"zoom": "12"}, "invalid"),
        ({"bbox": "", "zoom": "12"}, "invalid"),
        ({"bbox": "1,2,3", "zoom": "12"}, "invalid"),
        ({"bbox": "1,2,3,4,5", "zoom": "12"}, "invalid"),
        ({"bbox": "a,b,c,d", "zoom": "12"}, "invalid"),
        ({"bbox": "nan,10,1.2,10.2", "zoom": "12"}, "invalid"),
        ({"bbox": "1,10,inf,10.2", "zoom": "12"}, "invalid"),
        ({"bbox": "1.2,10,1.0,10.2", "zoom": "12"}, "invalid"),  # west > east
        ({"bbox": "1,10.2,1.2,10.0", "zoom": "12"}, "invalid"),  # south > north
        ({"bbox": CITY_BBOX}, "invalid_zoom"),
        ({"bbox": CITY_BBOX, "zoom": "far"}, "invalid_zoom"),
        ({"bbox": CITY_BBOX, "zoom": "-1"}, "invalid_zoom"),
        ({"bbox": CITY_BBOX, "zoom": "31"}, "invalid_zoom"),
        ({"bbox": CITY_BBOX, "zoom": "nan"}, "invalid_zoom"),
        ({"bbox": CITY_BBOX, "zoom": "12", "state": "broken"}, "invalid_state"),
        ({"bbox": CITY_BBOX, "zoom": "12", "category": "no-such"}, "unknown_category"),
        ({"bbox": CITY_BBOX, "zoom": "12", "category": "bins,no-such"}, "unknown_category"),
        ({"bbox": CITY_BBOX, "zoom": "12", "age": "0"}, "invalid_age"),
        ({"bbox": CITY_BBOX, "zoom": "12", "age": "-3"}, "invalid_age"),
        ({"bbox": CITY_BBOX, "zoom": "12", "age": "week"}, "invalid_age"),
        ({"bbox": CITY_BBOX, "zoom": "12", "age": "99999999999"}, "invalid_age"),
    ],
)
def test_bad_input_is_a_400_with_a_clear_error(
    tiny_city: TinyCity, client: Client, params: dict[str, str], code: str
) -> None:
    response = client.get("/map/reports.json", params)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]


def test_only_get_is_allowed(tiny_city: TinyCity, client: Client) -> None:
    assert client.post("/map/reports.json", {"bbox": CITY_BBOX, "zoom": 12}).status_code == 405


# --- the response is bounded -------------------------------------------------------------------


def _bulk_reports(city: TinyCity, n: int, columns: int) -> None:
    """n reports on a regular lattice, written directly: thousands through the service would
    make the test slow, and the grid only needs rows (the R*Tree's triggers still fire)."""
    now = timezone.now()
    Report.objects.bulk_create(
        Report(
            ref=f"B{i:06d}",
            title=f"Bulk {i}",
            description="-",
            category=city.bins,
            latitude=10.0 + (i // columns + 0.5) * 0.2 / (n / columns),
            longitude=1.0 + (i % columns + 0.5) * 0.2 / columns,
            authority=city.city,
            state=ReportState.OPEN,
            created_at=now,
            updated_at=now,
        )
        for i in range(n)
    )


@pytest.mark.parametrize(
    ("zoom", "bbox"),
    [(17, CITY_BBOX), (20, CITY_BBOX), (20, "-180,-90,180,90"), (14, CITY_BBOX), (11, CITY_BBOX)],
)
def test_the_response_is_bounded_with_many_reports(
    tiny_city: TinyCity, client: Client, zoom: int, bbox: str
) -> None:
    _bulk_reports(tiny_city, 3600, columns=60)

    data = get(client, zoom=zoom, bbox=bbox)

    assert len(data["features"]) <= mapdata.MAX_FEATURES <= 1536
    assert total(data) == 3600


def test_a_street_level_view_of_a_dense_spot_stays_bounded(
    tiny_city: TinyCity, client: Client
) -> None:
    _bulk_reports(tiny_city, 3600, columns=60)

    data = get(client, zoom=19, bbox="1.0,10.0,1.01,10.01")

    assert 0 < len(data["features"]) <= mapdata.MAX_FEATURES
    assert total(data) == sum(
        1
        for lat, lon in Report.objects.values_list("latitude", "longitude")
        if 10.0 <= lat <= 10.011 and 1.0 <= lon <= 1.011  # the box's cells reach a little past
    )


# --- the cache and its freshness ---------------------------------------------------------------


def test_a_cache_miss_costs_two_queries_and_a_hit_none(
    tiny_city: TinyCity, client: Client, django_assert_num_queries: Any
) -> None:
    spread(tiny_city, 12)
    params: dict[str, Any] = {"bbox": CITY_BBOX, "zoom": 14, "state": "open"}

    with django_assert_num_queries(2):  # the grouped cells, the single reports' details
        first = client.get("/map/reports.json", params).json()
    with django_assert_num_queries(0):
        second = client.get("/map/reports.json", params).json()

    assert first == second and total(first) == 12


def test_a_miss_with_only_clusters_costs_one_query(
    tiny_city: TinyCity, client: Client, django_assert_num_queries: Any
) -> None:
    for i in range(4):
        factories.report(tiny_city.pothole, 10.05 + i * 1e-4, 1.05)

    with django_assert_num_queries(1):
        data = get(client, zoom=12)

    assert [f["properties"]["count"] for f in data["features"]] == [4]


def test_a_category_filter_costs_one_query_for_the_slugs_then_none(
    tiny_city: TinyCity, client: Client, django_assert_num_queries: Any
) -> None:
    spread(tiny_city, 6)

    with django_assert_num_queries(3):
        get(client, zoom=17, category="bins,pothole")
    with django_assert_num_queries(0):
        get(client, zoom=17, category="pothole,bins")


def test_a_tile_another_process_recomputed_is_taken_from_the_shared_cache(
    tiny_city: TinyCity,
    client: Client,
    django_capture_on_commit_callbacks: CaptureCommits,
    django_assert_num_queries: Any,
) -> None:
    spread(tiny_city, 6)
    get(client, zoom=12)
    old_copies = dict(map_tiles._local._items)  # this process's tiles, soon out of date
    with django_capture_on_commit_callbacks(execute=True):
        factories.report(tiny_city.bins, 10.15, 1.15)
    map_tiles._local.clear()
    assert total(get(client, zoom=12)) == 7  # "another process" recomputes and shares them
    map_tiles._local._items.update(old_copies)

    with django_assert_num_queries(0):
        assert total(get(client, zoom=12)) == 7


def test_the_cache_really_answers_until_a_change_is_announced(
    tiny_city: TinyCity, client: Client
) -> None:
    spread(tiny_city, 4)
    assert total(get(client, zoom=12)) == 4
    _bulk_reports(tiny_city, 10, columns=5)  # no signals: the cache cannot know

    assert total(get(client, zoom=12)) == 4
    mapdata.invalidate_all()
    assert total(get(client, zoom=12)) == 14


def test_a_new_report_is_on_the_map_at_once(
    tiny_city: TinyCity, client: Client, django_capture_on_commit_callbacks: CaptureCommits
) -> None:
    spread(tiny_city, 10)
    before = {z: get(client, zoom=z) for z in (5, 12, 14, 17)}

    with django_capture_on_commit_callbacks(execute=True):
        new = factories.report(tiny_city.pothole, 10.0777, 1.0777)

    for zoom, data in before.items():
        after = get(client, zoom=zoom)
        assert total(after) == total(data) + 1
    assert new.ref in refs(get(client, zoom=17, bbox=around(new)))


def test_a_state_change_shows_at_once_with_the_cache_in_use(
    tiny_city: TinyCity, client: Client, django_capture_on_commit_callbacks: CaptureCommits
) -> None:
    reports = spread(tiny_city, 10)
    target = next(r for r in reports if r.category_id == tiny_city.pothole.pk)
    staff = staff_for(tiny_city, target)
    assert target.ref in refs(get(client, zoom=17, bbox=around(target), state="open"))
    assert total(get(client, zoom=11, state="fixed")) == 0

    with django_capture_on_commit_callbacks(execute=True):
        services.report_transition(report_id=target.pk, to_state=ReportState.FIXED, actor=staff)

    assert target.ref not in refs(get(client, zoom=17, bbox=around(target), state="open"))
    assert total(get(client, zoom=11, state="open")) == 9
    assert total(get(client, zoom=11, state="fixed")) == 1
    shown = get(client, zoom=17, bbox=around(target))["features"]
    fixed = next(f for f in shown if f["properties"]["ref"] == target.ref)
    assert fixed["properties"]["state"] == "fixed"


def test_marking_a_report_as_spam_hides_it_at_once(
    tiny_city: TinyCity, client: Client, django_capture_on_commit_callbacks: CaptureCommits
) -> None:
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    assert refs(get(client, zoom=16)) == {report.ref}

    with django_capture_on_commit_callbacks(execute=True):
        services.report_transition(
            report_id=report.pk, to_state=ReportState.SPAM, actor=tiny_city.west_staff
        )

    assert get(client, zoom=16)["features"] == []


def test_no_bump_before_commit_and_none_after_a_rollback(
    tiny_city: TinyCity, client: Client, django_capture_on_commit_callbacks: CaptureCommits
) -> None:
    assert get(client, zoom=12)["features"] == []

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        factories.report(tiny_city.pothole, *tiny_city.WEST)

    # Recomputing now would see the uncommitted row (same connection); the bump waits for commit.
    assert get(client, zoom=12)["features"] == []
    assert callbacks


def test_a_moved_report_leaves_its_old_tile_and_appears_in_the_new_one(
    tiny_city: TinyCity, client: Client, django_capture_on_commit_callbacks: CaptureCommits
) -> None:
    report = factories.report(tiny_city.bins, 10.01, 1.01)
    old_box, new_box = "1.0,10.0,1.02,10.02", "1.17,10.17,1.2,10.2"
    assert refs(get(client, zoom=16, bbox=old_box)) == {report.ref}
    assert refs(get(client, zoom=16, bbox=new_box)) == set()

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        moved = Report.objects.select_for_update().get(pk=report.pk)
        moved.latitude, moved.longitude = 10.18, 1.18
        moved.save(update_fields=["latitude", "longitude"])

    assert refs(get(client, zoom=16, bbox=old_box)) == set()
    assert refs(get(client, zoom=16, bbox=new_box)) == {report.ref}


def test_an_edited_title_shows_at_once(
    tiny_city: TinyCity, client: Client, django_capture_on_commit_callbacks: CaptureCommits
) -> None:
    report = factories.report(tiny_city.pothole, *tiny_city.WEST, title="Old title")
    assert get(client, zoom=17)["features"][0]["properties"]["title"] == "Old title"

    with django_capture_on_commit_callbacks(execute=True):
        services.report_edit(
            report_id=report.pk,
            user=report.reporter,  # type: ignore[arg-type]
            title="New title",
            description="Still deep.",
            show_name=False,
        )

    assert get(client, zoom=17)["features"][0]["properties"]["title"] == "New title"


def test_a_category_colour_change_shows_at_once(
    tiny_city: TinyCity, client: Client, django_capture_on_commit_callbacks: CaptureCommits
) -> None:
    factories.report(tiny_city.pothole, *tiny_city.WEST)
    assert get(client, zoom=17)["features"][0]["properties"]["colour"] != "#123456"

    with django_capture_on_commit_callbacks(execute=True):
        authority_services.category_upsert(
            slug="pothole", name="Pothole", group="Roads", colour="#123456"
        )

    assert get(client, zoom=17)["features"][0]["properties"]["colour"] == "#123456"


def test_a_new_category_can_be_filtered_on_at_once(
    tiny_city: TinyCity, client: Client, django_capture_on_commit_callbacks: CaptureCommits
) -> None:
    get(client, zoom=12, category="bins")  # caches the slugs

    with django_capture_on_commit_callbacks(execute=True):
        factories.CategoryFactory.create(slug="graffiti", name="Graffiti")

    assert get(client, zoom=12, category="graffiti")["features"] == []


# --- the spatial index -------------------------------------------------------------------------


def test_the_spatial_index_exists_and_follows_the_reports(tiny_city: TinyCity) -> None:
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'report_point_gist'")
            assert "gist (point(longitude, latitude))" in cursor.fetchone()[0]
            return
        cursor.execute(
            "SELECT min_lon, min_lat FROM reports_report_rtree WHERE id = %s", [report.pk]
        )
        assert cursor.fetchone() == pytest.approx((1.05, 10.05), abs=1e-5)
        Report.objects.filter(pk=report.pk).update(latitude=10.07, longitude=1.07)
        cursor.execute(
            "SELECT min_lon, min_lat FROM reports_report_rtree WHERE id = %s", [report.pk]
        )
        assert cursor.fetchone() == pytest.approx((1.07, 10.07), abs=1e-5)
        Report.objects.filter(pk=report.pk).delete()
        cursor.execute("SELECT count(*) FROM reports_report_rtree")
        assert cursor.fetchone() == (0,)


def test_the_migration_is_reversible_and_fills_the_index_from_existing_reports(
    tiny_city: TinyCity, client: Client
) -> None:
    migration = importlib.import_module("reports.migrations.0002_report_spatial_index")
    with connection.cursor() as cursor:
        editor = SimpleNamespace(connection=connection, execute=cursor.execute)
        migration.backwards(None, editor)
        assert _spatial_index_objects(cursor) == 0
        report = factories.report(tiny_city.pothole, *tiny_city.WEST)  # no index to keep in sync
        if connection.vendor == "postgresql":  # the test's transaction has deferred FK checks
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        migration.forwards(None, editor)
        assert _spatial_index_objects(cursor) == (1 if connection.vendor == "postgresql" else 4)

    assert refs(get(client, zoom=17)) == {report.ref}


def _spatial_index_objects(cursor: Any) -> int:
    if connection.vendor == "postgresql":
        cursor.execute("SELECT count(*) FROM pg_indexes WHERE indexname = 'report_point_gist'")
    else:
        names = [
            "reports_report_rtree",
            *(f"reports_report_rtree_{t}" for t in ("ins", "upd", "del")),
        ]
        cursor.execute("SELECT count(*) FROM sqlite_master WHERE name IN (%s, %s, %s, %s)", names)
    return int(cursor.fetchone()[0])


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's R*Tree triggers only")
def test_lost_rtree_triggers_are_repaired(tiny_city: TinyCity, client: Client) -> None:
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER reports_report_rtree_ins")
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    assert get(client, zoom=17)["features"] == []

    assert spatial_index.repair_spatial_index() is True
    assert spatial_index.repair_spatial_index() is False
    mapdata.invalidate_all()

    assert refs(get(client, zoom=17)) == {report.ref}
