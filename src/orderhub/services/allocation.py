"""Allocation: reserve stock for an order's lines where a :class:`Planner` says, or let it wait.

The planner only proposes; the reservation itself is a guarded conditional UPDATE per
(sku, location), taken in that fixed order inside a savepoint. If any guard fails another client
got there first: the savepoint is rolled back and the planner asked again with fresh figures,
a bounded number of times. All or nothing per order; a short order waits as ``backordered``
or goes ``on_hold`` per its channel's ``insufficient_stock`` setting. Waiting is first come,
first served by the hub's receipt time (``orders.created_at``, never the client's
``placed_at``): an earlier waiting order that what is free can fill holds its units back from
later orders; one that cannot be filled holds back nothing, so a huge order cannot block stock
others can use. Every release (cancel, rejection, re-route) wakes the waiting orders.

Stores: a store keeps its safety stock back from every order (the guard of its reservation
keeps it too), a store without ship-from-store is no candidate for shipped orders, and a
pick-up order is planned at its own store only — short there, it goes on hold with an
exception offering transfer, substitute or cancel, never to another location.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, or_, select

from orderhub.domain import events
from orderhub.domain.allocation import AllocationPlan, AllocationRequest, Planner, RequestedLine
from orderhub.domain.channels import Channel
from orderhub.domain.inventory import (
    INSUFFICIENT_STOCK,
    ShortStockPolicy,
    StockLevel,
    local_day,
    sellable,
    short_stock_policy,
)
from orderhub.domain.locations import Location, LocationAddress, LocationKind
from orderhub.domain.orders import LineStatus, Order, OrderLine, OrderStatus
from orderhub.domain.pickups import PICKUP_SHORT, plan_pickup
from orderhub.domain.routing.explain import routed_event
from orderhub.domain.stores import note_ship_from_store
from orderhub.services.routing import active_planner
from orderhub.store import tables as t
from orderhub.store.repositories import OrderSaves
from orderhub.store.stock import written_views
from orderhub.store.unit_of_work import UnitOfWork

ALLOCATABLE = frozenset({OrderStatus.RECEIVED, OrderStatus.BACKORDERED})
WANTING = frozenset({LineStatus.OPEN, LineStatus.BACKORDERED})
MAX_ATTEMPTS = 10


def default_planner(uow: UnitOfWork) -> Planner:
    """Routing's planner under the active rule version (built-in defaults before any)."""
    return active_planner(uow=uow)


@dataclass(frozen=True)
class AllocationOutcome:
    order_id: str
    status: OrderStatus
    plan: AllocationPlan | None = None
    attempts: int = 0
    contended: bool = False  # every attempt lost its race: left as it was, try again later
    allocations: tuple[dict[str, Any], ...] = ()  # as ``StockRepository.views`` shows them


class _LostRace(Exception):
    """A guarded UPDATE found fewer units than planned: someone reserved them first."""


class StaleGroupReads(Exception):
    """A guarded UPDATE of :meth:`AllocationGroup.flush` failed where the group's reads said
    the units were free (another transaction reserved them since: PostgreSQL's ingest groups
    read without locking): the caller undoes the transaction and allocates each order again
    from fresh reads."""


@dataclass
class _Writes:
    """Rows for :meth:`StockRepository.write_allocations`."""

    plans: list[dict[str, Any]] = field(default_factory=list)
    days: Counter[tuple[str, str]] = field(default_factory=Counter)
    movements: list[dict[str, Any]] = field(default_factory=list)
    allocations: list[dict[str, Any]] = field(default_factory=list)
    reserved: Counter[tuple[str, str]] = field(default_factory=Counter)  # (SKU, location)
    keep: dict[str, int] = field(default_factory=dict)  # location → units its guard keeps

    def add(self, more: _Writes) -> None:
        self.reserved.update(more.reserved)
        self.keep |= more.keep
        self.plans += more.plans
        self.days.update(more.days)
        self.movements += more.movements
        self.allocations += more.allocations


