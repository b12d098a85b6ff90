"""The gazetteer's search and reverse look-up at a million addresses.

    python bench/geocode.py [--addresses 1000000] [--places 5000] [--database-url URL] [--reuse]
                            [--queries 300] [--seed-only]

It seeds a dedicated database (PostgreSQL `fixpoint_bench_geocode` by default, dropped and
created again unless --reuse; its name must contain "bench") with the demo's Barcelona
(boundaries, neighbourhoods, its real places and addresses) and then, by COPY, streets with
made-up Catalan-looking names laid out inside the city, their address points (numbers 1, 2, 3...
a few metres apart along each street, with postcodes) and named places. Rows go straight into
the tables, as `manage.py import_addresses` would leave them (normalised search text included).

Then it times authorities.geocoding.geocode (the selector the API calls) for each kind of
question, `--queries` different ones each, one at a time, and prints p50/p95 in milliseconds and
how often the expected answer came first; then the same address questions through the whole
Django stack (GET /api/v1/geocode), and the reverse look-up of random points in the city.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import seeding  # bench/seeding.py: this script's folder is on sys.path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SYLLABLES = (  # noqa: SIM905
    "ma ri cas tell ver dal mon sa ber ga llo nou ra pi sol for ca net bo lla fa gu ell ros vi ta "
    "ler mar pu ig cor"
).split()
PREFIXES = ("Carrer de", "Carrer d'en", "Avinguda de", "Passeig de", "Plaça de",
            "Passatge de", "Ronda de", "Travessera de", "Baixada de")  # fmt: skip
PLACE_KINDS = ("Mercat", "Parc", "Biblioteca", "Escola", "Centre Cívic", "Poliesportiu", "Jardins")
METRES_PER_DEGREE = 111_320.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--addresses", type=int, default=1_000_000)
    parser.add_argument("--places", type=int, default=5_000)
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/fixpoint_bench_geocode"
    )
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--queries", type=int, default=300, help="questions of each kind")
    parser.add_argument("--seed-only", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not urlparse(args.database_url).scheme.startswith("postgres"):
        sys.exit("bench/geocode.py seeds by COPY: give a PostgreSQL --database-url.")
    if not args.reuse:
        seeding.fresh_database(args.database_url)
    _configure(args.database_url)
    print(_seed(args.addresses, args.places, args.seed))
    if not args.seed_only:
        _run(args.queries, args.seed)


def _configure(database_url: str) -> None:
    # The local gazetteer only; measured, not throttled.
    seeding.configure_in_process(database_url, GEOCODER_URL="", API_RATE_ANON="1000000/min")


# --- seeding -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchStreet:
    id: int
    name: str
    numbers: int
    postcode: str
    latitude: float  # where number 1 is
    longitude: float


def _seed(addresses: int, places: int, seed: int) -> str:
    from django.core.management import call_command

    from authorities.models import AddressPoint

    call_command("migrate", verbosity=0)
    if AddressPoint.objects.count() >= addresses:
        return f"database reused: {AddressPoint.objects.count():,} addresses"
    from reports.demo import _load_authorities, _load_gazetteer, _load_neighbourhoods

    city, _districts = _load_authorities(lambda _: None)
    _load_neighbourhoods(city)
    _load_gazetteer()
    assert city.boundary is not None
    started = time.perf_counter()
    streets = _copy_streets(addresses, city.boundary, seed)
    _copy_places(places, city.boundary, seed)
    seeding.analyze("authorities_street", "authorities_addresspoint", "authorities_place")
    total = sum(s.numbers for s in streets)
    return (f"{len(streets):,} streets, {total:,} addresses and {places:,} places seeded in "
            f"{time.perf_counter() - started:.0f} s")  # fmt: skip


def _street_names(count: int, rng: random.Random) -> Iterator[str]:
    seen: set[str] = set()
    while len(seen) < count:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()
        name = f"{rng.choice(PREFIXES)} {word}"
        if name not in seen:
            seen.add(name)
            yield name


def _copy_streets(addresses: int, boundary: dict[str, Any], seed: int) -> list[BenchStreet]:
    """Streets of 1 to 80 numbers (40 on average), each a straight line from a random point
    inside the city, numbers 6 m apart; written by COPY with ids chosen here."""
    import math

    from django.db import connection, transaction
    from django.utils import timezone

    from authorities.geocoding.text import normalise
    from authorities.models import Street

    rng = random.Random(seed)
    first_id = (Street.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    count = max(1, addresses // 40)
    starts = seeding.points_in_parts(count, seed, boundary)
    streets: list[BenchStreet] = []
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        with cursor.cursor.copy(
            "COPY authorities_street (id, name, city, key, search_text, latitude, longitude, "
            "address_count) FROM STDIN"
        ) as copy:
            for n, (name, (lat, lon, _part)) in enumerate(
                zip(_street_names(count, rng), starts, strict=False)
            ):
                numbers = rng.randint(1, 79)
                postcode = f"080{rng.randint(1, 42):02d}"
                street = BenchStreet(first_id + n, name, numbers, postcode, lat, lon)
                streets.append(street)
                copy.write_row((street.id, name, "Barcelona", f"barcelona/{normalise(name)}",
                                normalise(f"{name} Barcelona"), lat, lon, numbers))  # fmt: skip
        with cursor.cursor.copy(
            "COPY authorities_addresspoint (street_id, number, number_key, unit, postcode, "
            "latitude, longitude, source, source_id, imported_at) FROM STDIN"
        ) as copy:
            for street in streets:
                angle, lat, lon = rng.uniform(0, 2 * math.pi), street.latitude, street.longitude
                dlat = 6 * math.cos(angle) / METRES_PER_DEGREE
                dlon = 6 * math.sin(angle) / (METRES_PER_DEGREE * math.cos(math.radians(lat)))
                for k in range(1, street.numbers + 1):
                    copy.write_row((street.id, str(k), str(k), "", street.postcode,
                                    lat + k * dlat, lon + k * dlon, "bench", "", now))  # fmt: skip
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('authorities_street', 'id'), "
            "(SELECT max(id) FROM authorities_street))"
        )
    return streets


def _copy_places(count: int, boundary: dict[str, Any], seed: int) -> None:
    import json

    from django.db import connection, transaction
    from django.utils import timezone

    from authorities.geocoding.text import normalise

    rng = random.Random(seed + 1)
    names = _street_names(count, rng)
    now = timezone.now()
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        cursor.cursor.copy(
            "COPY authorities_place (name, alt_names, kind, key, search_text, geometry, latitude, "
            "longitude, south, west, north, east, source, imported_at) FROM STDIN"
        ) as copy,
    ):
        points = seeding.points_in_parts(count, seed + 1, boundary)
        for n, (street, (lat, lon, _part)) in enumerate(zip(names, points, strict=False)):
            name = f"{rng.choice(PLACE_KINDS)} {street.split(' ', 2)[-1]}"
            geometry = json.dumps({"type": "Point", "coordinates": [lon, lat]})
            copy.write_row((name, "[]", "place", f"bench-{n}", normalise(name), geometry,
                            lat, lon, lat, lon, lat, lon, "bench", now))  # fmt: skip


# --- measuring -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    text: str
    expected: str  # the label that should come first


def _questions(count: int, seed: int) -> dict[str, list[Question]]:
    from authorities.models import AddressPoint, Place, Street, address_label

    rng = random.Random(seed + 2)
    streets = list(Street.objects.filter(key__startswith="barcelona/").order_by("?")[:count])
    points = {
        p.street_id: p
        for p in AddressPoint.objects.filter(street__in=streets, number_key="1").select_related(
            "street"
        )
    }
    places = list(Place.objects.filter(source="bench").order_by("?")[:count])
    kinds = ("address", "street", "prefix", "typo", "place")
    questions: dict[str, list[Question]] = {kind: [] for kind in kinds}
    for street in streets:
        point = points.get(street.pk)
        if point is None:
            continue
        label = address_label(street.name, "1", "", point.postcode, street.city)
        words = street.search_text.split()[:-1]  # without the city
        questions["address"].append(Question(f"{' '.join(words)} 1", label))
        questions["street"].append(Question(" ".join(words), f"{street.name}, {street.city}"))
        typed = " ".join(words)
        half = typed[:-2] if len(words[-1]) >= 5 else typed  # the last word not yet finished
        questions["prefix"].append(Question(half, f"{street.name}, {street.city}"))
        questions["typo"].append(Question(f"{_typo(words[-1], rng)} 1", label))
    for place in places:
        questions["place"].append(Question(place.search_text, place.name))
    postcodes = sorted({f"080{n:02d}" for n in range(1, 43)})
    questions["postcode"] = [Question(rng.choice(postcodes), "") for _ in range(count)]
    return questions


def _typo(word: str, rng: random.Random) -> str:
    """Two neighbouring letters swapped, not the first one."""
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def _timed(
    ask: Callable[[Question], list[str]], questions: list[Question]
) -> tuple[list[float], int, int]:
    times, first, top5 = [], 0, 0
    for question in questions:
        started = time.perf_counter()
        labels = ask(question)
        times.append((time.perf_counter() - started) * 1e3)
        first += not question.expected or labels[:1] == [question.expected]
        top5 += not question.expected or question.expected in labels[:5]
    return times, first, top5


def _line(name: str, times: list[float], first: int, top5: int) -> str:
    cuts = statistics.quantiles(times, n=100)
    return (f"  {name:<26} p50 {statistics.median(times):6.1f} ms   p95 {cuts[94]:6.1f} ms   "
            f"expected first {first}/{len(times)}, in the first five {top5}")  # fmt: skip


def _run(count: int, seed: int) -> None:
    from django.test import Client

    from authorities.geocoding import geocode, reverse_geocode
    from authorities.models import AddressPoint, Street

    print(f"{AddressPoint.objects.count():,} addresses, {Street.objects.count():,} streets; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip
    questions = _questions(count, seed)

    def first(question: Question) -> list[str]:
        return [hit.label for hit in geocode(question.text, limit=10).results]

    geocode("warm up the connection and the area names")
    print("authorities.geocoding.geocode, one question at a time:")
    for kind, asked in questions.items():
        print(_line(kind, *_timed(first, asked)))
    client = Client(HTTP_HOST="127.0.0.1")

    def over_http(question: Question) -> list[str]:
        response = client.get("/api/v1/geocode", {"q": question.text})
        return [result["label"] for result in response.json()["results"]]

    print("GET /api/v1/geocode through Django's stack (test client):")
    print(_line("address", *_timed(over_http, questions["address"])))
    rng = random.Random(seed + 3)
    points = [Question(f"{lat},{lon}", "") for lat, lon, _ in _random_points(count, rng)]

    def nearest(question: Question) -> list[str]:
        lat, lon = map(float, question.text.split(","))
        found = reverse_geocode(lat, lon)
        return [found.hit.label] if found else []

    print("authorities.geocoding.reverse_geocode:")
    print(_line("nearest address or place", *_timed(nearest, points)))


def _random_points(count: int, rng: random.Random) -> Iterator[tuple[float, float, int]]:
    from authorities.models import Authority

    city = Authority.objects.get(slug="barcelona")
    assert city.boundary is not None
    return seeding.points_in_parts(count, rng.randrange(10**6), city.boundary)


if __name__ == "__main__":
    main()
