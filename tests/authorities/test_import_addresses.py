"""manage.py import_addresses: address points (CSV, GeoJSON) and named places (GeoJSON), all or
nothing, every bad row named by its line, re-imports update, progress on large files."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from authorities.geocoding import services
from authorities.models import AddressPoint, Place, Street
from tests import factories

OPENADDRESSES = (
    "LON,LAT,NUMBER,STREET,UNIT,CITY,DISTRICT,REGION,POSTCODE,ID,HASH\n"
    "2.17487,41.40325,401,Carrer de Mallorca,,Barcelona,,,08013,a1,h1\n"
    "2.17520,41.40350,403,Carrer de Mallorca,,Barcelona,,,08013,a2,h2\n"
    "2.16490,41.39165,43,Passeig de Gràcia,,Barcelona,,,08007,a3,h3\n"
)


def _write(tmp_path: Path, text: str, name: str = "addresses.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _import(path: Path, *args: str) -> str:
    out = StringIO()
    call_command("import_addresses", str(path), *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def _snapshot() -> list[tuple[Any, ...]]:
    return list(
        AddressPoint.objects.order_by("pk").values_list(
            "pk", "street__name", "number", "postcode", "latitude", "longitude"
        )
    )


def _feature(properties: dict[str, Any], geometry: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def _point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def test_openaddresses_csv_is_imported_whatever_the_case_of_its_headers(db, tmp_path):
    lower = OPENADDRESSES.replace(
        OPENADDRESSES.split("\n")[0], OPENADDRESSES.split("\n")[0].lower()
    )

    out = _import(_write(tmp_path, lower))

    assert "3 rows from addresses.csv" in out
    assert "addresses 3 created, 0 updated" in out
    point = AddressPoint.objects.select_related("street").get(number="401")
    assert (point.street.name, point.street.city, point.postcode) == (
        "Carrer de Mallorca",
        "Barcelona",
        "08013",
    )
    assert (point.latitude, point.longitude, point.source_id) == (41.40325, 2.17487, "a1")
    mallorca = Street.objects.get(name="Carrer de Mallorca")
    assert mallorca.address_count == 2
    assert mallorca.latitude == pytest.approx((41.40325 + 41.40350) / 2)


def test_the_simple_layout_street_number_postcode_lat_lon_is_imported(db, tmp_path):
    path = _write(tmp_path, "street,number,postcode,lat,lon\nCarrer d'Olot,5,08024,41.4133,2.153\n")

    _import(path)

    point = AddressPoint.objects.get()
    assert (point.street.name, point.number, point.postcode) == ("Carrer d'Olot", "5", "08024")


def test_importing_the_same_file_again_updates_in_place_and_creates_nothing(db, tmp_path):
    path = _write(tmp_path, OPENADDRESSES)
    _import(path)
    before = _snapshot()

    out = _import(path)

    assert "addresses 0 created, 3 updated, 0 removed" in out
    assert _snapshot() == before
    assert Street.objects.count() == 2


def test_a_moved_point_is_updated_not_duplicated(db, tmp_path):
    _import(_write(tmp_path, OPENADDRESSES))

    _import(_write(tmp_path, OPENADDRESSES.replace("2.17487,41.40325", "2.17490,41.40330")))

    assert AddressPoint.objects.filter(number="401").count() == 1
    assert AddressPoint.objects.get(number="401").latitude == 41.40330


def test_replace_removes_what_the_same_source_no_longer_has_and_keeps_other_sources(db, tmp_path):
    _import(_write(tmp_path, OPENADDRESSES), "--source", "bcn")
    other = "street,number,lat,lon\nCarrer Major,1,41.5,2.1\n"
    _import(_write(tmp_path, other, "other.csv"))
    shorter = "\n".join(OPENADDRESSES.split("\n")[:2]) + "\n"

    out = _import(_write(tmp_path, shorter), "--source", "bcn", "--replace")

    assert "addresses 0 created, 1 updated, 2 removed" in out
    assert sorted(AddressPoint.objects.values_list("number", flat=True)) == ["1", "401"]
    assert not Street.objects.filter(name="Passeig de Gràcia").exists()  # left with no address
    assert Street.objects.get(name="Carrer de Mallorca").address_count == 1


def test_every_bad_row_is_named_by_its_line_and_nothing_is_imported(db, tmp_path):
    _import(_write(tmp_path, OPENADDRESSES, "first.csv"))
    before = _snapshot()
    bad = (
        "street,number,postcode,lat,lon\n"
        "Carrer Nou,1,08001,41.38,2.17\n"
        "Carrer Nou,2,08001,forty-one,2.17\n"  # line 3
        ",3,08001,41.38,2.17\n"  # line 4
        "Carrer Nou,4,08001,141.38,2.17\n"  # line 5
        "Carrer Nou,5,08001,41.38\n"  # line 6
        "Carrer Nou,6,08001,0,0\n"  # line 7
    )

    with pytest.raises(CommandError) as refused:
        _import(_write(tmp_path, bad, "bad.csv"))

    lines = str(refused.value).splitlines()
    assert lines[0] == "Nothing imported: 5 bad rows:"
    assert lines[1:] == [
        "line 3: LAT 'forty-one' is not a number",
        "line 4: the street is empty",
        "line 5: (141.38, 2.17) is not a WGS84 latitude and longitude",
        "line 6: has 4 values; the header has 5 columns",
        "line 7: the position is 0, 0 (a missing position, not an address)",
    ]
    assert _snapshot() == before
    assert not Street.objects.filter(name="Carrer Nou").exists()


def test_a_bad_row_after_batches_were_written_leaves_nothing_half_imported(
    db, tmp_path, monkeypatch
):
    monkeypatch.setattr(services, "BATCH", 10)
    rows = "".join(f"Carrer Llarg,{n},08001,41.38,{2.1 + n / 10000}\n" for n in range(1, 60))
    path = _write(tmp_path, "street,number,postcode,lat,lon\n" + rows + "Carrer Llarg,x,,a,b\n")

    with pytest.raises(CommandError, match="line 61: LAT 'a' is not a number"):
        _import(path)

    assert AddressPoint.objects.count() == 0
    assert Street.objects.count() == 0


def test_many_bad_rows_are_counted_after_the_first_twenty(db, tmp_path):
    rows = "".join(f"Carrer,{n},,north,2.1\n" for n in range(30))

    with pytest.raises(CommandError) as refused:
        _import(_write(tmp_path, "street,number,postcode,lat,lon\n" + rows))

    text = str(refused.value)
    assert "30 bad rows" in text
    assert text.count("is not a number") == 20
    assert text.endswith("... and 10 more bad rows")


def test_a_file_without_a_needed_column_is_refused_in_one_line(db, tmp_path):
    with pytest.raises(CommandError) as refused:
        _import(_write(tmp_path, "street,number,latitude,x\nCarrer,1,41.3,2.1\n"))

    assert str(refused.value) == (
        "Nothing imported: addresses.csv: the header has no LON column (it has: street, number, "
        "latitude, x); use the OpenAddresses columns or street,number,postcode,lat,lon."
    )


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("missing.csv", None, "does not exist or is not a file"),
        ("empty.csv", "", "is empty: it needs a header row"),
        ("places.txt", "x", "say --format csv or --format geojson"),
        ("list.geojson", "[1, 2]", "neither a GeoJSON FeatureCollection nor one Feature"),
    ],
)
def test_unreadable_files_are_refused_with_one_line(db, tmp_path, name, text, message):
    path = tmp_path / name if text is None else _write(tmp_path, text, name)

    with pytest.raises(CommandError, match=message):
        _import(path)


def test_geojson_places_are_points_or_polygons_with_a_point_inside_each(db, tmp_path):
    # A U-shaped park: its centroid would lie outside it.
    u_shape = [[[2.0, 41.0], [2.3, 41.0], [2.3, 41.3], [2.2, 41.3], [2.2, 41.1], [2.1, 41.1],
                [2.1, 41.3], [2.0, 41.3], [2.0, 41.0]]]  # fmt: skip
    data = {
        "type": "FeatureCollection",
        "features": [
            _feature(
                {
                    "name": "Sagrada Família",
                    "kind": "landmark",
                    "id": "w1",
                    "alt_names": ["Temple"],
                },
                _point(2.17436, 41.40363),
            ),
            _feature(
                {"NAME": "Parc en U", "Kind": "park"}, {"type": "Polygon", "coordinates": u_shape}
            ),
        ],
    }

    out = _import(_write(tmp_path, json.dumps(data), "places.geojson"))

    assert "places 2 created, 0 updated" in out
    sagrada = Place.objects.get(key="w1")
    assert (sagrada.latitude, sagrada.longitude, sagrada.alt_names) == (
        41.40363,
        2.17436,
        ["Temple"],
    )
    park = Place.objects.get(name="Parc en U")
    assert park.kind == "park" and park.geometry["type"] == "Polygon"
    import shapely
    from shapely.geometry import shape

    assert shape(park.geometry).covers(shapely.Point(park.longitude, park.latitude))
    assert (park.west, park.south, park.east, park.north) == (2.0, 41.0, 2.3, 41.3)
    _import(_write(tmp_path, json.dumps(data), "places.geojson"))
    assert Place.objects.count() == 2  # matched by id, else by kind and name


def test_openaddresses_geojson_lines_are_address_points_and_bad_features_are_named(db, tmp_path):
    good = _feature({"street": "Carrer de Mallorca", "number": "401", "postcode": "08013"},
                    _point(2.17487, 41.40325))  # fmt: skip
    lines = [json.dumps(good), json.dumps(_feature({"street": "Carrer X"}, _point(2.1, 41.3)))]
    _import(_write(tmp_path, "\n".join(lines) + "\n", "oa.geojson"))
    assert AddressPoint.objects.count() == 2

    bad = [
        json.dumps(good),
        json.dumps(_feature({"street": "Carrer Y"}, {"type": "Polygon", "coordinates": []})),
        "{oops",
        json.dumps(_feature({"other": 1}, _point(2.1, 41.3))),
        json.dumps(_feature({"name": "Nowhere"}, {"type": "LineString", "coordinates": []})),
    ]
    with pytest.raises(CommandError) as refused:
        _import(_write(tmp_path, "\n".join(bad) + "\n", "bad.geojson"))

    assert str(refused.value).splitlines()[1:] == [
        "line 2: an address must be a Point with a longitude and a latitude",
        "line 3: is not JSON (Expecting property name enclosed in double quotes)",
        "line 4: has neither a 'street' nor a 'name' property",
        "line 5: ('Nowhere') a place is a Point, Polygon or MultiPolygon, not a LineString",
    ]


def test_a_large_file_shows_its_progress(db, tmp_path, monkeypatch):
    from authorities.management.commands import import_addresses

    monkeypatch.setattr(import_addresses, "PROGRESS_FROM", 100)
    monkeypatch.setattr(services, "BATCH", 100)
    rows = "".join(f"Carrer Llarg,{n},,41.38,{2.1 + n / 100000}\n" for n in range(1, 2001))
    err = StringIO()

    call_command(
        "import_addresses",
        str(_write(tmp_path, "street,number,postcode,lat,lon\n" + rows)),
        stdout=StringIO(),
        stderr=err,
    )

    progress = err.getvalue().splitlines()
    assert "  100/2,000 rows" in progress
    assert progress[-1] == "  2,000/2,000 rows"
    assert 10 <= len(progress) <= 25
    assert AddressPoint.objects.count() == 2000


def test_points_outside_every_boundary_are_counted(tiny_city, tmp_path):
    text = "street,number,lat,lon\nInside,1,10.05,1.05\nOutside,1,20.0,20.0\n"

    out = _import(_write(tmp_path, text))

    assert "1 address points lie outside every authority's boundary" in out


def test_the_admin_lists_the_gazetteer(db, client):
    admin = factories.UserFactory.create(is_staff=True, is_superuser=True)
    client.force_login(admin)
    for name in ("street", "addresspoint", "place"):
        assert client.get(f"/admin/authorities/{name}/").status_code == 200
