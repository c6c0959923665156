"""The orders page's search on SQLite and PostgreSQL: prefixes of the channel's order number,
the customer's name, the hub id, a SKU, a tracking number or a PO number, any case; the count;
newest placed first; previous and next pages; and the index plans that keep it fast."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text, update

from orderhub.bootstrap import Container
from orderhub.domain.order_numbers import order_number, prefix_bounds, search_prefixes
from orderhub.store import search
from orderhub.store import tables as t
from orderhub.store.queries import OrderFilter
from tests.integration.after_sale_support import shipped_order, stock_up
from tests.integration.dashboard_support import signed_in
from tests.integration.fulfilment_support import place_order

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def numbers_on(html: str) -> list[str]:
    """The order links of the results table, in page order."""
    table = html[html.index('data-testid="orders"') :]
    return re.findall(r'<a href="/orders/[^"]+">([^<]+)</a>', table)


def at(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def test_order_numbers_come_from_the_channels_metadata() -> None:
    assert order_number("7000042", {"name": "#1042", "order_number": 1042}) == "#1042"
    assert order_number("5042", {"number": "5042"}) == "5042"
    assert order_number("342", {"increment_id": "000000342"}) == "000000342"
    assert order_number("WEB-1", {"name": "Ada"}) == "WEB-1"  # a name that is not a number
    assert search_prefixes(" #1042 ") == ["#1042", "1042"]
    assert search_prefixes("Ada") == ["ada", "#ada"]
    assert prefix_bounds("ab") == ("ab", "ac")


@pytest.fixture
def many(seeded: Container) -> dict[str, str]:
    """Orders with distinct numbers, names, PO numbers and SKUs, placed out of arrival order."""
    made = {
        "shopify": place_order(
            seeded, "7000042", placed_at=at(30), metadata={"name": "#1042"},
            customer={"email": "ada@example.com", "name": "Ada Lovelace"},
        ),
        "late": place_order(
            seeded, "WEB-20001", placed_at=at(50),
            customer={"email": "grace@example.com", "name": "Grace Hopper"},
        ),
        "early": place_order(
            seeded, "WEB-20002", placed_at=at(10),
            customer={"email": "alan@example.com", "name": "Alan Turing"},
            lines=[{"sku": "SKU-3", "quantity": 1, "unit_price": "2.00"}],
        ),
    }  # fmt: skip
    with seeded.uow(actor="test") as uow:  # a B2B purchase order's number (EDI 850, cXML)
        uow.conn.execute(
            update(t.orders).where(t.orders.c.id == made["early"]).values(po_number="PO-77812")
        )
        uow.commit()
    return made


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("1042", ["#1042"]),
        ("#104", ["#1042"]),
        ("ada", ["#1042"]),
        ("ADA LOVE", ["#1042"]),
        ("grace@EX", ["WEB-20001"]),
        ("web-2000", ["WEB-20001", "WEB-20002"]),
        ("po-778", ["WEB-20002"]),
        ("sku-3", ["WEB-20002"]),
        ("nobody", []),
    ],
)
def test_search_matches_prefixes_in_any_case(
    client: TestClient, seeded: Container, many: dict[str, str], query: str, expected: list[str]
) -> None:
    signed_in(client, seeded)
    html = client.get("/orders", params={"q": query}).text
    assert numbers_on(html) if expected else "No orders match" in html
    if expected:
        assert numbers_on(html) == expected
    count = re.search(r'data-testid="result-count">([^<]+)<', html)
    assert count is not None
    assert count.group(1).startswith(f"{len(expected)} order")


def test_search_finds_the_hub_id_and_a_tracking_number(seeded: Container) -> None:
    stock_up(seeded)
    order_id = shipped_order(seeded, "WEB-30001")
    place_order(seeded, "WEB-30002")
    with seeded.uow(read_only=True) as uow:
        tracking = uow.conn.execute(text("SELECT tracking_number FROM shipments")).scalar_one()
        by_id = search.search_orders(uow.conn, OrderFilter(), order_id[:13].upper(), limit=10)
        by_tracking = search.search_orders(uow.conn, OrderFilter(), tracking[:8].lower(), limit=10)
    assert by_id.ids == [order_id]
    assert by_tracking.ids == [order_id]


def test_pages_run_newest_placed_first_with_previous_and_next(
    client: TestClient, seeded: Container
) -> None:
    # Arrival order differs from placement order: each later arrival was placed earlier.
    for n in range(7):
        place_order(seeded, f"P-{n}", placed_at=at(100 - n * 7 if n % 2 else n))
    signed_in(client, seeded)
    with seeded.uow(read_only=True) as uow:
        first = search.search_orders(uow.conn, OrderFilter(), "p-", limit=3)
        assert first.total == 7
        assert first.prev_cursor is None
        assert first.next_cursor
        second = search.search_orders(uow.conn, OrderFilter(), "p-", limit=3,
                                      cursor=first.next_cursor)  # fmt: skip
        third = search.search_orders(uow.conn, OrderFilter(), "p-", limit=3,
                                     cursor=second.next_cursor)  # fmt: skip
        back = search.search_orders(uow.conn, OrderFilter(), "p-", limit=3,
                                    cursor=second.prev_cursor)  # fmt: skip
        placed = dict(uow.conn.execute(text("SELECT id, placed_at FROM orders")).all())
    every = first.ids + second.ids + third.ids
    assert len(set(every)) == 7
    assert third.next_cursor is None
    stamps = [placed[i] for i in every]
    assert stamps == sorted(stamps, reverse=True)
    assert back.ids == first.ids
    assert back.prev_cursor is None
    html = client.get("/orders", params={"q": "p-", "cursor": second.next_cursor}).text
    assert 'rel="prev"' in html
    assert "Previous page" in html
    assert "7 orders match" in html


def test_a_forged_cursor_shows_no_results_and_says_so(
    client: TestClient, seeded: Container
) -> None:
    signed_in(client, seeded)
    response = client.get("/orders", params={"cursor": "bm90LWEta2V5"})
    assert response.status_code == 200
    assert "That page link is not valid" in response.text


def test_search_reads_the_prefix_indexes(seeded: Container) -> None:
    """The plan names each expression index, so a search never scans the orders table."""
    with seeded.uow(read_only=True) as uow:
        conn = uow.conn
        stmt = search.matching_ids(conn, "ada")
        assert stmt is not None
        compiled = stmt.compile(conn, compile_kwargs={"literal_binds": True})
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL enable_seqscan = off"))  # an empty table: force the choice
            plan = "\n".join(conn.execute(text(f"EXPLAIN {compiled}")).scalars())
        else:
            rows = conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
            plan = "\n".join(str(row[-1]) for row in rows)
    for index in (
        "ix_orders_lower_order_number", "ix_orders_lower_customer_name",
        "ix_order_lines_lower_sku", "ix_shipments_lower_tracking_number",
    ):  # fmt: skip
        assert index in plan, plan
    assert not re.search(r"SCAN orders\b|Seq Scan on orders", plan), plan


def test_a_very_common_prefix_walks_the_orders_and_finds_the_same_page(
    seeded: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past CANDIDATES matches the search tests each order newest first instead of collecting
    every match: the same orders, in the same order, with the count given as "more than"."""
    for n in range(6):
        place_order(seeded, f"WEB-{n}", placed_at=at(n * 13 % 7))
    place_order(seeded, "APP-1", placed_at=at(3))
    with seeded.uow(read_only=True) as uow:
        narrow = search.search_orders(uow.conn, OrderFilter(), "web-", limit=4)
        monkeypatch.setattr(search, "CANDIDATES", 2)
        broad = search.search_orders(uow.conn, OrderFilter(), "web-", limit=4)
        rest = search.search_orders(uow.conn, OrderFilter(), "web-", limit=4,
                                    cursor=broad.next_cursor)  # fmt: skip
    assert narrow.total == 6
    assert not narrow.capped
    assert broad.ids == narrow.ids
    assert broad.capped
    assert len(rest.ids) == 2
    assert not set(rest.ids) & set(broad.ids)
