"""Ingest: a channel payload becomes an order exactly once, or waits whole in quarantine.

One order and a batch of a thousand take the same path: the channels, the existing orders,
the SKUs and the customers of every item are read or written with one statement each, the new
orders and their lines with one INSERT each, and the history and outbox rows at commit with one
more each — one transaction for the lot. An item that fails (unknown channel, broken rules) is
answered with its error and leaves the others alone.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.exc import DataError, IntegrityError

from orderhub.clock import utc_now
from orderhub.domain.allocation import Planner
from orderhub.domain.catalog import resolve_skus
from orderhub.domain.errors import (
    Conflict,
    FieldError,
    NormalizationProblem,
    NotNormalizable,
    OrderHubError,
    ValidationFailed,
)
from orderhub.domain.orders import Order, OrderDraft, receive_order
from orderhub.services import sla
from orderhub.services.allocation import (
    AllocationGroup,
    StaleGroupReads,
    allocate_order,
    counts_capacity,
    default_planner,
    lock_ahead,
)
from orderhub.store.quarantine import OpenEntries, QuarantineStatus
from orderhub.store.unit_of_work import UnitOfWork

log = logging.getLogger("orderhub.ingest")

PayloadParser = Callable[[str], OrderDraft]
Payload = str | Callable[[], str]
"""The channel's raw text, or a function producing it: only a quarantine hold needs the text,
so a caller whose text costs a serialization passes the function."""


class Outcome(StrEnum):
    CREATED = "created"
    EXISTING = "existing"
    QUARANTINED = "quarantined"
    ERROR = "error"


@dataclass(frozen=True)
class IngestResult:
    outcome: Outcome
    order_id: str | None = None
    quarantine_id: str | None = None
    problem: NormalizationProblem | None = None
    error: OrderHubError | None = None
    order: Order | None = None  # CREATED: the order as committed (no need to read it back)
    allocations: tuple[dict[str, Any], ...] = ()  # ...and its allocations, as the API shows them


@dataclass(frozen=True)
class Incoming:
    """One payload to ingest: its normalized draft, where it came from, its raw text."""

    draft: OrderDraft
    source: str
    payload: Payload


def ingest_order(
    uow: UnitOfWork,
    *,
    draft: OrderDraft,
    source: str,
    payload: Payload,
    allocate: bool = False,
) -> IngestResult:
    """Create the order from ``draft``; idempotent on (channel, external id); commits.

    ``payload`` is the channel's raw text, kept in quarantine if the draft cannot be normalized
    so that a replay after the fix starts from exactly what the channel sent. Raises what
    refuses the order (unknown channel, broken rules) instead of answering with an error.
    ``allocate``: reserve, route and allocate a new order in the same transaction
    (:func:`ingest_batch`).
    """
    result = ingest_batch(uow, [Incoming(draft, source, payload)], allocate=allocate)[0]
    if result.error is not None:
        raise result.error
    return result


def ingest_batch(
    uow: UnitOfWork, items: Sequence[Incoming], *, allocate: bool = False
) -> list[IngestResult]:
    """Ingest ``items`` in one transaction; a result per item, in order; commits.

    Idempotent per item on (channel, external id), also within the batch: a repeat of an
    earlier item is answered with that item's order. Should the database refuse the batch
    (a row no check foresaw), each item is tried again in a transaction of its own, so that
    one bad item costs only itself.

    ``allocate``: each new order is also reserved, routed and allocated (or backordered, or
    held) before the commit, exactly as the worker's ``inventory.allocate`` would — the
    same service, on the order as the transaction holds it, in a savepoint of its own, its
    ``order.received`` chained first.
    An allocation that fails is undone alone and the order stays ``received`` for the worker
    (its ``order.received`` delivery allocates it, or finds it allocated and does nothing).
    """
    if not items:
        return []
    try:
        return _ingest_committed(uow, items, allocate=allocate)
    except (IntegrityError, DataError):
        if len(items) == 1:
            raise
        uow.rollback()
    return [_ingest_alone(uow, item, allocate=allocate) for item in items]


def _ingest_committed(
    uow: UnitOfWork, items: Sequence[Incoming], *, allocate: bool, grouped: bool = True
) -> list[IngestResult]:
    """:func:`ingest_batch` in one transaction, committed. Should the group's allocations
    find their reads stale at the end (a guard failed: nothing reserved; or a new order held
    back for its insert lost its race there), it is all undone and done again, each order
    inserted first and allocated from reads of its own."""
    held = _Held() if allocate and grouped else None
    try:
        results = _ingest_all(uow, items, held=held)
        if allocate:
            _allocate_new(uow, results, held=held)
        uow.commit()
        return results
    except StaleGroupReads as stale:
        if not grouped:
            raise
        # Expected now and then on PostgreSQL (another transaction reserved meanwhile).
        log.info("a group's reads went stale; its orders allocated again, alone: %s", stale)
        uow.rollback()
    return _ingest_committed(uow, items, allocate=allocate, grouped=False)


def _allocate_new(uow: UnitOfWork, results: list[IngestResult], *, held: _Held | None) -> None:
    """Allocate the orders just created, in the ingest transaction (see :func:`ingest_batch`),
    each as this transaction holds it: none is read back. ``held`` (allocating as a group,
    with the reads and writes of an :class:`AllocationGroup`): the orders not inserted yet,
    inserted here as their allocation left them (before the group's writes, which refer to
    them); None: each order alone, inserted already."""
    created = [i for i, r in enumerate(results) if r.outcome == Outcome.CREATED and r.order]
    if not created:
        return
    orders = [order for i in created if (order := results[i].order)]
    if len(created) > 1:
        # Several: each order's allocation items on its own, so that its history starts with
        # its own order.received and its allocation's events, chained in one go.
        uow.untrack_orders()
    # PostgreSQL: a group (one order's too: four statements cheaper than allocating it alone,
    # and the order inserted once) reads without locking, so the API processes' groups plan
    # side by side; its guarded UPDATEs at the end, in key order, keep every unit reserved
    # once, and reads gone stale undo it (StaleGroupReads: each order again, alone). Where a
    # location has a daily capacity the day counts decide where orders may go, and a pick-up
    # reserves at its store within its item, out of key order: then the group locks the
    # levels and counts first, as orders allocated alone in one transaction always do (in key
    # order, so that they cannot deadlock). SQLite's one writer needs neither.
    planner = default_planner(uow)
    if held is None or any(o.pickup_location for o in orders) or counts_capacity(uow):
        lock_ahead(uow, orders)
    group = (
        AllocationGroup(
            [o.id for o in orders],
            {line.sku for o in orders for line in o.lines},
            received={o.id: held.created_at for o in held.orders} if held.orders else None,
            days_with_levels=True,
        )
        if held is not None
        else None
    )
    left: list[Order] = []
    unwritten = {o.id for o in held.orders} if held is not None else set()
    for index in created:
        results[index], kept = _allocate_one(uow, results[index], planner, group, unwritten)
        if kept is not None:
            left.append(kept)
    if held is not None and held.orders:
        written = uow.orders.insert_held(
            held.orders, sla_dates=held.sla_dates, created_at=held.created_at
        )
        if len(written) != len(held.orders):  # lost a race: answered by the ungrouped retry
            raise StaleGroupReads("a new order's (channel, external id) was taken meanwhile")
    if group is not None:
        group.flush(uow)
    for order in left:  # order.received still to be queued, at the commit
        uow.orders.adopt(order, new=True)


def _allocate_one(
    uow: UnitOfWork,
    result: IngestResult,
    planner: Planner,
    group: AllocationGroup | None,
    unwritten: set[str],
) -> tuple[IngestResult, Order | None]:
    """One new order allocated as this transaction holds it: not read back, and its
    ``order.received`` chained and queued with the allocation's events in one go (received
    first: it was recorded first). Should the allocation fail or leave it, the order is put
    back as it was inserted and returned, its ``order.received`` still to be queued.

    An order not inserted yet (in ``unwritten``), allocated with a group, writes nothing to
    the database in its item — the group writes at its end, the insert after the items —
    but for a pick-up's exception (short at its store): no savepoint for the others."""
    order = result.order
    assert order is not None
    kept = _Kept(order)
    uow.orders.adopt(order, new=True)
    writes = group is None or order.id not in unwritten or order.pickup_location is not None
    outcome = None
    try:
        with uow.item(writes=writes):
            outcome = allocate_order(
                uow, order_id=order.id, planner=planner, order=order, group=group
            )
    except Exception:  # the order stands: its order.received delivery tries again
        log.warning("allocating %s on ingest failed; left to the worker", order.id, exc_info=True)
        if group is not None:
            group.undone()  # its writes go with its item
        outcome = None
    else:
        if group is not None:
            group.done()
    if outcome is None or order.events:  # failed, or left alone: nothing of it was queued
        kept.restore(order)
        return result, order
    return dataclasses.replace(result, allocations=outcome.allocations), None


