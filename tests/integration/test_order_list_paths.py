"""The order list's two ways to a page (walking ids backwards, or sorting a date range's or an
SLA filter's matches) give the same pages; the indexes that make them fast exist."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from orderhub.bootstrap import Container
from orderhub.clock import utc_now
from orderhub.demo.bulk import seed_orders
from orderhub.domain.orders import OPEN_STATUSES
from orderhub.store import queries
from orderhub.store import tables as t


@pytest.fixture
def hub(container: Container) -> Container:
    seed_orders(container, orders=300, days=30, batch=100, rng=random.Random(3))
    return container


def _all_pages(container: Container, filters: queries.OrderFilter) -> list[str]:
    ids: list[str] = []
    cursor = None
    with container.engine.connect() as conn:
        while True:
            page, cursor = queries.order_ids(conn, filters, limit=7, cursor=cursor)
            ids += page
            if cursor is None:
                return ids


def test_a_date_filtered_list_pages_newest_placed_first(hub: Container) -> None:
    now = utc_now()
    since, until = now - timedelta(days=20), now - timedelta(days=17)
    o = t.orders.c
    with hub.engine.connect() as conn:
        rows = conn.execute(select(o.id, o.placed_at, o.status)).all()
    newest_placed = sorted(rows, key=lambda r: (r.placed_at, r.id), reverse=True)
    expected = [r.id for r in newest_placed if since <= r.placed_at < until]
    assert len(expected) > 14  # three pages and more
    ranged = queries.OrderFilter(placed_from=since, placed_to=until, now=now)
    assert _all_pages(hub, ranged) == expected
    delivered = queries.OrderFilter(status="delivered", placed_from=since, now=now)
    assert _all_pages(hub, delivered) == [
        r.id for r in newest_placed if r.status == "delivered" and since <= r.placed_at
    ]


def test_a_late_arrival_is_listed_where_it_was_placed(hub: Container) -> None:
    """Ids follow arrival; a date-filtered list follows the dates: an order imported today
    but placed three weeks ago is listed among that week's, not first."""
    now = utc_now()
    o = t.orders.c
    with hub.engine.begin() as conn:
        oldest = conn.execute(select(o.id).order_by(o.id).limit(1)).scalar_one()
        newest = conn.execute(select(o.id).order_by(o.id.desc()).limit(1)).scalar_one()
        conn.execute(
            t.orders.update().where(o.id == newest).values(placed_at=now - timedelta(days=29.9))
        )
    listed = _all_pages(hub, queries.OrderFilter(placed_from=now - timedelta(days=30)))
    assert listed[-2:] in ([oldest, newest], [newest, oldest])
    assert listed[0] != newest


def test_an_sla_filter_pages_as_walking_the_ids_would(hub: Container) -> None:
    later = utc_now() + timedelta(days=3)  # every open order is overdue by then
    o = t.orders.c
    with hub.engine.connect() as conn:
        rows = conn.execute(select(o.id, o.status, o.ship_by)).all()
    open_ = {s.value for s in OPEN_STATUSES}
    expected = sorted(
        (r.id for r in rows if r.status in open_ and r.ship_by <= later), reverse=True
    )
    assert expected
    assert _all_pages(hub, queries.OrderFilter(sla="breached", now=later)) == expected


def test_the_order_list_indexes_exist(container: Container) -> None:
    # From the catalogue itself: SQLAlchemy's reflection skips expression indexes (lower(...)).
    listing = (
        "SELECT indexname FROM pg_indexes WHERE tablename = 'orders'"
        if container.engine.dialect.name == "postgresql"
        else "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'orders'"
    )
    with container.engine.connect() as conn:
        names = set(conn.execute(text(listing)).scalars())
    assert names >= {
        "ix_orders_status_id",
        "ix_orders_channel_id",
        "ix_orders_channel_status_id",
        "ix_orders_external_id",
        "ix_orders_placed_at_id",
        "ix_orders_open_ship_by",
    }
    assert not names & {"ix_orders_status", "ix_orders_placed_at"}  # superseded
    assert {index.name for index in t.orders.indexes} <= names  # tables.py as migrated
