"""``orderhub demo seed --orders N``: weeks of realistic order history, written in bulk.

The hub at volume (issue 16) is measured on a database with a million orders; ingesting them
through the API would take hours, so this writes the rows the ingest and the worker would have
written, straight into the tables: COPY on PostgreSQL, batched ``executemany`` on SQLite.

Per order: its lines; the customer; an allocation plan and allocations; a fulfilment order
and a shipment once it got that far; and its history, hash-chained exactly as the unit of work
chains it (the same :func:`history.event_hash`, an anchor per chain), so ``orderhub audit
verify`` passes. Each order lives a plausible life from when it was placed (allocated within
seconds, handed to the warehouse within hours, shipped within two days, delivered a few days
later; some cancelled, held or backordered), and its status is wherever that life has reached
now. The ids are UUIDv7 stamped with when each row came in, so newest first follows the dates.

Not written: outbox events and deliveries (nothing is left to announce about the past), stock
ledger rows per order (the units still held by open orders are added as one receipt and one
reservation per SKU and location, so ``orderhub inventory check`` stays consistent), checkpoints.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, Table, func, select

from orderhub.bootstrap import Container
from orderhub.clock import utc_now
from orderhub.demo.hub import _PRICES, DEMO_CHANNELS, DEMO_PRODUCTS, _with_own_secret
from orderhub.demo.inventory import seed_inventory
from orderhub.domain import events as ev
from orderhub.domain.access import Role
from orderhub.domain.ids import new_id
from orderhub.domain.inventory import MovementKind
from orderhub.domain.orders import LineStatus, OrderStatus
from orderhub.fulfilment.demo import seed_fulfilment
from orderhub.store import tables as t
from orderhub.store.history import GENESIS, canonical_json, event_hash

ACTOR = "demo:seed"
_S, _L = OrderStatus, LineStatus

# Channel mix: own web store and marketplaces carry most of the volume.
CHANNEL_WEIGHTS = {"web": 35, "app": 20, "shopify": 20, "woo": 10, "magento": 8, "partner": 7}
_FIRST = [
    "Ada",
    "Grace",
    "Alan",
    "Katherine",
    "Hedy",
    "Linus",
    "Barbara",
    "Edsger",
    "Margaret",
    "Dennis",
    "Frances",
    "Ken",
    "Radia",
    "Tim",
    "Sophie",
    "Donald",
    "Anita",
    "John",
]
_LAST = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Johnson",
    "Lamarr",
    "Torvalds",
    "Liskov",
    "Dijkstra",
    "Hamilton",
    "Ritchie",
    "Allen",
    "Thompson",
    "Perlman",
    "Berners-Lee",
    "Wilson",
    "Knuth",
]
# (country, city, postal code, currency, shipping location, its fulfilment provider)
_PLACES = [
    ("GB", "London", "EC1A 1BB", "GBP", "lon", "warehouse"),
    ("GB", "Manchester", "M1 1AE", "GBP", "ber", "warehouse"),
    ("US", "Arlington", "22201", "USD", "nj", "sim-3pl"),
    ("US", "Hampton", "23669", "USD", "nj", "sim-3pl"),
    ("US", "Austin", "73301", "USD", "nj", "sim-3pl"),
    ("DE", "Berlin", "10115", "EUR", "ber", "warehouse"),
    ("AT", "Wien", "1010", "EUR", "ber", "warehouse"),
    ("FR", "Paris", "75001", "EUR", "ber", "warehouse"),
]  # fmt: skip
_SKUS = sorted(_PRICES)
_PRICE_MINOR = {sku: int(Decimal(price) * 100) for sku, price in _PRICES.items()}
_NAMES = {p.sku: p.name for p in DEMO_PRODUCTS}
_CARRIERS = [("DHL", "parcel"), ("UPS", "ground"), ("Royal Mail", "tracked 48")]
SHIPPING_MINOR = 490

# Column order of the rows each table gets (COPY takes them as tuples).
COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": ("id", "email", "name", "phone", "created_at"),
    "orders": (
        "id", "channel_code", "external_id", "status", "currency", "placed_at", "customer_id",
        "customer_email", "customer_name", "customer_phone", "shipping_address",
        "shipping_price_minor", "shipping_tax_minor", "shipping_discount_minor",
        "shipping_method", "prices_include_tax", "hold_reason", "metadata", "subtotal_minor",
        "discount_minor", "tax_minor", "total_minor", "version", "created_at", "updated_at",
        "ship_by", "deliver_by",
    ),
    "order_lines": (
        "id", "order_id", "position", "sku", "name", "quantity", "cancelled_quantity",
        "unit_price_minor", "discount_minor", "tax_minor", "status",
    ),
    "order_events": (
        "id", "order_id", "order_seq", "type", "data", "actor", "occurred_at", "prev_hash", "hash",
    ),
    "order_chain_heads": ("order_id", "event_count", "head_hash"),
    "allocation_plans": ("id", "order_id", "strategy", "explanation", "created_at"),
    "allocations": (
        "id", "order_id", "line_id", "plan_id", "sku", "location", "quantity", "open_quantity",
        "shipped_quantity", "created_at", "updated_at",
    ),
    "fulfilment_orders": (
        "id", "order_id", "location", "provider", "status", "external_ref", "lines", "version",
        "created_at", "updated_at",
    ),
    "shipments": (
        "id", "fulfilment_id", "order_id", "carrier", "service", "tracking_number", "lines",
        "shipped_at", "status", "status_at",
    ),
}  # fmt: skip
JSON_COLUMNS = {
    ("orders", "shipping_address"), ("orders", "metadata"), ("allocation_plans", "explanation"),
    ("fulfilment_orders", "lines"), ("shipments", "lines"),
}  # fmt: skip


@dataclass
class SeedResult:
    orders: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


@dataclass
class _Batch:
    rows: dict[str, list[tuple[Any, ...]]] = field(
        default_factory=lambda: {name: [] for name in COLUMNS}
    )

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        self.rows[table].append(row)


@dataclass(frozen=True)
class _Person:
    id: str
    email: str
    name: str
    place: tuple[str, str, str, str, str, str]


def seed_orders(
    container: Container,
    *,
    orders: int,
    days: int = 42,
    batch: int = 5000,
    rng: random.Random | None = None,
    now: datetime | None = None,
    progress: Callable[[int], None] = lambda _done: None,
) -> SeedResult:
    """Write ``orders`` orders placed over the last ``days`` days (plus what they need) and
    return what was written; the channels, products and stock come first if missing."""
    rng = rng or random.Random(16)
    now = now or utc_now()
    started = time.perf_counter()
    ensure_reference_data(container)
    engine = container.engine
    with engine.connect() as conn:
        base = int(conn.execute(select(func.count()).select_from(t.orders)).scalar_one())
    write = _pg_copy if engine.dialect.name == "postgresql" else _sqlite_insert
    result = SeedResult(orders=orders)
    people = _people(rng, count=max(10, orders // 8), now=now, days=days, tag=base)
    for chunk in _chunks([(p.id, p.email, p.name, None, now) for p in people], batch):
        write(engine, {"customers": chunk}, result)
    held: dict[tuple[str, str], int] = {}
    span = days * 86_400.0
    start = now - timedelta(seconds=span)
    done = 0
    with ThreadPoolExecutor(1, thread_name_prefix="seed-writer") as writer:
        # The database writes one batch while this thread builds the next (the wait for the
        # server releases the GIL): about max(build, write) per batch instead of their sum.
        pending: Future[None] | None = None
        pending_size = 0
        while done < orders:
            size = min(batch, orders - done)
            rows = _Batch()
            for i in range(done, done + size):
                # Spread evenly over the span, oldest first, never in the future.
                offset = min(span - 1.0, span * (i + rng.random()) / orders)
                placed = start + timedelta(seconds=offset)
                _order(rows, rng, number=base + i + 1, placed=placed, now=now,
                       person=rng.choice(people), held=held)  # fmt: skip
            if pending is not None:
                pending.result()
                progress(pending_size)
            pending, pending_size = writer.submit(write, engine, rows.rows, result), size
            done += size
        if pending is not None:
            pending.result()
            progress(pending_size)
    _hold_stock(engine, held, now)
    if engine.dialect.name == "postgresql":
        # Fresh statistics (or the planner guesses), and the visibility map set, so index-only
        # scans need not visit the table: what autovacuum would do some time later.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM (ANALYZE)")
    result.seconds = time.perf_counter() - started
    return result


def ensure_reference_data(container: Container) -> None:
    """The demo's channels, products, locations, stock and 3PL, unless channels exist."""
    with container.uow(actor=ACTOR) as uow:
        if uow.channels.list():
            return
        for channel in DEMO_CHANNELS:
            uow.channels.add(_with_own_secret(channel))
        for product in DEMO_PRODUCTS:
            uow.catalog.upsert(product)
        uow.commit()
    seed_inventory(container)
    seed_fulfilment(container)