class AllocationGroup:
    """A group of new orders allocated in turn in one transaction (ingest), each in an item of
    its own, reading once and writing once for the group.

    What allocating reads — stock levels, day counts, the queue of waiting orders — is read
    once and kept as each allocation of the group changes it, so that every order sees
    exactly what fresh reads would show it. Exact while no other transaction writes these
    rows: SQLite's one writer holds them all; on PostgreSQL the worker's groups and ingest's
    where a location has a daily capacity lock the levels and day counts first
    (:func:`lock_ahead`), and ingest's others read without locking (their guards catch what
    changed meanwhile: :class:`StaleGroupReads`). What it writes waits for :meth:`flush`, one
    statement each for the group: the reservations, as one guarded UPDATE per (SKU,
    location) of their sums — the guard of a sum holds exactly when each order's would have
    held in turn, and should it not (:class:`StaleGroupReads`) nothing is oversold — then the
    plans, day counts, ledger rows and allocations. The caller says how each order's item
    ended: :meth:`done` keeps its writes, :meth:`undone` drops them and everything read.

    A worker's item whose order the group read ahead (not a pick-up, ``received``) writes
    nothing before the commit (:meth:`keeps_writes`): its order's save is kept here too and
    made at :meth:`flush` with the others', one UPDATE of orders and one of lines for the
    group, so the item needs no savepoint; undoing it is forgetting what it kept.
    """

    _queue: list[tuple[datetime, str]] | None

    def __init__(
        self,
        order_ids: Collection[str],
        skus: Iterable[str] = (),
        *,
        received: Mapping[str, datetime] | None = None,
        days_with_levels: bool = False,
    ) -> None:
        """``skus``: those the group's orders want, read together on the first read.
        ``received``: the orders' receipt times, when their rows are not written yet
        (ingest inserts them allocated, after the group): the queue is read without them,
        and the group's own orders that wait are kept here, not read back.
        ``days_with_levels``: the first read takes the day counts of every location that
        ships to customers with the levels, one statement for both (ingest's group; the
        worker's transactions keep their own statements)."""
        self._days_with_levels = days_with_levels
        self._order_ids = sorted(order_ids)
        self._given = dict(received) if received is not None else None
        self._waits_kept: dict[str, dict[str, int]] = {}  # the group's waiting orders' needs
        self._waits_item: dict[str, dict[str, int]] = {}  # ...of the item under way
        self._skus = frozenset(skus)
        self._kept = _Writes()  # of the items done
        self._item = _Writes()  # of the item under way
        self._claimed = False  # the item under way allocates with the group (worker)
        self._planner: Planner | None = None
        self._moves: tuple[int, bool] = (0, False)  # the stock moved when an item last ended
        self._unread: set[str] = set()  # orders to read together when one is wanted (worker)
        self._saves = OrderSaves()  # the saves of the orders whose items keep their writes
        self._keeping: str | None = None  # the order of the item under way, if it keeps them
        self.forget()

    def planner(self, uow: UnitOfWork) -> Planner:
        """The routing planner, read once for the group (:func:`default_planner`)."""
        if self._planner is None:
            self._planner = default_planner(uow)
        return self._planner

    def extend(self, order_ids: Collection[str], skus: Iterable[str]) -> None:
        """More orders for the group (the worker's next deliveries in the same transaction):
        the queue is read again, with their receipt times."""
        self._order_ids = sorted({*self._order_ids, *order_ids})
        self._skus = self._skus.union(skus)
        self._queue = None

    def claim(self) -> AllocationGroup:
        """The item under way allocates with the group (see :meth:`item_ended`)."""
        self._claimed = True
        return self

    def item_ended(self, uow: UnitOfWork, *, done: bool) -> None:
        """The unit of work's word on how an item ended (:meth:`UnitOfWork.watch`): one that
        claimed the group and ended well is :meth:`done`. Another consumer's item that ended
        well and moved no stock (a dispatch) changed nothing the group read; any other item
        is :meth:`undone`: what was read is read again. An undone item's kept save goes."""
        moves = (uow.stock.touched.moves, uow.stock.touched.everything)
        if done and self._claimed:
            self.done()
        elif not done or moves != self._moves:
            self.undone()
        self._saves.item_ended(done=done)
        self._claimed, self._moves, self._keeping = False, moves, None

    def keeps_writes(self, uow: UnitOfWork, order_id: str) -> bool:
        """Whether the next item, allocating ``order_id``, can keep every write for the commit
        (and so run with no savepoint): its order read ahead with the group's (read now),
        ``received`` and not a pick-up (whose shortage raises an exception at once). Its
        reservations, plan and allocations wait for :meth:`flush` as any of the group's; its
        order's save is kept for it too (:meth:`order`)."""
        self._read_unread(uow, order_id)
        order = self._held.get(order_id)
        if order is None or order.status != OrderStatus.RECEIVED or order.pickup_location:
            return False
        self._keeping = order_id
        return True

    def write(self, writes: _Writes) -> None:
        """The item under way writes these, at :meth:`flush` (if it is :meth:`done`)."""
        self._item.add(writes)

    def done(self) -> None:
        """The item under way ended well: its writes stand."""
        self._kept.add(self._item)
        self._item = _Writes()
        self._waits_kept |= self._waits_item
        self._waits_item = {}

    def undone(self) -> None:
        """The item under way was undone: its writes go, and what was read is read again."""
        self._item = _Writes()
        self._waits_item = {}
        self.forget()

    def reserve(self, wanted: Mapping[tuple[str, str], int], keep: Mapping[str, int]) -> None:
        """The item under way reserves these units ((SKU, location) → units; ``keep``: what
        each location's guard keeps back), at :meth:`flush`; its later reads see them."""
        self._item.reserved.update(wanted)
        self._item.keep |= {location: keep.get(location, 0) for _, location in wanted}
        for (sku, location), quantity in wanted.items():
            self._reserved(sku, location, quantity)

    def flush(self, uow: UnitOfWork) -> None:
        """Write what the items done wrote, before the transaction commits; raises
        :class:`StaleGroupReads` if a guard fails."""
        kept, self._kept = self._kept, _Writes()
        taken = sorted(kept.reserved.items())  # the fixed lock order
        if taken and not uow.stock.reserve_many(
            [(sku, loc, q, kept.keep[loc]) for (sku, loc), q in taken]
        ):
            raise StaleGroupReads(f"a guard failed where the group's reads said {taken}")
        uow.stock.write_allocations(
            plans=kept.plans, days=kept.days, movements=kept.movements, allocations=kept.allocations
        )
        self._saves.write(uow.conn)  # the orders of the items that kept their writes

    def forget(self) -> None:
        """Read everything afresh from now on."""
        self._levels: dict[str, list[StockLevel]] = {}  # SKU → its levels by location
        self._days: dict[str, dict[str, int]] = {}  # location → day → orders allocated
        self._queue = None  # waiting, by receipt (read when first wanted)
        self._queue_skus: set[str] = set()  # ...for one of these SKUs
        self._received: dict[str, datetime] = dict(self._given or {})  # the group's receipts
        self._needs: dict[str, dict[str, int]] = {}  # waiting order → SKU → units
        self._held: dict[str, Order] = {}  # read together, not yet handed out

    def read_ahead(self, order_ids: Iterable[str]) -> None:
        """These orders (the worker's) are read together, when the first of them is wanted."""
        self._unread.update(order_ids)

    def order(self, uow: UnitOfWork, order_id: str) -> Order:
        """The order to allocate, for update: read with the others of :meth:`read_ahead` (three
        statements for them all with their history's heads; :func:`group_ahead` locked them)
        and handed out once; one
        not among them, or wanted again, or after an item was undone, is read alone. The
        order of an item that keeps its writes (:meth:`keeps_writes`) is saved at the commit."""
        self._read_unread(uow, order_id)
        order = self._held.pop(order_id, None)
        if order is None:
            return uow.orders.get(order_id, for_update=True)
        uow.orders.adopt(order, new=False)
        if order_id == self._keeping:
            uow.orders.save_later(order_id, self._saves)
        return order

    def _read_unread(self, uow: UnitOfWork, order_id: str) -> None:
        """Read the orders of :meth:`read_ahead` together, if ``order_id`` is one of them."""
        if order_id in self._unread:
            ids = sorted(self._unread)
            self._unread.clear()
            self._held.update(uow.orders.read_many(ids))
            uow.read_heads(ids)

    def levels(self, uow: UnitOfWork, skus: Iterable[str]) -> list[StockLevel]:
        """:meth:`StockRepository.levels`, in the same order."""
        wanted = sorted(set(skus))
        missing = [sku for sku in wanted if sku not in self._levels]
        if missing:
            read: list[StockLevel]
            first = not self._levels
            if first:  # the whole group's at once
                missing = sorted(self._skus.union(missing))
            if first and self._days_with_levels:
                shipping = [loc.code for loc in uow.locations.list() if loc.ships_to_customers]
                unread = [code for code in shipping if code not in self._days]
                read, days = uow.stock.levels_and_day_counts(missing, unread)
                self._counts_read(days)
            else:
                read = uow.stock.levels(missing)
            for sku in missing:
                self._levels[sku] = []
            for level in read:
                self._levels[level.sku].append(level)
            for (sku, location), quantity in (self._kept.reserved + self._item.reserved).items():
                if sku in missing:  # reserved, not yet written
                    self._reserved(sku, location, quantity)
        return [level for sku in wanted for level in self._levels[sku]]

    def _reserved(self, sku: str, location: str, quantity: int) -> None:
        """``quantity`` more reserved at this level (if read)."""
        levels = self._levels.get(sku, [])
        for i, level in enumerate(levels):
            if level.location == location:
                levels[i] = StockLevel(sku, location, level.on_hand, level.reserved + quantity)

    def orders_today(self, uow: UnitOfWork, days: dict[str, str]) -> dict[str, int]:
        """:meth:`StockRepository.orders_today`."""
        missing = [loc for loc in days if loc not in self._days]
        if missing:
            self._counts_read(uow.stock.day_counts(missing))
        counts = self._days
        return {loc: counts[loc][day] for loc, day in days.items() if day in counts[loc]}

    def _counts_read(self, read: dict[str, dict[str, int]]) -> None:
        """Day counts read (location → day → orders), with what the group counted and has
        not written yet."""
        for (loc, day), n in (self._kept.days + self._item.days).items():
            if loc in read:  # counted, not yet written
                read[loc][day] = read[loc].get(day, 0) + n
        self._days.update(read)

    def counted(self, days: dict[str, str]) -> None:
        """One more order counted on these days (location → day)."""
        for loc, day in days.items():
            if loc in self._days:
                self._days[loc][day] = self._days[loc].get(day, 0) + 1

    def waiting_before(self, uow: UnitOfWork, order_id: str, skus: set[str]) -> list[str]:
        """The backordered orders received before this one of the group that wait for one of
        ``skus`` (and maybe others), first first (what ``_WAITING_EARLIER`` gives)."""
        if self._queue is None or not skus <= self._queue_skus:
            self._load_queue(uow, skus)
        assert self._queue is not None
        at = self._received.get(order_id)
        if at is None:  # not one of the group: ask the database
            queue, needs = _queue_read(uow, _WAITING_EARLIER, {"order_id": order_id}, skus)
            self._needs.update(needs)
            return [oid for _, oid in queue]
        return [oid for received, oid in self._queue if (received, oid) < (at, order_id)]

    def needs(self, waiting: Sequence[str], skus: set[str]) -> dict[str, dict[str, int]]:
        """What these waiting orders (from :meth:`waiting_before`) wait for, those waiting for
        one of ``skus``."""
        return {
            oid: dict(need)
            for oid in waiting
            if (need := self._needs.get(oid)) and not skus.isdisjoint(need)
        }

    def waits(self, order: Order) -> None:
        """One of the group was backordered: it queues ahead of the group's later orders."""
        need: dict[str, int] = defaultdict(int)
        for line in order.lines:
            if line.status == LineStatus.BACKORDERED:
                need[line.sku] += line.quantity - line.cancelled_quantity
        if order.id == self._keeping or (self._given is not None and order.id in self._given):
            self._waits_item[order.id] = dict(need)  # not in the database: read again from here
        if self._queue is None or order.id not in self._received:
            return  # read from the database when wanted, where its item has saved it
        self._needs[order.id] = dict(need)
        self._queue.append((self._received[order.id], order.id))
        self._queue.sort()

    def allocated(self, order_id: str) -> None:
        """One that waited (a worker's retry of a backordered order) was allocated: it leaves
        the queue, as its status leaves the database's."""
        if self._queue is not None:
            self._queue = [entry for entry in self._queue if entry[1] != order_id]
            self._needs.pop(order_id, None)

    def _load_queue(self, uow: UnitOfWork, skus: set[str]) -> None:
        """The orders waiting before the group's last for one of ``skus``, or of the group's
        SKUs with units free (what is free only falls within a group, so later orders want
        no others), with what they wait for; first the group's receipt times, unless known."""
        if self._given is None:
            for row in uow.conn.execute(_GROUP_RECEIVED, {"group": self._order_ids}):
                self._received[row.id] = row.created_at
        until = max(self._given.values() if self._given else self._received.values(), default=None)
        free = _free_units(uow, set(self._skus), self)
        self._queue_skus = skus | {sku for sku in self._skus if free[sku] > 0}
        queue: list[tuple[datetime, str]] = []
        needs: dict[str, dict[str, int]] = {}
        if until is not None:
            params = {"until": until}
            queue, needs = _queue_read(uow, _WAITING_UNTIL, params, self._queue_skus)
        for order_id, need in self._waits_kept.items():  # the group's own, not written yet
            queue.append((self._received[order_id], order_id))
            needs[order_id] = dict(need)
        queue.sort()
        self._queue, self._needs = queue, needs


