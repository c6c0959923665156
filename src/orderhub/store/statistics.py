"""PostgreSQL's planner statistics kept in step with the tables a burst of orders grows.

A new hub's tables start empty. psycopg prepares a statement on its fifth run, and PostgreSQL
then keeps one generic plan for it, chosen for the table as it was then: a sequential scan of
a few pages. That plan outlives the table's growth until the table's statistics change, and
autovacuum analyzes only a minute or more after a burst began. In a first flash sale the
fan-out's ``UPDATE outbox … WHERE seq = ANY(…)`` of 200 rows scanned all 30,000 of them, 80 ms
each, and a new order's duplicate check read every order of its channel (no statistics: the
wrong index); docs/performance.md, fourteenth pass. So whoever fans the outbox out looks, each
time the outbox has grown by half, at which growing tables have doubled since their last
analysis (PostgreSQL's own count, shared by every process) and analyzes those: a dozen times
from empty to a million events, each making every process plan its statements on them anew.
The samples are small (:data:`SAMPLE_TARGET`): sizes and rough distributions are what the
plans need, and autovacuum's analysis at the server's full target follows within its minute.
SQLite keeps no such plans.
"""

from __future__ import annotations

import logging
import threading
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from orderhub.store.db import LOCK_NOT_AVAILABLE, is_postgres

log = logging.getLogger(__name__)

# The tables that grow with every order (a few rows each).
GROWING = (
    "outbox",
    "order_events",
    "orders",
    "order_lines",
    "order_chain_heads",
    "customers",
    "allocations",
    "allocation_plans",
    "stock_movements",
    "fulfilment_orders",
    "deliveries",
    "processed_events",
)
ANALYZE_FROM = 500  # rows changed: below this a sequential scan is the right plan anyway
CHECK_EVERY = 1_000  # outbox events at least between two looks at the tables' counts
SAMPLE_TARGET = 10  # statistics target of these analyses: 3,000 sampled rows a table
LOCK_WAIT = "200ms"  # for a table's maintenance lock, then the analysis is left for later
DELIVERIES_BURST = 100  # deliveries made at once that may outgrow what the planner believes

_DOUBLED = text(
    "SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid"
    " WHERE s.schemaname = current_schema() AND s.relname = ANY(:tables)"
    " AND s.n_mod_since_analyze >= greatest(:least, c.reltuples)"
    " ORDER BY s.relname"
)
_BELIEVED = text("SELECT reltuples FROM pg_class WHERE oid = CAST(:table AS regclass)")


class _Looks:
    """The outbox seq from which this process looks at the tables' counts next (per engine:
    per database)."""

    def __init__(self) -> None:
        self.next = 0
        self.lock = threading.Lock()


_looks: WeakKeyDictionary[Engine, _Looks] = WeakKeyDictionary()


def after_fan_out(conn: Connection, *, newest_seq: int, deliveries: int) -> list[str]:
    """In the fan-out's transaction, its newest event ``newest_seq``: analyze the growing
    tables that doubled since their last analysis (at most every :data:`CHECK_EVERY` events,
    or half the outbox); else ``deliveries`` alone when this fan-out made more deliveries
    than the planner believes the table holds (the claim's ordering check then ran as a
    nested loop over every open one, seconds per claim). The tables analyzed; none on SQLite."""
    if not is_postgres(conn):
        return []
    looks = _looks.setdefault(conn.engine, _Looks())
    with looks.lock:
        if newest_seq >= looks.next:
            looks.next = newest_seq + max(CHECK_EVERY, newest_seq // 2)
            doubled = list(
                conn.execute(_DOUBLED, {"tables": list(GROWING), "least": ANALYZE_FROM}).scalars()
            )
            if doubled:
                return doubled if _analyze(conn, doubled) else []
    if deliveries >= DELIVERIES_BURST and _believed(conn, "deliveries") < 2 * deliveries:
        return ["deliveries"] if _analyze(conn, ["deliveries"]) else []
    return []


def _analyze(conn: Connection, tables: list[str]) -> bool:
    """ANALYZE ``tables`` (names from :data:`GROWING` only) with small samples, in a savepoint
    of the caller's transaction. Should another hold a table's maintenance lock (a VACUUM, an
    index being built) past :data:`LOCK_WAIT`, it is left for the next look: the fan-out must
    not wait on a long maintenance run. False then."""
    assert set(tables) <= set(GROWING)
    try:
        with conn.begin_nested():
            conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'"))
            conn.execute(text(f"SET LOCAL default_statistics_target = {SAMPLE_TARGET}"))
            conn.execute(text(f"ANALYZE {', '.join(tables)}"))
    except OperationalError as error:
        if getattr(error.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        log.info("analyzing %s gave way to a maintenance lock; next look", ", ".join(tables))
        return False
    finally:
        conn.execute(text("RESET lock_timeout"))
        conn.execute(text("RESET default_statistics_target"))
    return True


def _believed(conn: Connection, table: str) -> int:
    """The rows PostgreSQL's planner believes ``table`` holds (0 before its first analysis)."""
    believed = conn.execute(_BELIEVED, {"table": table}).scalar()
    return max(0, int(believed or 0))
