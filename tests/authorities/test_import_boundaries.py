"""manage.py import_boundaries: creates or updates, reports counts, refuses bad files whole."""

from __future__ import annotations

import json
import logging
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from authorities import routing
from authorities.models import Authority
from tests import factories
from tests.conftest import BARCELONA, barcelona_geojson


def _write(tmp_path: Path, data: Any, name: str = "in.geojson") -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


def _feature(name: str, geometry: dict[str, Any], code: str = "") -> dict[str, Any]:
    return {"type": "Feature", "properties": {"NOM": name, "CODE": code}, "geometry": geometry}


def _collection(*features: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features), **extra}


def _snapshot() -> list[tuple[Any, ...]]:
    return list(Authority.objects.order_by("pk").values_list("pk", "name", "code", "boundary"))


@pytest.fixture
def city(db: None) -> Authority:
    return factories.authority("Barcelona", None, slug="barcelona")


def test_import_creates_one_authority_per_feature_and_reports_counts(city):
    out = StringIO()

    call_command(
        "import_boundaries",
        str(BARCELONA / "districtes.geojson"),
        "--name-field",
        "NOM",
        "--code-field",
        "CODI_UA",
        "--parent",
        "barcelona",
        stdout=out,
    )

    assert "10 features: 10 authorities created, 0 updated" in out.getvalue()
    districts = Authority.objects.filter(parent=city)
    assert districts.count() == 10
    assert districts.get(code="02").name == "Eixample"
    assert districts.get(code="02").kind == "district"
    assert routing.locate(41.4036, 2.1744).authorities[0].slug == "eixample"


def test_reimport_updates_matching_by_code_even_when_renamed(city, tmp_path):
    path = str(BARCELONA / "districtes.geojson")
    args = ["--name-field", "NOM", "--code-field", "CODI_UA", "--parent", "barcelona"]
    call_command("import_boundaries", path, *args, stdout=StringIO())
    renamed = barcelona_geojson("districtes")
    renamed = {**renamed, "features": [dict(f) for f in renamed["features"]]}
    renamed["features"][1] = {
        **renamed["features"][1],
        "properties": {**renamed["features"][1]["properties"], "NOM": "L'Eixample"},
    }
    out = StringIO()

    call_command("import_boundaries", _write(tmp_path, renamed), *args, stdout=out)

    assert "0 authorities created, 10 updated" in out.getvalue()
    assert Authority.objects.get(code="02", parent=city).name == "L'Eixample"
    assert Authority.objects.filter(parent=city).count() == 10


def test_without_a_code_field_authorities_are_matched_by_name(city, tmp_path):
    path = _write(tmp_path, _collection(_feature("North", factories.square(1, 1, 1))))
    call_command("import_boundaries", path, "--name-field", "NOM", stdout=StringIO())
    out = StringIO()

    call_command("import_boundaries", path, "--name-field", "NOM", stdout=out)

    assert "0 authorities created, 1 updated" in out.getvalue()
    assert Authority.objects.filter(name="North").count() == 1


def test_a_large_file_shows_progress(city):
    err = StringIO()

    call_command(
        "import_boundaries",
        str(BARCELONA / "barris.geojson"),
        "--name-field",
        "NOM",
        "--code-field",
        "CODI_UA",
        "--parent",
        "barcelona",
        "--kind",
        "agency",
        stdout=StringIO(),
        stderr=err,
    )

    assert "73/73 features" in err.getvalue()
    assert err.getvalue().count("features") >= 10


def test_a_self_intersecting_ring_is_repaired_and_logged(city, tmp_path, caplog):
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    out = StringIO()

    with caplog.at_level(logging.WARNING, logger="authorities.geometry"):
        call_command(
            "import_boundaries",
            _write(tmp_path, _collection(_feature("Bow", bowtie))),
            "--name-field",
            "NOM",
            stdout=out,
        )

    assert "1 boundaries repaired" in out.getvalue()
    assert "Self-intersection" in caplog.text
    stored = Authority.objects.get(name="Bow").boundary
    assert stored["type"] == "MultiPolygon"


