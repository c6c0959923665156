"""The fan-out looks into an event's channel only when a consumer that wants its type calls the
channel back (the channel it names extracted by the database), and creates exactly the
deliveries it did when it decoded every event's data."""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Connection, event, insert, select

from orderhub.bootstrap import Container
from orderhub.domain.ids import new_id
from orderhub.store import deliveries, tables

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
TYPES = ("order.received", "order.allocated", "order.shipped", "inventory.available_changed")
CHANNELS = {"shop": ("shopify", True), "quiet": ("shopify", False), "amz": ("amazon", True)}


def _seed(conn: Connection, rng: random.Random, events: int) -> None:
    """The channels, an order on each, and ``events`` outbox events that name a channel, are
    on an order's stream, on an unknown order's, or concern no channel at all."""
    for code, (kind, sync_back) in CHANNELS.items():
        conn.execute(
            insert(tables.channels).values(
                code=code, name=code, kind=kind, sync_back=sync_back, created_at=NOW, updated_at=NOW
            )
        )
        conn.execute(insert(tables.orders).values(_order(code)))
    streams = [f"order:{code}-order" for code in CHANNELS] + ["order:unknown", "inventory:sku"]
    for _ in range(events):
        data: dict[str, Any] = {"n": rng.random()}
        if rng.random() < 0.4:
            data["channel"] = rng.choice([*CHANNELS, "gone", None])
        conn.execute(
            insert(tables.outbox).values(
                id=new_id(),
                stream=rng.choice(streams),
                type=rng.choice(TYPES),
                data=data,
                actor="test",
                occurred_at=NOW,
            )
        )


def _order(channel: str) -> dict[str, Any]:
    zero = {f"{name}_minor": 0 for name in ("subtotal", "discount", "tax", "total")}
    shipping = {f"shipping_{name}_minor": 0 for name in ("price", "tax", "discount")}
    return {
        "id": f"{channel}-order",
        "channel_code": channel,
        "external_id": f"{channel}-1",
        "status": "received",
        "currency": "EUR",
        "placed_at": NOW,
        "prices_include_tax": True,
        "metadata": {},
        "version": 1,
        "created_at": NOW,
        "updated_at": NOW,
        **zero,
        **shipping,
    }


def _by_the_old_rule(
    conn: Connection,
    consumers: Mapping[str, Collection[str]],
    scope: Mapping[str, Collection[str]],
) -> set[tuple[int, str]]:
    """The (event seq, consumer) pairs the fan-out created when it looked into every event."""
    o = tables.outbox.c
    rows = conn.execute(select(o.seq, o.id, o.type, o.stream).order_by(o.seq)).all()
    kind_of = _kind_of_by_decoding(conn, rows)
    wanted = set()
    for row in rows:
        for consumer, types in consumers.items():
            if row.type not in types:
                continue
            kinds = scope.get(consumer)
            kind = kind_of.get(row.seq)
            if kinds is None or row.seq not in kind_of or (kind is not None and kind in kinds):
                wanted.add((row.seq, consumer))
    return wanted


def _kind_of_by_decoding(conn: Connection, rows: Sequence[Any]) -> dict[int, str | None]:
    """The channel kind of each event as the fan-out found it before: every event's data
    decoded here, its ``channel`` looked up, else its order's."""
    c, o = tables.channels.c, tables.outbox.c
    kinds = {
        code: kind if sync_back else None
        for code, kind, sync_back in conn.execute(select(c.code, c.kind, c.sync_back))
    }
    data = dict(conn.execute(select(o.seq, o.data)).all())
    code_of = {
        seq: str(d["channel"])
        for seq, d in data.items()
        if isinstance(d, dict) and d.get("channel") in kinds
    }
    orders = tables.orders.c
    order_channel = dict(conn.execute(select(orders.id, orders.channel_code)).all())
    for row in rows:
        order_id = row.stream.removeprefix("order:")
        on_order = row.seq not in code_of and row.stream.startswith("order:")
        if on_order and order_channel.get(order_id) in kinds:
            code_of[row.seq] = order_channel[order_id]
    return {seq: kinds[code] for seq, code in code_of.items()}


