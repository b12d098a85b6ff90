"""The optional external geocoder, against a fake Nominatim (and Photon) server on 127.0.0.1 that
speaks the real JSON protocol: used only when the local gazetteer knows nothing, with the
provider's usage policy kept (user agent, rate, cache), and never an error for the citizen."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from authorities.geocoding import external, geocode, reverse_geocode
from authorities.geocoding.files import AddressRow
from authorities.geocoding.selectors import served_bounds
from authorities.geocoding.services import gazetteer_import

LICENCE = "Data © OpenStreetMap contributors, ODbL 1.0. http://osm.org/copyright"
USER_AGENT = "Fixpoint tests (https://fixpoint.example)"


def nominatim_place(name: str, lat: float, lon: float, **extra: Any) -> dict[str, Any]:
    """One result as Nominatim's /search?format=json answers it."""
    return {
        "place_id": 1000 + len(name),
        "licence": LICENCE,
        "osm_type": "way",
        "osm_id": 42,
        "lat": f"{lat}",
        "lon": f"{lon}",
        "class": "highway",
        "type": "residential",
        "place_rank": 26,
        "importance": 0.1,
        "addresstype": "road",
        "name": name,
        "display_name": f"{name}, Barcelona, Catalunya, 08001, España",
        "boundingbox": [f"{lat - 0.001}", f"{lat + 0.001}", f"{lon - 0.001}", f"{lon + 0.001}"],
        **extra,
    }


@dataclass
class FakeGeocoder:
    """Answers /search, /reverse (Nominatim) and /api (Photon); records every request."""

    url: str = ""
    places: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # q -> results
    reverse: dict[str, Any] | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def answer(self, path: str, query: dict[str, str]) -> Any:
        if path == "/search":
            return self.places.get(query.get("q", ""), [])
        if path == "/reverse":
            return self.reverse or {"error": "Unable to geocode"}
        if path == "/api":  # Photon: GeoJSON
            return {"type": "FeatureCollection", "features": self.places.get(query["q"], [])}
        return None


