"""What the HTTP benchmarks share: gunicorn with a bare view beside Fixpoint, and wrk to load it.

The load generator is Debian's `wrk` (`apt-get install wrk`), a C program: a Python client on
the same two cores limited the bare view itself (about 2,500 requests a second against 5,600 to
6,100 with wrk), which inflated every share measured against it. Each load is a Lua script wrk
runs: a list of paths it cycles through, or a function that makes each request a fresh body;
its done() hook prints the figures this module reads (count, duration, errors, 1,000 latency
quantiles), so runs can be merged.

A bare view (`/bench/bare.json`, a JsonResponse through the same middleware) is added for the
run by a settings module and URLconf written to a temporary directory: nothing in the project
changes. `alternate()` loads it and an endpoint in turns, so both see the same machine.
"""

from __future__ import annotations

import bisect
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import seeding  # bench/seeding.py: this script's folder is on sys.path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
BARE = "/bench/bare.json"
WRK = "/usr/bin/wrk"
SETTINGS = """\
from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench_bare_urls"
"""
URLCONF = """\
from django.http import JsonResponse
from django.urls import path

from config.urls import urlpatterns as fixpoint


def bare(request):
    return JsonResponse({"ok": True})


urlpatterns = [path("bench/bare.json", bare), *fixpoint]
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def require_wrk() -> None:
    if not (Path(WRK).is_file() or shutil.which("wrk")):
        sys.exit("This benchmark loads the server with wrk: apt-get install wrk (Debian, Ubuntu).")


def local_only(*urls: str) -> None:
    from urllib.parse import urlparse

    for url in urls:
        if urlparse(url).hostname not in ("127.0.0.1", "localhost"):
            sys.exit(f"Refusing {url}: the benchmarks talk to 127.0.0.1 only.")


# --- gunicorn ------------------------------------------------------------------------------------


class Gunicorn:
    """Fixpoint (plus the bare view) under gunicorn's sync workers, on a free port of 127.0.0.1,
    in a process group of its own; stop() ends the group."""

    def __init__(
        self,
        tmp: Path,
        env: dict[str, str],
        *,
        workers: int = 2,
        name: str = "",
        port: int = 0,
        settings: str = "",
    ) -> None:
        self.tmp, self.env, self.workers = tmp, env, workers
        self.port = port or free_port()
        self.settings = settings  # more lines for the settings module
        self.process: subprocess.Popen[bytes] | None = None
        self.log = tmp / f"gunicorn{name}.log"

    def start(self) -> None:
        env = {**os.environ, **self.env, **settings_module(self.tmp, self.settings)}
        command = [
            sys.executable, "-m", "gunicorn", "config.wsgi:application",
            f"--bind={HOST}:{self.port}", f"--workers={self.workers}", "--worker-class=sync",
            "--timeout=120", f"--error-logfile={self.log}", "--log-level=warning",
            f"--chdir={ROOT}",
        ]  # fmt: skip
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 (our own venv's gunicorn)
                command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_for_http(self.port, BARE, self.process, self.log)

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def kill(self) -> None:
        """kill -9 the master and its workers, as a machine that dies."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)  # graceful: the master stops its workers
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def server_env() -> dict[str, str]:
    """What every benchmarked Fixpoint process runs with besides its database, cache and broker:
    production code paths (DEBUG off), plain HTTP on 127.0.0.1, and the throttles and rate
    limits on (their cache round trips are part of every request) with rates nobody reaches."""
    return {
        "DEBUG": "false",
        **seeding.BENCH_KEYS,
        "ALLOWED_HOSTS": f"{HOST},localhost",
        "SECURE_HTTPS": "false",
        "STATIC_MANIFEST": "false",  # no collectstatic for a benchmark
        "API_RATE_ANON": "100000000/min",
        "API_RATE_USER": "100000000/min",
        "API_RATE_CLIENT": "100000000/min",
        "REPORT_RATE_LIMIT": "100000000",
        "REPORT_RATE_LIMIT_PER_KEY": "100000000",  # every filing of a run comes through one key
        "LOG_LEVEL": "WARNING",
        "DJANGO_LOG_LEVEL": "ERROR",
    }