def allocate_order(
    uow: UnitOfWork,
    *,
    order_id: str,
    planner: Planner | None = None,
    order: Order | None = None,
    group: AllocationGroup | None = None,
    ahead: QueueAhead | None = None,
) -> AllocationOutcome:
    """Reserve every wanted line of the order, or apply the channel's shortage policy; commits.

    Idempotent: an order that is not ``received`` or ``backordered`` is left alone. ``order``:
    the order as this transaction holds it already (ingest's new order, tracked by
    ``uow.orders``), instead of reading it again. ``group``: one of a group of new orders
    allocated in turn inside the caller's :meth:`UnitOfWork.item`, which commits it (one
    savepoint, not two); what the allocation reads comes from ``group`` and what it writes
    waits for the group's end (see :class:`AllocationGroup`). ``ahead``: the waiting orders
    ahead of this one, as the caller walking the queue knows them (:func:`allocate_waiting`).
    """
    if order is None:
        order = group.order(uow, order_id) if group else uow.orders.get(order_id, for_update=True)
    lines = wanting(order)
    if order.status not in ALLOCATABLE or not lines or order.metadata.get("skip_allocation"):
        # skip_allocation: fulfilled by the marketplace (Amazon FBA), kept for visibility only.
        uow.rollback()
        return AllocationOutcome(order.id, order.status)
    channel = uow.channels.for_routing(order.channel)  # (no secrets: routing needs none)
    store = _pickup_store(uow, order)
    planner = planner or (group.planner(uow) if group else default_planner(uow))
    for attempt in range(1, MAX_ATTEMPTS + 1):
        request = _request(uow, order, channel, lines, pickup_at=store, group=group, ahead=ahead)
        plan = plan_pickup(request, store) if store else planner.plan(request)
        if not _covers(plan, lines):
            if store is not None:
                outcome = _pickup_short(uow, order, plan, group=group)
            else:
                outcome = _short(
                    uow, order, lines, channel, plan, reason=INSUFFICIENT_STOCK, group=group
                )
            return AllocationOutcome(outcome.order_id, outcome.status, plan, attempt)
        if store is None:  # a shipped order: say so when a store ships it
            plan = note_ship_from_store(plan, request.locations)
        if _reserve(uow, plan, request.locations, group=group):
            views = _record(uow, order, plan, request.locations, group=group)
            if group is None:
                uow.commit()
            return AllocationOutcome(order.id, order.status, plan, attempt, allocations=views)
    uow.rollback()
    return AllocationOutcome(order.id, order.status, None, MAX_ATTEMPTS, contended=True)