@dataclass
class _Held:
    """New orders whose insert waits for their allocation (in a group, whose writes wait for
    its end too): one INSERT of each order as allocated, not an INSERT and then an UPDATE."""

    orders: list[Order] = dataclasses.field(default_factory=list)
    sla_dates: dict[str, tuple[datetime | None, datetime | None]] = dataclasses.field(
        default_factory=dict
    )
    created_at: datetime = dataclasses.field(default_factory=utc_now)


class _Kept:
    """An order's state as inserted, to put back should its allocation be undone."""

    def __init__(self, order: Order) -> None:
        self.status, self.hold_reason = order.status, order.hold_reason
        self.metadata, self.version = dict(order.metadata), order.version
        self.lines = [(line.status, line.cancelled_quantity) for line in order.lines]
        self.events = list(order.events)

    def restore(self, order: Order) -> None:
        order.status, order.hold_reason = self.status, self.hold_reason
        order.metadata, order.version = dict(self.metadata), self.version
        for line, (status, cancelled) in zip(order.lines, self.lines, strict=True):
            line.status, line.cancelled_quantity = status, cancelled
        order.events[:] = self.events


def _ingest_alone(uow: UnitOfWork, item: Incoming, *, allocate: bool) -> IngestResult:
    try:
        return _ingest_committed(uow, [item], allocate=allocate)[0]
    except (IntegrityError, DataError) as error:
        uow.rollback()
        refused = ValidationFailed(f"the database refused the order: {error.orig}")
        return IngestResult(Outcome.ERROR, error=refused)