def settings_module(tmp: Path, more: str = "") -> dict[str, str]:
    """Write the settings module with the bare view (and ``more`` lines) to ``tmp``; the
    environment variables that make a Django process use it."""
    (tmp / "bench_bare_settings.py").write_text(SETTINGS + more)
    (tmp / "bench_bare_urls.py").write_text(URLCONF)
    return {
        "DJANGO_SETTINGS_MODULE": "bench_bare_settings",
        "PYTHONPATH": os.pathsep.join([str(tmp), str(ROOT)]),
    }


def wait_for_http(
    port: int, path: str, process: subprocess.Popen[bytes] | None, log: Path, seconds: float = 60
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"The server exited:\n{log.read_text()[-3000:]}")
        try:
            if request(port, "GET", path)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"No answer on port {port} within {seconds:.0f} s:\n{log.read_text()[-3000:]}")


def request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# --- loads -----------------------------------------------------------------------------------


@dataclass
class Load:
    """What wrk sends: ``paths`` in turn (GET, ``headers``), or, with ``body`` (a Lua expression
    of the thread's ``id`` and its counter ``n``), a fresh POST to ``paths[0]`` each time."""

    name: str
    paths: list[str]
    expected: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""  # Lua
    lua_data: str = ""  # Lua definitions the body uses
    idempotency_key: bool = False  # a fresh Idempotency-Key header on every POST

    def script(self) -> str:
        headers = "{" + ", ".join(f"[{_lua(k)}] = {_lua(v)}" for k, v in self.headers.items()) + "}"
        if not self.body:
            paths = "{" + ", ".join(_lua(p) for p in self.paths) + "}"
            make = (
                f"local paths = {paths}\n"
                "request = function()\n"
                "  n = n % #paths + 1\n"
                "  return wrk.format('GET', paths[n], headers)\n"
                "end\n"
            )
        else:
            key = 'headers["Idempotency-Key"] = string.format("b%s-%d-%d", run, id, n)\n'
            make = (
                f"{self.lua_data}\n"
                "request = function()\n"
                "  n = n + 1\n"
                f"  {key if self.idempotency_key else ''}"
                f"  return wrk.format('POST', {_lua(self.paths[0])}, headers, {self.body})\n"
                "end\n"
            )
        return (
            f"local headers = {headers}\n"
            f"local run = {_lua(f'{time.time_ns():x}')}\n"
            "threads, id, n = 0, 0, 0\n"  # globals: setup() sets each thread's id
            "setup = function(thread)\n"
            "  threads = threads + 1\n"
            "  thread:set('id', threads)\n"
            "end\n"
            "init = function(args)\n"
            "  n = id * 7919\n"  # each thread starts elsewhere in the list
            "end\n"
            f"{make}"
            "done = function(summary, latency, requests)\n"
            "  local q = {}\n"
            "  for i = 1, 1000 do q[i] = latency:percentile(i / 10) end\n"
            "  local e = summary.errors\n"
            '  io.write(string.format("FIXPOINT-WRK %d %d %d %d %d %d %d %s\\n",'
            " summary.requests, summary.duration, e.connect, e.read, e.write, e.status,"
            ' e.timeout, table.concat(q, ",")))\n'
            "end\n"
        )


def _lua(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid Lua string literal for these values


@dataclass
class Run:
    requests: int = 0
    seconds: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)
    quantiles: list[tuple[float, float]] = field(default_factory=list)  # (latency s, weight)

    @property
    def rps(self) -> float:
        """Answers a second, refusals (4xx, 5xx) not counted: a 429 is not a filing."""
        good = self.requests - self.errors.get("non-2xx/3xx", 0)
        return good / self.seconds if self.seconds else 0.0

    def add(self, other: Run) -> None:
        self.requests += other.requests
        self.seconds += other.seconds
        for kind, count in other.errors.items():
            self.errors[kind] = self.errors.get(kind, 0) + count
        self.quantiles += other.quantiles

    def percentile(self, p: float) -> float:
        """Of all runs merged: each run's 1,000 quantiles weigh its requests / 1,000."""
        ordered = sorted(self.quantiles)
        weights = [0.0]
        for _, weight in ordered:
            weights.append(weights[-1] + weight)
        at = bisect.bisect_left(weights, p / 100 * weights[-1]) - 1
        return ordered[max(0, min(at, len(ordered) - 1))][0]

    def error_line(self) -> str:
        wrong = {kind: n for kind, n in self.errors.items() if n}
        return ", ".join(f"{n} {kind}" for kind, n in wrong.items())


