"""A throwaway database for one benchmark run (run the benchmarks with ``python -m bench.…``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from bench.delivery import ADMIN_DSN


@contextmanager
def scratch_database(folder: str, *, pg: bool) -> Iterator[str]:
    """A fresh database's SQLAlchemy URL: a SQLite file in ``folder`` (which goes with the
    folder), or a new PostgreSQL database on ``ORDERHUB_TEST_PG``'s server, dropped when the
    run ends."""
    name = f"orderhub_bench_{uuid.uuid4().hex[:8]}"
    if not pg:
        yield f"sqlite:///{folder}/{name}.db"
        return
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield (
            ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql", "postgresql+psycopg", 1) + f"/{name}"
        )
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
