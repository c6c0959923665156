"""The order history is append-only by the database's own rule and hash-chained per order."""

from __future__ import annotations

import itertools

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from orderhub.bootstrap import Container
from orderhub.store import history
from tests.conftest import native_order


def _breaks(container: Container) -> list[history.ChainBreak]:
    with container.uow(read_only=True) as uow:
        return [b for b in history.verify(uow.conn) if isinstance(b, history.ChainBreak)]


@pytest.mark.parametrize(
    "statement",
    ["UPDATE order_events SET actor = 'mallory'", "DELETE FROM order_events"],
)
def test_the_database_refuses_to_change_history(
    client: TestClient, admin: dict[str, str], seeded: Container, statement: str
) -> None:
    client.post("/v1/orders", json=native_order(), headers=admin)
    with pytest.raises(DBAPIError, match="append-only"), seeded.engine.begin() as conn:
        conn.execute(text(statement))
    assert _breaks(seeded) == []


def test_each_event_carries_the_hash_of_the_one_before(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    order = client.post("/v1/orders", json=native_order(), headers=admin).json()
    client.post(f"/v1/orders/{order['id']}/cancel", json={"reason": "other"}, headers=admin)
    with seeded.uow(read_only=True) as uow:
        rows = uow.conn.execute(
            text("SELECT prev_hash, hash FROM order_events WHERE order_id = :o ORDER BY order_seq"),
            {"o": order["id"]},
        ).all()
    assert len(rows) >= 3
    assert rows[0].prev_hash == history.GENESIS
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(rows))


def _tamper(container: Container, sql: str) -> None:
    """What an attacker with DDL rights could do: drop the guard, edit, restore the guard."""
    with container.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE order_events DISABLE TRIGGER order_events_append_only"))
            conn.execute(text(sql))
            conn.execute(text("ALTER TABLE order_events ENABLE TRIGGER order_events_append_only"))
        else:
            conn.execute(text("DROP TRIGGER order_events_no_update"))
            conn.execute(text(sql))


def test_verify_names_the_first_tampered_event(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    first = client.post("/v1/orders", json=native_order("H-1"), headers=admin).json()
    second = client.post("/v1/orders", json=native_order("H-2"), headers=admin).json()
    client.post(
        f"/v1/orders/{second['id']}/cancel", json={"reason": "customer_request"}, headers=admin
    )
    assert _breaks(seeded) == []
    _tamper(
        seeded,
        f"UPDATE order_events SET data = replace(data, 'customer_request', 'fraud') "
        f"WHERE order_id = '{second['id']}' AND type = 'order.cancelled'",
    )
    breaks = _breaks(seeded)
    assert [b.order_id for b in breaks] == [second["id"]]
    assert breaks[0].problem == "hash does not match the event's content"
    assert first["id"] not in {b.order_id for b in breaks}
