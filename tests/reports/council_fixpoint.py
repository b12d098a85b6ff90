"""A second, live Fixpoint acting as an Open311 council, and a faulty line to it.

The council is this same code base started as its own process (gunicorn, its own SQLite database),
with an authority, a category and two write API keys: one for the account our Fixpoint files as
(it sends the reports and then its citizens' updates), one for the council's own system (staff
of the authority, which moves the council's copies). Fixpoint delivers to it over GeoReport v2
and the tests ask it, over GeoReport v2 and its REST API, what it received. Faults on the line
between the two (a 500, an answer lost after the council acted) come from a small proxy in
between: the network is the only thing not real here.

The fixtures using these (`council_fixpoint`, `line`) are in conftest.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from authorities.models import AuthorityCategory, DeliveryMethod
from reports.models import Report
from tests import factories
from tests.reports.mail import free_port

ROOT = Path(__file__).resolve().parents[2]

# Run inside the council's process: one authority around the tiny city's west district, the
# category we deliver to (with the question we send an answer for), a write key for the account
# our Fixpoint files as (not staff: what it posts later are its citizens' updates), and one for
# the council's own system (staff: it moves its reports).
COUNCIL_SETUP = """
from authorities import services as a
from authorities.models import Authority, CategoryQuestion
from accounts.models import User
from accounts.services import api_client_create

box = {"type": "Polygon", "coordinates": [[[0.9, 9.9], [1.3, 9.9], [1.3, 10.2], [0.9, 10.2],
       [0.9, 9.9]]]}
council = a.authority_save(authority=Authority(name="West Council", slug="west", boundary=box))
potholes = a.category_upsert(slug="potholes", name="Potholes", group="Roads")
CategoryQuestion.objects.get_or_create(category=potholes, code="depth", label="How deep?")
a.authority_category_set(authority=council, category=potholes)
feed = User.objects.create_user(email="feed@fixpoint.example.org", password=None)
feed.display_name = "Fixpoint Barcelona"
feed.save()
client, key = api_client_create(name="Fixpoint", scope="write", user=feed)
print("KEY=" + key)
crew = User.objects.create_user(email="crm@council.example.org", password=None)
a.staff_membership_set(user=crew, authority=council, role="inspector")  # may post updates
client, key = api_client_create(name="Council CRM", scope="write", user=crew)
print("CREW_KEY=" + key)
"""


@dataclass
class CouncilFixpoint:
    url: str
    key: str  # the account our Fixpoint files as: it sends reports and citizens' updates
    crew_key: str  # the council's own system, staff of the authority

    def _get(self, path: str, **query: str) -> Any:
        url = f"{self.url}{path}?{urlencode(query)}" if query else f"{self.url}{path}"
        with urllib.request.urlopen(url) as answer:  # noqa: S310 (our own test server)
            return json.loads(answer.read())

    def service_requests(self, **query: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._get(
            "/open311/v2/requests.json", service_code="potholes", **query
        )
        return result

    def service_request(self, service_request_id: str) -> dict[str, Any]:
        [request] = self._get(f"/open311/v2/requests/{service_request_id}.json")
        return dict(request)

    def status_changes(self, service_request_id: str) -> list[dict[str, Any]]:
        """The council's servicerequestupdates (its public state changes) for one request."""
        changes = self._get("/open311/v2/servicerequestupdates.json")
        return [c for c in changes if c["service_request_id"] == service_request_id]

    def comments(self, service_request_id: str) -> list[dict[str, Any]]:
        """The citizens' updates on the council's copy, as its REST API shows them."""
        page = self._get("/api/v1/reports/", authority="west", page_size="200")
        [found] = [r for r in page["results"] if r["ref"] == service_request_id]
        updates: list[dict[str, Any]] = self._get(f"/api/v1/reports/{found['id']}/")["updates"]
        return updates

    def post_update(self, service_request_id: str, status: str, description: str) -> None:
        """What the council's own system does when its crew reports back."""
        body = urlencode(
            {"service_request_id": service_request_id, "status": status,
             "description": description, "api_key": self.crew_key}
        ).encode()  # fmt: skip
        url = f"{self.url}/open311/v2/servicerequestupdates.json"
        urllib.request.urlopen(url, data=body).close()  # noqa: S310

    def requests_for(self, report: Report) -> list[dict[str, Any]]:
        return [r for r in self.service_requests() if report.ref in (r["description"] or "")]


