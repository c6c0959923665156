"""PostgreSQL: a statement prepared while a table was tiny keeps its sequential scan as the
table grows, until the table is analyzed; the fan-out analyzes the tables that doubled."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import Connection, Engine, create_engine, text

from orderhub.store import deliveries, statistics
from tests.conftest import _pg_admin, _pg_url

pytestmark = pytest.mark.postgres

MARK = "UPDATE outbox SET fanned_out = true WHERE seq = ANY($1)"


@pytest.fixture
def pg(pg_template: str) -> Iterator[tuple[Engine, str]]:
    name = f"orderhub_t_{uuid.uuid4().hex[:12]}"
    with _pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    url = _pg_url(name)
    engine = create_engine(url)
    yield engine, url.replace("postgresql+psycopg://", "postgresql://")
    engine.dispose()
    with _pg_admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(autouse=True)
def look_often(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fan-out looks at the counts every 100 events (not 1,000): small test outboxes."""
    monkeypatch.setattr(statistics, "CHECK_EVERY", 100)


def add_events(dsn: str, count: int) -> None:
    """``count`` outbox events, their counts flushed to the statistics at once (the hub's
    own backends flush theirs within a second or at their next transaction)."""
    with psycopg.connect(dsn, autocommit=False) as conn:
        conn.execute(
            "INSERT INTO outbox (id, stream, type, data, actor, occurred_at)"
            " SELECT gen_random_uuid()::text, 'order:' || g, 'order.received',"
            " jsonb_build_object('order_id', g, 'note', repeat('x', 300)), 'test', now()"
            " FROM generate_series(1, %s) g",
            (count,),
        )
        conn.execute("SELECT pg_stat_force_next_flush()")


def plan(conn: psycopg.Connection[tuple[object, ...]]) -> str:
    rows = conn.execute("EXPLAIN EXECUTE mark('{1,2,3}')").fetchall()
    return "\n".join(str(row[0]) for row in rows)


def fan_out(engine: Engine) -> list[str]:
    """One fan-out of the events there (nobody consumes them); the tables it analyzed."""
    with engine.begin() as conn:
        before = analyzed(conn)
        deliveries.fan_out(conn, consumers_for=lambda _type: (), now=datetime.now(UTC))
    with engine.begin() as conn:
        return sorted(name for name, count in analyzed(conn).items() if count > before[name])


def analyzed(conn: Connection) -> dict[str, int]:
    rows = conn.execute(text("SELECT relname, analyze_count FROM pg_stat_user_tables")).all()
    return {name: int(count) for name, count in rows}


def test_the_fan_out_analyzes_a_grown_outbox_and_the_stale_plan_is_replanned(
    pg: tuple[Engine, str],
) -> None:
    engine, dsn = pg
    add_events(dsn, 40)
    with psycopg.connect(dsn, autocommit=True) as watcher:
        # One generic plan, made now, for the statement as a connection pool keeps it.
        watcher.execute("SET plan_cache_mode = force_generic_plan")
        watcher.execute(f"PREPARE mark(bigint[]) AS {MARK}")
        assert "Seq Scan on outbox" in plan(watcher)
        add_events(dsn, 4_000)
        assert "Seq Scan on outbox" in plan(watcher), "the plan of the tiny table stays"

        assert "outbox" in fan_out(engine)

        replanned = plan(watcher)
        assert "Seq Scan" not in replanned
        assert "pk_outbox" in replanned
        with engine.connect() as conn:
            believed = conn.execute(
                text("SELECT reltuples FROM pg_class WHERE relname = 'outbox'")
            ).scalar_one()
        assert 3_000 < believed < 5_000


def test_no_analysis_until_a_table_doubles_again(
    pg: tuple[Engine, str],
) -> None:
    engine, dsn = pg
    add_events(dsn, 2_000)
    assert fan_out(engine) == ["outbox"]
    add_events(dsn, 500)  # +25 %: the plans made at 2,000 rows still fit
    assert fan_out(engine) == []
    add_events(dsn, 2_000)  # past twice what was analyzed
    for _ in range(10):  # each fan-out takes 500 events: the look comes with the seq
        if made := fan_out(engine):
            assert made == ["outbox"]
            break
    else:
        pytest.fail("the doubled outbox was not analyzed")


def test_a_burst_of_deliveries_beyond_the_planners_belief_is_analyzed(
    pg: tuple[Engine, str],
) -> None:
    engine, dsn = pg
    add_events(dsn, 300)  # below ANALYZE_FROM: the tables are left alone
    with engine.begin() as conn:
        made = deliveries.fan_out(
            conn, consumers_for=lambda _type: ("a",), now=datetime.now(UTC), limit=300
        )
        assert made == 300
    with engine.connect() as conn:
        counts = analyzed(conn)
    assert counts["deliveries"] == 1
    assert counts["outbox"] == 0


def test_a_table_under_maintenance_is_left_for_later_and_the_fan_out_goes_on(
    pg: tuple[Engine, str],
) -> None:
    engine, dsn = pg
    add_events(dsn, 2_000)
    with psycopg.connect(dsn, autocommit=False) as maintenance:
        # What a VACUUM or CREATE INDEX CONCURRENTLY holds; ANALYZE needs the same lock.
        maintenance.execute("LOCK TABLE outbox IN SHARE UPDATE EXCLUSIVE MODE")
        started = time.monotonic()
        assert fan_out(engine) == []
        assert time.monotonic() - started < 5
        with engine.connect() as conn:
            fanned = conn.execute(text("SELECT count(*) FROM outbox WHERE fanned_out")).scalar()
        assert fanned == 500, "the fan-out itself went through"
    add_events(dsn, 3_000)  # the next look, once the outbox grew by half
    assert any("outbox" in fan_out(engine) for _ in range(10))