def wrk(port: int, load: Load, seconds: float, *, threads: int = 2, connections: int = 32) -> Run:
    """One wrk run of ``load`` for ``seconds``."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(load.script())
    script = Path(lua.name)
    try:
        result = subprocess.run(  # noqa: S603 (Debian's wrk, our arguments)
            [WRK, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
             "--timeout", "30s", "-s", str(script), f"http://{HOST}:{port}/"],
            capture_output=True, text=True, check=False, timeout=seconds + 120,
        )  # fmt: skip
    finally:
        script.unlink(missing_ok=True)
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith("FIXPOINT-WRK ")), None)
    if line is None:
        raise SystemExit(f"wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    _, count, micros, connect, read, write, status, timeout, quantiles = line.split(" ")
    values = [float(v) / 1e6 for v in quantiles.split(",")]
    return Run(
        requests=int(count),
        seconds=int(micros) / 1e6,
        errors={
            "connect errors": int(connect),
            "read errors": int(read),
            "write errors": int(write),
            "non-2xx/3xx": int(status),
            "timeouts": int(timeout),
        },
        quantiles=[(v, int(count) / len(values)) for v in values],
    )


def alternate(
    port: int,
    load: Load,
    bare: Load,
    seconds: float,
    rounds: int,
    *,
    threads: int = 2,
    connections: int = 32,
    settle: Callable[[], None] | None = None,
) -> tuple[Run, Run]:
    """``seconds`` of ``load`` and as many of the bare view, in ``rounds`` turns each.

    ``settle``: waits until the server has done what ``load``'s requests left for after their
    answers (work on threads of its own); its time is added to ``load``'s, so the rate is one
    the server can keep up, and the bare view's next turn runs on a machine that is done."""
    ours, base = Run(), Run()
    each = seconds / rounds
    for _ in range(rounds):
        base.add(wrk(port, bare, each, threads=threads, connections=connections))
        turn = wrk(port, load, each, threads=threads, connections=connections)
        if settle is not None:
            started = time.perf_counter()
            settle()
            turn.seconds += time.perf_counter() - started
        ours.add(turn)
    return ours, base


def bare_load() -> Load:
    return Load("bare", [BARE], headers={"Accept": "application/json"})


# --- printing ----------------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    ours: Run
    bare: Run
    target: float | None  # share of the bare view
    note: str = ""

    @property
    def share(self) -> float:
        return self.ours.rps / self.bare.rps if self.bare.rps else 0.0


def table(rows: Sequence[Row]) -> str:
    lines = [
        f"  {'endpoint':<24} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
        f" {'bare req/s':>10} {'share':>6}  target"
    ]
    for row in rows:
        verdict = ""
        if row.target is not None:
            verdict = f">= {row.target:.0%} " + ("met" if row.share >= row.target else "MISSED")
        errors = row.ours.error_line()
        lines.append(
            f"  {row.name:<24} {row.ours.rps:8,.0f} {row.ours.percentile(50) * 1e3:8.1f}"
            f" {row.ours.percentile(95) * 1e3:8.1f} {row.ours.percentile(99) * 1e3:8.1f}"
            f" {row.bare.rps:10,.0f} {row.share:6.1%}  {verdict}"
            + (f"  ({row.note})" if row.note else "")
            + (f"  [{errors}]" if errors else "")
        )
    return "\n".join(lines)


def load_generator_check(rows: Sequence[Row]) -> str:
    """The bare view must run at least twice as fast as Fixpoint's fastest endpoint, or the
    load generator (sharing the cores) bounds what is measured and the shares are inflated."""
    fastest = max(rows, key=lambda row: row.ours.rps)
    ratio = fastest.bare.rps / fastest.ours.rps if fastest.ours.rps else float("inf")
    if ratio >= 2:
        return (
            f"load generator: the bare view ran {ratio:.2f}x as fast as the fastest endpoint"
            f" ({fastest.name}): wrk leaves room to measure (at least 2x needed)"
        )
    return (
        f"WARNING: the bare view ran only {ratio:.2f}x as fast as the fastest endpoint"
        f" ({fastest.name}); at least 2x is needed for the shares to mean anything: the load"
        " generator or the machine bounds the bare view: use a quieter machine."
    )


def machine_line() -> str:
    return f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
