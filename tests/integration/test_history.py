"""The order history is append-only by the database's own rule and hash-chained per order."""

from __future__ import annotations

import itertools
import json

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import Text, cast, select, text
from sqlalchemy.exc import DBAPIError

from orderhub.bootstrap import Container
from orderhub.services.audit import checkpoint_history
from orderhub.store import history, tables
from orderhub.store.migrate import alembic_config
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


def _bypass_guards(container: Container, *statements: str) -> None:
    """An attacker with DDL rights (or an older backup restored): the triggers do not stop it."""
    with container.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE order_events DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS order_events_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS order_events_no_delete"))
        for statement in statements:
            conn.execute(text(statement))
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE order_events ENABLE TRIGGER USER"))


def _two_orders(client: TestClient, admin: dict[str, str]) -> tuple[str, str, int]:
    """Two orders; the second cancelled, so its chain is longer. Returns its length too."""
    first = client.post("/v1/orders", json=native_order("T-1"), headers=admin).json()["id"]
    second = client.post("/v1/orders", json=native_order("T-2"), headers=admin).json()["id"]
    client.post(f"/v1/orders/{second}/cancel", json={"reason": "other"}, headers=admin)
    length = len(client.get(f"/v1/orders/{second}/events", headers=admin).json())
    return first, second, length


def test_verify_names_a_cut_off_tail_and_how_many_events_are_missing(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    _first, second, length = _two_orders(client, admin)
    assert length >= 2
    assert _breaks(seeded) == []
    _bypass_guards(
        seeded, f"DELETE FROM order_events WHERE order_id = '{second}' AND order_seq = {length}"
    )
    breaks = _breaks(seeded)
    assert [(b.order_id, b.order_seq) for b in breaks] == [(second, length)]
    assert breaks[0].problem == (
        f"truncated: 1 event(s) missing after seq {length - 1} (the anchor records {length})"
    )


def test_verify_names_an_order_whose_every_event_is_gone(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    _first, second, length = _two_orders(client, admin)
    _bypass_guards(seeded, f"DELETE FROM order_events WHERE order_id = '{second}'")
    breaks = _breaks(seeded)
    assert [b.order_id for b in breaks] == [second]
    assert breaks[0].problem == (
        f"truncated: all {length} event(s) missing (the anchor records them)"
    )


def _checkpoint(container: Container) -> history.Checkpoint:
    with container.uow(actor="test") as uow:
        return checkpoint_history(uow)


def test_a_checkpoint_catches_a_chain_deleted_whole_with_its_anchor(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    first, second, _length = _two_orders(client, admin)
    taken = _checkpoint(seeded)
    assert (taken.chains, taken.up_to_seq > 0) == (2, True)
    client.post("/v1/orders", json=native_order("T-3"), headers=admin)  # later chains are fine
    client.post(f"/v1/orders/{first}/cancel", json={"reason": "other"}, headers=admin)
    assert _breaks(seeded) == []
    _bypass_guards(
        seeded,
        f"DELETE FROM order_events WHERE order_id = '{second}'",
        f"DELETE FROM order_chain_heads WHERE order_id = '{second}'",
    )
    breaks = _breaks(seeded)
    assert [(b.order_id, b.event_id) for b in breaks] == [(None, None)]
    assert "1 chain(s) deleted whole" in breaks[0].problem
    with pytest.raises(history.CheckpointRefused, match="deleted whole"):
        _checkpoint(seeded)
    with seeded.uow(read_only=True) as uow:
        assert history.latest_checkpoint(uow.conn) == taken  # nothing was sealed over it


def test_each_append_moves_the_anchor_and_the_migration_backfills_it(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    _first, second, length = _two_orders(client, admin)
    heads = "SELECT order_id, event_count, head_hash FROM order_chain_heads ORDER BY order_id"
    with seeded.engine.connect() as conn:
        before = conn.execute(text(heads)).all()
        last = conn.execute(
            text("SELECT hash FROM order_events WHERE order_id = :o ORDER BY order_seq DESC"),
            {"o": second},
        ).scalar()
    assert {r.order_id: (r.event_count, r.head_hash) for r in before}[second] == (
        length,
        last,
    )
    config = alembic_config()
    with seeded.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0015")
        command.upgrade(config, "head")
    with seeded.engine.connect() as conn:
        assert conn.execute(text(heads)).all() == before
    assert _breaks(seeded) == []


def test_the_outbox_holds_each_event_as_its_history_row_encoded_it(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    """An order's events are encoded once: the outbox stores the canonical JSON its history
    row hashed (PostgreSQL parses it into its JSONB), and reads it back as the event's data;
    non-ASCII text survives both ways."""
    order = client.post("/v1/orders", json=native_order("1001-ßø"), headers=admin).json()
    t = tables
    with seeded.uow(read_only=True) as uow:
        events = uow.conn.execute(
            select(t.order_events.c.id, t.order_events.c.data).where(
                t.order_events.c.order_id == order["id"]
            )
        ).all()
        read = dict(
            uow.conn.execute(
                select(t.outbox.c.id, t.outbox.c.data).where(
                    t.outbox.c.id.in_([e.id for e in events])
                )
            ).all()
        )
        raw = dict(
            uow.conn.execute(
                select(t.outbox.c.id, cast(t.outbox.c.data, Text)).where(
                    t.outbox.c.id.in_([e.id for e in events])
                )
            ).all()
        )
    assert events
    assert set(read) == {e.id for e in events}
    assert any("1001-ßø" in e.data for e in events)
    for event in events:
        assert read[event.id] == json.loads(event.data)
        if seeded.engine.dialect.name == "sqlite":
            assert raw[event.id] == event.data == history.canonical_json(read[event.id])