BAD_FILES = {
    "missing file": (None, "does not exist"),
    "invalid JSON": ("{not json", "is not valid JSON"),
    "not a FeatureCollection": ({"type": "Feature"}, "not a GeoJSON FeatureCollection"),
    "unknown name field": (
        _collection(_feature("A", factories.square(1, 1, 1)))
        | {
            "features": [
                {
                    "type": "Feature",
                    "properties": {"NAME": "A"},
                    "geometry": factories.square(1, 1, 1),
                }
            ]
        },
        "has no property 'NOM'",
    ),
    "projected CRS": (
        _collection(
            _feature("A", factories.square(1, 1, 1)),
            crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25831"}},
        ),
        "reproject it to WGS84",
    ),
    "metre coordinates without a CRS": (
        _collection(_feature("A", factories.square(430000, 4580000, 1000))),
        "coordinates out of range",
    ),
    "a point feature": (
        _collection(_feature("A", {"type": "Point", "coordinates": [2, 41]})),
        "is a Point, not a Polygon",
    ),
    "a feature without geometry": (
        _collection(_feature("A", None)),  # type: ignore[arg-type]
        "geometry is missing",
    ),
    "malformed coordinates": (
        _collection(_feature("A", {"type": "Polygon", "coordinates": [[[1, 2], "x"]]})),
        "coordinates are malformed",
    ),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_bad_file_is_refused_with_one_clear_line_and_changes_nothing(city, tmp_path, case):
    content, message = BAD_FILES[case]
    # A good feature first: the bad one must not leave it half-imported.
    if isinstance(content, dict) and content.get("type") == "FeatureCollection":
        content = {
            **content,
            "features": [_feature("Good", factories.square(0, 0, 1)), *content["features"]],
        }
    path = str(tmp_path / "nope.geojson") if content is None else _write(tmp_path, content)
    before = _snapshot()

    with pytest.raises(CommandError) as excinfo:
        call_command("import_boundaries", path, "--name-field", "NOM", stdout=StringIO())

    assert message in str(excinfo.value)
    assert str(excinfo.value).startswith("Nothing imported:")
    assert "\n" not in str(excinfo.value)
    assert _snapshot() == before


def test_an_unknown_parent_is_refused(city, tmp_path):
    path = _write(tmp_path, _collection(_feature("A", factories.square(1, 1, 1))))

    with pytest.raises(CommandError, match="no authority with slug 'atlantis'"):
        call_command("import_boundaries", path, "--name-field", "NOM", "--parent", "atlantis")


def test_a_bad_feature_names_its_position_and_name(city, tmp_path):
    data = _collection(
        _feature("Good", factories.square(0, 0, 1)),
        _feature("Broken", {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}),
    )

    with pytest.raises(CommandError, match=r"feature 2 \('Broken'\)"):
        call_command("import_boundaries", _write(tmp_path, data), "--name-field", "NOM")


def test_neighbourhoods_sharing_district_codes_do_not_overwrite_the_districts(city):
    common = ["--name-field", "NOM", "--code-field", "CODI_UA", "--parent", "barcelona"]
    call_command(
        "import_boundaries", str(BARCELONA / "districtes.geojson"), *common, stdout=StringIO()
    )

    call_command(
        "import_boundaries",
        str(BARCELONA / "barris.geojson"),
        *common,
        "--kind",
        "agency",
        stdout=StringIO(),
        stderr=StringIO(),
    )

    assert Authority.objects.get(parent=city, kind="district", code="02").name == "Eixample"
    assert Authority.objects.filter(parent=city, kind="agency").count() == 73


def test_neighbourhoods_import_as_named_areas_that_routing_can_name(city):
    call_command(
        "import_boundaries",
        str(BARCELONA / "barris.geojson"),
        "--name-field",
        "NOM",
        "--code-field",
        "CODI_UA",
        "--area-kind",
        "neighbourhood",
        "--parent",
        "barcelona",
        stdout=StringIO(),
        stderr=StringIO(),
    )

    from authorities.models import Area

    assert Area.objects.filter(kind="neighbourhood", authority=city).count() == 73
    assert not Authority.objects.exclude(pk=city.pk).exists()
    area = routing.get_index().area_at(41.3817, 2.1716)  # La Boqueria
    assert area is not None and area.name == "el Raval"
    raval = Area.objects.get(name="el Raval")
    assert routing.get_index().area_at(raval.latitude, raval.longitude).slug == raval.slug


# --- features whose names repeat (a national ward file: many wards called "Castle") -----------


def _castles(count: int, first: int = 1) -> dict[str, Any]:
    """`count` wards all named "Castle", each with its own code and its own square."""
    return _collection(
        *[
            _feature("Castle", factories.square(n, 0, 0.5), code=f"W{n:02}")
            for n in range(first, first + count)
        ]
    )


WARDS = ["--name-field", "NOM", "--code-field", "CODE", "--parent", "barcelona"]


def test_many_wards_with_one_name_each_get_their_own_authority_and_route_points(city, tmp_path):
    kept = Authority(name="Castle", code="W00", parent=city, kind="district", slug="castle")
    kept.boundary = factories.square(0, 0, 0.5)
    kept.save()
    out = StringIO()

    call_command("import_boundaries", _write(tmp_path, _castles(30)), *WARDS, stdout=out)

    assert "30 features: 30 authorities created, 0 updated" in out.getvalue()
    castles = Authority.objects.filter(parent=city, name="Castle")
    assert sorted(castles.values_list("code", flat=True)) == [f"W{n:02}" for n in range(31)]
    slug_of = dict(castles.values_list("code", "slug"))
    for n in range(31):  # the point in the middle of each ward is routed to that ward
        assert routing.locate(0.25, n + 0.25).authorities[0].slug == slug_of[f"W{n:02}"]
    kept.refresh_from_db()
    assert (kept.code, kept.slug, kept.boundary) == ("W00", "castle", factories.square(0, 0, 0.5))


def test_slugs_of_repeated_names_carry_the_code_and_stay_the_same_on_reimport(city, tmp_path):
    path = _write(tmp_path, _castles(3))
    call_command("import_boundaries", path, *WARDS, stdout=StringIO())
    slugs = dict(Authority.objects.filter(name="Castle").values_list("code", "slug"))
    renamed = _castles(3)
    renamed["features"][0]["properties"]["NOM"] = "Castle Hill"
    out = StringIO()

    call_command(
        "import_boundaries", _write(tmp_path, renamed, "again.geojson"), *WARDS, stdout=out
    )

    assert slugs == {"W01": "castle-w01", "W02": "castle-w02", "W03": "castle-w03"}
    assert "0 authorities created, 3 updated" in out.getvalue()
    after = dict(Authority.objects.filter(parent=city).values_list("code", "slug"))
    assert after == slugs  # renamed "Castle Hill", still castle-w01
    assert Authority.objects.get(code="W01", parent=city).name == "Castle Hill"


def test_a_unique_name_keeps_the_plain_slug_and_a_taken_one_gets_the_code(city, tmp_path):
    factories.authority("Harbour", None, slug="harbour")  # another council, elsewhere
    data = _collection(
        _feature("Harbour", factories.square(1, 1, 1), code="H1"),
        _feature("Old Town", factories.square(2, 2, 1), code="T1"),
    )

    call_command("import_boundaries", _write(tmp_path, data), *WARDS, stdout=StringIO())

    assert Authority.objects.get(code="H1").slug == "harbour-h1"
    assert Authority.objects.get(code="T1").slug == "old-town"


def test_with_codes_an_authority_is_matched_by_code_only_never_by_name(city, tmp_path):
    factories.authority("Castle", factories.square(0, 0, 1), parent=city)  # no code
    data = _collection(_feature("Castle", factories.square(5, 5, 1), code="W07"))
    out = StringIO()

    call_command("import_boundaries", _write(tmp_path, data), *WARDS, stdout=out)

    assert "1 authorities created, 0 updated" in out.getvalue()
    assert Authority.objects.get(parent=city, code="").boundary == factories.square(0, 0, 1)


REPEATING_FILES = {
    "a code twice": (
        _collection(
            _feature("Castle", factories.square(0, 0, 1), code="W01"),
            _feature("Keep", factories.square(1, 1, 1), code="W02"),
            _feature("Moat", factories.square(2, 2, 1), code="W01"),
        ),
        WARDS,
        "features 1 and 3 have the same code 'W01'",
    ),
    "a name twice without codes": (
        _collection(
            _feature("Castle", factories.square(0, 0, 1)),
            _feature("Castle", factories.square(1, 1, 1)),
        ),
        ["--name-field", "NOM", "--parent", "barcelona"],
        "features 1 and 2 have the same name 'Castle'",
    ),
    "an empty code": (
        _collection(
            _feature("Castle", factories.square(0, 0, 1), code="W01"),
            _feature("Keep", factories.square(1, 1, 1), code=""),
        ),
        WARDS,
        "feature 2 has an empty 'CODE'",
    ),
    "a null code": (
        _collection(
            _feature("Castle", factories.square(0, 0, 1), code="W01"),
            {
                "type": "Feature",
                "properties": {"NOM": "Keep", "CODE": None},
                "geometry": factories.square(1, 1, 1),
            },
        ),
        WARDS,
        "feature 2 has an empty 'CODE'",
    ),
}


@pytest.mark.parametrize("case", REPEATING_FILES)
def test_a_file_whose_keys_repeat_is_refused_whole(city, tmp_path, case):
    data, args, message = REPEATING_FILES[case]
    before = _snapshot()

    with pytest.raises(CommandError) as excinfo:
        call_command("import_boundaries", _write(tmp_path, data), *args, stdout=StringIO())

    assert str(excinfo.value).startswith("Nothing imported:")
    assert message in str(excinfo.value)
    assert _snapshot() == before


def test_a_name_shared_by_two_existing_authorities_is_refused_without_codes(city, tmp_path):
    for n in range(2):
        factories.authority("Castle", factories.square(n, n, 1), parent=city)
    data = _collection(_feature("Castle", factories.square(5, 5, 1)))
    before = _snapshot()

    with pytest.raises(CommandError, match="2 authorities there already have the name 'Castle'"):
        call_command(
            "import_boundaries",
            _write(tmp_path, data),
            "--name-field",
            "NOM",
            "--parent",
            "barcelona",
            stdout=StringIO(),
        )

    assert _snapshot() == before


def test_named_areas_follow_the_same_rules_many_same_named_areas_stay_apart(city, tmp_path):
    from authorities.models import Area

    args = ["--name-field", "NOM", "--code-field", "CODE", "--area-kind", "ward"]
    call_command("import_boundaries", _write(tmp_path, _castles(5)), *args, stdout=StringIO())
    call_command(
        "import_boundaries", _write(tmp_path, _castles(5), "b.geojson"), *args, stdout=StringIO()
    )

    wards = Area.objects.filter(kind="ward", name="Castle")
    assert sorted(wards.values_list("code", flat=True)) == [f"W{n:02}" for n in range(1, 6)]
    assert sorted(wards.values_list("slug", flat=True)) == [f"castle-w{n:02}" for n in range(1, 6)]
