"""Repositories: load and save domain objects over one connection (the unit of work's)."""

from __future__ import annotations

import builtins
import dataclasses
import functools
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import Connection, Row, bindparam, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from orderhub.clock import utc_now
from orderhub.domain.catalog import Product, match_key
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.domain.errors import Conflict, FieldError, NotFound, ValidationFailed
from orderhub.domain.ids import new_id
from orderhub.domain.money import Money
from orderhub.domain.order_numbers import order_number
from orderhub.domain.orders import (
    Address,
    Customer,
    Delivery,
    DeliveryType,
    LineStatus,
    Order,
    OrderLine,
    OrderStatus,
    Shipping,
)
from orderhub.store import bulk, config_cache
from orderhub.store import tables as t
from orderhub.store.config_cache import Rows, Stamps
from orderhub.store.one_of import one_of
from orderhub.store.purchase_orders import purchase_order_from_json, purchase_order_json
from orderhub.store.queries import keyset_page
from orderhub.store.secret_box import SecretBox, reseal


def insert_ignoring_duplicates(conn: Connection, table: Any, values: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING on either database; True when a row was written.

    RETURNING says whether the row went in: psycopg reports ``rowcount`` -1 here, which read
    as "written" and hid every conflict on PostgreSQL.
    """
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    # RETURNING, not rowcount: psycopg reports -1 for ON CONFLICT DO NOTHING.
    first_column = next(iter(table.primary_key.columns))
    stmt = insert(table).values(**values).on_conflict_do_nothing().returning(first_column)
    return conn.execute(stmt).first() is not None


# Hot-path statements built once: constructing a Core statement costs more than running it.
_ORDER_BY_EXTERNAL = select(t.orders.c.id).where(
    t.orders.c.channel_code == bindparam("channel"),
    t.orders.c.external_id == bindparam("external_id"),
)
# Orders by (channel, external id) keys: bind :func:`by_external_params` of them.
ORDERS_BY_EXTERNAL = select(t.orders.c.id, t.orders.c.channel_code, t.orders.c.external_id).where(
    t.orders.c.channel_code.in_(bindparam("channels", expanding=True)),
    t.orders.c.external_id.in_(bindparam("external_ids", expanding=True)),
)


def by_external_params(keys: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """The bind parameters of a look-up by (channel, external id) ``keys``: the channels and
    the external ids, each an IN list. The lists cross channels with ids: the caller keeps,
    of what comes back, the pairs it asked for."""
    keys = list(keys)
    return {
        "channels": sorted({channel for channel, _ in keys}),
        "external_ids": sorted({external_id for _, external_id in keys}),
    }


_INSERT_CUSTOMER = t.customers.insert()


def _per_dialect(build: Callable[[Any], Any]) -> dict[str, Any]:
    """A statement built once for each database: their INSERT … ON CONFLICT differ."""
    return {"postgresql": build(pg_insert), "sqlite": build(sqlite_insert)}


def _insert_new_customers(insert: Any) -> Any:
    # DO NOTHING, not a no-op update: an update would lock a returning customer's row to the
    # commit, and two API processes' groups with one customer in common would run in turn.
    return (
        insert(t.customers)
        .on_conflict_do_nothing(index_elements=[t.customers.c.email])
        .returning(t.customers.c.id, t.customers.c.email)
    )


_INSERT_NEW_CUSTOMERS = _per_dialect(_insert_new_customers)
_KNOWN_CUSTOMERS = select(t.customers.c.id, t.customers.c.email).where(
    one_of(t.customers.c.email, "emails")
)
_CHANNEL_EXISTS = select(t.channels.c.code).where(t.channels.c.code == bindparam("code"))
_KNOWN_SKUS = select(t.products.c.sku).where(
    t.products.c.sku.in_(bindparam("skus", expanding=True))
)
_PRODUCTS = select(t.products).where(t.products.c.sku.in_(bindparam("skus", expanding=True)))
_STAMPED_PRODUCTS = config_cache.stamped(
    t.products, where=t.products.c.sku.in_(bindparam("skus", expanding=True))
)
_IDENTIFIERS = select(t.product_identifiers).where(
    t.product_identifiers.c.sku.in_(bindparam("skus", expanding=True))
)
_SKUS_BY_IDENTIFIER = select(t.product_identifiers.c.match_key, t.product_identifiers.c.sku).where(
    t.product_identifiers.c.match_key.in_(bindparam("keys", expanding=True))
)
_CHANNEL = select(t.channels).where(t.channels.c.code == bindparam("code"))
_CHANNELS = select(t.channels).order_by(t.channels.c.code)
_STAMPED_CHANNELS = config_cache.stamped(t.channels).order_by(t.channels.c.code)
_ORDER = select(t.orders).where(t.orders.c.id == bindparam("order_id"))
_ORDER_FOR_UPDATE = _ORDER.with_for_update()
_ORDERS = select(t.orders).where(t.orders.c.id.in_(bindparam("ids", expanding=True)))
_LINES_OF_ORDERS = (
    select(t.order_lines)
    .where(t.order_lines.c.order_id.in_(bindparam("ids", expanding=True)))
    .order_by(t.order_lines.c.order_id, t.order_lines.c.position)
)
# Reading an order: a stored status to its member by a dict, not the enum's call.
_LINE_STATUSES = {status.value: status for status in LineStatus}
_ORDER_STATUSES = {status.value: status for status in OrderStatus}


@functools.lru_cache(maxsize=4096)
def _money(minor: int, currency: str) -> Money:
    """A stored amount as Money, made once per (amount, currency): Money is immutable, and
    orders read together share their prices, zeros and shipping charges."""
    return Money.from_minor(minor, currency)


_ORDER_LINES = (
    select(t.order_lines)
    .where(t.order_lines.c.order_id == bindparam("order_id"))
    .order_by(t.order_lines.c.position)
)
# What ``save`` writes: the order's changeable columns, guarded by the version it was read at.
_SAVED = (
    "status", "hold_reason", "metadata", "subtotal_minor", "discount_minor", "tax_minor",
    "total_minor", "updated_at", "version",
)  # fmt: skip
_SAVE_ORDER = (
    update(t.orders)
    .where(t.orders.c.id == bindparam("b_id"), t.orders.c.version == bindparam("b_version"))
    .values({name: bindparam(name, type_=t.orders.c[name].type) for name in _SAVED})
)
_SAVE_LINE = (
    update(t.order_lines)
    .where(t.order_lines.c.id == bindparam("b_id"))
    .values(status=bindparam("status"), cancelled_quantity=bindparam("cancelled_quantity"))
)

_EDIT_LINE = (
    update(t.order_lines)
    .where(t.order_lines.c.id == bindparam("b_id"))
    .values(
        quantity=bindparam("quantity"),
        discount_minor=bindparam("discount_minor"),
        tax_minor=bindparam("tax_minor"),
    )
)


class StaleOrder(Conflict):
    """Another transaction changed the order first (optimistic version check)."""


def _address(data: dict[str, Any] | None) -> Address | None:
    return Address(**data) if data else None


_ADDRESS_FIELDS = tuple(field.name for field in dataclasses.fields(Address))


def _address_json(address: Address | None) -> dict[str, Any] | None:
    """The address's fields that are set, in field order. Read one by one: every field is a
    plain string, so ``dataclasses.asdict``'s deep copy (a tenth of storing an order) buys
    nothing."""
    if address is None:
        return None
    values = ((name, getattr(address, name)) for name in _ADDRESS_FIELDS)
    return {name: value for name, value in values if value is not None}


def _delivery_json(delivery: Delivery | None) -> dict[str, Any] | None:
    if delivery is None:
        return None
    return {"type": delivery.type.value, "location": delivery.location}


def _delivery(data: dict[str, Any] | None) -> Delivery | None:
    if not data:
        return None
    return Delivery(DeliveryType(data["type"]), data.get("location"))


class OrderSaves:
    """Order saves kept for the transaction's commit (:meth:`OrderRepository.save_later`):
    written together, two executemany statements for them all, each under its version check."""

    def __init__(self) -> None:
        self.orders: list[dict[str, Any]] = []
        self.lines: list[dict[str, Any]] = []
        self._ended = (0, 0)  # what was kept when the last item ended (orders, lines)

    def item_ended(self, *, done: bool) -> None:
        """The transaction's item under way ended (an ``ItemWatcher``'s word): an undone one's
        saves go; a done one's stay for :meth:`write`."""
        if not done:
            del self.orders[self._ended[0] :], self.lines[self._ended[1] :]
        self._ended = (len(self.orders), len(self.lines))

    def write(self, conn: Connection) -> None:
        """Write the saves kept; refuses if someone saved one of the orders in between."""
        if self.orders and conn.execute(_SAVE_ORDER, self.orders).rowcount != len(self.orders):
            raise StaleOrder("an order saved at the commit was changed concurrently; retry")
        if self.lines:
            conn.execute(_SAVE_LINE, self.lines)
        self.orders, self.lines, self._ended = [], [], (0, 0)