def _fan_out(
    conn: Connection,
    consumers: Mapping[str, Collection[str]],
    scope: Mapping[str, Collection[str]],
) -> set[tuple[int, str]]:
    def consumers_for(event_type: str) -> Sequence[str]:
        return [name for name, types in consumers.items() if event_type in types]

    deliveries.fan_out(conn, consumers_for=consumers_for, now=NOW, channel_scope=scope)
    d = tables.deliveries.c
    return {(seq, consumer) for seq, consumer in conn.execute(select(d.event_seq, d.consumer))}


@pytest.mark.parametrize("seed", range(6))
def test_fan_out_creates_the_deliveries_of_the_rule_that_looked_into_every_event(
    container: Container, seed: int
) -> None:
    rng = random.Random(seed)
    consumers = {
        f"c{i}": frozenset(rng.sample(TYPES, rng.randint(1, len(TYPES)))) for i in range(4)
    }
    scope = {
        name: frozenset(rng.sample(["shopify", "amazon"], rng.randint(0, 2)))
        for name in rng.sample(sorted(consumers), rng.randint(0, 3))
    }
    with container.engine.begin() as conn:
        _seed(conn, rng, events=60)
        expected = _by_the_old_rule(conn, consumers, scope)
        assert _fan_out(conn, consumers, scope) == expected
        conn.rollback()


def test_events_no_channel_scoped_consumer_wants_are_not_looked_into(
    container: Container,
) -> None:
    consumers = {"dispatch": frozenset({"order.allocated"}), "sync": frozenset({"order.shipped"})}
    scope = {"sync": frozenset({"shopify"})}
    with container.engine.begin() as conn:
        _seed(conn, random.Random(1), events=0)
        o = tables.outbox.c
        for stream in ("order:shop-order", "order:quiet-order"):
            conn.execute(
                insert(tables.outbox).values(
                    id=new_id(),
                    stream=stream,
                    type="order.allocated",
                    data={"channel": "shop"},
                    actor="test",
                    occurred_at=NOW,
                )
            )
        statements: list[str] = []

        def note(*args: Any) -> None:
            statements.append(args[2])

        event.listen(conn, "before_cursor_execute", note)
        try:
            made = _fan_out(conn, consumers, scope)
        finally:
            event.remove(conn, "before_cursor_execute", note)
        seqs = list(conn.execute(select(o.seq).order_by(o.seq)).scalars())
        assert made == {(seq, "dispatch") for seq in seqs}
        assert not [s for s in statements if "outbox.data" in s or "FROM channels" in s]
        conn.rollback()


def _superseded_one_by_one(
    rows: Sequence[tuple[int, str, str, str]], superseded: Mapping[str, Collection[str]]
) -> set[tuple[int, str]]:
    """The needless (seq, consumer) pairs by their definition: a later event of the stream
    among ``rows`` is of a type that supersedes the consumer's delivery."""
    return {
        (seq, consumer)
        for i, (seq, _, _, stream) in enumerate(rows)
        for consumer, types in superseded.items()
        if any(later[3] == stream and later[2] in types for later in rows[i + 1 :])
    }


@given(
    st.lists(
        st.tuples(st.sampled_from(TYPES), st.sampled_from(["order:a", "order:b", "inventory:x"])),
        max_size=30,
    ),
    st.dictionaries(
        st.sampled_from(["allocate", "other"]), st.frozensets(st.sampled_from(TYPES)), max_size=2
    ),
)
def test_superseded_deliveries_are_those_a_later_event_of_their_stream_makes_needless(
    events: list[tuple[str, str]], superseded: dict[str, frozenset[str]]
) -> None:
    rows = [(seq, f"e{seq}", event_type, stream) for seq, (event_type, stream) in enumerate(events)]
    found = deliveries._superseded_in(rows, superseded)
    assert found == _superseded_one_by_one(rows, superseded)
