"""Shared fixtures: every integration test runs once on SQLite and once on PostgreSQL.

Each test gets a database of its own, copied from a template migrated once per session (a file
copy on SQLite, ``CREATE DATABASE … TEMPLATE`` on PostgreSQL), so tests may commit, run
concurrent clients and never see each other. Under ``CI=true`` a missing PostgreSQL fails the
run instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
import uvicorn
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event

from orderhub.api.app import create_app
from orderhub.bootstrap import Container, bootstrap
from orderhub.config import Settings
from orderhub.domain.access import Role
from orderhub.domain.catalog import Product
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.store.migrate import upgrade

PG_ADMIN_DSN = os.environ.get("ORDERHUB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"
# Test hubs seal channel secrets with a key from the environment, as production ones do.
os.environ.setdefault("ORDERHUB_SECRET_KEY", Fernet.generate_key().decode())
# TestClient's requests come from the address "testclient": exempt it from the per-address rate
# limit, as loopback is, so that long tests are not throttled (tests/security/test_api4_…
# builds hubs with limits of their own).
os.environ.setdefault("ORDERHUB_RATE_LIMIT_EXEMPT_ADDRESSES", '["127.0.0.1", "::1", "testclient"]')
# Most tests were written for the worker allocating a new order (status "received" after the
# POST, stock added afterwards): they keep it; tests of allocation on ingest (the default of
# a real hub) turn it on themselves (tests/integration/test_allocate_on_ingest.py).
os.environ.setdefault("ORDERHUB_ALLOCATE_ON_INGEST", "false")


def pytest_sessionstart(session: pytest.Session) -> None:
    """Refuse to test a compiled routing engine older than its sources (tools/native.py)."""
    from tools.native import stale_modules

    stale = stale_modules()
    if stale:
        pytest.exit(
            f"the compiled routing engine is older than {', '.join(stale)}: run `make venv` "
            "(or `.venv/bin/python tools/native.py build`, or `… clean` to run it interpreted)",
            returncode=2,
        )
    _check_clock_shift()


def _check_clock_shift() -> None:
    """Under ``make test-future`` the process clock must really run ahead of the database's.

    PostgreSQL's server clock is not moved, so its ``now()`` is the real time: the gap proves the
    shift took effect (a missing ``sitecustomize`` would otherwise pass as "future").
    """
    days = os.environ.get("ORDERHUB_TEST_CLOCK_AHEAD_DAYS")
    if not days:
        return
    with _pg_admin() as conn:
        row = conn.execute("SELECT extract(epoch FROM clock_timestamp())").fetchone()
    assert row is not None
    ahead = (time.time() - float(str(row[0]))) / 86_400
    if abs(ahead - float(days)) > 1:
        hint = "is tests/support/future_clock on PYTHONPATH?"
        pytest.exit(f"the clock is {ahead:.1f} days ahead, expected {days}: {hint}", returncode=2)


def _pg_url(database: str) -> str:
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{database}"


def _pg_admin() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5)


def _unavailable(service: str, error: Exception) -> None:
    message = f"{service} is not reachable: {error}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: tests needing it must run)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    container = bootstrap(Settings(database_url=f"sqlite:///{path}"))
    upgrade(container.engine)
    container.close()
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    name = f"orderhub_tmpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        with _pg_admin() as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        _unavailable("PostgreSQL", error)
    engine = create_engine(_pg_url(name))
    upgrade(engine)
    engine.dispose()
    yield name
    with _pg_admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
DatabaseFactory = Callable[[], AbstractContextManager[str]]


@contextmanager
def fresh_database(kind: str, template: str | Path, directory: Path) -> Iterator[str]:
    """A freshly migrated, empty database of ``kind`` copied from its template; dropped after."""
    name = f"orderhub_t_{uuid.uuid4().hex[:12]}"
    if kind == "sqlite":
        target = directory / f"{name}.db"
        shutil.copyfile(template, target)
        yield f"sqlite:///{target}"
        target.unlink()
        return
    with _pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield _pg_url(name)
    finally:
        with _pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=DATABASES)
def fresh_databases(request: pytest.FixtureRequest, tmp_path: Path) -> DatabaseFactory:
    """Make as many freshly migrated, empty databases of one kind as a test needs (the model
    test takes one per example); each is dropped when its ``with`` block ends."""
    kind: str = request.param
    template = request.getfixturevalue("sqlite_template" if kind == "sqlite" else "pg_template")
    return lambda: fresh_database(kind, template, tmp_path)


@pytest.fixture
def database_url(fresh_databases: DatabaseFactory) -> Iterator[str]:
    """A freshly migrated, empty database of each kind."""
    with fresh_databases() as url:
        yield url


@pytest.fixture
def container(database_url: str) -> Iterator[Container]:
    container = bootstrap(Settings(database_url=database_url))
    yield container
    container.close()


@pytest.fixture
def seeded(container: Container) -> Container:
    """Two native channels and a small catalogue."""
    return seed(container)


def seed(container: Container) -> Container:
    with container.uow(actor="test") as uow:
        uow.channels.add(Channel(code="web", name="Web store", kind=ChannelKind.NATIVE))
        uow.channels.add(Channel(code="app", name="Mobile app", kind=ChannelKind.NATIVE))
        for sku, name in [("SKU-1", "One"), ("SKU-2", "Two"), ("SKU-3", "Three")]:
            uow.catalog.upsert(Product(sku, name, 250))
        uow.commit()
    return container


@pytest.fixture
def client(seeded: Container) -> Iterator[TestClient]:
    with TestClient(create_app(seeded)) as test_client:
        yield test_client


def make_key(container: Container, role: Role, channel: str | None = None) -> str:
    with container.uow(actor="test") as uow:
        key = uow.api_keys.create(role=role, channel=channel)
        uow.commit()
    return key


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def admin(seeded: Container) -> dict[str, str]:
    """Headers of an admin key."""
    return bearer(make_key(seeded, Role.ADMIN))


def native_order(external_id: str = "1001", **overrides: object) -> dict[str, object]:
    """A valid native order: 2 × 10.00 + 5.50 − 0.50, tax 1.60, shipping 4.99 → 31.59."""
    body: dict[str, object] = {
        "channel": "web",
        "external_id": external_id,
        "currency": "USD",
        "placed_at": "2026-11-20T14:30:00+01:00",
        "customer": {"email": "  Buyer@Example.COM ", "name": "Buyer One"},
        "shipping_address": {"country": "US", "region": "NY", "postal_code": "10001"},
        "lines": [
            {"sku": "SKU-1", "quantity": 2, "unit_price": "10.00", "tax": "1.60"},
            {"sku": "SKU-2", "quantity": 1, "unit_price": "5.50", "discount": "0.50"},
        ],
        "shipping": {"price": "4.99", "method": "ground"},
    }
    body.update(overrides)
    return body


@pytest.fixture
def statements(seeded: Container) -> Iterator[Counter[str]]:
    """Every statement the engine runs from here on, by its first words (numbers dropped)."""
    seen: Counter[str] = Counter()

    def count(*args: Any) -> None:
        words = args[2].split()
        seen[" ".join(words[:3]).rstrip("0123456789")] += 1

    event.listen(seeded.engine, "before_cursor_execute", count)
    yield seen
    event.remove(seeded.engine, "before_cursor_execute", count)


@pytest.fixture
def live_server(seeded: Container) -> Iterator[str]:
    """The app on a real uvicorn server (loopback, free port) for concurrent clients."""
    server = uvicorn.Server(
        uvicorn.Config(create_app(seeded), host="127.0.0.1", port=0, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the test server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
