"""The unit of work: one transaction, its repositories, and the events it publishes on commit.

Only service handlers open one. On ``commit`` every order touched with new events is saved
(optimistic version check), its events are chained onto its history and queued in the outbox —
all in the same transaction as the change, so no state change exists without its event and no
event without its change.

The transaction begins with the first statement (SQLAlchemy's autobegin, which still runs the
SQLite ``BEGIN IMMEDIATE`` hook): after a commit nothing is sent, and no write lock is held,
until the unit of work is used again.

The outbox worker runs many deliveries in one transaction, each inside :meth:`UnitOfWork.item`:
there ``commit`` and ``rollback`` end a savepoint instead (a handler written for a transaction
of its own works unchanged), an item that raises is undone alone, and the available-to-sell
figures are announced once for the whole transaction (coalesced per channel and SKU).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol

import httpx
from sqlalchemy import Connection, Engine, NestedTransaction

from orderhub.clock import Clock, utc_now
from orderhub.domain.events import DomainEvent
from orderhub.domain.ids import new_ids
from orderhub.store import history, outbox
from orderhub.store.access import ApiKeyRepository, UserRepository
from orderhub.store.after_sale import AfterSaleRepository
from orderhub.store.availability import AvailabilityRepository, Touched
from orderhub.store.b2b import ControlNumberRepository, CxmlPayloadRepository
from orderhub.store.channel_items import ChannelItemRepository
from orderhub.store.config_cache import Stamps
from orderhub.store.db import READ_ONLY
from orderhub.store.fulfilment import FulfilmentRepository
from orderhub.store.locations import LocationRepository
from orderhub.store.marketplace_sync import MarketplaceSyncRepository
from orderhub.store.pickups import PickupRepository
from orderhub.store.quarantine import QuarantineRepository
from orderhub.store.repositories import (
    CatalogRepository,
    ChannelRepository,
    CustomerRepository,
    OrderRepository,
)
from orderhub.store.routing import RoutingRuleRepository
from orderhub.store.secret_box import SecretBox
from orderhub.store.sign_in import LoginAttemptRepository, SessionRepository
from orderhub.store.stock import StockRepository
from orderhub.store.sync_cursors import SyncCursorRepository
from orderhub.store.webhook_receipts import WebhookReceiptRepository
from orderhub.store.webhooks import WebhookRepository


class ItemWatcher(Protocol):
    """Work a transaction's items defer to its commit (an allocation group of the worker's
    deliveries): told how each item ended, and written at the commit."""

    def item_ended(self, uow: UnitOfWork, *, done: bool) -> None: ...

    def flush(self, uow: UnitOfWork) -> None: ...


class _Unwritten:
    """The "savepoint" of an item whose caller vouches it writes nothing to the database
    (:meth:`UnitOfWork.item`): undoing it is forgetting what it queued."""

    is_active = True

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass


class UnitOfWork:
    conn: Connection
    orders: OrderRepository
    catalog: CatalogRepository
    channels: ChannelRepository
    customers: CustomerRepository
    quarantine: QuarantineRepository
    webhook_receipts: WebhookReceiptRepository
    api_keys: ApiKeyRepository
    users: UserRepository
    web_sessions: SessionRepository
    login_attempts: LoginAttemptRepository
    sync_cursors: SyncCursorRepository
    locations: LocationRepository
    stock: StockRepository
    availability: AvailabilityRepository
    control_numbers: ControlNumberRepository
    cxml_payloads: CxmlPayloadRepository
    marketplace_sync: MarketplaceSyncRepository
    routing_rules: RoutingRuleRepository
    fulfilment: FulfilmentRepository
    webhooks: WebhookRepository
    channel_items: ChannelItemRepository
    after_sale: AfterSaleRepository

    def __init__(
        self,
        engine: Engine,
        *,
        actor: str = "system",
        read_only: bool = False,
        secret_box: SecretBox,
        clock: Clock = utc_now,
        outbound: Callable[[], httpx.BaseTransport] | None = None,
    ) -> None:
        self._engine = engine
        self._outbound = outbound
        self._box = secret_box
        self.actor = actor
        self._read_only = read_only
        self._clock = clock
        self._loose_events: list[DomainEvent] = []
        self._item: NestedTransaction | _Unwritten | None = None  # the current item's savepoint
        # Outbox and history rows queued in this transaction, each written with one INSERT at
        # its commit; the first of those queued since the current savepoint began (dropped if
        # it is undone); and each chain's head as queued, to chain more of it onto.
        self._outbox: list[tuple[DomainEvent, str, str, datetime]] = []
        self._history: list[dict[str, Any]] = []
        self._heads: dict[str, tuple[int, str]] = {}
        self._outbox_mark = self._history_mark = 0
        self._unwritten: set[str] = set()  # new orders held back for insertion (orders.add_new)
        self.watchers: list[ItemWatcher] = []  # of the current transaction (:meth:`watch`)

    def __enter__(self) -> UnitOfWork:
        conn = self._engine.connect()
        if self._read_only:
            conn = conn.execution_options(**{READ_ONLY: True})
        self.conn = conn
        self._stateless()
        self._begin()
        return self

    def reader(self) -> UnitOfWork:
        """A read-only unit of work on another connection of this one's engine: for what can
        be read before this one's transaction takes its locks (SQLite's one writer), to be
        checked current inside it (the worker's dispatches: ``fulfilment_wiring.read_early``)."""
        return UnitOfWork(
            self._engine,
            actor=self.actor,
            read_only=True,
            secret_box=self._box,
            clock=self._clock,
            outbound=self._outbound,
        )

    def outbound_transport(self) -> httpx.BaseTransport:
        """The transport for calls to the outside made inside this unit of work (3PLs): the
        container's (guarded, with its allow-list), else guarded with no exceptions."""
        from orderhub.http.outbound import outbound_transport

        return self._outbound() if self._outbound is not None else outbound_transport(None)

    def now(self) -> datetime:
        """The injected clock's now: what services stamp instead of reading the wall clock."""
        return self._clock()

    def _stateless(self) -> None:
        """The repositories that hold nothing but the connection: made once for the unit of
        work's life (its connection's), not again for every transaction and every item of a
        batch (what :meth:`_begin` would remake is the same object)."""
        conn = self.conn
        self.customers = CustomerRepository(conn)
        self.quarantine = QuarantineRepository(conn)
        self.webhook_receipts = WebhookReceiptRepository(conn)
        self.api_keys = ApiKeyRepository(conn)
        self.users = UserRepository(conn)
        self.web_sessions = SessionRepository(conn)
        self.login_attempts = LoginAttemptRepository(conn)
        self.sync_cursors = SyncCursorRepository(conn)
        self.control_numbers = ControlNumberRepository(conn)
        self.cxml_payloads = CxmlPayloadRepository(conn)
        self.marketplace_sync = MarketplaceSyncRepository(conn)
        self.webhooks = WebhookRepository(conn, self._box)
        self.channel_items = ChannelItemRepository(conn)
        self.after_sale = AfterSaleRepository(conn)
        self.pickups = PickupRepository(conn)

    def _begin(self, touched: Touched | None = None, *, same: bool = False) -> None:
        """Fresh repositories for the next transaction (which autobegins on first use), or for
        the next item of a batch (which keeps collecting what it ``touched``): those that keep
        what they read or track (the stateless ones are :meth:`_stateless`'s). ``same``: the
        transaction goes on with nothing undone, so what was read stays good (the locations,
        products, channels and fulfilment providers, and the configuration's stamps)."""
        self.orders = OrderRepository(self.conn, self._unwritten)
        if not same:  # nothing undone: the products, channels and providers read stay good
            stamps = Stamps(self.conn)  # read once, by the first of these to want them
            self.catalog = CatalogRepository(self.conn, stamps)
            self.channels = ChannelRepository(self.conn, self._box, stamps)
            self.fulfilment = FulfilmentRepository(self.conn, self._box)
            self.locations = LocationRepository(self.conn, stamps)
            self.routing_rules = RoutingRuleRepository(self.conn, stamps)
        touched = touched if touched is not None else Touched()
        self.stock = StockRepository(self.conn, actor=self.actor, touched=touched)
        self.availability = AvailabilityRepository(
            self.conn, touched=touched, locations=self.locations, channels=self.channels
        )
        self._loose_events = []

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._forget_queued()  # never written without its commit
        self.watchers = []
        try:
            if self.conn.in_transaction():
                self.conn.rollback()
        finally:
            self.conn.close()

    def record(self, event: DomainEvent) -> None:
        """Queue an event that belongs to no order (inventory, channel) for the outbox."""
        self._loose_events.append(event)

    def commit(self) -> None:
        """Save touched orders, chain and queue their events, commit; then a fresh transaction.

        Inside :meth:`item` the events are queued the same way but only the item's savepoint
        ends (a fresh one begins); the announcement waits for the transaction's commit.
        """
        if self._item is not None:
            self._queue_events(announce=False)
            self._item.commit()
            self._item = self._savepoint(writes=isinstance(self._item, NestedTransaction))
            self._mark_queued()
            self._begin(self.stock.touched, same=True)
            return
        watchers, self.watchers = self.watchers, []
        for watcher in watchers:
            watcher.flush(self)
        self._queue_events(announce=True)
        assert not self._unwritten, "a new order held back was never inserted"
        self._write_outbox()
        self.conn.commit()
        self._begin()

    def read_heads(self, order_ids: Sequence[str]) -> None:
        """Read these orders' history chain heads together (orders this transaction holds and
        its items will record events of: the worker's), not one at each item's end."""
        unread = [order_id for order_id in order_ids if order_id not in self._heads]
        self._heads.update(history.heads(self.conn, unread))

    def in_item(self) -> bool:
        """Inside :meth:`item` (a worker's delivery among several)."""
        return self._item is not None

    def watch(self, watcher: ItemWatcher) -> None:
        """Tell ``watcher`` how each item of this transaction ends, and let it write what it
        deferred at the commit (before the events are queued); forgotten at the transaction's
        end, as it."""
        self.watchers.append(watcher)

    def untrack_orders(self) -> None:
        """Stop tracking the orders read or added so far, their events not queued: the caller
        adopts each again (``orders.adopt``) and sees that its events are queued — ingest
        allocating several new orders, each with its own history from ``order.received`` on."""
        assert self._item is None, "not inside an item"
        loose = self._loose_events
        self._begin(self.stock.touched, same=True)
        self._loose_events = loose

    def _queue_events(self, *, announce: bool) -> None:
        """Chain the touched orders' new events onto their histories and queue them, with the
        loose ones (and the available-to-sell changes when ``announce``), in the outbox."""
        now = self._clock()
        queued: list[DomainEvent] = []
        queued_ids: list[str] = []
        queued_data: list[str] = []  # each event's data as JSON text, encoded once
        for order in self.orders.seen.values():
            if not order.events:
                continue
            new_order = order.id in self.orders.added
            if not new_order or self.orders.changed_since_added(order):
                self.orders.save(order)
            rows = history.chain(
                self.conn,
                order.id,
                order.events,
                actor=self.actor,
                occurred_at=now,
                new_order=new_order,
                head=self._heads.get(order.id),
            )
            self._heads[order.id] = (rows[-1]["order_seq"], rows[-1]["hash"])
            self._history += rows
            queued_ids += [row["id"] for row in rows]
            queued += order.events
            queued_data += [row["data"] for row in rows]  # the text the chain hashed
            order.events.clear()
        if announce:
            self._loose_events.extend(self.availability.announce())  # per channel+SKU
        queued += self._loose_events
        queued_ids += new_ids(len(self._loose_events))
        queued_data += [history.canonical_json(event.data()) for event in self._loose_events]
        self._loose_events = []
        self._outbox += (
            (e, i, d, now) for e, i, d in zip(queued, queued_ids, queued_data, strict=True)
        )

    def _write_outbox(self) -> None:
        """The whole transaction's history rows and events, one INSERT each (the chains'
        anchors moved with them), in the order they were queued."""
        history.insert(self.conn, self._history)
        outbox.add_queued(self.conn, self._outbox, actor=self.actor)
        self._forget_queued()

    def _mark_queued(self) -> None:
        """What is queued from here on belongs to the savepoint that begins now."""
        self._outbox_mark, self._history_mark = len(self._outbox), len(self._history)

    def _drop_since_mark(self) -> None:
        """The savepoint was undone: so are the rows it queued, and its chains' heads."""
        del self._outbox[self._outbox_mark :]
        if len(self._history) > self._history_mark:
            del self._history[self._history_mark :]
            self._heads = {r["order_id"]: (r["order_seq"], r["hash"]) for r in self._history}

    def _forget_queued(self) -> None:
        self._outbox, self._history, self._heads = [], [], {}
        self._unwritten.clear()
        self._outbox_mark = self._history_mark = 0

    def _savepoint(self, *, writes: bool) -> NestedTransaction | _Unwritten:
        return self.conn.begin_nested() if writes else _Unwritten()

    @contextmanager
    def item(self, *, writes: bool = True) -> Iterator[None]:
        """One of several pieces of work in this transaction (the worker's deliveries).

        It runs in a savepoint: its ``commit`` and ``rollback`` end that savepoint, not the
        transaction; when it returns its events are queued; when it raises only its own writes
        are undone (and the error goes on). What it touched stays to be announced at the
        transaction's commit: the figures are recomputed from the database then, so a touch
        of an undone item only costs a comparison.

        ``writes`` off: the caller vouches the item writes nothing to the database (it reads,
        and queues events: ingest's allocation of a new order held back for its insert, with
        a group whose writes wait for its end), so it needs no savepoint: two statements
        fewer, and undoing it is forgetting what it queued.
        """
        touched = self.stock.touched
        self._item = self._savepoint(writes=writes)
        self._mark_queued()
        undone = True
        try:
            yield
            self._queue_events(announce=False)
            self._item.commit()
            undone = False
        except BaseException:
            if self._item.is_active:
                self._item.rollback()
            self._drop_since_mark()  # its events go with its writes
            raise
        finally:
            self._item = None
            self._begin(touched, same=not undone)
            for watcher in self.watchers:
                watcher.item_ended(self, done=not undone)

    def rollback(self) -> None:
        """Undo the transaction (inside :meth:`item`: the item's work since its last commit)."""
        if self._item is not None:
            self._item.rollback()
            self._drop_since_mark()
            self._item = self._savepoint(writes=isinstance(self._item, NestedTransaction))
            self._begin(self.stock.touched)
            return
        if self.conn.in_transaction():
            self.conn.rollback()
        self._forget_queued()
        self.watchers = []
        self._begin()


UnitOfWorkFactory = Callable[..., UnitOfWork]