def reserve_lines(
    uow: UnitOfWork, order: Order, lines: Sequence[OrderLine], *, note: str | None = None
) -> tuple[AllocationPlan, bool]:
    """Plan and reserve ``lines`` of ``order`` (loaded for update) inside the caller's
    transaction: all or nothing, never committed. Returns the plan and whether it was
    reserved (False: the stock does not cover the lines, nothing was reserved). ``note`` is
    added to the plan's explanation (why the order was routed again)."""
    channel = uow.channels.for_routing(order.channel)
    planner = default_planner(uow)
    plan = AllocationPlan((), {}, planner.name)
    for _attempt in range(MAX_ATTEMPTS):
        request = _request(uow, order, channel, lines, pickup_at=_pickup_store(uow, order))
        plan = planner.plan(request)
        if note:
            said = [str(plan.explanation["note"])] if plan.explanation.get("note") else []
            why = {**plan.explanation, "note": "; ".join([note, *said])}
            plan = AllocationPlan(plan.picks, why, plan.strategy)
        if not _covers(plan, lines):
            return plan, False
        if _reserve(uow, plan, request.locations):
            _record(uow, order, plan, request.locations)
            return plan, True
    return plan, False


def _pickup_store(uow: UnitOfWork, order: Order) -> Location | None:
    """The store a pick-up order must be filled at (None: a shipped order)."""
    code = order.pickup_location
    if code is None:
        return None
    found = [loc for loc in uow.locations.list() if loc.code == code]
    if found:
        return found[0]
    return Location(code, code, LocationKind.STORE, LocationAddress("ZZ"), active=False)


def group_ahead(uow: UnitOfWork, order_ids: Collection[str]) -> None:
    """Before a worker transaction allocates orders (``inventory.allocate`` deliveries): one
    :class:`AllocationGroup` for all of them, watching the transaction's items (the next
    deliveries of the same transaction join it), their rows locked first on PostgreSQL as
    :func:`lock_ahead` does, then their orders. Each delivery allocates with it
    (:func:`worker_group`); its writes are made at the commit, before the events are queued."""
    params = {"orders": sorted(order_ids), "statuses": sorted(s.value for s in ALLOCATABLE)}
    skus = set(uow.conn.execute(_ALLOCATABLE_SKUS, params).scalars()) if order_ids else set()
    _lock(uow, skus)
    # The orders too, in id order, as reading each for update would (PostgreSQL): here, not
    # in a delivery's savepoint, whose undoing would let go of the others' locks.
    uow.fulfilment.lock_orders(sorted(order_ids))
    group = _watching(uow)
    if group is None:
        group = AllocationGroup(order_ids, skus)
        group.item_ended(uow, done=True)  # (the stock moved so far, to compare with)
        uow.watch(group)
    else:
        group.extend(order_ids, skus)
    group.read_ahead(order_ids)
    uow.catalog.products(skus, identifiers=False)  # read once: routing's weights, attributes


def keeps_writes(uow: UnitOfWork, order_id: str) -> bool:
    """Whether a worker's delivery allocating ``order_id`` with the transaction's group can
    keep every write for the commit (:meth:`AllocationGroup.keeps_writes`)."""
    group = _watching(uow)
    return group is not None and group.keeps_writes(uow, order_id)


def worker_group(uow: UnitOfWork) -> AllocationGroup | None:
    """The transaction's group (:func:`group_ahead`), claimed by the item under way; None
    outside a worker's transaction of allocations (the order is allocated alone)."""
    group = _watching(uow)
    return group.claim() if group is not None and uow.in_item() else None


def _watching(uow: UnitOfWork) -> AllocationGroup | None:
    return next((w for w in uow.watchers if isinstance(w, AllocationGroup)), None)


