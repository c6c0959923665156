"""Engines for SQLite (embedded default, WAL) and PostgreSQL (production, scale-out)."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX: the gate serves one process only
    fcntl = None  # type: ignore[assignment]
from sqlalchemy.engine import make_url

READ_ONLY = "orderhub_read_only"
BUSY_TIMEOUT_MS = 10_000

# SQLSTATEs of a transaction PostgreSQL aborted for another's sake (deadlock victim,
# serialization failure): run again at once, it normally goes through.
ABORTED_FOR_ANOTHER = frozenset({"40P01", "40001"})
LOCK_NOT_AVAILABLE = "55P03"


def aborted_for_another(error: BaseException) -> bool:
    """Whether PostgreSQL aborted the statement for another transaction's sake."""
    return getattr(getattr(error, "orig", None), "sqlstate", None) in ABORTED_FOR_ANOTHER


def busy(error: BaseException) -> bool:
    """Whether the database refused for contention alone — SQLite still locked after its busy
    timeout, a PostgreSQL lock timeout, deadlock or serialization failure: the same request
    may simply be tried again a moment later."""
    original = getattr(error, "orig", None)
    if isinstance(original, sqlite3.OperationalError):
        return str(original).startswith(("database is locked", "database is busy"))
    return aborted_for_another(error) or getattr(original, "sqlstate", None) == LOCK_NOT_AVAILABLE


class _WriterGate:
    """The queue for SQLite's write lock: a thread lock for this process's writers, then an
    advisory file lock (``<database>-writer.lock``) shared with the other processes.

    SQLite lets one writer in at a time; the others wait in its busy handler, which polls with
    sleeps of up to 100 ms. With several API threads and a worker writing, the waiters mostly
    slept through the moment the lock came free: at four clients and one worker the write lock
    sat idle most of the time, and an order took 60–200 ms to be acknowledged. The gate hands
    the lock over within a millisecond: the next thread of this process as soon as the writer
    ahead commits or rolls back, the next process after at most a 1 ms nap. Writers that do not
    use the gate (another tool) still meet SQLite's own busy handler, as before.

    Between processes the gate takes turns: a process first becomes next in line (an advisory
    lock on ``<database>-writer.turn``), then waits for the writer lock, and gives up its place
    in line once it holds it. A process that leaves and comes straight back (the worker, whose
    transactions follow one another) must wait for its turn behind the one already waiting,
    instead of winning the writer lock again while the other naps: under load the API waited
    for up to seven worker transactions in a row (docs/performance.md, sixth pass, HTTP).
    """

    def __init__(self, database: str) -> None:
        self._threads = threading.Lock()
        self._queued = 0  # threads of this process waiting for ``_threads``
        self._counting = threading.Lock()
        self._file = _lock_file(f"{database}-writer.lock")
        self._turn = _lock_file(f"{database}-writer.turn")

    def enter(self, timeout: float) -> bool:
        """Wait for the writers ahead; False after ``timeout`` (the caller goes on without the
        gate and lets SQLite's busy timeout decide — a writer nested in the same thread)."""
        deadline = time.monotonic() + timeout
        with self._counting:
            self._queued += 1
        try:
            entered = self._threads.acquire(timeout=timeout)
        finally:
            with self._counting:
                self._queued -= 1
        if not entered:
            return False
        if self._file is None or self._turn is None:
            return True
        if _flock_by(self._turn, deadline):  # next in line: whoever leaves now comes after us
            try:
                if _flock_by(self._file, deadline):
                    return True
            finally:
                _unlock(self._turn)
        self._threads.release()
        return False

    def leave(self) -> None:
        if self._file is not None:
            _unlock(self._file)
        self._threads.release()

    def others_waiting(self) -> bool:
        """Whether another writer waits for the one inside: a thread of this process queued
        on the thread lock, or another process next in line (it holds the turn lock, which
        the writer inside gave up on entering). Two system calls at most: cheap enough to ask
        after each piece of a long transaction's work."""
        if self._queued:
            return True
        if self._turn is None:
            return False
        assert fcntl is not None
        try:  # a shared lock: two probes at once do not see each other as waiting
            fcntl.flock(self._turn, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        _unlock(self._turn)
        return False


def _lock_file(path: str) -> int | None:
    """An open file to take advisory locks on, owner-only; None where there are none."""
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o600) if fcntl else None


def _flock_by(file: int, deadline: float) -> bool:
    """An exclusive advisory lock on ``file``, taken by ``deadline`` (naps of at most 1 ms
    between tries: a blocking lock could not give up), else False."""
    assert fcntl is not None
    pause = 0.0002
    while True:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() > deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, 0.001)


def _unlock(file: int) -> None:
    assert fcntl is not None
    fcntl.flock(file, fcntl.LOCK_UN)


_gates: dict[str, _WriterGate] = {}
_gates_guard = threading.Lock()


class _GatedConnection(sqlite3.Connection):
    """A SQLite connection whose write transactions queue at the database's
    :class:`_WriterGate` before ``BEGIN IMMEDIATE``, and leave it when they end."""

    gate: _WriterGate | None = None
    holds_gate = False

    def enter_gate(self) -> None:
        if self.gate is not None and not self.holds_gate:
            self.holds_gate = self.gate.enter(timeout=BUSY_TIMEOUT_MS / 1000)

    def leave_gate(self) -> None:
        """Let the next writer in once no transaction is open on this connection."""
        if self.holds_gate and not self.in_transaction:
            self._let_go()

    def _let_go(self) -> None:
        self.holds_gate = False
        assert self.gate is not None
        self.gate.leave()

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
            if self.holds_gate:
                self._let_go()


def _gate_for(database: str) -> _WriterGate:
    """One gate per database file in this process (several engines may share a file)."""
    key = str(Path(database).resolve())
    with _gates_guard:
        if key not in _gates:
            _gates[key] = _WriterGate(key)
        return _gates[key]


def writer_waiting(conn: Connection) -> bool:
    """Whether another writer waits at the SQLite writer gate that ``conn``'s transaction holds:
    a long writer (the worker's batch of deliveries) commits early and lets it in. False on
    PostgreSQL (no single writer) and for a connection outside the gate."""
    dbapi = conn.connection.dbapi_connection
    if not isinstance(dbapi, _GatedConnection) or not dbapi.holds_gate:
        return False
    assert dbapi.gate is not None
    return dbapi.gate.others_waiting()


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
    if gated:
        _create_private(Path(str(database)))
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


def _create_private(path: Path) -> None:
    """Create a missing database file readable by its owner only (0600): it holds customers'
    names and addresses. SQLite gives its -wal and -shm files the same mode. An existing
    file keeps the mode it has."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        return


def is_postgres(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "postgresql"