def replay_quarantined(
    uow: UnitOfWork, *, entry_id: str, parsers: dict[str, PayloadParser]
) -> IngestResult:
    """Run a quarantined payload through ingest again, after the cause has been fixed."""
    entry = uow.quarantine.get(entry_id)
    if entry.status != QuarantineStatus.OPEN:
        if entry.order_id:
            return IngestResult(Outcome.EXISTING, order_id=entry.order_id)
        raise ValidationFailed(f"quarantine entry {entry_id} is {entry.status.value}")
    item = Incoming(parsers[entry.source](entry.payload), entry.source, entry.payload)
    result = _ingest_all(uow, [item], hold=False)[0]
    if result.error is not None:
        raise result.error
    if result.outcome == Outcome.QUARANTINED:
        assert result.problem is not None
        uow.quarantine.record_failed_replay(entry_id, result.problem)
        result = dataclasses.replace(result, quarantine_id=entry_id)
    else:
        assert result.order_id is not None
        uow.quarantine.resolve(entry_id, order_id=result.order_id)
    uow.commit()
    return result


@dataclass
class _Pending:
    """An item that will become a new order, once its customer is known."""

    index: int
    order: Order
    dates: tuple[datetime | None, datetime | None]


def _ingest_all(
    uow: UnitOfWork, items: Sequence[Incoming], *, hold: bool = True, held: _Held | None = None
) -> list[IngestResult]:
    """Everything but the commit: the result of each item (quarantined ones held when
    ``hold``; new orders allocated with a group held back for insertion in ``held``)."""
    drafts = [item.draft for item in items]
    policies = uow.channels.sla_policies({d.channel for d in drafts})
    keys = {(d.channel, d.external_id) for d in drafts if d.channel in policies}
    existing, entries = uow.quarantine.orders_and_open(keys)  # entries: closed in _create
    catalog = _PrefetchedCatalog(uow, drafts)
    results: list[IngestResult | None] = [None] * len(items)
    first_of: dict[tuple[str, str], int] = {}  # natural key → the batch item that has it
    pending: list[_Pending] = []
    for index, item in enumerate(items):
        draft = item.draft
        key = (draft.channel, draft.external_id)
        if draft.channel not in policies:
            unknown = ValidationFailed(
                "unknown channel", [FieldError(("channel",), f"no channel {draft.channel!r}")]
            )
            results[index] = IngestResult(Outcome.ERROR, error=unknown)
            continue
        if key in existing:
            results[index] = IngestResult(Outcome.EXISTING, order_id=existing[key])
            continue
        if key in first_of:
            continue  # answered below, with the earlier item's outcome
        first_of[key] = index
        try:
            order = receive_order(resolve_skus(draft, catalog))
        except NotNormalizable as error:
            quarantine_id = _hold(uow, item, error.problem) if hold else None
            results[index] = IngestResult(
                Outcome.QUARANTINED, quarantine_id=quarantine_id, problem=error.problem
            )
            continue
        except ValidationFailed as error:
            results[index] = IngestResult(Outcome.ERROR, error=error)
            continue
        dates = sla.dates_for(policies[draft.channel], draft.placed_at)
        pending.append(_Pending(index, order, dates))
    _create(uow, pending, results, entries, held)
    for index, item in enumerate(items):
        if results[index] is None:
            results[index] = _repeat(
                results[first_of[(item.draft.channel, item.draft.external_id)]]
            )
    return [result for result in results if result is not None]