@pytest.fixture
def fake() -> Iterator[FakeGeocoder]:
    state = FakeGeocoder()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            state.requests.append(
                {
                    "path": url.path,
                    "query": query,
                    "agent": self.headers["User-Agent"],
                    "at": time.time(),
                }
            )
            body = state.answer(url.path, query)
            status = state.status if body is not None else 404
            payload = json.dumps(body if status == 200 else {"error": "no"}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for name, value in state.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def configured(settings: Any, fake: FakeGeocoder) -> FakeGeocoder:
    settings.FIXPOINT_GEOCODER_URL = fake.url
    settings.FIXPOINT_GEOCODER_USER_AGENT = USER_AGENT
    settings.FIXPOINT_GEOCODER_RATE_LIMIT = 50.0  # tests that measure the rate set their own
    return fake


def test_it_is_off_by_default_and_never_asked(barcelona, fake):
    assert not external.enabled()

    assert geocode("carrer inexistent 12").results == []
    assert reverse_geocode(41.4470, 2.1750) is not None  # the covering area, locally

    assert fake.requests == []


def test_it_answers_when_the_local_gazetteer_knows_nothing_naming_the_site(barcelona, configured):
    configured.places["carrer de la princesa 1"] = [
        nominatim_place("Carrer de la Princesa", 41.3855, 2.1800)
    ]

    answer = geocode("carrer de la princesa 1")

    [hit] = answer.results
    assert (hit.label, hit.kind, hit.source) == (
        "Carrer de la Princesa, Barcelona, Catalunya, 08001, España",
        "street",
        "external",
    )
    assert (hit.latitude, hit.longitude) == (41.3855, 2.18)
    assert answer.attribution == LICENCE
    [request] = configured.requests
    assert request["path"] == "/search"
    assert request["agent"] == USER_AGENT
    assert request["query"]["format"] == "json"
    west, south, east, north = served_bounds() or (0, 0, 0, 0)
    assert [float(v) for v in request["query"]["viewbox"].split(",")] == pytest.approx(
        [west, south, east, north]
    )
    assert "bounded" not in request["query"]  # outside answers are explained, not hidden


def test_it_is_not_asked_when_the_local_gazetteer_has_an_answer(barcelona, configured):
    gazetteer_import(
        rows=[AddressRow("x", "Carrer de Mallorca", "401", 41.40325, 2.17487)], source="t"
    )

    assert geocode("carrer mallorca 401").results[0].source == "local"
    assert configured.requests == []


def test_answers_are_cached_and_a_question_is_never_sent_twice(barcelona, configured):
    configured.places["carrer fals"] = [nominatim_place("Carrer Fals", 41.39, 2.17)]

    first = geocode("carrer fals").results
    again = geocode("Carrer Fals ").results

    assert first == again and len(first) == 1
    assert len(configured.requests) == 1
    geocode("nothing at all here")
    geocode("nothing at all here")
    assert len(configured.requests) == 2  # an empty answer is cached too


class PlannedStarts:
    """Stands in for the time module in authorities.geocoding.external: records when each
    request was to start instead of sleeping, so that the slots can be checked exactly
    (a busy machine's thread scheduling would blur the times the server sees)."""

    def __init__(self) -> None:
        self.starts: list[float] = []
        self.lock = threading.Lock()

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.starts.append(time.time() + seconds)


def test_requests_get_their_own_slots_at_the_rate_even_from_several_threads(
    settings, configured, monkeypatch
):
    settings.FIXPOINT_GEOCODER_RATE_LIMIT = 5.0  # one every 0.2 s
    settings.FIXPOINT_GEOCODER_MAX_WAIT = 2.0
    planned = PlannedStarts()
    monkeypatch.setattr(external, "time", planned)
    bounds = (2.05, 41.3, 2.25, 41.5)
    threads = [
        threading.Thread(
            target=external.search, args=(f"q{n}",), kwargs={"limit": 5, "viewbox": bounds}
        )
        for n in range(6)
    ]

    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(configured.requests) == 6
    starts = sorted(planned.starts)
    assert len(starts) >= 5  # a request whose slot had begun did not need to sleep
    # (each start is read from the clock twice, microseconds apart)
    assert min(b - a for a, b in itertools.pairwise(starts)) >= 0.2 - 1e-3


def test_a_real_second_request_waits_for_its_turn(settings, configured):
    settings.FIXPOINT_GEOCODER_RATE_LIMIT = 2.0  # one every 0.5 s
    started = time.monotonic()

    for n in range(3):
        external.search(f"q{n}", limit=5, viewbox=None)

    assert time.monotonic() - started >= 0.5  # three slots span at least two intervals
    assert len(configured.requests) == 3


def test_with_no_turn_within_the_wait_it_does_not_ask(settings, configured, monkeypatch):
    settings.FIXPOINT_GEOCODER_RATE_LIMIT = 2.0  # one every 0.5 s
    settings.FIXPOINT_GEOCODER_MAX_WAIT = 0.1  # so only the next slot or two may be waited for
    monkeypatch.setattr(external, "time", PlannedStarts())

    answers = [external.search(f"q{n}", limit=5, viewbox=None) for n in range(4)]

    assert len(configured.requests) in (1, 2)
    assert answers[2:] == [[], []]
    assert [r["query"]["q"] for r in configured.requests] == [
        f"q{n}" for n in range(len(configured.requests))
    ]


def test_a_failing_provider_leaves_the_local_answer_and_is_asked_again_later(
    barcelona, configured, caplog
):
    configured.status = 500

    assert geocode("carrer trencat").results == []
    configured.status = 200
    configured.places["carrer trencat"] = [nominatim_place("Carrer Trencat", 41.39, 2.17)]

    assert len(geocode("carrer trencat").results) == 1  # the failure was not cached
    assert "External geocoder failed" in caplog.text


def test_a_429_pauses_every_request_for_its_retry_after(barcelona, configured):
    configured.status = 429
    configured.headers["Retry-After"] = "30"

    geocode("carrer primer")
    configured.status = 200
    geocode("carrer segon")

    assert [r["query"]["q"] for r in configured.requests] == ["carrer primer"]


def test_an_external_answer_outside_the_served_area_is_explained(barcelona, configured):
    configured.places["rambla de la marina"] = [
        nominatim_place("Rambla de la Marina", 41.3605, 2.1133)
    ]

    answer = geocode("rambla de la marina")

    assert answer.results == []
    [outside] = answer.outside
    assert outside.authority is not None and outside.authority.slug == "barcelona"


def test_reverse_asks_the_provider_when_nothing_local_is_near(barcelona, configured):
    configured.reverse = {
        **nominatim_place("Carrer d'Aiguablava", 41.4471, 2.1752, **{"class": "place"}),
        "type": "house",
        "addresstype": "house",
        "address": {"house_number": "12", "road": "Carrer d'Aiguablava"},
        "display_name": "12, Carrer d'Aiguablava, Barcelona",
    }

    found = reverse_geocode(41.4470, 2.1750)

    assert found is not None
    assert (found.hit.label, found.hit.kind) == ("12, Carrer d'Aiguablava, Barcelona", "address")
    assert found.distance == pytest.approx(19.9, abs=1)
    [request] = configured.requests
    assert request["path"] == "/reverse"
    assert (request["query"]["lat"], request["query"]["lon"]) == ("41.447", "2.175")


def test_reverse_falls_back_to_the_area_when_the_provider_knows_nothing(barcelona, configured):
    found = reverse_geocode(41.4470, 2.1750)

    assert found is not None and found.hit.kind == "area"
    assert len(configured.requests) == 1


def test_photon_speaks_geojson(settings, barcelona, configured):
    settings.FIXPOINT_GEOCODER_PROTOCOL = "photon"
    configured.places["casa fuster"] = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [2.1571, 41.3982]},
            "properties": {
                "osm_key": "tourism",
                "osm_value": "attraction",
                "type": "house",
                "name": "Casa Fuster",
                "city": "Barcelona",
                "postcode": "08008",
                "country": "España",
            },
        }
    ]

    [hit] = geocode("casa fuster").results

    assert (hit.label, hit.kind) == ("Casa Fuster, 08008, Barcelona, España", "address")
    assert configured.requests[0]["path"] == "/api"
    assert configured.requests[0]["agent"] == USER_AGENT