def council_fixpoint_process(home: Path) -> Iterator[CouncilFixpoint]:
    """Migrate the council's database, set it up, serve it; stopped by its pid afterwards."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{home}/council.sqlite3",
        "CACHE_URL": "locmemcache://",
        "EMAIL_URL": "dummymail://",
        "MEDIA_ROOT": str(home / "media"),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "BASE_URL": "http://council.example.org",
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    env.pop("CELERY_BROKER_URL", None)  # the council sends its own mail in-process
    manage = [sys.executable, str(ROOT / "manage.py")]
    migrate = [*manage, "migrate", "--noinput", "-v0"]
    subprocess.run(migrate, env=env, check=True, cwd=ROOT)  # noqa: S603 (fixed commands, no shell)
    setup = subprocess.run(  # noqa: S603
        [*manage, "shell", "-c", COUNCIL_SETUP],
        env=env, check=True, cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    keys = dict(line.split("=", 1) for line in setup.stdout.split() if "=" in line)
    port = free_port()
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=(home / "server.log").open("w"),
    )  # fmt: skip
    council = CouncilFixpoint(
        url=f"http://127.0.0.1:{port}", key=keys["KEY"], crew_key=keys["CREW_KEY"]
    )
    try:
        _wait_until_up(council.url, server, home / "server.log")
        yield council
    finally:
        server.terminate()
        server.wait(timeout=10)


def _wait_until_up(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"The council's server stopped: {log.read_text()}")
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=1).close()  # noqa: S310
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    pytest.fail(f"The council's server did not start: {log.read_text()}")


@dataclass
class FaultyLine:
    """A proxy to the council that can answer for it or drop its answer, once per queued fault."""

    upstream: str
    faults: list[str | tuple[int, Any]] = field(default_factory=list)
    posts: int = 0
    url: str = ""

    def relay(self, method: str, path: str, headers: dict[str, str], body: bytes | None) -> Any:
        self.posts += method == "POST"
        fault = self.faults.pop(0) if method == "POST" and self.faults else None
        if isinstance(fault, tuple):
            return fault  # answered here: the council never saw it
        request = urllib.request.Request(  # noqa: S310
            self.upstream + path, data=body, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request) as answer:  # noqa: S310
                reply = (answer.status, json.loads(answer.read()))
        except urllib.error.HTTPError as exc:
            reply = (exc.code, json.loads(exc.read()))
        return None if fault == "drop" else reply  # "drop": done there, answer lost here


def faulty_line(upstream: str) -> Iterator[FaultyLine]:
    proxy = FaultyLine(upstream=upstream)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._relay(None)

        def do_POST(self) -> None:
            self._relay(self.rfile.read(int(self.headers["Content-Length"])))

        def _relay(self, body: bytes | None) -> None:
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            reply = proxy.relay(self.command, self.path, headers, body)
            if reply is None:
                self.close_connection = True  # the connection breaks before any answer
                return
            data = json.dumps(reply[1]).encode()
            self.send_response(reply[0])
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield proxy
    server.shutdown()
    server.server_close()


def deliver_to(
    city: Any, url: str, key: str, service_code: str = "potholes", **fields: Any
) -> None:
    """The tiny city's west potholes go to the council over Open311 (``fields``: e.g. updates)."""
    AuthorityCategory.objects.filter(authority=city.west, category=city.pothole).update(
        delivery_method=DeliveryMethod.OPEN311,
        endpoint_url=f"{url}/open311/v2/",
        service_code=service_code,
        api_key=key,
        **fields,
    )


def file_report(city: Any, capture: Any, **fields: Any) -> Report:
    reporter = factories.UserFactory.create(display_name="Marta Puig")
    with capture(execute=True):
        return factories.report(
            city.pothole,
            *city.WEST,
            reporter=reporter,
            description="A deep hole in front of the school gate.",
            **fields,
        )
