"""Driving a running hub through its public contract only (CLI and HTTP), as a client would.

The method of ``../shared/bench/e2e_bench.py``: keep-alive clients, the same seed (a channel,
three warehouses, 20 SKUs) and the same three-line orders, so the figures compare.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

ORDERHUB = str(Path(sys.executable).parent / "orderhub")
ADDRESSES = {
    "dal": ("TX", "75201", "Dallas"),
    "ewr": ("NJ", "07102", "Newark"),
    "oak": ("CA", "94607", "Oakland"),
}
_DESTINATIONS = [
    ("NY", "10001", "New York"),
    ("CA", "90001", "Los Angeles"),
    ("TX", "73301", "Austin"),
    ("IL", "60601", "Chicago"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def cli(env: dict[str, str], *args: str) -> str:
    """Run ``orderhub ARGS`` with ``env`` on top of ours; its stdout, or SystemExit."""
    done = subprocess.run(  # noqa: S603 - our own CLI, arguments from this module
        [ORDERHUB, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode:
        sys.exit(f"orderhub {' '.join(args)} failed: {done.stderr[-400:]}")
    return done.stdout


def fresh_hub(directory: Path) -> tuple[dict[str, str], str]:
    """A fresh, migrated SQLite hub and an admin key; its environment for the processes."""
    directory.mkdir(parents=True, exist_ok=True)
    env = {
        "ORDERHUB_DATABASE_URL": f"sqlite:///{directory / 'hub.db'}",
        "ORDERHUB_SECRET_KEY_FILE": str(directory / "secret.key"),
        "ORDERHUB_SCHEDULES_ENABLED": "false",
    }
    cli(env, "db", "upgrade")
    key = cli(env, "apikey", "create", "--role", "admin").strip().splitlines()[-1]
    return env, key


def fresh_pg_hub(directory: Path, server: str, database: str) -> tuple[dict[str, str], str, str]:
    """A fresh (dropped first), migrated PostgreSQL hub ``database`` on ``server``
    (``postgresql://user@host:port``) and an admin key; its environment for the processes and
    the database's libpq URL."""
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {database}")
        conn.execute(f"CREATE DATABASE {database}")
    url = f"{server}/{database}"
    directory.mkdir(parents=True, exist_ok=True)
    env = {
        "ORDERHUB_DATABASE_URL": url.replace("postgresql://", "postgresql+psycopg://"),
        "ORDERHUB_SECRET_KEY_FILE": str(directory / "secret.key"),
        "ORDERHUB_SCHEDULES_ENABLED": "false",
    }
    env["ORDERHUB_SECRET_KEY"] = cli(env, "secrets", "generate-key").strip().splitlines()[-1]
    cli(env, "db", "upgrade")
    key = cli(env, "apikey", "create", "--role", "admin").strip().splitlines()[-1]
    return env, key, url


class Client:
    """One keep-alive connection per thread, bearer-authenticated; retries a dropped socket."""

    def __init__(self, port: int, key: str) -> None:
        self.port, self.key = port, key
        self._local = threading.local()

    def _conn(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        return conn

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        data = json.dumps(body) if body is not None else None
        sent = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"}
        for attempt in range(3):
            try:
                conn = self._conn()
                conn.request(method, path, body=data, headers=sent | (headers or {}))
                response = conn.getresponse()
                text = response.read()
                try:
                    return response.status, (json.loads(text) if text else None)
                except ValueError:
                    return response.status, text[:200]
            except (ConnectionError, http.client.HTTPException, OSError):
                self._local.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def seed(api: Client) -> None:
    """A native channel ``web``, three US warehouses and 20 SKUs with plenty of stock."""
    for method, path, body in seed_requests():
        _ok(api.call(method, path, body))


def seed_requests() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """The requests :func:`seed` sends, in order (for clients of other kinds)."""
    yield "POST", "/v1/channels", {"code": "web", "name": "Web", "kind": "native"}
    as_of = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for code, (region, postal_code, city) in ADDRESSES.items():
        address = {
            "line1": "1 Dock",
            "city": city,
            "region": region,
            "postal_code": postal_code,
            "country": "US",
        }
        location = {"code": code, "name": code, "kind": "warehouse", "address": address}
        yield "POST", "/v1/locations", location
    for i in range(20):
        yield "POST", "/v1/products", {"sku": f"S{i}", "name": f"S{i}", "weight_grams": 400}
        for code in ADDRESSES:
            adjustment = {"sku": f"S{i}", "location": code, "on_hand": 1_000_000, "as_of": as_of}
            yield "POST", "/v1/inventory/adjustments", adjustment


def _ok(answer: tuple[int, Any]) -> None:
    if answer[0] not in (200, 201):
        raise RuntimeError(f"seeding failed: {answer}")


def order(n: int) -> dict[str, Any]:
    """Order ``n``: three lines of three SKUs to one of four US destinations."""
    region, postal_code, city = _DESTINATIONS[n % 4]
    return {
        "channel": "web",
        "external_id": f"E-{n}",
        "currency": "USD",
        "placed_at": "2026-12-01T10:00:00Z",
        "customer": {"email": f"b{n % 300}@example.com", "name": "Buyer"},
        "shipping_address": {
            "name": "Buyer",
            "line1": "5 Main St",
            "city": city,
            "region": region,
            "postal_code": postal_code,
            "country": "US",
        },
        "lines": [
            {"sku": f"S{(n + j) % 20}", "quantity": 1 + j, "unit_price": "12.50", "tax": "1.00"}
            for j in range(3)
        ],
        "shipping": {"price": "4.90"},
    }


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


@dataclass
class Closed:
    """A closed loop's outcome: requests done, seconds, each latency, failures."""

    count: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.count / self.seconds


def closed_loop(count: int, clients: int, request: Callable[[int], tuple[int, Any]]) -> Closed:
    """``request(n)`` for n in 0..count-1 from ``clients`` threads, each waiting for its answer."""
    outcome = Closed(count, 0.0)
    lock, following = threading.Lock(), [0]

    def run() -> None:
        while True:
            with lock:
                n = following[0]
                following[0] += 1
            if n >= count:
                return
            started = time.perf_counter()
            status, body = request(n)
            outcome.latencies.append(time.perf_counter() - started)
            if status not in (200, 201):
                outcome.errors.append((status, str(body)[:200]))

    started = time.perf_counter()
    threads = [threading.Thread(target=run) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcome.seconds = time.perf_counter() - started
    return outcome


@dataclass
class Open:
    """An open loop's outcome: each latency from the request's due time, how many requests the
    sender itself started late (the API was not taking them), failures."""

    latencies: list[float] = field(default_factory=list)
    late: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    seconds: float = 0.0  # from the first due time until the last answer

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


def open_loop(
    rate: float, seconds: float, request: Callable[[int], tuple[int, Any]], *, in_flight: int = 64
) -> Open:
    """``request(n)`` offered at ``rate`` per second for ``seconds`` whatever the answers
    (at most ``in_flight`` at once, as e2e_bench.py): latency counts from when it was due."""
    outcome = Open()
    gate = threading.Semaphore(in_flight)

    def one(n: int, due: float) -> None:
        try:
            status, body = request(n)
            outcome.latencies.append(time.perf_counter() - due)
            if status not in (200, 201):
                outcome.errors.append((status, str(body)[:200]))
        finally:
            gate.release()

    start = time.perf_counter()
    threads = []
    for i in range(int(rate * seconds)):
        due = start + i / rate
        ahead = due - time.perf_counter()
        if ahead > 0:
            time.sleep(ahead)
        elif ahead < -0.05:
            outcome.late += 1
        gate.acquire()
        thread = threading.Thread(target=one, args=(i, due))
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    outcome.seconds = time.perf_counter() - start
    return outcome


@contextmanager
def processes(
    commands: list[tuple[list[str], dict[str, str]]], log: TextIO
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Run ``orderhub`` commands (args, extra env) in their own sessions; SIGTERM on exit."""
    started: list[subprocess.Popen[bytes]] = []
    try:
        for args, env in commands:
            started.append(
                subprocess.Popen(  # noqa: S603 - our own CLI, arguments from the caller
                    [ORDERHUB, *args],
                    env={**os.environ, **env},
                    stdout=log,
                    stderr=log,
                    start_new_session=True,
                )
            )
        yield started
    finally:
        for process in started:
            _signal(process, 15)
        for process in started:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                _signal(process, 9)


def _signal(process: subprocess.Popen[bytes], signum: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def wait_healthy(port: int, key: str, *, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if Client(port, key).call("GET", "/v1/health")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"orderhub serve on port {port} did not answer within {seconds:.0f} s")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU of the process and its threads so far (Linux ``/proc``): what a
    process spent, whatever share of the cores a shared machine gave it."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backends_cpu_seconds(url: str) -> float:
    """CPU spent so far by the PostgreSQL backends connected to ``url``'s database (libpq URL;
    not the one asking): what another user of the server spends is not counted, nor are the
    server's own processes (WAL writer, checkpointer…)."""
    import psycopg

    with psycopg.connect(url) as conn:
        pids = [
            row[0]
            for row in conn.execute(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ]
    total = 0.0
    for pid in pids:
        try:
            total += process_cpu_seconds(pid)
        except OSError:  # gone meanwhile
            continue
    return total
