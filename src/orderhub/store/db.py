"""Engines for SQLite (embedded default, WAL) and PostgreSQL (production, scale-out)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

READ_ONLY = "orderhub_read_only"
BUSY_TIMEOUT_MS = 10_000
_gates: dict[str, threading.Lock] = {}
_gates_guard = threading.Lock()


class _GatedConnection(sqlite3.Connection):
    """A SQLite connection that queues for the write lock on a Python lock first.

    SQLite lets one writer in at a time; the others wait in its busy handler, which polls
    with sleeps of up to 100 ms. With several threads of one process writing (the API's thread
    pool), a waiter mostly slept through the moment the lock came free: at four clients the
    write lock sat idle most of the time. The gate hands the lock over the moment the writer
    ahead commits or rolls back. Other processes still meet SQLite's busy handler.
    """

    gate: threading.Lock | None = None
    holds_gate = False

    def enter_gate(self) -> None:
        """Wait for the writers of this process ahead of us; after the busy timeout, go on
        anyway and let SQLite's own timeout decide (a writer nested in the same thread)."""
        if self.gate is not None and not self.holds_gate:
            self.holds_gate = self.gate.acquire(timeout=BUSY_TIMEOUT_MS / 1000)

    def leave_gate(self) -> None:
        """Let the next writer in once no transaction is open on this connection."""
        if self.holds_gate and not self.in_transaction:
            self.holds_gate = False
            assert self.gate is not None
            self.gate.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.leave_gate()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.leave_gate()

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.holds_gate and self.gate is not None:
                self.holds_gate = False
                self.gate.release()


def _gate_for(database: str) -> threading.Lock:
    """One gate per database file in this process (several engines may share a file)."""
    key = str(Path(database).resolve())
    with _gates_guard:
        return _gates.setdefault(key, threading.Lock())


def make_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, **kwargs)
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    gated = bool(database) and database != ":memory:" and not str(database).startswith("file:")
    connect_args: dict[str, Any] = {"check_same_thread": False}
    if gated:
        connect_args["factory"] = _GatedConnection
    engine = create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" below issue BEGIN itself, so writes can take the lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()
        if isinstance(dbapi_connection, _GatedConnection):
            assert database
            dbapi_connection.gate = _gate_for(database)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # IMMEDIATE takes the write lock at BEGIN: two writers never deadlock upgrading a read lock.
        if connection.get_execution_options().get(READ_ONLY, False):
            connection.exec_driver_sql("BEGIN")
            return
        dbapi = connection.connection.dbapi_connection
        gated = dbapi if isinstance(dbapi, _GatedConnection) else None
        if gated:
            gated.enter_gate()
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if gated:
                gated.leave_gate()
            raise

    return engine


def is_postgres(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "postgresql"
