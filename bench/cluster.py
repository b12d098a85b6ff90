"""Fixpoint on many machines, on this one: the production shape with the real programs, under
load, while parts of it die. Prints what it found and exits non-zero when a count is wrong.

    python bench/cluster.py [--seconds 60] [--quick] [--keep-logs DIR]

It starts, each in its own process group, on free ports of 127.0.0.1 and in one temporary
directory (removed at the end, also after an error or Ctrl-C; nothing else on the machine is
touched):

- PostgreSQL 15 (its own initdb, port and data directory) and a streaming read replica of it
  (pg_basebackup, its own data directory and port);
- PgBouncer in transaction mode in front of the primary (every Fixpoint process connects
  through it: DATABASE_CONN_MAX_AGE=0, DATABASE_PREPARED_STATEMENTS=false, server-side cursors
  off); the replica is read directly (DATABASE_REPLICA_URL, config/replica.py);
- Redis (no persistence: a restart loses the queue and the cache, the worst case);
- two web nodes (gunicorn, 2 sync workers each) behind HAProxy, which checks /healthz twice a
  second and retries a request on another node when the connection fails, and a GET or HEAD
  also when the answer is lost (a POST never: it may have been applied);
- two Celery workers and one beat, with the re-drive timers shortened so that a run settles in
  seconds (beat's re-drives every 5 s, a delivery stuck in "sending" after 15 s; what is checked
  does not depend on them);
- an aiosmtpd SMTP server as the council's mailbox, recording each message's Message-ID.

PostgreSQL, PgBouncer and their files belong to the `postgres` account when this runs as root
(they refuse root). Debian: apt-get install postgresql-15 pgbouncer haproxy redis-server.

Then, for --seconds (60; --quick: 8), client threads file reports through HAProxy (POST
/api/v1/reports/ with a write API key; each logical filing has its own Idempotency-Key and a
title naming it, and is sent again with the same key after a connection error or a 5xx, for up
to a minute), read each one back at once (the API's detail, read from the primary; Open311's,
read from the replica or, missing there, the primary) and read lists and the map. A third of the
way in one web node is killed with kill -9, then one Celery worker, then Redis is restarted;
each is started again after 5 s, as a supervisor would. A thread samples the replica's lag all
along: how long after a point in the primary's WAL the replica has replayed it.

After the load it waits for the system to settle (every stored filing followed up and its
delivery sent) and checks:

- every filing answered with success is stored exactly once;
- no filing is stored twice (a retry the server did not recognise as one files again);
- every stored filing was delivered to the mailbox exactly once, by Message-ID (a resend of the
  same message after a worker died mid-send is counted apart: the receiver drops it);
- every filing was readable at once by its client (read-your-own-writes);
- the replica's lag stayed under a second.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import pwd
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import serving

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_BIN = Path("/usr/lib/postgresql/15/bin")
HOST = serving.HOST
# Timers shortened for the run (see the docstring); appended to the settings module.
FAST_TIMERS = """
for _job in ("follow-up-filed-reports", "send-pending-deliveries", "send-due-notifications"):
    CELERY_BEAT_SCHEDULE[_job] = {**CELERY_BEAT_SCHEDULE[_job], "schedule": 5.0}
FIXPOINT_DELIVERY_STUCK_MINUTES = 0.25
"""
MAX_LAG = 1.0  # seconds
LOST = (OSError, http.client.HTTPException)  # no answer, or half of one: the client retries
TITLE = "Cluster filing "
SINK = """
import sys, time
from email.parser import BytesHeaderParser
from aiosmtpd.controller import Controller

class Mailbox:
    async def handle_DATA(self, server, session, envelope):
        headers = BytesHeaderParser().parsebytes(envelope.original_content or envelope.content)
        with open(sys.argv[2], "a") as seen:
            seen.write((headers.get("Message-ID") or "-").strip() + "\\n")
        return "250 OK"

