"""store.bulk.insert_rows stores exactly what SQLAlchemy's executemany stores, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, Table, event, select

from orderhub.bootstrap import Container
from orderhub.channels import native
from orderhub.domain.allocation import AllocationPlan
from orderhub.domain.orders import OrderDraft
from orderhub.services.ingest import add_order
from orderhub.store import bulk
from orderhub.store import tables as t
from orderhub.store.stock import Allocation, written_views
from tests.conftest import native_order

EAST = timezone(timedelta(hours=5, minutes=30))
WHEN = datetime(2026, 3, 1, 9, 15, 7, 123456, tzinfo=EAST)
NOW = datetime(2026, 12, 6, 18, 0, tzinfo=UTC)


def _order(order_id: str, external_id: str) -> dict[str, Any]:
    return {
        "id": order_id,
        "channel_code": "web",
        "external_id": external_id,
        "order_number": external_id,
        "status": "received",
        "hold_reason": None,
        "currency": "EUR",
        "placed_at": WHEN,
        "customer_id": None,
        "customer_email": "ä@example.com",
        "customer_name": "Zoë \u2603",
        "customer_phone": None,
        "shipping_address": {"country": "DE", "city": "Köln", "line2": None},
        "billing_address": None,  # a JSON column: SQLAlchemy stores JSON null, not SQL NULL
        "shipping_price_minor": 495,
        "shipping_tax_minor": 0,
        "shipping_discount_minor": 0,
        "shipping_method": None,
        "prices_include_tax": True,
        "metadata": {"b": [1, 2.5, "x"], "a": {"é": None}},
        "po_number": None,
        "requested_ship_date": date(2026, 3, 4),
        "purchase_order": None,
        "delivery": None,
        "subtotal_minor": 1999,
        "discount_minor": 0,
        "tax_minor": 0,
        "total_minor": 2494,
        "version": 1,
        "created_at": NOW,
        "updated_at": NOW,
        "ship_by": None,
        "deliver_by": WHEN + timedelta(days=3),
    }


def _line(line_id: str, order_id: str) -> dict[str, Any]:
    return {
        "id": line_id,
        "order_id": order_id,
        "position": 0,
        "sku": "SKU-1",
        "channel_sku": None,
        "channel_line_id": "L1",
        "name": "Ünïcode",
        "quantity": 2,
        "cancelled_quantity": 0,
        "unit_price_minor": 1000,
        "discount_minor": 1,
        "tax_minor": 0,
        "status": "open",
    }


def _event(event_id: str, order_id: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "order_id": order_id,
        "order_seq": 1,
        "type": "order.received",
        "data": '{"é":1}',
        "actor": "test",
        "occurred_at": WHEN,
        "prev_hash": "0" * 64,
        "hash": "f" * 64,
    }


def _outbox(event_id: str, _order_id: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "stream": "order-1",
        "type": "order.received",
        "data": {"z": "ß", "a": [None, True, 1.5]},
        "actor": "test",
        "occurred_at": WHEN,
    }


def _plan(plan_id: str, order_id: str) -> dict[str, Any]:
    return {
        "id": plan_id,
        "order_id": order_id,
        "strategy": "simple",
        "explanation": {"picked": [{"sku": "SKU-1", "é": 2}], "note": None},
        "created_at": NOW,
    }


def _allocation(allocation_id: str, order_id: str) -> dict[str, Any]:
    way = order_id.removeprefix("o-")
    return {
        "id": allocation_id,
        "order_id": order_id,
        "line_id": f"order_lines-{way}",
        "plan_id": f"allocation_plans-{way}",
        "sku": "SKU-1",
        "location": "a",
        "quantity": 2,
        "open_quantity": 2,
        "shipped_quantity": 0,
        "created_at": NOW,
        "updated_at": NOW,
    }


def _movement(reference: str, _order_id: str) -> dict[str, Any]:
    return {
        "sku": "SKU-1",
        "location": "a",
        "kind": "reservation",
        "on_hand_delta": 0,
        "reserved_delta": 2,
        "reason": None,
        "reference": reference,
        "order_line_id": None,
        "counted": None,
        "as_of": None,
        "stale": False,
        "actor": "test",
        "occurred_at": WHEN,
    }


def _stored(conn: Connection, table: Table, key: str) -> dict[str, Any]:
    """The row as the database holds it: on PostgreSQL each column as text, on SQLite the
    driver's own values (their storage class shows in the Python type)."""
    names = [c.name for c in table.columns if c.name not in ("seq", "fanned_out")]
    quote = conn.dialect.identifier_preparer.quote
    cast = "{}::text" if conn.dialect.name == "postgresql" else "{}"
    columns = ", ".join(cast.format(quote(name)) for name in names)
    mark = "%s" if conn.dialect.name == "postgresql" else "?"
    by = "reference" if table is t.stock_movements else "id"
    row = conn.exec_driver_sql(
        f"SELECT {columns} FROM {table.name} WHERE {by} = {mark}", (key,)
    ).one()
    return dict(zip(names, row, strict=True))


