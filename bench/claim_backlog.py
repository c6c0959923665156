"""The relay's claim with a large backlog: 100,000 pending deliveries, then time claims.

    .venv/bin/python bench/claim_backlog.py sqlite:////tmp/claim.db
    .venv/bin/python bench/claim_backlog.py postgresql+psycopg://postgres@127.0.0.1/claimbench

20,000 streams × 5 events for one consumer, the heads of a tenth of the streams backing off (an
hour away). Three rounds, each in a rolled-back transaction: claim 50, mark 25 delivered and 25
failed; then the plan of the pending claim (``EXPLAIN ANALYZE`` on PostgreSQL). The database
must exist (empty or from an earlier run); it is migrated first.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, create_engine, event, func, insert, select, text

from orderhub.domain.ids import new_id
from orderhub.store import deliveries, tables
from orderhub.store.migrate import upgrade

STREAMS, PER_STREAM = 20_000, 5


def fill(conn: Connection, now: datetime) -> None:
    """The backlog, unless an earlier run left it."""
    if conn.execute(select(func.count()).select_from(tables.deliveries)).scalar_one():
        return
    events: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    for s in range(STREAMS):
        backing_off = s % 10 == 0
        for n in range(PER_STREAM):
            seq, event_id = len(events) + 1, new_id()
            events.append(
                {"seq": seq, "id": event_id, "stream": f"order:{s}", "type": "order.pinged",
                 "data": {"n": n}, "actor": "bench", "occurred_at": now, "fanned_out": True}
            )  # fmt: skip
            pending.append(
                {"id": new_id(), "event_id": event_id, "event_seq": seq,
                 "event_type": "order.pinged", "stream": f"order:{s}", "consumer": "c",
                 "status": "pending", "attempts": int(backing_off and n == 0),
                 "next_attempt_at": now + timedelta(hours=1 if backing_off else -1),
                 "created_at": now, "updated_at": now}
            )  # fmt: skip
    conn.execute(insert(tables.outbox), events)
    conn.execute(insert(tables.deliveries), pending)
    if conn.dialect.name == "postgresql":
        conn.execute(text("ANALYZE deliveries"))


def main(url: str) -> None:
    engine = create_engine(url)
    upgrade(engine)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        fill(conn, now)
    seen: list[tuple[str, Any]] = []
    event.listen(engine, "before_cursor_execute", lambda *a: seen.append((a[2], a[3])))
    for _ in range(3):
        with engine.connect() as conn:
            transaction = conn.begin()
            seen.clear()
            start = time.perf_counter()
            got = deliveries.claim(
                conn, owner="w", now=datetime.now(UTC), lease_seconds=60, limit=50, max_attempts=9
            )
            claimed = time.perf_counter()
            for c in got[:25]:
                deliveries.mark_delivered(conn, c, owner="w", now=now)
            for c in got[25:]:
                retry = now + timedelta(seconds=30)
                deliveries.mark_failed(conn, c, owner="w", now=now, error="x", retry_at=retry)
            marked = time.perf_counter()
            print(
                f"{conn.dialect.name}: claim of {len(got)} among {STREAMS * PER_STREAM} pending "
                f"{1000 * (claimed - start):.1f} ms; 50 marks {1000 * (marked - claimed):.1f} ms"
            )
            statement, params = next(s for s in seen if "next_attempt_at <=" in s[0])
            transaction.rollback()
    explain = "EXPLAIN ANALYZE " if engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
    with engine.connect() as conn:
        for row in conn.exec_driver_sql(explain + statement, params):
            print("   ", row[-1])


if __name__ == "__main__":
    main(sys.argv[1])