def lock_ahead(uow: UnitOfWork, orders: Collection[Order]) -> None:
    """Before allocating several orders in one transaction (ingest's, as this transaction
    holds them: maybe not written yet; a group only where a location has a daily capacity,
    :func:`counts_capacity`) on PostgreSQL: lock every stock level their
    wanted SKUs have, then today's order count of every active location, each in key order.

    One allocation takes its levels in (SKU, location) order, then its locations' counts, then
    (at commit) the available-to-sell figures in (channel, SKU) order, so two single
    allocations never deadlock. A transaction of several takes the levels of the second
    order after the first one's counts — out of that order: two workers with overlapping SKUs
    deadlocked (135 times in one benchmark run). Taken up front, the rows are held before any
    other lock of the transaction is waited for. Orders already allocated (on ingest) want
    nothing and lock nothing. SQLite's single writer needs none of this.
    """
    skus = {line.sku for order in orders if order.status in ALLOCATABLE for line in wanting(order)}
    _lock(uow, skus)


def counts_capacity(uow: UnitOfWork) -> bool:
    """Whether some active location has a daily capacity (its own, or the active rules'):
    then the day counts an allocation reads decide where it may go."""
    if active_planner(uow=uow).compiled.capped:
        return True
    return any(loc.daily_capacity is not None for loc in uow.locations.list() if loc.active)


def wanting(order: Order) -> list[OrderLine]:
    """The lines allocation would reserve (open or backordered, some quantity open)."""
    return [line for line in order.lines if line.status in WANTING and line.open_quantity]


def _lock(uow: UnitOfWork, skus: set[str]) -> None:
    """:func:`lock_ahead` of these SKUs' levels and today's counts (PostgreSQL only)."""
    if uow.conn.dialect.name != "postgresql" or not skus:
        return
    now = uow.now()
    days = {loc.code: local_day(loc, now) for loc in uow.locations.list() if loc.active}
    uow.stock.lock_ahead(skus, days)


def _request(
    uow: UnitOfWork,
    order: Order,
    channel: Channel,
    lines: Sequence[OrderLine],
    *,
    pickup_at: Location | None = None,
    group: AllocationGroup | None = None,
    ahead: QueueAhead | None = None,
) -> AllocationRequest:
    """What the planner sees: a pick-up only its store, a shipped order every active location
    that ships to customers; a store's units less its safety stock. Earlier waiting orders'
    claims come out of every active location in the simple planner's order first (their fit
    was judged over all of them), so they do not all land on the one store of a pick-up."""
    skus = {line.sku for line in lines}
    every_location = tuple(uow.locations.list())
    active = tuple(loc for loc in every_location if loc.active)
    if pickup_at is not None:
        locations: tuple[Location, ...] = (pickup_at,)
    else:
        # Inactive locations too: the planner excludes them itself, and its explanation says
        # so (an operator sees why a stocked location was not used).
        locations = tuple(loc for loc in every_location if loc.ships_to_customers)
    every = {loc.code: loc for loc in (*active, *locations)}
    held_at = tuple(loc for loc in every.values() if loc.active)  # never held back elsewhere
    free = {
        (level.sku, level.location): sellable(every[level.location], level.available)
        for level in (group.levels(uow, skus) if group else uow.stock.levels(skus))
        if level.location in every
    }
    live = {sku for (sku, loc), units in free.items() if units > 0 and every[loc].active}
    _hold_back(free, _held_for_earlier(uow, order, skus, live, group, ahead), held_at)
    wanted = {loc.code for loc in locations}
    available = {key: units for key, units in free.items() if key[1] in wanted}
    now = uow.now()  # the injected clock (a fake in tests, the past in the demo history)
    days = {loc.code: local_day(loc, now) for loc in locations}
    products = uow.catalog.products(skus, identifiers=False)
    requested = []
    for line in lines:
        product = products.get(line.sku)
        requested.append(
            RequestedLine(
                line.id,
                line.sku,
                line.open_quantity,
                product.weight_grams if product else 0,
                product.attributes if product else {},
            )
        )
    return AllocationRequest(
        order_id=order.id,
        channel=channel,
        destination=order.shipping_address,
        placed_at=order.placed_at,
        lines=tuple(requested),
        locations=locations,
        available=available,
        now=now,
        orders_today=group.orders_today(uow, days) if group else uow.stock.orders_today(days),
    )


def _covers(plan: AllocationPlan, lines: Sequence[OrderLine]) -> bool:
    """All or nothing: every wanted line fully picked, with its own SKU, nothing else."""
    if not plan.feasible:
        return False
    picked: dict[str, int] = defaultdict(int)
    sku_of = {line.id: line.sku for line in lines}
    for pick in plan.picks:
        if pick.quantity <= 0 or sku_of.get(pick.line_id) != pick.sku:
            return False
        picked[pick.line_id] += pick.quantity
    return all(picked[line.id] == line.open_quantity for line in lines)


def _reserve(
    uow: UnitOfWork,
    plan: AllocationPlan,
    locations: Sequence[Location],
    *,
    group: AllocationGroup | None = None,
) -> bool:
    """The plan's reservations, each guarded; a store's guard also keeps its safety stock.

    With ``group`` the planner's figures are exact (its rows are the transaction's alone):
    the reservations wait for the group's guarded UPDATEs (:meth:`AllocationGroup.flush`)."""
    keep = {loc.code: loc.safety_stock for loc in locations}
    wanted: dict[tuple[str, str], int] = defaultdict(int)
    for pick in plan.picks:
        wanted[(pick.sku, pick.location)] += pick.quantity
    if group is not None:
        group.reserve(wanted, keep)
        return True
    if len(wanted) == 1:  # one guarded UPDATE: nothing to undo if it fails
        ((sku, location), quantity), *_ = wanted.items()
        return uow.stock.reserve(sku, location, quantity, keep=keep.get(location, 0))
    if uow.conn.dialect.name == "sqlite":
        # No savepoint (two statements): SQLite's one writer is this transaction's since its
        # first statement, so the planner's figures are exact and a guard fails only if the
        # plan asks too much; then the reservations made are given back, exactly.
        made: list[tuple[str, str, int]] = []
        for (sku, location), quantity in sorted(wanted.items()):
            if not uow.stock.reserve(sku, location, quantity, keep=keep.get(location, 0)):
                for made_sku, made_location, made_quantity in made:
                    uow.stock.unreserve(made_sku, made_location, made_quantity)
                return False
            made.append((sku, location, quantity))
        return True
    try:
        with uow.conn.begin_nested():
            for (sku, location), quantity in sorted(wanted.items()):  # the fixed lock order
                if not uow.stock.reserve(sku, location, quantity, keep=keep.get(location, 0)):
                    raise _LostRace
    except _LostRace:
        return False
    return True


