"""SQLite writers queue at a gate (thread lock, then a file lock shared by processes) instead of
napping in SQLite's busy handler; the gate is always left when the transaction ends."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import Engine, text

from orderhub.store.db import _GatedConnection, _WriterGate, make_engine, writer_waiting


def _engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'gate.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    return engine


def _holds(conn: object) -> bool:
    dbapi = conn.connection.dbapi_connection  # type: ignore[attr-defined]
    assert isinstance(dbapi, _GatedConnection)
    return dbapi.holds_gate


def test_a_writer_of_another_process_enters_as_soon_as_the_one_ahead_leaves(
    tmp_path: Path,
) -> None:
    database = str(tmp_path / "other.db")
    ahead, behind = _WriterGate(database), _WriterGate(database)  # two open files: two processes
    assert ahead.enter(timeout=1)
    assert not behind.enter(timeout=0.05)  # held elsewhere: gives up after its timeout
    entered: list[float] = []

    def wait() -> None:
        if behind.enter(timeout=5):
            entered.append(time.monotonic())
            behind.leave()

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.1)
    left = time.monotonic()
    ahead.leave()
    waiter.join()
    assert entered
    assert entered[0] - left < 0.05


def test_a_process_that_leaves_and_comes_straight_back_waits_for_the_one_in_line(
    tmp_path: Path,
) -> None:
    """The worker's transactions follow one another: without turns, it won the writer lock
    again and again while the API's writer napped between tries."""
    database = str(tmp_path / "turns.db")
    worker, api = _WriterGate(database), _WriterGate(database)  # two open files: two processes
    assert worker.enter(timeout=1)
    order: list[str] = []
    waiting = threading.Event()

    def api_writes() -> None:
        waiting.set()
        assert api.enter(timeout=5)
        order.append("api")
        api.leave()

    writer = threading.Thread(target=api_writes)
    writer.start()
    waiting.wait()
    deadline = time.monotonic() + 5
    while not _locked(f"{database}-writer.turn") and time.monotonic() < deadline:
        time.sleep(0.001)  # until the API's writer is next in line
    worker.leave()
    assert worker.enter(timeout=5)  # straight back: after the API's writer, not before
    order.append("worker")
    worker.leave()
    writer.join()
    assert order == ["api", "worker"]


def _locked(path: str) -> bool:
    """Whether another open file holds an advisory lock on ``path``."""
    probe = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(probe)
    return False


def test_the_gate_is_left_on_commit_rollback_and_close(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    with engine.connect() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        assert _holds(conn)
        conn.commit()
        assert not _holds(conn)
        conn.execute(text("INSERT INTO t VALUES (2)"))
        conn.rollback()
        assert not _holds(conn)
        conn.execute(text("INSERT INTO t VALUES (3)"))  # left open: closing rolls back
    with engine.connect() as other:
        started = time.monotonic()
        other.execute(text("INSERT INTO t VALUES (4)"))
        other.commit()
        assert time.monotonic() - started < 1
        assert other.execute(text("SELECT n FROM t ORDER BY n")).scalars().all() == [1, 4]
    engine.dispose()


def test_threads_writing_at_once_all_get_through(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    failures: list[BaseException] = []

    def write(first: int) -> None:
        try:
            for n in range(first, first + 25):
                with engine.begin() as conn:
                    conn.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=write, args=(k * 100,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == 100
    engine.dispose()


def test_the_writer_inside_sees_another_process_next_in_line(tmp_path: Path) -> None:
    """Another process holding the turn lock waits for the writer lock: the one inside may
    commit early for it (the worker's batches do)."""
    database = str(tmp_path / "probe.db")
    inside = _WriterGate(database)
    assert inside.enter(timeout=1)
    assert not inside.others_waiting(), "nobody else"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_TURN, f"{database}-writer.turn"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "holding\n"
        assert inside.others_waiting()
        assert inside.others_waiting(), "asking does not take the place in line"
    finally:
        holder.communicate("")  # lets go and exits
    assert not inside.others_waiting()
    inside.leave()


_HOLD_TURN = """
import fcntl, os, sys
turn = os.open(sys.argv[1], os.O_RDWR)
fcntl.flock(turn, fcntl.LOCK_EX)
print("holding", flush=True)
sys.stdin.read()
"""


def test_a_connection_inside_the_gate_sees_another_thread_queued(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    with engine.connect() as conn:
        assert not writer_waiting(conn), "no transaction: outside the gate"
        conn.execute(text("INSERT INTO t VALUES (1)"))
        assert not writer_waiting(conn)
        queued = threading.Thread(target=_insert, args=(engine, 2))
        queued.start()
        deadline = time.monotonic() + 10
        while not writer_waiting(conn) and time.monotonic() < deadline:
            time.sleep(0.001)
        assert writer_waiting(conn)
        conn.commit()
        queued.join()
        assert not writer_waiting(conn)
    engine.dispose()


def _insert(engine: Engine, n: int) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