def create_admin_key(container: Container) -> str:
    with container.uow(actor=ACTOR) as uow:
        key = uow.api_keys.create(role=Role.ADMIN, name="demo seed")
        uow.commit()
    return key


def _people(rng: random.Random, *, count: int, now: datetime, days: int, tag: int) -> list[_Person]:
    people = []
    for n in range(count):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        email = f"{first}.{last}.{tag}-{n}@example.com".lower()
        people.append(_Person(new_id(now), email, f"{first} {last}", rng.choice(_PLACES)))
    return people


def _chunks(items: Sequence[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


class _Chain:
    """One order's history as the unit of work would have chained it."""

    def __init__(self, rows: _Batch, order_id: str) -> None:
        self.rows, self.order_id, self.seq, self.prev = rows, order_id, 0, GENESIS

    def add(self, type_: str, data: dict[str, Any], at: datetime) -> None:
        """Append an event; ``data`` is what the event class's ``data()`` gives (built here as
        a dict, the dataclass round trip being the seed's largest cost; a test compares)."""
        self.seq += 1
        event_id, body = new_id(at), canonical_json({"order_id": self.order_id, **data})
        digest = event_hash(
            prev_hash=self.prev, event_id=event_id, order_id=self.order_id, order_seq=self.seq,
            type_=type_, data=body, actor=ACTOR, occurred_at=at,
        )  # fmt: skip
        self.rows.add(
            "order_events",
            (event_id, self.order_id, self.seq, type_, body, ACTOR, at, self.prev, digest),
        )
        self.prev = digest

    def status(self, old: OrderStatus, new: OrderStatus, at: datetime) -> None:
        data = {"from_status": old.value, "to_status": new.value, "reason": None}
        self.add(ev.OrderStatusChanged.type, data, at)

    def close(self) -> None:
        self.rows.add("order_chain_heads", (self.order_id, self.seq, self.prev))


def _order(
    rows: _Batch,
    rng: random.Random,
    *,
    number: int,
    placed: datetime,
    now: datetime,
    person: _Person,
    held: dict[tuple[str, str], int],
) -> None:
    """One order and everything its life so far has written (see the module docstring)."""
    country, city, postal, currency, location, provider = person.place
    channel = rng.choices(list(CHANNEL_WEIGHTS), weights=list(CHANNEL_WEIGHTS.values()))[0]
    came_in = placed + timedelta(seconds=rng.uniform(0.2, 3.0))
    allocated_at = came_in + timedelta(seconds=rng.uniform(0.1, 2.0))
    fulfil_at = came_in + timedelta(minutes=rng.uniform(20, 180))
    ship_at = came_in + timedelta(hours=rng.uniform(6, 40))
    deliver_at = ship_at + timedelta(hours=rng.uniform(20, 100))
    fate = rng.random()  # 3 % cancelled, 1 % backordered, 0.5 % held; the rest go all the way
    cancel_at = came_in + timedelta(seconds=rng.uniform(60, 1200))
    order_id = new_id(came_in)
    external_id = f"{channel.upper()}-S{number:07d}"

    lines = []
    for position, sku in enumerate(rng.sample(_SKUS, k=rng.choice((1, 1, 1, 2, 2, 3)))):
        quantity = rng.choice((1, 1, 1, 2, 3))
        price = _PRICE_MINOR[sku]
        tax = (price * quantity * 2 + 5) // 10  # 20 %
        lines.append((new_id(came_in), position, sku, quantity, price, tax))

    # How far its life has got by now.
    status = _S.RECEIVED
    if now >= allocated_at:
        status = _S.BACKORDERED if fate < 0.01 else _S.ON_HOLD if fate < 0.015 else _S.ALLOCATED
    if status == _S.ALLOCATED:
        if fate > 0.97 and now >= cancel_at:
            status = _S.CANCELLED
        elif fate <= 0.97:
            for when, reached in (
                (fulfil_at, _S.IN_FULFILMENT), (ship_at, _S.SHIPPED), (deliver_at, _S.DELIVERED)
            ):  # fmt: skip
                if now >= when:
                    status = reached

    line_status = {
        _S.RECEIVED: _L.OPEN, _S.ON_HOLD: _L.OPEN, _S.BACKORDERED: _L.BACKORDERED,
        _S.ALLOCATED: _L.ALLOCATED, _S.CANCELLED: _L.CANCELLED,
        _S.IN_FULFILMENT: _L.IN_FULFILMENT, _S.SHIPPED: _L.SHIPPED, _S.DELIVERED: _L.DELIVERED,
    }[status]  # fmt: skip
    cancelled = status == _S.CANCELLED
    subtotal = sum(price * qty for _i, _p, _s, qty, price, _t in lines)
    tax = sum(line[5] for line in lines)
    totals = (0, 0, 0, 0) if cancelled else (subtotal, 0, tax, subtotal + SHIPPING_MINOR + tax)
    ordered_total = subtotal + SHIPPING_MINOR + tax

    chain = _Chain(rows, order_id)
    total_text = f"{Decimal(ordered_total) / 100:.2f} {currency}"
    chain.add(
        ev.OrderReceived.type,
        {"channel": channel, "external_id": external_id, "currency": currency,
         "total": total_text, "line_count": len(lines)},
        came_in,
    )  # fmt: skip
    updated = came_in
    for line_id, position, sku, qty, price, line_tax in lines:
        rows.add(
            "order_lines",
            (line_id, order_id, position, sku, _NAMES[sku], qty, qty if cancelled else 0,
             price, 0, line_tax, line_status.value),
        )  # fmt: skip
    if status in (_S.BACKORDERED, _S.ON_HOLD):
        chain.status(_S.RECEIVED, status, allocated_at)
        updated = allocated_at
    elif status != _S.RECEIVED:
        plan_id = new_id(allocated_at)
        picks = [
            {"line_id": line_id, "sku": sku, "location": location, "quantity": qty}
            for line_id, _p, sku, qty, _pr, _t in lines
        ]
        explanation = {"chosen": [location], "reason": "nearest location with stock"}
        rows.add("allocation_plans", (plan_id, order_id, "simple", explanation, allocated_at))
        chain.add(
            ev.OrderAllocated.type, {"strategy": "simple", "allocations": picks}, allocated_at
        )
        chain.status(_S.RECEIVED, _S.ALLOCATED, allocated_at)
        updated = allocated_at
        holding = status in (_S.ALLOCATED, _S.IN_FULFILMENT)
        shipped = status in (_S.SHIPPED, _S.DELIVERED)
        for line_id, _p, sku, qty, _pr, _t in lines:
            rows.add(
                "allocations",
                (new_id(allocated_at), order_id, line_id, plan_id, sku, location, qty,
                 qty if holding else 0, qty if shipped else 0, allocated_at, allocated_at),
            )  # fmt: skip
            if holding:
                held[(sku, location)] = held.get((sku, location), 0) + qty
        if cancelled:
            cancel = {
                "reason": "customer_request",
                "line_ids": [line[0] for line in lines],
                "units": {line[0]: line[3] for line in lines},
                "whole_order": True,
            }
            chain.add(ev.OrderCancelled.type, cancel, cancel_at)  # fmt: skip
            chain.status(_S.ALLOCATED, _S.CANCELLED, cancel_at)
            updated = cancel_at
        elif status != _S.ALLOCATED:
            fulfilment_id = new_id(fulfil_at)
            f_lines = [{"line_id": p["line_id"], "sku": p["sku"], "quantity": p["quantity"]}
                       for p in picks]  # fmt: skip
            created = {
                "fulfilment_id": fulfilment_id,
                "location": location,
                "provider": provider,
                "lines": f_lines,
            }
            chain.add(ev.FulfilmentCreated.type, created, fulfil_at)  # fmt: skip
            chain.status(_S.ALLOCATED, _S.IN_FULFILMENT, fulfil_at)
            updated = fulfil_at
            f_status = {_S.IN_FULFILMENT: "accepted", _S.SHIPPED: "shipped"}.get(
                status, "delivered"
            )
            f_updated = deliver_at if status == _S.DELIVERED else ship_at if shipped else fulfil_at
            external_ref = f"SIM-{number}" if provider == "sim-3pl" else None
            rows.add(
                "fulfilment_orders",
                (fulfilment_id, order_id, location, provider, f_status, external_ref, f_lines, 1,
                 fulfil_at, f_updated),
            )  # fmt: skip
            if shipped:
                shipment_id = new_id(ship_at)
                carrier, service = _CARRIERS[number % len(_CARRIERS)]
                tracking = f"TRK{number:010d}"
                units = {p["line_id"]: p["quantity"] for p in picks}
                rows.add(
                    "shipments",
                    (shipment_id, fulfilment_id, order_id, carrier, service, tracking, units,
                     ship_at, "delivered" if status == _S.DELIVERED else "in_transit",
                     deliver_at if status == _S.DELIVERED else ship_at),
                )  # fmt: skip
                shipment = {
                    "shipment_id": shipment_id, "fulfilment_id": fulfilment_id,
                    "location": location, "carrier": carrier, "service": service,
                    "tracking_number": tracking, "shipped_at": ship_at.isoformat(),
                    "lines": [{"line_id": k, "quantity": v} for k, v in units.items()],
                }  # fmt: skip
                chain.add(ev.ShipmentCreated.type, shipment, ship_at)
                chain.status(_S.IN_FULFILMENT, _S.SHIPPED, ship_at)
                updated = ship_at
                if status == _S.DELIVERED:
                    chain.status(_S.SHIPPED, _S.DELIVERED, deliver_at)
                    updated = deliver_at
    chain.close()
    hold_reason = "fraud check" if status == _S.ON_HOLD else None
    address = {"country": country, "name": person.name, "city": city, "postal_code": postal,
               "line1": f"{number % 400 + 1} Seed Street"}  # fmt: skip
    rows.add(
        "orders",
        (order_id, channel, external_id, status.value, currency, placed, person.id, person.email,
         person.name, None, address, SHIPPING_MINOR, 0, 0, "standard", False, hold_reason, {},
         *totals, chain.seq, came_in, updated, placed + timedelta(days=2),
         placed + timedelta(days=5)),
    )  # fmt: skip


# -- writers ----------------------------------------------------------------------------------

_ORDER = list(COLUMNS)  # parents before children (foreign keys)


def _pg_copy(engine: Engine, tables: dict[str, list[tuple[Any, ...]]], result: SeedResult) -> None:
    """One transaction per batch: COPY each table's rows (psycopg 3 ``cursor.copy``)."""
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        assert conn is not None
        with conn.cursor() as cur:
            # A crash loses the batch, never consistency: no need to wait for each flush.
            cur.execute("SET LOCAL synchronous_commit TO off")
            for name in _ORDER:
                rows = tables.get(name)
                if not rows:
                    continue
                columns = COLUMNS[name]
                as_json = [i for i, c in enumerate(columns) if (name, c) in JSON_COLUMNS]
                with cur.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(_json_cells(row, as_json) if as_json else row)
                result.rows[name] = result.rows.get(name, 0) + len(rows)
        conn.commit()
    finally:
        raw.close()


def _json_cells(row: tuple[Any, ...], indexes: list[int]) -> list[Any]:
    """COPY's text format takes JSON as its text."""
    cells = list(row)
    for i in indexes:
        cells[i] = json.dumps(cells[i], separators=(",", ":"))
    return cells


def _sqlite_insert(
    engine: Engine, tables: dict[str, list[tuple[Any, ...]]], result: SeedResult
) -> None:
    """One transaction per batch, an ``executemany`` INSERT per table."""
    with engine.begin() as conn:
        for name in _ORDER:
            rows = tables.get(name)
            if not rows:
                continue
            table: Table = t.metadata.tables[name]
            columns = COLUMNS[name]
            conn.execute(table.insert(), [dict(zip(columns, row, strict=True)) for row in rows])
            result.rows[name] = result.rows.get(name, 0) + len(rows)


def _hold_stock(engine: Engine, held: dict[tuple[str, str], int], now: datetime) -> None:
    """The units open seeded orders hold: received and reserved at their locations, one ledger
    row each, so the levels still add up to the ledger and to the open allocations."""
    if not held:
        return
    with engine.begin() as conn:
        for (sku, location), units in sorted(held.items()):
            for kind, on_hand, reserved in (
                (MovementKind.RECEIPT, units, 0), (MovementKind.RESERVATION, 0, units)
            ):  # fmt: skip
                conn.execute(
                    t.stock_movements.insert(),
                    {"sku": sku, "location": location, "kind": kind.value,
                     "on_hand_delta": on_hand, "reserved_delta": reserved,
                     "reason": "demo seed: units held by seeded open orders", "stale": False,
                     "actor": ACTOR, "occurred_at": now},
                )  # fmt: skip
            _add_to_level(conn, sku, location, units, now)


def _add_to_level(conn: Connection, sku: str, location: str, units: int, now: datetime) -> None:
    lv = t.stock_levels.c
    key = (lv.sku == sku) & (lv.location == location)
    changed = conn.execute(
        t.stock_levels.update()
        .where(key)
        .values(on_hand=lv.on_hand + units, reserved=lv.reserved + units, updated_at=now)
    ).rowcount
    if not changed:
        conn.execute(
            t.stock_levels.insert(),
            {"sku": sku, "location": location, "on_hand": units, "reserved": units,
             "updated_at": now},
        )  # fmt: skip


def rows_per_second(result: SeedResult) -> float:
    return result.total_rows / result.seconds if result.seconds else 0.0


__all__ = ["COLUMNS", "SeedResult", "create_admin_key", "ensure_reference_data", "seed_orders"]