def _create(
    uow: UnitOfWork,
    pending: list[_Pending],
    results: list[IngestResult | None],
    entries: OpenEntries,
    held: _Held | None = None,
) -> None:
    """Customers, orders and lines of every new order; a lost race becomes EXISTING. With
    ``held`` the orders are inserted after their allocation, with a group's (a lost race
    found then undoes the transaction, see :func:`_ingest_committed`). ``entries``: the open
    quarantine entries of the transaction's keys, read with the existing orders: those of
    the new orders are closed."""
    if not pending:
        return
    customer_ids = uow.customers.resolve_many([p.order.customer for p in pending])
    for p, customer_id in zip(pending, customer_ids, strict=True):
        p.order.customer = dataclasses.replace(p.order.customer, id=customer_id)
    orders = [p.order for p in pending]
    dates = {p.order.id: p.dates for p in pending}
    if held is not None:
        held.orders, held.sla_dates, held.created_at = orders, dates, utc_now()
    written = uow.orders.add_new(orders, sla_dates=dates, insert=held is None)
    lost = {(p.order.channel, p.order.external_id) for p in pending if p.order.id not in written}
    winners = uow.orders.ids_by_external(lost)
    # The same order quarantined before (say, an unknown SKU since fixed at the channel) is done.
    uow.quarantine.close_arrived(
        {
            (p.order.channel, p.order.external_id): p.order.id
            for p in pending
            if p.order.id in written
        },
        entries,
    )
    for p in pending:
        if p.order.id in written:
            results[p.index] = IngestResult(Outcome.CREATED, order_id=p.order.id, order=p.order)
        else:  # a concurrent request with the same natural key committed first
            key = (p.order.channel, p.order.external_id)
            results[p.index] = IngestResult(Outcome.EXISTING, order_id=winners.get(key))


def _repeat(first: IngestResult | None) -> IngestResult:
    """A batch item repeating an earlier one's natural key gets that one's order."""
    assert first is not None
    if first.outcome == Outcome.CREATED:
        return dataclasses.replace(first, outcome=Outcome.EXISTING)
    return first


def _hold(uow: UnitOfWork, item: Incoming, problem: NormalizationProblem) -> str:
    payload = item.payload if isinstance(item.payload, str) else item.payload()
    return uow.quarantine.hold(
        channel=item.draft.channel,
        external_id=item.draft.external_id,
        source=item.source,
        payload=payload,
        problem=problem,
    )


def add_order(uow: UnitOfWork, draft: OrderDraft) -> Order:
    """Add ``draft`` as a received order in the caller's transaction, without committing, so a
    handler that must write more (an exchange's refund) writes all of it or nothing.

    Raises NotNormalizable (unknown SKU) before anything is written, and Conflict when the
    (channel, external id) is taken."""
    policies = uow.channels.sla_policies({draft.channel})
    order = receive_order(resolve_skus(draft, uow.catalog))
    [customer_id] = uow.customers.resolve_many([order.customer])
    order.customer = dataclasses.replace(order.customer, id=customer_id)
    dates = sla.dates_for(policies.get(draft.channel, {}), draft.placed_at)
    if order.id not in uow.orders.add_new([order], sla_dates={order.id: dates}):
        raise Conflict(f"order {draft.external_id!r} exists on channel {draft.channel!r}")
    uow.quarantine.close_arrived({(order.channel, order.external_id): order.id})
    return order


class _PrefetchedCatalog:
    """The batch's SKUs known, and its channel SKUs mapped, with one query each per batch."""

    def __init__(self, uow: UnitOfWork, drafts: Sequence[OrderDraft]) -> None:
        self._catalog = uow.catalog
        channel_skus: dict[str, set[str]] = {}
        for draft in drafts:
            for line in draft.lines:
                if line.channel_sku and not line.sku:
                    channel_skus.setdefault(draft.channel, set()).add(line.channel_sku)
        self._maps = {
            channel: uow.catalog.map_channel_skus(channel, skus)
            for channel, skus in channel_skus.items()
        }
        candidates = {line.sku or line.channel_sku for d in drafts for line in d.lines}
        mapped = {sku for skus in self._maps.values() for sku in skus.values()}
        # The products themselves, not only their SKUs: allocation on ingest wants them next.
        self._known = set(
            uow.catalog.products({c for c in candidates | mapped if c}, identifiers=False)
        )

    def known_skus(self, skus: set[str]) -> set[str]:
        return skus & self._known

    def map_channel_skus(self, channel: str, channel_skus: set[str]) -> dict[str, str]:
        found = self._maps.get(channel, {})
        return {sku: found[sku] for sku in channel_skus if sku in found}

    def skus_by_identifier(self, keys: set[str]) -> dict[str, str]:
        """Barcodes and MPNs are asked of the store as they come: only lines that neither a
        SKU nor the SKU map resolved carry them to here."""
        return self._catalog.skus_by_identifier(keys)