controller = Controller(Mailbox(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("listening", flush=True)
while True:
    time.sleep(3600)
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60, help="of load")
    parser.add_argument("--quick", action="store_true", help="8 s of load, the same kills (CI)")
    parser.add_argument("--filers", type=int, default=4, help="client threads filing")
    parser.add_argument("--readers", type=int, default=2, help="client threads reading")
    parser.add_argument("--settle", type=float, default=180, help="seconds to wait at most")
    parser.add_argument("--keep-logs", type=Path, help="copy the processes' logs here")
    args = parser.parse_args()
    if args.quick:
        args.seconds = 8
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress, also to a file
    _require_programs()
    cluster = Cluster(Path(tempfile.mkdtemp(prefix="fixpoint-cluster-")))
    signal.signal(signal.SIGTERM, _interrupted)  # tear down on kill as on Ctrl-C
    try:
        cluster.start()
        found = Run(cluster, args).go()
    finally:
        cluster.stop(args.keep_logs)
    print(found.report())
    sys.exit(0 if found.ok else 1)


def _interrupted(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _require_programs() -> None:
    wanted = {
        "initdb, pg_ctl, pg_basebackup (postgresql-15)": PG_BIN / "pg_basebackup",
        "pgbouncer": Path(shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"),
        "haproxy": Path(shutil.which("haproxy") or "/usr/sbin/haproxy"),
        "redis-server": Path(shutil.which("redis-server") or "/usr/bin/redis-server"),
    }
    missing = [name for name, path in wanted.items() if not path.is_file()]
    if missing:
        sys.exit(f"bench/cluster.py needs {', '.join(missing)} (apt-get install them).")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            sys.exit("Run as root, bench/cluster.py runs PostgreSQL as the 'postgres' account.")


# --- the processes ---------------------------------------------------------------------------


@dataclass
class Ports:
    primary: int = field(default_factory=serving.free_port)
    replica: int = field(default_factory=serving.free_port)
    bouncer: int = field(default_factory=serving.free_port)
    redis: int = field(default_factory=serving.free_port)
    balancer: int = field(default_factory=serving.free_port)
    mailbox: int = field(default_factory=serving.free_port)
    web: tuple[int, int] = field(default_factory=lambda: (serving.free_port(), serving.free_port()))


class Cluster:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.ports = Ports()
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.web: list[serving.Gunicorn] = []
        self.postgres_dirs: list[Path] = []
        self.as_postgres = os.geteuid() == 0
        os.chmod(tmp, 0o755)  # noqa: S103 (the postgres account reads its files here)

    # Environment of every Fixpoint process (web, workers, beat).
    def env(self) -> dict[str, str]:
        p = self.ports
        return {
            "DATABASE_URL": f"postgres://postgres@{HOST}:{p.bouncer}/fixpoint"
            "?disable_server_side_cursors=true",
            "DATABASE_CONN_MAX_AGE": "0",  # PgBouncer pools the connections
            "DATABASE_PREPARED_STATEMENTS": "false",  # PgBouncer 1.18 cannot keep them
            "DATABASE_REPLICA_URL": f"postgres://postgres@{HOST}:{p.replica}/fixpoint",
            "CACHE_URL": f"redis://{HOST}:{p.redis}/1",
            "CELERY_BROKER_URL": f"redis://{HOST}:{p.redis}/0",
            "EMAIL_URL": f"smtp://{HOST}:{p.mailbox}",
            **serving.server_env(),
            **serving.settings_module(self.tmp, FAST_TIMERS),
        }

    def direct_url(self, port: int | None = None) -> str:
        return f"postgres://postgres@{HOST}:{port or self.ports.primary}/fixpoint"

    def start(self) -> None:
        started = time.perf_counter()
        self._redis()
        self._primary()
        self._prepare_database()
        self._replica()
        self._bouncer()
        self._mailbox()
        for number in (1, 2):
            self.start_web(number)
        self._balancer()
        for number in (1, 2):
            self.start_worker(number)
        self._spawn("beat", [sys.executable, "-m", "celery", "-A", "config", "beat",
                             "--schedule", str(self.tmp / "beat-schedule"),
                             "--loglevel", "WARNING"], env=self.env())  # fmt: skip
        p = self.ports
        print(f"cluster up in {time.perf_counter() - started:.0f} s: PostgreSQL :{p.primary}"
              f" + replica :{p.replica}, PgBouncer :{p.bouncer}, Redis :{p.redis}, web"
              f" :{p.web[0]} :{p.web[1]} behind HAProxy :{p.balancer}, 2 workers, beat,"
              f" mailbox :{p.mailbox}")  # fmt: skip

    # PostgreSQL -----------------------------------------------------------------------------

    def _postgres_dir(self, name: str) -> Path:
        path = self.tmp / name
        path.mkdir(mode=0o700)
        if self.as_postgres:
            shutil.chown(path, "postgres", "postgres")
        self.postgres_dirs.append(path)
        return path

    def _as_postgres(self, command: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *command] if self.as_postgres else command

    def _run(self, command: list[str], what: str) -> None:
        result = subprocess.run(  # noqa: S603 (PostgreSQL's own programs)
            self._as_postgres(command), capture_output=True, text=True, check=False, timeout=300
        )
        if result.returncode:
            raise SystemExit(f"{what} failed:\n{result.stdout}\n{result.stderr}")

    def _primary(self) -> None:
        data = self._postgres_dir("primary")
        self._run([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                   "--encoding=UTF8", "--locale=C.UTF-8"], "initdb")  # fmt: skip
        with open(data / "postgresql.conf", "a") as conf:
            conf.write(
                f"listen_addresses = '{HOST}'\nport = {self.ports.primary}\n"
                f"unix_socket_directories = '{data}'\nwal_level = replica\n"
                "max_wal_senders = 4\nhot_standby = on\ntimezone = 'UTC'\n"
                "max_connections = 100\nshared_buffers = 64MB\n"
            )
        with open(data / "pg_hba.conf", "w") as hba:
            hba.write(f"local all all trust\nhost all all {HOST}/32 trust\n"
                      f"host replication all {HOST}/32 trust\n")  # fmt: skip
        self._pg_ctl(data, "start")

    def _pg_ctl(self, data: Path, action: str) -> None:
        extra = ["-m", "fast"] if action == "stop" else ["-l", str(data / "server.log")]
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(data), "-w", "-t", "60", *extra, action],
                  f"pg_ctl {action} {data.name}")  # fmt: skip

    def _prepare_database(self) -> None:
        """The database, migrated directly (the release step), the demo's city and categories,
        a few thousand reports, and the account the clients file as."""
        import psycopg

        with psycopg.connect(self.direct_url().replace("/fixpoint", "/postgres"),
                             autocommit=True) as admin:  # fmt: skip
            admin.execute("CREATE DATABASE fixpoint")
            # Django sends SET TIME ZONE when the server's differs: through PgBouncer in
            # transaction mode that would leak between clients, so the database says UTC.
            admin.execute("ALTER DATABASE fixpoint SET timezone TO 'UTC'")
        os.environ.update({**self.env(), "DATABASE_URL": self.direct_url(),
                           "DATABASE_REPLICA_URL": "", "DJANGO_SETTINGS_MODULE":
                           "bench_bare_settings"})  # fmt: skip
        sys.path.insert(0, str(self.tmp))
        import django

        django.setup()
        import api  # bench/api.py: its reports and routable spots

        print(f"database: {api._seed(3000, 1)}")

    def _replica(self) -> None:
        data = self._postgres_dir("replica")
        self._run([str(PG_BIN / "pg_basebackup"), "-h", HOST, "-p", str(self.ports.primary),
                   "-U", "postgres", "-D", str(data), "-R", "-X", "stream", "--checkpoint=fast"],
                  "pg_basebackup")  # fmt: skip
        with open(data / "postgresql.conf", "a") as conf:
            conf.write(f"port = {self.ports.replica}\nunix_socket_directories = '{data}'\n")
        self._pg_ctl(data, "start")

    # The others -------------------------------------------------------------------------------

    def _spawn(
        self, name: str, command: list[str], *, env: dict[str, str] | None = None,
        as_postgres: bool = False,
    ) -> subprocess.Popen[bytes]:  # fmt: skip
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115 (kept open for the process)
        process = subprocess.Popen(  # noqa: S603 (the cluster's programs)
            self._as_postgres(command) if as_postgres else command,
            env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, cwd=ROOT,
        )  # fmt: skip
        self.processes[name] = process
        return process

    def _bouncer(self) -> None:
        ini, users = self.tmp / "pgbouncer.ini", self.tmp / "userlist.txt"
        users.write_text('"postgres" ""\n')
        ini.write_text(
            f"[databases]\nfixpoint = host={HOST} port={self.ports.primary} dbname=fixpoint\n"
            f"[pgbouncer]\nlisten_addr = {HOST}\nlisten_port = {self.ports.bouncer}\n"
            f"unix_socket_dir =\nauth_type = trust\nauth_file = {users}\n"
            "pool_mode = transaction\ndefault_pool_size = 20\nmax_client_conn = 500\n"
            "ignore_startup_parameters = extra_float_digits\n"
        )
        for path in (ini, users):
            os.chmod(path, 0o644)
        bouncer = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        self._spawn("pgbouncer", [bouncer, str(ini)], as_postgres=True)
        _wait_for_port(self.ports.bouncer, "PgBouncer", self.tmp / "pgbouncer.log")

    def start_redis(self) -> None:
        self._spawn("redis", ["redis-server", "--bind", HOST, "--port", str(self.ports.redis),
                              "--save", "", "--appendonly", "no",
                              "--dir", str(self.tmp)])  # fmt: skip
        _wait_for_port(self.ports.redis, "Redis", self.tmp / "redis.log")

    _redis = start_redis

    def _mailbox(self) -> None:
        (self.tmp / "mailbox.py").write_text(SINK)
        self._spawn("mailbox", [sys.executable, str(self.tmp / "mailbox.py"),
                                str(self.ports.mailbox), str(self.mailbox_file)])  # fmt: skip
        _wait_for_port(self.ports.mailbox, "the mailbox", self.tmp / "mailbox.log")

    @property
    def mailbox_file(self) -> Path:
        return self.tmp / "mailbox.txt"

    def start_web(self, number: int) -> None:
        node = serving.Gunicorn(self.tmp, self.env(), workers=2, name=f"-web{number}",
                                port=self.ports.web[number - 1], settings=FAST_TIMERS)  # fmt: skip
        node.start()
        if len(self.web) < number:
            self.web.append(node)
        else:
            self.web[number - 1] = node

    def _balancer(self) -> None:
        config = self.tmp / "haproxy.cfg"
        servers = "\n".join(
            f"    server web{n} {HOST}:{port} maxconn 2 check inter 500ms fall 3 rise 2"
            " observe layer4 error-limit 1 on-error mark-down"  # a refused connection: down now
            for n, port in enumerate(self.ports.web, 1)
        )
        config.write_text(f"""\
global
    log stdout format raw local0
defaults
    log global
    option httplog
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    # Two sync workers a node: HAProxy queues the rest, so a health check never waits behind
    # a backlog in gunicorn and a busy node is not taken for a dead one.
    timeout queue 30s
    timeout check 2s
    retries 3
    option redispatch 1
    # A lost answer is retried on another node for GET/HEAD only; a POST only when its
    # connection failed (nothing was sent), as it may have been applied.
    retry-on conn-failure empty-response response-timeout
frontend fixpoint
    bind {HOST}:{self.ports.balancer}
    http-request disable-l7-retry unless METH_GET || METH_HEAD
    default_backend web
backend web
    balance roundrobin
    option httpchk
    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host {HOST}
    http-check expect status 200
{servers}
""")
        haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
        self._spawn("haproxy", [haproxy, "-db", "-f", str(config)])
        _wait_for_port(self.ports.balancer, "HAProxy", self.tmp / "haproxy.log")

    def start_worker(self, number: int) -> None:
        self._spawn(f"worker{number}", [
            sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork",
            "--concurrency", "1", "-n", f"worker{number}@%h", "--loglevel", "WARNING",
        ], env=self.env())  # fmt: skip

    def kill(self, name: str) -> None:
        """kill -9 a process and everything in its group."""
        process = self.processes[name]
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def stop_redis(self) -> None:
        process = self.processes["redis"]
        os.killpg(process.pid, signal.SIGTERM)  # SHUTDOWN; with no persistence it saves nothing
        process.wait(timeout=20)

    def stop(self, keep_logs: Path | None) -> None:
        for node in self.web:
            _quietly(node.stop)
        for process in self.processes.values():
            if process.poll() is None:
                _quietly(partial(os.killpg, process.pid, signal.SIGTERM))
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                _quietly(partial(os.killpg, process.pid, signal.SIGKILL))
        for data in reversed(self.postgres_dirs):
            if (data / "postmaster.pid").exists():
                _quietly(partial(self._pg_ctl, data, "stop"))
        if keep_logs is not None:
            keep_logs.mkdir(parents=True, exist_ok=True)
            for log in [*self.tmp.glob("*.log"), *self.tmp.glob("*/server.log")]:
                name = log.name if log.parent == self.tmp else f"{log.parent.name}-{log.name}"
                shutil.copy(log, keep_logs / name)
        shutil.rmtree(self.tmp, ignore_errors=True)
        print("cluster torn down")


def _quietly(action: Callable[[], Any]) -> None:
    try:
        action()
    except (OSError, subprocess.SubprocessError, SystemExit) as exc:
        print(f"teardown: {exc}", file=sys.stderr)


def _wait_for_port(port: int, what: str, log: Path, seconds: float = 30) -> None:
    import socket

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    text = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    raise SystemExit(f"{what} did not listen on port {port}:\n{text}")


# --- the run ---------------------------------------------------------------------------------


@dataclass
class Filing:
    key: str
    attempts: int = 0
    answers: list[int] = field(default_factory=list)  # each attempt's status (0: no answer)
    report_id: int | None = None  # answered with success
    refused: str = ""  # a 4xx, or given up
    read_back: bool | None = None  # readable at once by its client


class Run:
    def __init__(self, cluster: Cluster, args: argparse.Namespace) -> None:
        self.cluster, self.args = cluster, args
        self.filings: list[Filing] = []
        self.reads = Counter[str]()
        self.lags: list[float] = []
        self.events: list[str] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.seconds = 0.0

    def go(self) -> Found:
        import api

        from accounts.models import User
        from accounts.services import api_client_create

        user, _ = User.objects.get_or_create(email="cluster@example.org")
        self.key = api_client_create(name="cluster", scope="write", user=user)[1]
        self.spots = api._routable_spots(random.Random(1), 200)
        threads = [
            *(threading.Thread(target=self._filer, args=(n,)) for n in range(self.args.filers)),
            *(threading.Thread(target=self._reader, args=(n,)) for n in range(self.args.readers)),
            threading.Thread(target=self._sample_lag),
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        try:
            self._chaos(started)
        finally:
            self.stop.set()
            self.seconds = time.monotonic() - started
            for thread in threads:
                thread.join(timeout=120)
        print(f"load over: {len(self.filings):,} filings attempted, {sum(self.reads.values()):,}"
              " reads; waiting for the system to settle")  # fmt: skip
        settled = self._settle()
        return Found(self, settled)

    # Kills -------------------------------------------------------------------------------------

    def _chaos(self, started: float) -> None:
        seconds = self.args.seconds
        plan: list[tuple[float, str, Callable[[], None], Callable[[], None]]] = [
            (0.25, "kill -9 web node 1", self.cluster.web[0].kill,
             lambda: self.cluster.start_web(1)),
            (0.45, "kill -9 worker 1", lambda: self.cluster.kill("worker1"),
             lambda: self.cluster.start_worker(1)),
            (0.65, "restart Redis", self.cluster.stop_redis, self.cluster.start_redis),
        ]  # fmt: skip
        for share, what, kill, restart in plan:
            _sleep_until(started + share * seconds)
            kill()
            self._event(f"{what} at {time.monotonic() - started:.1f} s")
            time.sleep(2 if what == "restart Redis" else 5)  # down, then back as a supervisor would
            restart()
            self._event(f"  back at {time.monotonic() - started:.1f} s")
        _sleep_until(started + seconds)

    def _event(self, text: str) -> None:
        print(text)
        self.events.append(text)

    # Clients -----------------------------------------------------------------------------------

    def _filer(self, number: int) -> None:
        rng = random.Random(number)
        while not self.stop.is_set():
            filing = Filing(uuid.uuid4().hex)
            with self.lock:
                self.filings.append(filing)
            self._file(filing, rng)
            if filing.report_id is not None:
                self._read_back(filing)

    def _file(self, filing: Filing, rng: random.Random) -> None:
        lat, lon, slug = rng.choice(self.spots)
        body = json.dumps(
            {
                "title": TITLE + filing.key,
                "description": "Cluster run.",
                "category": slug,
                "latitude": lat,
                "longitude": lon,
            }
        ).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "X-API-Key": self.key, "Idempotency-Key": filing.key}  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            filing.attempts += 1
            try:
                status, answer = self._http("POST", "/api/v1/reports/", body, headers)
            except LOST:
                status, answer = 0, b""
            filing.answers.append(status)
            if status == 201:
                filing.report_id = int(json.loads(answer)["id"])
                return
            if 400 <= status < 500 and status != 429:
                filing.refused = f"{status} {answer[:200]!r}"
                return
            time.sleep(rng.uniform(0.2, 0.6))  # connection lost, 5xx, 429: again, same key
        filing.refused = "gave up after a minute of errors"

    def _read_back(self, filing: Filing) -> None:
        """Its client reads it at once: the API's detail (primary), then Open311's (replica, or
        the primary when the replica lacks it)."""
        ref = None
        for path in (f"/api/v1/reports/{filing.report_id}/", None):
            if path is None:
                path = f"/open311/v2/requests/{ref}.json"
            status, answer = self._retrying_get(path)
            if status != 200:
                filing.read_back = False
                return
            ref = ref or json.loads(answer).get("ref")
        filing.read_back = True

    def _retrying_get(self, path: str) -> tuple[int, bytes]:
        status, answer = 0, b""
        for _ in range(40):  # errors of the machinery (a node going down), not a 404
            try:
                status, answer = self._http("GET", path)
            except LOST:
                status = 0
            if status and status < 500:
                return status, answer
            time.sleep(0.25)
        return status, answer

    def _reader(self, number: int) -> None:
        rng = random.Random(100 + number)
        while not self.stop.is_set():
            lat, lon, _ = rng.choice(self.spots)
            box = f"{lon - 0.006:.5f},{lat - 0.0045:.5f},{lon + 0.006:.5f},{lat + 0.0045:.5f}"
            path = rng.choice([f"/api/v1/reports/?bbox={box}", "/open311/v2/requests.json",
                               f"/map/reports.json?bbox={box}&zoom=15"])  # fmt: skip
            try:
                status, _ = self._http("GET", path)
            except LOST:
                status = 0
            self.reads["ok" if status == 200 else f"status {status or 'connection error'}"] += 1

    def _http(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        return serving.request(self.cluster.ports.balancer, method, path, body, headers, 30)

    # The replica's lag -----------------------------------------------------------------------

    def _sample_lag(self) -> None:
        """Every 0.2 s: note the primary's WAL position, and time how long until the replica has
        replayed it."""
        import psycopg

        with (
            psycopg.connect(self.cluster.direct_url(), autocommit=True) as primary,
            psycopg.connect(self.cluster.direct_url(self.cluster.ports.replica),
                            autocommit=True) as replica,
        ):  # fmt: skip
            while not self.stop.is_set():
                noted = time.monotonic()
                [(position,)] = primary.execute("SELECT pg_current_wal_lsn()").fetchall()
                while not self.stop.is_set():
                    [(caught_up,)] = replica.execute(
                        "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [position]
                    ).fetchall()
                    if caught_up:
                        self.lags.append(time.monotonic() - noted)
                        break
                    time.sleep(0.005)
                time.sleep(0.2)

    # Settling ------------------------------------------------------------------------------------

    def _settle(self) -> float:
        """Seconds until every stored filing is followed up and its delivery sent and received
        (or --settle passes)."""
        from reports.models import Delivery, DeliveryStatus, Report

        started = time.monotonic()
        ours = Report.objects.filter(title__startswith=TITLE)
        while time.monotonic() - started < self.args.settle:
            waiting = ours.filter(follow_up_due=True).count()
            deliveries = Delivery.objects.filter(report__in=ours)
            unsent = deliveries.exclude(status__in=[DeliveryStatus.SENT, DeliveryStatus.FAILED])
            sent = set(deliveries.filter(status=DeliveryStatus.SENT).values_list("id", flat=True))
            if not waiting and not unsent.exists() and sent <= set(self.delivered()):
                return time.monotonic() - started
            time.sleep(1)
        return -1.0

    def delivered(self) -> list[int]:
        """The delivery ids of the messages the mailbox received (from their Message-IDs), once
        per message."""
        path = self.cluster.mailbox_file
        lines = path.read_text().split() if path.exists() else []
        return [int(match[1]) for line in lines if (match := DELIVERY_ID.match(line))]


def _sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.monotonic()))