def test_rows_written_both_ways_are_stored_alike(seeded: Container) -> None:
    with seeded.uow() as uow:
        conn = uow.conn
        conn.execute(t.orders.insert(), [_order("o-sa", "E-sa")])
        bulk.insert_rows(conn, t.orders, [_order("o-bulk", "E-bulk")])
        for table, build in (
            (t.order_lines, _line),
            (t.order_events, _event),
            (t.outbox, _outbox),
            (t.allocation_plans, _plan),  # what allocating writes (StockRepository)
            (t.allocations, _allocation),
            (t.stock_movements, _movement),
        ):
            conn.execute(table.insert(), [build(f"{table.name}-sa", "o-sa")])
            bulk.insert_rows(conn, table, [build(f"{table.name}-bulk", "o-bulk")])
        for table in (
            t.orders,
            t.order_lines,
            t.order_events,
            t.outbox,
            t.allocation_plans,
            t.allocations,
            t.stock_movements,
        ):
            one, other = (_stored(conn, table, f"{way}") for way in _keys(table))
            differ = {"id", "external_id", "order_number", "order_id", "line_id", "plan_id"}
            differ.add("reference")  # the ledger's key
            assert {k: v for k, v in one.items() if k not in differ} == {
                k: v for k, v in other.items() if k not in differ
            }
            key = "reference" if table is t.stock_movements else "id"
            assert one[key] != other[key]
        read = {key: uow.orders.get(key) for key in ("o-sa", "o-bulk")}
    assert read["o-bulk"].placed_at == WHEN
    assert read["o-bulk"].billing_address is None
    assert read["o-bulk"].metadata == read["o-sa"].metadata == _order("", "")["metadata"]


def _keys(table: Table) -> tuple[str, str]:
    if table is t.orders:
        return "o-sa", "o-bulk"
    return f"{table.name}-sa", f"{table.name}-bulk"


def test_a_row_on_a_taken_key_is_skipped_and_counted_out(seeded: Container) -> None:
    with seeded.uow() as uow:
        bulk.insert_rows(uow.conn, t.orders, [_order("o-1", "E-1")])
        written = bulk.insert_rows(
            uow.conn,
            t.orders,
            [_order("o-2", "E-1"), _order("o-3", "E-3")],
            skip_conflicts_on=("channel_code", "external_id"),
        )
        assert written == 2 - 1 or written == -1  # -1: the driver cannot tell
        assert uow.orders.ids_by_external({("web", "E-1"), ("web", "E-3")}) == {
            ("web", "E-1"): "o-1",
            ("web", "E-3"): "o-3",
        }


def _draft(external_id: str) -> OrderDraft:
    return native.NativeOrder.model_validate(native_order(external_id)).to_draft()


def test_add_new_writes_each_table_in_one_statement_and_skips_a_lost_race(
    seeded: Container,
) -> None:
    with seeded.uow() as uow:
        first = add_order(uow, _draft("N-1"))
        uow.commit()
    statements: list[str] = []

    def record(_c: Any, _cur: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    from orderhub.domain.catalog import resolve_skus
    from orderhub.domain.orders import receive_order

    with seeded.uow() as uow:
        orders = [receive_order(resolve_skus(_draft(e), uow.catalog)) for e in ("N-1", "N-2")]
        event.listen(seeded.engine, "before_cursor_execute", record)
        try:
            written = uow.orders.add_new(orders)
        finally:
            event.remove(seeded.engine, "before_cursor_execute", record)
        uow.commit()
    assert written == {orders[1].id}  # N-1 exists (first.id): skipped, not an error
    assert orders[0].id != first.id
    inserts = [s.split("(")[0].strip() for s in statements if s.startswith("INSERT")]
    assert inserts == ["INSERT INTO orders", "INSERT INTO order_lines"]
    with seeded.uow(read_only=True) as uow:
        assert uow.orders.id_by_external("web", "N-1") == first.id
        assert len(uow.orders.get(orders[1].id).lines) == len(orders[1].lines)


def test_a_plan_written_as_allocating_writes_it_is_stored_as_sqlalchemy_stores_it(
    seeded: Container,
) -> None:
    """Allocating encodes a plan's explanation once (``plan_row``) for its row and for the
    allocations' views: stored byte for byte as the JSON column's own bind stores the dict,
    and shown as it reads back."""
    explanation = {"picked": [{"sku": "SKU-1", "é": 2}], "note": None, "score": 1.5}
    with seeded.uow() as uow:
        conn = uow.conn
        conn.execute(t.orders.insert(), [_order("o-sa", "E-sa"), _order("o-bulk", "E-bulk")])
        sa_plan = {**_plan("allocation_plans-sa", "o-sa"), "explanation": explanation}
        conn.execute(t.allocation_plans.insert(), [sa_plan])
        row = uow.stock.plan_row("o-bulk", AllocationPlan((), explanation, "simple"))
        uow.stock.write_allocations(plans=[row])
        one = _stored(conn, t.allocation_plans, "allocation_plans-sa")
        other = _stored(conn, t.allocation_plans, row["id"])
        read_back = conn.execute(
            select(t.allocation_plans.c.explanation).where(t.allocation_plans.c.id == row["id"])
        ).scalar_one()
    assert one["explanation"] == other["explanation"]
    assert one["strategy"] == other["strategy"] == "simple"
    allocation = Allocation("a-1", "o-bulk", "l-1", row["id"], "SKU-1", "a", 1, 1, 0)
    view = written_views([allocation], row)[0]
    assert view["explanation"] == read_back == explanation
    assert view["strategy"] == "simple"