class OrderRepository:
    def __init__(self, conn: Connection, unwritten: set[str] | None = None) -> None:
        self._conn = conn
        self._later: dict[str, OrderSaves] = {}  # order id → where its saves are kept
        self.seen: dict[str, Order] = {}
        self.added: set[str] = set()  # new in this transaction: inserted, not version-checked
        self._stored: dict[str, tuple[str, int]] = {}  # line id → (status, cancelled) in the db
        self._inserted: dict[str, tuple[str, str | None, dict[str, Any]]] = {}  # as inserted
        # New orders of this transaction not inserted yet (:meth:`add_new` with ``insert``
        # off): shared by the transaction's repositories, as the unit of work keeps it.
        self._unwritten = unwritten if unwritten is not None else set()

    def add_new(
        self,
        orders: Sequence[Order],
        *,
        sla_dates: dict[str, tuple[datetime | None, datetime | None]] | None = None,
        insert: bool = True,
        created_at: datetime | None = None,
    ) -> set[str]:
        """Insert ``orders`` and their lines in two statements; returns the ids written.

        An order whose (channel, external id) exists already — a concurrent request won — is
        skipped by ``ON CONFLICT DO NOTHING`` rather than failing the transaction, so one lost
        race does not undo a whole batch; the caller answers it with the winner's id. Which
        were skipped is asked of the database only when fewer rows went in than were sent.
        ``sla_dates`` is each order's (ship_by, deliver_by) from its channel's policy.

        ``insert`` off: the orders are tracked as new but written later, as they stand then
        (:meth:`insert_held`, ``created_at`` the time received), so that an order allocated
        in the same transaction is inserted once, not inserted and then updated; every id is
        returned (a lost race shows at the insert).
        """
        if not orders:
            return set()
        if not insert:
            for order in orders:
                order.version = 1
                self._unwritten.add(order.id)
                self.adopt(order, new=True)
            return {order.id for order in orders}
        now = created_at or utc_now()
        dates = sla_dates or {}
        rows = []
        for order in orders:
            ship_by, deliver_by = dates.get(order.id, (None, None))
            row = self._order_row(order, now, created=True)
            if order.version > 1:  # saved since it was received (:meth:`save`)
                row |= {"version": order.version, "updated_at": utc_now()}
            rows.append(row | {"ship_by": ship_by, "deliver_by": deliver_by})
        count = bulk.insert_rows(
            self._conn, t.orders, rows, skip_conflicts_on=("channel_code", "external_id")
        )
        written = {row["id"] for row in rows}
        if count != len(rows):  # some lost a race (or the driver cannot tell): ask
            found = self.ids_by_external({(o.channel, o.external_id) for o in orders})
            written &= set(found.values())
        line_rows = [
            self._line_row(order.id, position, line)
            for order in orders
            if order.id in written
            for position, line in enumerate(order.lines)
        ]
        bulk.insert_rows(self._conn, t.order_lines, line_rows)
        for order in orders:
            if order.id in written:
                order.version = max(order.version, 1)
                self.adopt(order, new=True)
        return written

    def insert_held(
        self,
        orders: Sequence[Order],
        *,
        sla_dates: dict[str, tuple[datetime | None, datetime | None]],
        created_at: datetime,
    ) -> set[str]:
        """Insert the orders :meth:`add_new` held back, as they stand now (a version moved by
        each :meth:`save` since, as the UPDATE would have moved it); returns the ids written."""
        assert all(order.id in self._unwritten for order in orders), "not held"
        self._unwritten.difference_update(order.id for order in orders)
        return self.add_new(orders, sla_dates=sla_dates, created_at=created_at)

    def adopt(self, order: Order, *, new: bool) -> None:
        """Track ``order``, which this transaction holds in memory as the database has it
        (``new``: as inserted in this transaction), without reading it again."""
        self.seen[order.id] = order
        if new:
            self.added.add(order.id)
            self._inserted[order.id] = (order.status.value, order.hold_reason, dict(order.metadata))
        self._remember(order)

    def changed_since_added(self, order: Order) -> bool:
        """Whether an order inserted in this transaction (:meth:`add_new`) has changed since
        (allocated on ingest, say): then it is saved like any other."""
        state = (order.status.value, order.hold_reason, order.metadata)
        return self._inserted.get(order.id) != state or any(
            self._stored.get(line.id) != (line.status.value, line.cancelled_quantity)
            for line in order.lines
        )

    def get(self, order_id: str, *, for_update: bool = False) -> Order:
        lock = for_update and self._conn.dialect.name == "postgresql"
        params = {"order_id": order_id}
        row = self._conn.execute(_ORDER_FOR_UPDATE if lock else _ORDER, params).first()
        if row is None:
            raise NotFound(f"order {order_id} not found")
        lines = self._conn.execute(_ORDER_LINES, params).all()
        order = self._to_order(row, lines)
        self.seen[order.id] = order
        self._remember(order)
        return order

    def read_many(self, order_ids: Sequence[str]) -> dict[str, Order]:
        """The orders of ``order_ids`` that exist, for reading only (a list page): two queries
        for them all, where :meth:`get` takes two each; nothing is tracked for saving."""
        if not order_ids:
            return {}
        params = {"ids": list(order_ids)}
        lines: dict[str, list[Row[Any]]] = {order_id: [] for order_id in params["ids"]}
        for line in self._conn.execute(_LINES_OF_ORDERS, params):
            lines[line.order_id].append(line)
        to_order = self._to_order
        return {row.id: to_order(row, lines[row.id]) for row in self._conn.execute(_ORDERS, params)}

    def _remember(self, order: Order) -> None:
        for line in order.lines:
            self._stored[line.id] = (line.status.value, line.cancelled_quantity)

    def id_by_external(self, channel: str, external_id: str) -> str | None:
        return self._conn.execute(
            _ORDER_BY_EXTERNAL, {"channel": channel, "external_id": external_id}
        ).scalar_one_or_none()

    def ids_by_external(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """The ids of the orders that exist among (channel, external id) ``keys``, in one query."""
        if not keys:
            return {}
        found = {}
        for row in self._conn.execute(ORDERS_BY_EXTERNAL, by_external_params(keys)):
            key = (row.channel_code, row.external_id)
            if key in keys:  # the IN lists cross channels with ids: keep the asked pairs
                found[key] = row.id
        return found

    def save(self, order: Order) -> None:
        """Write status, derived totals and the lines that changed since they were read;
        refuses if someone saved in between. An order held back for insertion
        (:meth:`add_new`) is not written: its version moves, and the insert writes it whole."""
        if order.id in self._unwritten:
            self._remember(order)
            order.version += 1
            return
        row = self._order_row(order, utc_now(), created=False)
        row |= {"version": order.version + 1, "b_id": order.id, "b_version": order.version}
        states = [(line.id, line.status.value, line.cancelled_quantity) for line in order.lines]
        changed = [
            {"b_id": line_id, "status": status, "cancelled_quantity": cancelled}
            for line_id, status, cancelled in states
            if self._stored.get(line_id) != (status, cancelled)
        ]
        later = self._later.get(order.id)
        if later is not None:
            later.orders.append(row)
            later.lines += changed
        else:
            if self._conn.execute(_SAVE_ORDER, row).rowcount != 1:
                raise StaleOrder(f"order {order.id} was changed concurrently; retry")
            if changed:
                self._conn.execute(_SAVE_LINE, changed)  # one executemany
        self._remember(order)
        order.version += 1

    def save_later(self, order_id: str, saves: OrderSaves) -> None:
        """Keep this repository's saves of ``order_id`` in ``saves``, written at the commit
        (:meth:`OrderSaves.write`): the worker's dispatches, each a save of one order, in
        one statement; the caller sees that nothing reads the order before."""
        self._later[order_id] = saves

    def save_edited(self, order: Order) -> None:
        """What an order edit changes beyond :meth:`save`: the ship-to address, shipping,
        line quantities and amounts, and new lines. Call it before the commit, whose
        :meth:`save` then writes statuses and totals under the version check."""
        self._conn.execute(
            update(t.orders)
            .where(t.orders.c.id == order.id)
            .values(
                shipping_address=_address_json(order.shipping_address),
                shipping_price_minor=order.shipping.price.minor,
                shipping_tax_minor=order.shipping.tax.minor,
                shipping_discount_minor=order.shipping.discount.minor,
                shipping_method=order.shipping.method,
            )
        )
        added = [
            (position, line)
            for position, line in enumerate(order.lines)
            if line.id not in self._stored
        ]
        new = [self._line_row(order.id, position, line) for position, line in added]
        old = [
            {
                "b_id": line.id,
                "quantity": line.quantity,
                "discount_minor": line.discount.minor,
                "tax_minor": line.tax.minor,
            }
            for line in order.lines
            if line.id in self._stored
        ]
        if old:
            self._conn.execute(_EDIT_LINE, old)
        bulk.insert_rows(self._conn, t.order_lines, new)
        for _position, line in added:  # inserted as they are now; the others as last read
            self._stored[line.id] = (line.status.value, line.cancelled_quantity)

    def _order_row(self, order: Order, now: datetime, *, created: bool) -> dict[str, Any]:
        totals = order.totals
        po = order.purchase_order
        row: dict[str, Any] = {
            "status": order.status.value,
            "hold_reason": order.hold_reason,
            "metadata": order.metadata,
            "subtotal_minor": totals.subtotal.minor,
            "discount_minor": totals.discount.minor,
            "tax_minor": totals.tax.minor,
            "total_minor": totals.total.minor,
            "updated_at": now,
        }
        if created:
            row |= {
                "id": order.id,
                "channel_code": order.channel,
                "external_id": order.external_id,
                "order_number": order_number(order.external_id, order.metadata),
                "currency": order.currency,
                "placed_at": order.placed_at,
                "customer_id": order.customer.id,
                "customer_email": order.customer.email,
                "customer_name": order.customer.name,
                "customer_phone": order.customer.phone,
                "shipping_address": _address_json(order.shipping_address),
                "billing_address": _address_json(order.billing_address),
                "shipping_price_minor": order.shipping.price.minor,
                "shipping_tax_minor": order.shipping.tax.minor,
                "shipping_discount_minor": order.shipping.discount.minor,
                "shipping_method": order.shipping.method,
                "prices_include_tax": order.prices_include_tax,
                "po_number": po.number if po else None,
                "requested_ship_date": po.requested_ship_date if po else None,
                "purchase_order": purchase_order_json(po),
                "delivery": _delivery_json(order.delivery),
                "version": 1,
                "created_at": now,
            }
        return row

    @staticmethod
    def _line_row(order_id: str, position: int, line: OrderLine) -> dict[str, Any]:
        return {
            "id": line.id,
            "order_id": order_id,
            "position": position,
            "sku": line.sku,
            "channel_sku": line.channel_sku,
            "channel_line_id": line.channel_line_id,
            "name": line.name,
            "quantity": line.quantity,
            "cancelled_quantity": line.cancelled_quantity,
            "unit_price_minor": line.unit_price.minor,
            "discount_minor": line.discount.minor,
            "tax_minor": line.tax.minor,
            "status": line.status.value,
        }

    @staticmethod
    def _to_order(row: Row[Any], lines: Sequence[Row[Any]]) -> Order:
        cur = row.currency

        def money(minor: int) -> Money:
            return _money(minor, cur)

        return Order(
            id=row.id,
            channel=row.channel_code,
            external_id=row.external_id,
            currency=cur,
            placed_at=row.placed_at,
            customer=Customer(
                email=row.customer_email,
                name=row.customer_name,
                phone=row.customer_phone,
                id=row.customer_id,
            ),
            shipping_address=_address(row.shipping_address),
            billing_address=_address(row.billing_address),
            lines=[
                OrderLine(
                    id=line.id,
                    sku=line.sku,
                    quantity=line.quantity,
                    unit_price=money(line.unit_price_minor),
                    discount=money(line.discount_minor),
                    tax=money(line.tax_minor),
                    status=_LINE_STATUSES[line.status],
                    channel_sku=line.channel_sku,
                    channel_line_id=line.channel_line_id,
                    name=line.name,
                    cancelled_quantity=line.cancelled_quantity,
                )
                for line in lines
            ],
            shipping=Shipping(
                price=money(row.shipping_price_minor),
                tax=money(row.shipping_tax_minor),
                discount=money(row.shipping_discount_minor),
                method=row.shipping_method,
            ),
            status=_ORDER_STATUSES[row.status],
            prices_include_tax=row.prices_include_tax,
            hold_reason=row.hold_reason,
            metadata=row.metadata or {},
            purchase_order=purchase_order_from_json(row.purchase_order),
            delivery=_delivery(row.delivery),
            version=row.version,
        )


def _product(row: Row[Any], identifiers: dict[str, str] | None = None) -> Product:
    return Product(row.sku, row.name, row.weight_grams, row.attributes or {}, identifiers or {})


def _read_products(conn: Connection, skus: Iterable[str]) -> Rows:
    return conn.execute(_STAMPED_PRODUCTS, {"skus": list(skus)}).all()


class CatalogRepository:
    """Products and SKU maps; also the :class:`~orderhub.domain.catalog.SkuCatalog` for ingest.

    Products read without their identifiers come from the process's configuration cache
    (store/config_cache.py) and are remembered for the rest of the repository's life (a unit
    of work's transaction, until it writes a product): ingest reads an order's products to
    know its SKUs, and its allocation wants their weights and attributes."""

    def __init__(self, conn: Connection, stamps: Stamps | None = None) -> None:
        self._conn = conn
        self._stamps = stamps if stamps is not None else Stamps(conn)
        self._read: dict[str, Product | None] = {}  # SKU → product read (None: no such SKU)

    def known_skus(self, skus: set[str]) -> set[str]:
        if not skus:
            return set()
        return set(self._conn.execute(_KNOWN_SKUS, {"skus": sorted(skus)}).scalars())

    def map_channel_skus(self, channel: str, channel_skus: set[str]) -> dict[str, str]:
        if not channel_skus:
            return {}
        rows = self._conn.execute(
            select(t.channel_sku_map.c.channel_sku, t.channel_sku_map.c.sku).where(
                t.channel_sku_map.c.channel_code == channel,
                t.channel_sku_map.c.channel_sku.in_(channel_skus),
            )
        )
        return {r.channel_sku: r.sku for r in rows}

    def skus_by_identifier(self, keys: set[str]) -> dict[str, str]:
        """Match key (GTIN-14, ``mpn:…``) → SKU, for the keys some product has."""
        if not keys:
            return {}
        rows = self._conn.execute(_SKUS_BY_IDENTIFIER, {"keys": sorted(keys)})
        return {r.match_key: r.sku for r in rows}

    def identifiers(self, skus: set[str]) -> dict[str, dict[str, str]]:
        """SKU → its identifiers (kind → value), in one query."""
        if not skus:
            return {}
        found: dict[str, dict[str, str]] = {}
        for r in self._conn.execute(_IDENTIFIERS, {"skus": sorted(skus)}):
            found.setdefault(r.sku, {})[r.kind] = r.value
        return found

    def get(self, sku: str) -> Product | None:
        return self.products({sku}).get(sku)

    def products(self, skus: set[str], *, identifiers: bool = True) -> dict[str, Product]:
        """SKU → product for those of ``skus`` that exist; with its identifiers unless told not
        to (routing reads weights and attributes for every reservation: one statement less)."""
        if not skus:
            return {}
        if not identifiers:
            if unread := skus - self._read.keys():
                self._read.update(
                    config_cache.products(
                        self._conn, self._stamps, unread, _read_products, _product
                    )
                )
            return {sku: product for sku in skus if (product := self._read[sku]) is not None}
        rows = self._conn.execute(_PRODUCTS, {"skus": sorted(skus)}).all()
        ids = self.identifiers({r.sku for r in rows})
        return {r.sku: _product(r, ids.get(r.sku, {})) for r in rows}

    def upsert(self, product: Product) -> bool:
        """Create or replace a product and its identifiers; True when it was new.

        The identifiers must be valid already (``validate_identifiers``); one another product
        has is refused with ValidationFailed naming it, as is the same barcode given twice.
        """
        self._check_identifiers(product)
        self._read.clear()
        self._stamps.wrote()
        values = {
            "name": product.name,
            "weight_grams": product.weight_grams,
            "attributes": product.attributes,
        }
        created = insert_ignoring_duplicates(
            self._conn, t.products, {"sku": product.sku, "created_at": utc_now(), **values}
        )
        if not created:
            self._conn.execute(
                update(t.products).where(t.products.c.sku == product.sku).values(values)
            )
        self._conn.execute(
            delete(t.product_identifiers).where(t.product_identifiers.c.sku == product.sku)
        )
        if product.identifiers:
            self._conn.execute(
                insert(t.product_identifiers),
                [
                    {"sku": product.sku, "kind": k, "value": v, "match_key": match_key(k, v)}
                    for k, v in sorted(product.identifiers.items())
                ],
            )
        return created

    def _check_identifiers(self, product: Product) -> None:
        keys: dict[str, str] = {}
        problems = []
        for kind, value in sorted(product.identifiers.items()):
            key = match_key(kind, value)
            if key in keys:
                problems.append(
                    FieldError(
                        ("identifiers", kind),
                        f"is the same number as the {keys[key]}: give it once",
                        "duplicate_identifier",
                    )
                )
            keys[key] = kind
        owners = self.skus_by_identifier(set(keys))
        problems += [
            FieldError(
                ("identifiers", keys[key]),
                f"already identifies product {owner!r}",
                "duplicate_identifier",
            )
            for key, owner in sorted(owners.items())
            if owner != product.sku
        ]
        if problems:
            raise ValidationFailed("product identifiers must be unique", problems)

    def map_sku(self, channel: str, channel_sku: str, sku: str) -> None:
        if not insert_ignoring_duplicates(
            self._conn,
            t.channel_sku_map,
            {"channel_code": channel, "channel_sku": channel_sku, "sku": sku},
        ):
            self._conn.execute(
                update(t.channel_sku_map)
                .where(
                    t.channel_sku_map.c.channel_code == channel,
                    t.channel_sku_map.c.channel_sku == channel_sku,
                )
                .values(sku=sku)
            )


class ChannelRepository:
    """Channels; the webhook secret and the credentials are sealed by the secret box.

    Without a box (stock arithmetic needs no secrets) channels come without their secrets and
    cannot be written.
    """

    _FIELDS = (
        "name", "kind", "webhook_secret", "api_base_url", "credentials", "safety_stock", "sla",
        "locations_allowed", "settings", "active", "sync_back",
    )  # fmt: skip
    SECRET_COLUMNS: ClassVar[dict[str, str]] = {"webhook_secret": "text", "credentials": "json"}

    def __init__(
        self, conn: Connection, box: SecretBox | None = None, stamps: Stamps | None = None
    ) -> None:
        self._conn = conn
        self._box = box
        self._stamps = stamps if stamps is not None else Stamps(conn)
        self._got: dict[str, Channel] = {}  # read in this transaction, until it writes one
        self._unsealed: builtins.list[Channel] | None = None  # likewise, without secrets

    def get(self, code: str) -> Channel:
        """The channel, read once per transaction (every allocation of a batch asks for it):
        change it with ``save(replace(channel, …))``, not in place."""
        if (found := self._got.get(code)) is not None:
            return found
        row = self._conn.execute(_CHANNEL, {"code": code}).first()
        if row is None:
            raise NotFound(f"channel {code!r} not found")
        channel = self._got[code] = self._to_channel(row)
        return channel

    def exists(self, code: str) -> bool:
        return self._conn.execute(_CHANNEL_EXISTS, {"code": code}).first() is not None

    def sla_policies(self, codes: set[str]) -> dict[str, dict[str, Any]]:
        """Each existing channel's raw SLA policy (``{}`` for none), from :meth:`unsealed`:
        ingest needs to know the channel exists and its SLA, not its sealed secrets."""
        if not codes:
            return {}
        return {channel.code: channel.sla for channel in self.unsealed() if channel.code in codes}

    def list(self) -> list[Channel]:
        return [self._to_channel(r) for r in self._conn.execute(_CHANNELS)]

    def unsealed(self) -> builtins.list[Channel]:
        """Every channel without its secrets — what routing, stock arithmetic and ingest use —
        from the process's configuration cache (store/config_cache.py), copied once per
        transaction, until it writes a channel (no secret opened: the secret box is no
        business of theirs, and opening costs)."""
        if self._unsealed is None:
            every = config_cache.cached(
                self._conn, self._stamps, t.channels, _read_channels, _unsealed_channels
            )
            self._unsealed = config_cache.copied(every)
        return builtins.list(self._unsealed)

    def for_routing(self, code: str) -> Channel:
        """The channel without its secrets, from :meth:`unsealed` (allocation's: on SQLite the
        available-to-sell announcement of the same transaction reuses that read)."""
        found = next((c for c in self.unsealed() if c.code == code), None)
        if found is None:
            raise NotFound(f"channel {code!r} not found")
        return found

    def page(
        self, *, kind: str | None, code: str | None, limit: int, cursor: str | None
    ) -> tuple[builtins.list[Channel], str | None]:
        """One page of channels by code (``code``: a channel-scoped key sees its own only)."""
        c = t.channels.c
        stmt = select(t.channels)
        if kind:
            stmt = stmt.where(c.kind == kind)
        if code:
            stmt = stmt.where(c.code == code)
        rows, next_cursor = keyset_page(self._conn, stmt, c.code, limit=limit, cursor=cursor)
        return [self._to_channel(r) for r in rows], next_cursor

    def add(self, channel: Channel) -> None:
        self._wrote()
        now = utc_now()
        row = {"code": channel.code, "created_at": now, "updated_at": now, **self._values(channel)}
        if not insert_ignoring_duplicates(self._conn, t.channels, row):
            raise Conflict(f"channel {channel.code!r} exists already")

    def save(self, channel: Channel) -> None:
        self._wrote()
        self._conn.execute(
            update(t.channels)
            .where(t.channels.c.code == channel.code)
            .values(updated_at=utc_now(), **self._values(channel))
        )

    def reseal(self, *, rotate: bool) -> int:
        """Seal secrets stored in clear; with ``rotate`` re-seal all under the first key."""
        self._wrote()
        assert self._box is not None, "sealing needs the secret box"
        return reseal(self._conn, t.channels, self.SECRET_COLUMNS, self._box, rotate=rotate)

    def _wrote(self) -> None:
        self._got.clear()
        self._unsealed = None
        self._stamps.wrote()

    def _values(self, channel: Channel) -> dict[str, Any]:
        assert self._box is not None, "writing a channel needs the secret box"
        values = {name: getattr(channel, name) for name in self._FIELDS}
        values["kind"] = channel.kind.value
        if channel.webhook_secret:
            values["webhook_secret"] = self._box.seal(channel.webhook_secret)
        if channel.credentials:
            values["credentials"] = self._box.seal_json(channel.credentials)
        return values

    def _to_channel(self, row: Row[Any]) -> Channel:
        return _channel(row, self._box)


def _read_channels(conn: Connection) -> Rows:
    return conn.execute(_STAMPED_CHANNELS).all()


def _unsealed_channels(rows: Rows) -> builtins.list[Channel]:
    return [_channel(row, None) for row in rows]


def _channel(row: Row[Any], box: SecretBox | None) -> Channel:
    """A channel of its row, its secrets opened by ``box`` (None: without its secrets)."""
    return Channel(
        code=row.code,
        name=row.name,
        kind=ChannelKind(row.kind),
        webhook_secret=box.open(row.webhook_secret) if box and row.webhook_secret else None,
        api_base_url=row.api_base_url,
        credentials=(box.open_json(row.credentials) or {}) if box else {},
        safety_stock=row.safety_stock,
        sla=row.sla or {},
        locations_allowed=row.locations_allowed,
        settings=row.settings or {},
        active=row.active,
        sync_back=row.sync_back,
    )


class CustomerRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def resolve(self, customer: Customer) -> str:
        """The hub's customer id: the same normalized email is one customer across channels."""
        return self.resolve_many([customer])[0]

    def resolve_many(self, customers: Sequence[Customer]) -> list[str]:
        """Customer ids for ``customers``, in order: one insert (executemany with RETURNING) of
        every distinct email not known yet, one read of those known, one insert for those
        without an email (each its own customer)."""
        now = utc_now()
        ids: list[str] = []
        anonymous: list[dict[str, Any]] = []
        by_email: dict[str, dict[str, Any]] = {}
        for customer in customers:
            values = {
                "id": new_id(),
                "email": customer.email,
                "name": customer.name,
                "phone": customer.phone,
                "created_at": now,
            }
            if customer.email:
                by_email.setdefault(customer.email, values)  # the first one's name and phone
            else:
                anonymous.append(values)
            ids.append(str(values["id"]))
        if anonymous:
            self._conn.execute(_INSERT_CUSTOMER, anonymous)
        if not by_email:
            return ids
        insert = _INSERT_NEW_CUSTOMERS[self._conn.dialect.name]
        # In email order: two transactions inserting the same new customers wait for each
        # other in one order (the API's groups run side by side on PostgreSQL): no deadlock.
        rows = [by_email[email] for email in sorted(by_email)]
        found = {row.email: row.id for row in self._conn.execute(insert, rows)}
        known = sorted(set(by_email) - set(found))
        if known:  # returning customers: read, not locked
            found |= {
                row.email: row.id for row in self._conn.execute(_KNOWN_CUSTOMERS, {"emails": known})
            }
        return [
            found[customer.email] if customer.email else ids[index]
            for index, customer in enumerate(customers)
        ]