# --- the checks ------------------------------------------------------------------------------

DELIVERY_ID = re.compile(r"<fixpoint-delivery-(\d+)@")


class Found:
    def __init__(self, run: Run, settled: float) -> None:
        from reports.models import Delivery, Report

        self.run, self.settled = run, settled
        stored = Counter[str]()
        for title in Report.objects.filter(title__startswith=TITLE).values_list("title", flat=True):
            stored[title.removeprefix(TITLE)] += 1
        self.stored = stored
        self.received = Counter(run.delivered())
        self.deliveries = list(
            Delivery.objects.filter(report__title__startswith=TITLE).values_list(
                "id", "report__title", "status"
            )
        )
        self.checks: list[tuple[str, int, int]] = []  # what, right, wrong
        self._count()

    def _count(self) -> None:
        filings = self.run.filings
        answered = [f for f in filings if f.report_id is not None]
        retried = [f for f in filings if f.attempts > 1]
        self.check("filings answered with success stored exactly once",
                   sum(self.stored[f.key] == 1 for f in answered),
                   sum(self.stored[f.key] != 1 for f in answered))  # fmt: skip
        self.check("filings stored at most once (no retry filed twice)",
                   sum(n == 1 for n in self.stored.values()),
                   sum(n > 1 for n in self.stored.values()))  # fmt: skip
        by_report: dict[str, list[int]] = {}
        for delivery_id, title, _ in self.deliveries:
            by_report.setdefault(title.removeprefix(TITLE), []).append(delivery_id)
        once = wrong = 0
        for key in self.stored:
            messages = [d for d in by_report.get(key, []) if self.received[d]]
            once += len(messages) == 1
            wrong += len(messages) != 1
        self.check("stored filings delivered to the mailbox exactly once (by Message-ID)",
                   once, wrong)  # fmt: skip
        read = [f for f in answered if f.read_back is not None]
        self.check(
            "filings readable by their client at once",
            sum(bool(f.read_back) for f in read),
            sum(not f.read_back for f in read),
        )
        worst = max(self.run.lags, default=0.0)
        self.check(f"replica lag samples under {MAX_LAG:.0f} s",
                   sum(lag < MAX_LAG for lag in self.run.lags),
                   sum(lag >= MAX_LAG for lag in self.run.lags))  # fmt: skip
        self.worst_lag = worst
        self.retried = len(retried)
        self.retried_twice = sum(self.stored[f.key] > 1 for f in retried)
        self.gave_up = [f for f in filings if f.report_id is None]

    def check(self, what: str, right: int, wrong: int) -> None:
        self.checks.append((what, right, wrong))

    @property
    def ok(self) -> bool:
        return self.settled >= 0 and all(wrong == 0 for _, _, wrong in self.checks)

    def report(self) -> str:
        filings = self.run.filings
        resent = sum(n - 1 for n in self.received.values() if n > 1)
        lags = sorted(self.run.lags) or [0.0]
        lines = [
            "",
            f"{len(filings):,} filings over {self.run.seconds:.0f} s"
            f" ({sum(f.report_id is not None for f in filings):,} answered with success,"
            f" {self.retried:,} sent more than once, {len(self.gave_up):,} without success:"
            f" {Counter(f.refused.split(' ')[0] for f in self.gave_up).most_common(3)});"
            f" reads {dict(self.run.reads)}",
            *self.run.events,
            "settled in "
            + (
                f"{self.settled:.0f} s" if self.settled >= 0 else "MORE THAN --settle (not settled)"
            ),
            f"deliveries: {len(self.deliveries):,} rows for {len(self.stored):,} stored filings;"
            f" {sum(self.received.values()):,} messages received, {resent} of them a resend of"
            " a Message-ID already received (dropped by the receiver)",
            f"replica lag: {len(self.run.lags):,} samples, median"
            f" {lags[len(lags) // 2] * 1e3:.0f} ms, max {self.worst_lag * 1e3:.0f} ms",
            f"retried filings stored twice: {self.retried_twice}",
        ]
        twice = [f for f in filings if self.stored[f.key] > 1][:5]
        for filing in twice:
            lines.append(f"  filed twice: {filing.key}, answers to its attempts {filing.answers}")
        for what, right, wrong in self.checks:
            lines.append(f"  {'ok   ' if not wrong else 'WRONG'} {what}: {right:,} right,"
                         f" {wrong:,} wrong")  # fmt: skip
        lines.append("all counts right" if self.ok else "SOME COUNTS ARE WRONG (see above)")
        return "\n".join(lines)


if __name__ == "__main__":
    main()