def _record(
    uow: UnitOfWork,
    order: Order,
    plan: AllocationPlan,
    locations: Sequence[Location],
    *,
    group: AllocationGroup | None = None,
) -> tuple[dict[str, Any], ...]:
    """Write the reservations, the plan and the allocations; the allocations as the API shows
    them."""
    stock = uow.stock
    plan_row = stock.plan_row(order.id, plan)
    plan_id = str(plan_row["id"])
    now = uow.now()
    days = {loc.code: local_day(loc, now) for loc in locations if loc.code in plan.locations}
    picks = sorted(plan.picks, key=lambda p: (p.sku, p.location, p.line_id))
    written, rows = stock.allocation_rows(picks, order_id=order.id, plan_id=plan_id)
    writes = _Writes(
        [plan_row], Counter(days.items()), stock.reservation_rows(picks, order.id), rows
    )
    if group is None:
        stock.write_allocations(
            plans=writes.plans,
            days=writes.days,
            movements=writes.movements,
            allocations=writes.allocations,
        )
    else:
        group.counted(days)
        group.write(writes)
        group.allocated(order.id)
    for line_id in sorted({pick.line_id for pick in plan.picks}):
        order.set_line_status(line_id, LineStatus.ALLOCATED)
    order.transition_to(OrderStatus.ALLOCATED)
    order.events.append(routed_event(order.id, plan))
    order.events.append(
        events.OrderAllocated(
            order.id,
            plan.strategy,
            tuple(
                {"line_id": p.line_id, "sku": p.sku, "location": p.location, "quantity": p.quantity}
                for p in plan.picks
            ),
        )
    )
    return tuple(written_views(written, plan_row))


def _short(
    uow: UnitOfWork,
    order: Order,
    lines: Sequence[OrderLine],
    channel: Channel,
    plan: AllocationPlan | None,
    *,
    reason: str,
    group: AllocationGroup | None = None,
) -> AllocationOutcome:
    """Stock is short: the order waits (backordered) or goes on hold; it is never lost."""
    if order.status == OrderStatus.BACKORDERED:
        uow.rollback()  # still waiting: nothing new to record
        return AllocationOutcome(order.id, order.status, plan)
    if plan is not None:
        _add_plan(uow, order, plan, group)
    if short_stock_policy(channel) == ShortStockPolicy.HOLD:
        order.transition_to(OrderStatus.ON_HOLD, reason=INSUFFICIENT_STOCK)
    else:
        for line in lines:
            order.set_line_status(line.id, LineStatus.BACKORDERED)
        order.transition_to(OrderStatus.BACKORDERED, reason=reason)
        if group is not None:
            group.waits(order)  # the group's later orders queue behind it
    if group is None:
        uow.commit()
    return AllocationOutcome(order.id, order.status, plan)


def _add_plan(
    uow: UnitOfWork, order: Order, plan: AllocationPlan, group: AllocationGroup | None
) -> None:
    """The plan of an order that waits or is held, kept for its explanation."""
    if group is None:
        uow.stock.add_plan(order.id, plan)
    else:
        group.write(_Writes(plans=[uow.stock.plan_row(order.id, plan)]))


PICKUP_SUGGESTED = (
    "transfer stock to the store (a receipt there) and release the hold, substitute the item "
    "(edit the order), or cancel the order"
)


def _pickup_short(
    uow: UnitOfWork, order: Order, plan: AllocationPlan, *, group: AllocationGroup | None = None
) -> AllocationOutcome:
    """A pick-up its store cannot fill: on hold for a person, never routed elsewhere."""
    if order.status == OrderStatus.ON_HOLD:
        uow.rollback()
        return AllocationOutcome(order.id, order.status, plan)
    _add_plan(uow, order, plan, group)
    reason = str(plan.explanation.get("reason") or PICKUP_SHORT)
    missing = plan.explanation.get("missing") or []
    detail = f"pick-up at {plan.explanation.get('location')}: " + (
        ", ".join(f"{m['sku']} short by {m['short']}" for m in missing)
        or str(plan.explanation.get("unroutable"))
    )
    exception_id = uow.fulfilment.raise_exception(
        kind=reason,
        order_id=order.id,
        fulfilment_id=None,
        detail=detail,
        suggested_action=PICKUP_SUGGESTED,
        now=uow.now(),
    )
    order.transition_to(OrderStatus.ON_HOLD, reason=reason)
    order.events.append(events.FulfilmentExceptionRaised(order.id, exception_id, reason, detail))
    if group is None:
        uow.commit()
    return AllocationOutcome(order.id, order.status, plan)


@dataclass
class QueueAhead:
    """The waiting orders ahead of the next one a wake allocates, with what each waits for:
    every one waiting for one of ``skus``, first first (the wake read them once, and keeps
    them as it goes), so that each order woken does not read the queue ahead of it again."""

    skus: frozenset[str]
    waiting: list[tuple[str, dict[str, int]]] = field(default_factory=list)

    def of(self, skus: set[str]) -> tuple[list[str], dict[str, dict[str, int]]]:
        """Those waiting for one of ``skus``, first first, and their needs."""
        kept = [(oid, need) for oid, need in self.waiting if not skus.isdisjoint(need)]
        return [oid for oid, _ in kept], dict(kept)


def _held_for_earlier(
    uow: UnitOfWork,
    order: Order,
    skus: set[str],
    live: set[str],
    group: AllocationGroup | None = None,
    ahead: QueueAhead | None = None,
) -> dict[str, int]:
    """First come, first served: units of these SKUs that earlier waiting orders will take.

    Only a waiting order that what is free can fill holds anything back; one that cannot be
    filled (a million units) must not keep stock from orders it could serve. So a SKU with
    nothing free at an active location holds nothing back, and the queue is read only for
    the ``live`` SKUs, those with units free: after a stock-out, the thousands waiting cost
    the orders that keep coming nothing."""
    if not live:
        return {}
    if group is not None:
        waiting = group.waiting_before(uow, order.id, live)
        needs = group.needs(waiting, live) if waiting else {}
    elif ahead is not None and live <= ahead.skus:
        waiting, needs = ahead.of(live)
    else:
        queue, needs = _queue_read(uow, _WAITING_EARLIER, {"order_id": order.id}, live)
        waiting = [order_id for _, order_id in queue]
    if not needs:
        return {}
    free = _free_units(uow, {sku for need in needs.values() for sku in need}, group)
    return _fitting_claims(waiting, needs, free, skus)


def _queue_read(
    uow: UnitOfWork, statement: Select[Any], params: dict[str, Any], skus: Collection[str]
) -> tuple[list[tuple[datetime, str]], dict[str, dict[str, int]]]:
    """The waiting orders of ``statement`` (a :func:`_queue` of some of them) that wait for
    one of ``skus``, first first with when each was received, and every SKU each waits for:
    one read, by the index of the backordered lines, whatever the length of the queue."""
    ranked: list[tuple[datetime, str]] = []
    needs: dict[str, dict[str, int]] = defaultdict(dict)
    for row in uow.conn.execute(statement, {**params, "skus": sorted(skus)}):
        if row.order_id not in needs:
            ranked.append((row.created_at, row.order_id))
        needs[row.order_id][row.sku] = int(row.q)
    return ranked, dict(needs)


def _free_units(
    uow: UnitOfWork, skus: set[str], group: AllocationGroup | None = None
) -> dict[str, int]:
    """Units of each SKU free to reserve over the active locations (a store's safety stock
    is never free)."""
    active = {loc.code: loc for loc in uow.locations.list() if loc.active}
    free: dict[str, int] = defaultdict(int)
    for level in group.levels(uow, skus) if group else uow.stock.levels(skus):
        if level.location in active:
            free[level.sku] += sellable(active[level.location], level.available)
    return free


def _fitting_claims(
    ranked: Sequence[str],
    needs: Mapping[str, Mapping[str, int]],
    free: dict[str, int],
    skus: set[str],
) -> dict[str, int]:
    """Walk the queue in rank order: each order that fits in what is still free claims its
    units; one that does not fit claims nothing. Returns the claimed units of ``skus``."""
    held: dict[str, int] = defaultdict(int)
    for order_id in ranked:
        need = needs.get(order_id)
        if not need or any(free.get(sku, 0) < units for sku, units in need.items()):
            continue
        for sku, units in need.items():
            free[sku] -= units
            if sku in skus:
                held[sku] += units
    return dict(held)


_o, _ol = t.orders.c, t.order_lines.c
_wanting = t.order_lines.alias("wanting").c


def _queue(*where: ColumnElement[bool]) -> Select[Any]:
    """The backordered orders that match ``where`` and wait for one of the SKUs bound as
    ``skus``, in the queue's rank (when the hub received them, which no client sets), each
    row a SKU one of them waits for and its units. Starts from those SKUs' backordered lines
    (their partial index), never from the whole queue, and binds no list of orders."""
    units = func.sum(_ol.quantity - _ol.cancelled_quantity)
    waiting_for_skus = select(_wanting.order_id).where(
        _wanting.sku.in_(bindparam("skus", expanding=True)),
        _wanting.status == LineStatus.BACKORDERED.value,
    )
    return (
        select(_ol.order_id, _o.created_at, _ol.sku, units.label("q"))
        .join(t.orders, _o.id == _ol.order_id)
        .where(
            _o.status == OrderStatus.BACKORDERED.value,
            _o.id.in_(waiting_for_skus),
            _ol.status == LineStatus.BACKORDERED.value,
            *where,
        )
        .group_by(_o.created_at, _ol.order_id, _ol.sku)
        .having(units > 0)
        .order_by(_o.created_at, _ol.order_id)
    )


_this = t.orders.alias("this").c
_RECEIVED_AT = select(_this.created_at).where(_this.id == bindparam("order_id")).scalar_subquery()
_WAITING_EARLIER = _queue(  # those ahead of an order
    _o.id != bindparam("order_id"),
    or_(
        _o.created_at < _RECEIVED_AT,
        and_(_o.created_at == _RECEIVED_AT, _o.id < bindparam("order_id")),
    ),
)
_WAITING_UNTIL = _queue(_o.created_at <= bindparam("until"))  # those ahead of a group
_WAITING = _queue()  # all of them (stock came free)
_GROUP_RECEIVED = select(_o.id, _o.created_at).where(  # a group's receipt times
    _o.id.in_(bindparam("group", expanding=True))
)
_ALLOCATABLE_SKUS = (
    select(_ol.sku)
    .distinct()
    .where(
        _ol.order_id.in_(
            select(_o.id).where(
                _o.id.in_(bindparam("orders", expanding=True)),
                _o.status.in_(bindparam("statuses", expanding=True)),
            )
        ),
        _ol.status.in_([s.value for s in WANTING]),
    )
)


def _hold_back(
    available: dict[tuple[str, str], int], held: dict[str, int], locations: Sequence[Location]
) -> None:
    """Take earlier waiting orders' units out of ``available``, in the simple planner's order."""
    ordered = sorted(locations, key=lambda loc: (loc.priority, loc.code))
    for sku, quantity in held.items():
        for loc in ordered:
            take = min(quantity, available.get((sku, loc.code), 0))
            if take:
                available[(sku, loc.code)] -= take
                quantity -= take


def _order_ids(uow: UnitOfWork, status: OrderStatus, skus: Iterable[str] | None) -> list[str]:
    """Orders in ``status`` (wanting one of ``skus``) in the order the hub received them."""
    stmt = _orders_in(status, skus).order_by(_o.created_at, _o.id)
    return list(uow.conn.execute(stmt).scalars())


def _orders_in(status: OrderStatus, skus: Iterable[str] | None) -> Select[Any]:
    """The ids of the orders in ``status`` (wanting one of ``skus``)."""
    stmt = select(_o.id).where(_o.status == status.value)
    if skus is None:
        return stmt
    wanted = select(_ol.order_id).where(_ol.sku.in_(sorted(skus)), _ol.status.in_(WANTING))
    return stmt.where(_o.id.in_(wanted))


def allocate_waiting(
    uow: UnitOfWork,
    *,
    skus: Iterable[str] | None = None,
    planner: Planner | None = None,
    skip: Collection[str] = (),
) -> list[AllocationOutcome]:
    """Stock came free (a receipt, a cancellation, a rejection, a re-route): allocate the
    backordered orders wanting these SKUs, first received first. ``skip``: orders not to wake
    (one that was just refused where the stock came free).

    Only an order that could fit is tried: one that waits for more units of a SKU than are
    free over every active location together is passed over, as its allocation could only
    find it short (and roll back). A receipt of five units after a stock-out thus tries the
    first orders that fit, not each of the thousands waiting — each try a routing and a
    transaction of its own that reads the queue ahead of it, so the wake took time in the
    square of the queue (docs/performance.md, "Waking the backorders")."""
    ranked = _order_ids(uow, OrderStatus.BACKORDERED, skus)
    needs = _waiting_lines(uow, skus) if ranked else {}
    free = _free_units(uow, {sku for need in needs.values() for sku in need})
    uow.rollback()
    wake = _Wake(needs, free, skip, planner, QueueAhead(frozenset(skus)) if skus else None)
    if uow.in_item() or _watching(uow) is not None:  # a part of the caller's transaction
        for order_id in ranked:
            wake.allocate(uow, order_id, alone=True)
        return wake.outcomes
    for start in range(0, len(ranked), WAKE_GROUP):
        chunk = ranked[start : start + WAKE_GROUP]
        fitting = [order_id for order_id in chunk if wake.fits(order_id)]
        if fitting:  # (what is free only falls: none fits later if none fits now)
            group_ahead(uow, fitting)
        for order_id in chunk:
            wake.allocate(uow, order_id, alone=False)
        if fitting:
            uow.commit()
    return wake.outcomes


WAKE_GROUP = 200
"""Orders a wake of its own allocates in one transaction, with one :class:`AllocationGroup`
(its reads once, its writes at the commit): a large receipt's thousands woken are not a
transaction each."""


@dataclass
class _Wake:
    """The walk of :func:`allocate_waiting` down the queue: who fits in what is still free,
    who waits on ahead of the next, and what each allocation gave."""

    needs: dict[str, dict[str, int]]
    free: dict[str, int]
    skip: Collection[str]
    planner: Planner | None
    ahead: QueueAhead | None
    outcomes: list[AllocationOutcome] = field(default_factory=list)

    def fits(self, order_id: str) -> bool:
        """Whether the order could be allocated from what is free (and may be woken)."""
        need = self.needs.get(order_id, {})
        fits = all(self.free.get(sku, 0) >= units for sku, units in need.items())
        return fits and order_id not in self.skip

    def allocate(self, uow: UnitOfWork, order_id: str, *, alone: bool) -> None:
        """Allocate the order if it fits: in a transaction of its own (``alone``), else in an
        item of the wake's transaction with its group. One that stays waiting is ahead of
        the rest."""
        need = self.needs.get(order_id, {})
        if not self.fits(order_id):  # short whatever the routing: it waits on
            _still_waiting(self.ahead, order_id, need)
            return
        if alone:
            outcome = allocate_order(uow, order_id=order_id, planner=self.planner, ahead=self.ahead)
        else:
            with uow.item():
                group = worker_group(uow)
                outcome = allocate_order(uow, order_id=order_id, planner=self.planner, group=group)
        for allocated in outcome.allocations:
            self.free[str(allocated["sku"])] -= int(allocated["quantity"])
        if outcome.status == OrderStatus.BACKORDERED:
            _still_waiting(self.ahead, order_id, need)
        self.outcomes.append(outcome)


def _still_waiting(ahead: QueueAhead | None, order_id: str, need: dict[str, int]) -> None:
    """``order_id`` waits on, ahead of the orders the wake tries after it."""
    if ahead is not None and need:
        ahead.waiting.append((order_id, need))


def _waiting_lines(uow: UnitOfWork, skus: Iterable[str] | None) -> dict[str, dict[str, int]]:
    """Order id → units per SKU it still waits for (its backordered lines), for the waiting
    orders wanting one of ``skus`` (all, if None): one read, binding no list of orders, from
    those SKUs' backordered lines (a nested ``IN`` of orders found that way took PostgreSQL,
    before its statistics caught up with a stock-out's queue, time in the square of it)."""
    if skus is not None:
        return _queue_read(uow, _WAITING, {}, set(skus))[1]
    units = func.sum(_ol.quantity - _ol.cancelled_quantity)
    stmt = (
        select(_ol.order_id, _ol.sku, units.label("q"))
        .where(
            _ol.status == LineStatus.BACKORDERED.value,
            _ol.order_id.in_(_orders_in(OrderStatus.BACKORDERED, None)),
        )
        .group_by(_ol.order_id, _ol.sku)
    )
    needs: dict[str, dict[str, int]] = defaultdict(dict)
    for row in uow.conn.execute(stmt):
        needs[row.order_id][row.sku] = int(row.q)
    return dict(needs)


def allocate_pending(
    uow_factory: Callable[[], UnitOfWork], *, planner: Planner | None = None
) -> list[AllocationOutcome]:
    """Allocate every ``received`` order in receipt order (until the outbox worker runs)."""
    with uow_factory() as uow:
        ids = _order_ids(uow, OrderStatus.RECEIVED, None)
    outcomes = []
    for order_id in ids:
        with uow_factory() as uow:
            outcomes.append(allocate_order(uow, order_id=order_id, planner=planner))
    return outcomes
