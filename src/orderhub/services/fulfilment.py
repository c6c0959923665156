"""Fulfilment handlers: split an allocation into fulfilment orders, dispatch, apply updates.

Stock and re-routing belong to other areas; this module reaches them through the two small
protocols of :mod:`orderhub.services.fulfilment_ports`, so it is tested with fakes and wired
to inventory and routing in one place (:mod:`orderhub.services.fulfilment_wiring`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from orderhub.clock import utc_now
from orderhub.domain import events
from orderhub.domain.errors import (
    Conflict,
    FieldError,
    IllegalTransition,
    NotFound,
    ValidationFailed,
)
from orderhub.domain.fulfilment import (
    FulfilmentLine,
    FulfilmentOrder,
    FulfilmentStatus,
    TrackingStatus,
    create_fulfilment,
    follow_shipments,
)
from orderhub.domain.orders import LineStatus, Order, OrderStatus
from orderhub.fulfilment.base import (
    Accepted,
    DispatchLine,
    DispatchRequest,
    DispatchResult,
    FulfilmentProvider,
    PermanentProviderError,
    ProviderError,
    ProviderUpdate,
    Rejected,
    Shipped,
    TrackingUpdate,
)
from orderhub.fulfilment.registry import WAREHOUSE
from orderhub.services.fulfilment_ports import (
    SUGGESTED,
    ExceptionKind,
    FulfilmentDeps,
    Rerouter,
    StockMovements,
)
from orderhub.store.repositories import OrderSaves
from orderhub.store.unit_of_work import UnitOfWork

__all__ = [
    "SUGGESTED",
    "ExceptionKind",
    "FulfilmentDeps",
    "Rerouter",
    "StockMovements",
]


class AtCommit:
    """What a worker transaction's in-house dispatches write, kept for its commit.

    A dispatch to the built-in warehouse inserts its fulfilment orders and saves its order:
    kept here, those are two statements at the commit for the whole transaction (three with
    the lines), not three per dispatch, and the delivery's item writes nothing before it, so
    it needs no savepoint (:meth:`UnitOfWork.item` ``writes`` off): undoing it is forgetting
    what it kept. Told how each item ended, and written at the commit (an ``ItemWatcher``).
    """

    def __init__(self) -> None:
        self.fulfilments: list[dict[str, Any]] = []
        self.orders = OrderSaves()
        self._kept = 0  # the fulfilment orders of the items that ended well

    def item_ended(self, uow: UnitOfWork, *, done: bool) -> None:
        if not done:  # its work undone: so is what it kept
            del self.fulfilments[self._kept :]
        self._kept = len(self.fulfilments)
        self.orders.item_ended(done=done)

    def flush(self, uow: UnitOfWork) -> None:
        uow.fulfilment.insert_kept(self.fulfilments)
        self.orders.write(uow.conn)
        self.fulfilments = []
        self._kept = 0


class _Work:
    """The orders and fulfilment orders one handler touches, each loaded once; ``kept``: the
    fulfilment orders it creates and its orders' saves kept for the commit (:class:`AtCommit`)."""

    def __init__(self, uow: UnitOfWork, deps: FulfilmentDeps, kept: AtCommit | None = None) -> None:
        self.uow = uow
        self.deps = deps
        self.kept = kept
        self.orders: dict[str, Order] = {}
        self.fulfilments: dict[str, list[FulfilmentOrder]] = {}
        self.new: set[str] = set()
        self.changed: set[str] = set()  # settled, not yet written

    def hold(self, order: Order, fulfilments: list[FulfilmentOrder]) -> None:
        """Take ``order`` and its fulfilment orders as read already in this transaction (the
        worker reads a batch's at once): tracked for saving as :meth:`order` would."""
        self.uow.orders.adopt(order, new=False)
        if self.kept is not None:
            self.uow.orders.save_later(order.id, self.kept.orders)
        self.orders[order.id] = order
        self.fulfilments[order.id] = fulfilments

    def order(self, order_id: str) -> Order:
        if order_id not in self.orders:
            self.orders[order_id] = self.uow.orders.get(order_id, for_update=True)
            self.fulfilments[order_id] = self.uow.fulfilment.for_order(order_id)
        return self.orders[order_id]

    def fulfilment(self, fulfilment_id: str) -> FulfilmentOrder:
        order_id = self.uow.fulfilment.get(fulfilment_id).order_id
        self.order(order_id)
        return next(f for f in self.fulfilments[order_id] if f.id == fulfilment_id)

    def add(self, fulfilment: FulfilmentOrder) -> None:
        self.order(fulfilment.order_id)
        self.fulfilments[fulfilment.order_id].append(fulfilment)
        self.new.add(fulfilment.id)

    def exception(self, fulfilment: FulfilmentOrder, kind: str, detail: str) -> None:
        exception_id = self.uow.fulfilment.raise_exception(
            kind=kind,
            order_id=fulfilment.order_id,
            fulfilment_id=fulfilment.id,
            detail=detail,
            suggested_action=SUGGESTED[kind],
            now=self.deps.clock(),
        )
        fulfilment.events.append(
            events.FulfilmentExceptionRaised(fulfilment.order_id, exception_id, kind, detail)
        )

    def settle(self) -> None:
        """Derive order statuses and move the fulfilments' events onto the order, where they
        happen in the story; the rows wait for :meth:`flush` (a fulfilment order created and
        dispatched in one go is inserted once, as it ends up)."""
        for order_id, order in self.orders.items():
            fulfilments = self.fulfilments[order_id]
            follow_shipments(order, fulfilments)
            for fulfilment in fulfilments:
                if fulfilment.events:
                    order.events.extend(fulfilment.events)
                    fulfilment.events.clear()
                    self.changed.add(fulfilment.id)

    def flush(self) -> None:
        """:meth:`settle`, then :meth:`write`."""
        self.settle()
        self.write()

    def write(self) -> None:
        """Write the fulfilment orders created or changed (as they are now)."""
        into = self.kept.fulfilments if self.kept is not None else None
        for fulfilments in self.fulfilments.values():
            for fulfilment in fulfilments:
                if fulfilment.id in self.new:
                    self.uow.fulfilment.add(fulfilment, into=into)
                elif fulfilment.id in self.changed:
                    assert self.kept is None, "kept for the commit: only new fulfilment orders"
                    self.uow.fulfilment.save(fulfilment)
        self.new.clear()
        self.changed.clear()


def provider_code(uow: UnitOfWork, location: str) -> str:
    """The provider a fulfilment order from ``location`` goes to: the active provider that
    lists it, else the built-in warehouse (the location ships itself)."""
    provider = uow.fulfilment.provider_for_location(location)
    return provider.code if provider else WAREHOUSE


def writes_nothing_before_commit(
    order: Order,
    fulfilments: Sequence[FulfilmentOrder],
    allocations: Iterable[Mapping[str, Any]],
    *,
    provider_of: Callable[[str], str],
    in_house: Callable[[str], bool],
) -> bool:
    """Whether :func:`fulfil_allocation` of ``allocations`` can keep all its writes for the
    commit (``kept``): the order has no fulfilment orders yet (each it gets is new, inserted
    once), is no pick-up (nothing else to write), and each location of the allocation goes
    to an in-house provider (never calls out, never refuses: no commit, exception or
    re-routing on the way)."""
    return (
        not fulfilments
        and order.pickup_location is None
        and all(in_house(provider_of(str(pick["location"]))) for pick in allocations)
    )


# -- creating and dispatching ------------------------------------------------------------------
def create_fulfilments(
    uow: UnitOfWork,
    *,
    order_id: str,
    allocations: Iterable[Mapping[str, Any]],
    deps: FulfilmentDeps,
) -> list[str]:
    """One fulfilment order per location of the allocation; commits. Idempotent: a line that
    a live fulfilment order at the location holds already is skipped (an order edit may add a
    line at a location that is shipping the order's other lines: it gets one of its own)."""
    work = _Work(uow, deps)
    created = _create(work, order_id, allocations)
    work.flush()
    uow.commit()
    return created


def _create(work: _Work, order_id: str, allocations: Iterable[Mapping[str, Any]]) -> list[str]:
    """:func:`create_fulfilments` in ``work``, settled (events in place), neither written nor
    committed."""
    work.order(order_id)
    # A delivered fulfilment order holds its lines too (a pick-up handed over before this ran).
    live = {
        (f.location, x.line_id)
        for f in work.fulfilments[order_id]
        if f.holds_its_lines
        for x in f.lines
    }
    per_location: dict[str, list[FulfilmentLine]] = {}
    for pick in allocations:
        if (str(pick["location"]), str(pick["line_id"])) in live:
            continue
        per_location.setdefault(str(pick["location"]), []).append(
            FulfilmentLine(str(pick["line_id"]), str(pick["sku"]), int(pick["quantity"]))
        )
    created = []
    for location, lines in sorted(per_location.items()):
        fulfilment = create_fulfilment(
            order_id=order_id,
            location=location,
            provider=provider_code(work.uow, location),
            lines=lines,
            now=work.deps.clock(),
        )
        work.add(fulfilment)
        created.append(fulfilment.id)
    work.settle()
    return created


def fulfil_allocation(
    uow: UnitOfWork,
    *,
    order_id: str,
    allocations: Iterable[Mapping[str, Any]],
    deps: FulfilmentDeps,
    in_house: Callable[[str], bool],
    on_created: Callable[[UnitOfWork, Order, Sequence[FulfilmentOrder]], object] | None = None,
    held: tuple[Order, list[FulfilmentOrder]] | None = None,
    kept: AtCommit | None = None,
) -> None:
    """:func:`create_fulfilments`, ``on_created`` (the store's pick-ups), then
    :func:`dispatch_pending`, with the order and its fulfilment orders read once (``held``:
    read already, locked on PostgreSQL, in this transaction); the caller commits what is
    left (the worker, with the delivery's receipt and its mark).

    The same steps, events in the same order, as the three in turn; the commits between them
    are kept where they guard something: before a provider that calls out (``in_house``
    False) is called, so an outage leaves the creation (and the delivery's receipt) in place
    for the retry, and after each dispatch to one, so a retry never sends it twice. Dispatches
    to in-house providers (the built-in warehouse) cannot fail half-way: they are written with
    the creation, each fulfilment order inserted once as it ends up, and not committed here:
    inside the worker's batch a commit would only end the delivery's savepoint and open
    another. ``on_created`` runs once the rows are written (a pick-up refers to its
    fulfilment order), before anything commits or is refused.

    ``kept``: the worker vouches (:func:`writes_nothing_before_commit`) that every fulfilment
    order goes to an in-house provider, none existed and the order (``held``) is no pick-up:
    the new rows and the order's save are kept for the commit, nothing is written here.
    """
    assert kept is None or held is not None, "kept for the commit: the order is held"
    work = _Work(uow, deps, kept)
    if held is not None:
        work.hold(*held)
    order = work.order(order_id)
    _create(work, order_id, allocations)
    fulfilments = work.fulfilments[order_id]

    def written() -> None:
        work.write()
        if on_created is not None:
            on_created(uow, order, fulfilments)

    pending = sorted(
        (f for f in fulfilments if f.status == FulfilmentStatus.CREATED),
        key=lambda f: (f.created_at, f.id),  # as for_order lists them
    )
    for index, fulfilment in enumerate(pending):
        if not in_house(fulfilment.provider):
            break
        if _dispatch_in(work, order, fulfilment, before_reject=written):
            for rest in pending[index + 1 :]:  # re-routed: each read again, as dispatch does
                dispatch(uow, fulfilment_id=rest.id, deps=deps)
            return
    else:
        written()  # committed by the caller
        return
    written()
    uow.commit()  # the creation lands before the first call out
    for rest in pending[index:]:
        dispatch(uow, fulfilment_id=rest.id, deps=deps)


def _dispatch_in(
    work: _Work, order: Order, fulfilment: FulfilmentOrder, *, before_reject: Callable[[], None]
) -> bool:
    """:func:`dispatch` of a fulfilment order of ``work`` to an in-house provider, settled,
    not written. True when it was rejected: then, after ``before_reject``, it is written,
    committed and re-routed (the caller's ``work`` is stale)."""
    if not _hand_over(work, order, fulfilment, before_reject=before_reject):
        work.settle()
        return False
    work.flush()
    work.uow.commit()
    _reroute(work.uow, fulfilment, work.deps)
    return True


def dispatch_pending(uow: UnitOfWork, *, order_id: str, deps: FulfilmentDeps) -> None:
    """Dispatch every fulfilment order of the order still waiting in ``created``."""
    for fulfilment in uow.fulfilment.for_order(order_id):
        if fulfilment.status == FulfilmentStatus.CREATED:
            dispatch(uow, fulfilment_id=fulfilment.id, deps=deps)


def dispatch(uow: UnitOfWork, *, fulfilment_id: str, deps: FulfilmentDeps) -> None:
    """Hand one fulfilment order to its provider; commits. A transient ProviderError propagates
    (the outbox worker retries); a permanent one is recorded as an exception.

    The provider is called with no transaction open (unless inside a worker's batch item,
    whose transaction is not this call's to end): a 3PL that takes seconds to answer holds no
    SQLite write lock, no PostgreSQL row lock and no idle transaction meanwhile. What the
    call sends is read first, the transaction ended, and the answer recorded in a fresh one
    that reads the fulfilment order again: if it was cancelled during the call, the provider
    is told to take it back (:func:`_taken_back`); if someone recorded a dispatch meanwhile,
    nothing more is recorded; if an edit changed what it would send, it is sent again (the
    provider replaces an earlier request for the same fulfilment id: docs/fulfilment.md).
    """
    sent: tuple[DispatchRequest, DispatchResult | PermanentProviderError] | None = None
    for _ in range(SENDS_PER_DISPATCH):
        work = _Work(uow, deps)
        fulfilment = work.fulfilment(fulfilment_id)
        if fulfilment.status != FulfilmentStatus.CREATED:
            uow.rollback()
            if sent is not None and fulfilment.status == FulfilmentStatus.CANCELLED:
                _taken_back(uow, fulfilment, deps, sent[1])
            return
        order = work.order(fulfilment.order_id)
        request = dispatch_request(order, fulfilment)
        if sent is None or sent[0] != request:  # again: an edit changed it during the call
            provider = deps.providers(fulfilment.provider)
            calling_out = not uow.in_item()
            if calling_out:
                uow.rollback()  # nothing written: no transaction open during the call
            sent = request, _ask(provider, request)
            if calling_out:
                continue  # read it again, then record the answer
        rejected = _record_answer(work, order, fulfilment, sent[1])
        work.flush()
        uow.commit()
        if rejected:
            _reroute(uow, fulfilment, deps)
        return
    raise ProviderError(f"fulfilment {fulfilment_id} changed during every dispatch; retried later")


SENDS_PER_DISPATCH = 4  # reads and calls: an edit during a call sends once more, at most twice


def _ask(
    provider: FulfilmentProvider, request: DispatchRequest
) -> DispatchResult | PermanentProviderError:
    """The provider's answer to ``request``; a permanent failure is an answer too (recorded as
    an exception), a transient ProviderError propagates (retried)."""
    try:
        return provider.dispatch(request)
    except PermanentProviderError as error:
        return error


def _taken_back(
    uow: UnitOfWork,
    fulfilment: FulfilmentOrder,
    deps: FulfilmentDeps,
    answer: DispatchResult | PermanentProviderError,
) -> None:
    """The fulfilment order was cancelled here while its dispatch was on the way: the provider
    that took it (an answer with no refusal) is told to take it back, with no transaction open;
    should it not answer, a person is told (an exception on the fulfilment order)."""
    if isinstance(answer, PermanentProviderError) or answer.accepted is False:
        return  # the provider holds nothing to take back
    fulfilment.external_ref = answer.external_ref  # (read, not written: as the provider knows it)
    try:
        deps.providers(fulfilment.provider).cancel(fulfilment)
        return
    except ProviderError as error:
        detail = f"sent after it was cancelled here, and not taken back: {error}"
    work = _Work(uow, deps)
    work.exception(work.fulfilment(fulfilment.id), ExceptionKind.DISPATCH_FAILED, detail)
    work.flush()
    uow.commit()


def _hand_over(
    work: _Work,
    order: Order,
    fulfilment: FulfilmentOrder,
    *,
    before_reject: Callable[[], None] | None = None,
) -> bool:
    """Send ``fulfilment`` to its provider (an in-house one: inside the transaction) and record
    the answer in ``work`` (:func:`_record_answer`). True when the provider rejected it."""
    provider = work.deps.providers(fulfilment.provider)
    answer = _ask(provider, dispatch_request(order, fulfilment))
    return _record_answer(work, order, fulfilment, answer, before_reject=before_reject)


def _record_answer(
    work: _Work,
    order: Order,
    fulfilment: FulfilmentOrder,
    answer: DispatchResult | PermanentProviderError,
    *,
    before_reject: Callable[[], None] | None = None,
) -> bool:
    """The provider's answer recorded in ``work`` (neither written nor committed): dispatched,
    accepted, or a permanent failure as an exception. True when the provider rejected it:
    its reservation is then released (after ``before_reject``) and the caller re-routes it
    once committed."""
    if isinstance(answer, PermanentProviderError):
        work.exception(fulfilment, ExceptionKind.DISPATCH_FAILED, str(answer))
        return False
    fulfilment.mark_dispatched(external_ref=answer.external_ref)
    if answer.accepted is not False:
        if answer.accepted is True:
            fulfilment.accept()
        return False
    if before_reject is not None:
        before_reject()
    _reject(work, fulfilment, answer.reason or "rejected", stock_out=answer.stock_out)
    return True


def dispatch_request(order: Order, fulfilment: FulfilmentOrder) -> DispatchRequest:
    """What the provider is sent for ``fulfilment`` (at dispatch, and by an order edit)."""
    names = {line.id: line.name for line in order.lines}
    return DispatchRequest(
        fulfilment_id=fulfilment.id,
        order_id=order.id,
        order_number=order.external_id,
        channel=order.channel,
        location=fulfilment.location,
        placed_at=order.placed_at,
        lines=tuple(
            DispatchLine(x.line_id, x.sku, x.quantity, names.get(x.line_id))
            for x in fulfilment.lines
        ),
        ship_to=order.shipping_address,
        customer_name=order.customer.name,
        customer_email=order.customer.email,
        shipping_method=order.shipping.method,
    )


# -- rejection and re-routing ------------------------------------------------------------------
def _reject(work: _Work, fulfilment: FulfilmentOrder, reason: str, *, stock_out: bool) -> None:
    """The location will not ship it: release its reservation and free the lines for routing."""
    fulfilment.reject(reason=reason)
    line_ids = [x.line_id for x in fulfilment.lines]
    work.deps.stock.release(
        work.uow,
        order_id=fulfilment.order_id,
        location=fulfilment.location,
        line_ids=line_ids,
        reason=f"fulfilment rejected: {reason}",
    )
    order = work.order(fulfilment.order_id)
    for line_id in line_ids:
        if order.line(line_id).status in (LineStatus.ALLOCATED, LineStatus.IN_FULFILMENT):
            order.set_line_status(line_id, LineStatus.OPEN)
    others = [f for f in work.fulfilments[order.id] if f.is_open and f.id != fulfilment.id]
    if not others and order.status in (OrderStatus.ALLOCATED, OrderStatus.IN_FULFILMENT):
        order.transition_to(OrderStatus.RECEIVED, reason=f"re-routing: {reason}")
    kind = ExceptionKind.STOCK_OUT if stock_out else ExceptionKind.REJECTED
    work.exception(fulfilment, kind, f"{fulfilment.location}: {reason}")


def _reroute(uow: UnitOfWork, fulfilment: FulfilmentOrder, deps: FulfilmentDeps) -> None:
    if deps.rerouter.reroute(
        uow, order_id=fulfilment.order_id, exclude_location=fulfilment.location
    ):
        return
    uow.rollback()
    work = _Work(uow, deps)
    fresh = work.fulfilment(fulfilment.id)
    work.exception(fresh, ExceptionKind.UNROUTABLE, f"no location but {fulfilment.location}")
    work.flush()
    uow.commit()


# -- provider updates ------------------------------------------------------------------------
def apply_updates(
    uow: UnitOfWork, *, provider_code: str, updates: Sequence[ProviderUpdate], deps: FulfilmentDeps
) -> int:
    """Apply a provider's callback or poll, all or nothing; commits. Returns changes applied.

    A provider may only move its own fulfilment orders; repeated updates change nothing.
    """
    work = _Work(uow, deps)
    rejected: list[FulfilmentOrder] = []
    applied = 0
    for update in updates:
        if isinstance(update, TrackingUpdate):
            applied += _track(work, provider_code, update)
            continue
        fulfilment = _owned(work, provider_code, update.fulfilment_id)
        if fulfilment is None:
            continue
        if isinstance(update, Accepted):
            if fulfilment.status == FulfilmentStatus.DISPATCHED:
                fulfilment.accept()
                applied += 1
        elif isinstance(update, Rejected):
            if fulfilment.is_open and not fulfilment.shipments:
                _reject(work, fulfilment, update.reason, stock_out=update.stock_out)
                rejected.append(fulfilment)
                applied += 1
        else:
            applied += _ship(work, fulfilment, update)
    work.flush()
    uow.commit()
    for fulfilment in rejected:
        _reroute(uow, fulfilment, deps)
    return applied


def _owned(work: _Work, provider_code: str, fulfilment_id: str) -> FulfilmentOrder | None:
    """The fulfilment if it is this provider's; None otherwise (account-wide webhooks such as
    ShipStation's also report orders the hub never sent, and a provider may not move another
    provider's work)."""
    try:
        fulfilment = work.fulfilment(fulfilment_id)
    except NotFound:
        return None
    return fulfilment if fulfilment.provider == provider_code else None


def _ship(work: _Work, fulfilment: FulfilmentOrder, update: Shipped) -> int:
    if update.tracking_number and any(
        s.tracking_number == update.tracking_number for s in fulfilment.shipments
    ):
        return 0  # the same parcel reported again
    if update.lines is not None:
        lines = dict(update.lines)
    else:
        lines = {k: v for k, v in fulfilment.remaining_units().items() if v}
    record_shipment(
        work,
        fulfilment,
        lines=lines,
        carrier=update.carrier,
        service=update.service,
        tracking_number=update.tracking_number,
        shipped_at=update.shipped_at,
    )
    return 1


def record_shipment(
    work: _Work,
    fulfilment: FulfilmentOrder,
    *,
    lines: Mapping[str, int],
    carrier: str,
    service: str | None,
    tracking_number: str | None,
    shipped_at: datetime,
) -> None:
    fulfilment.ship(
        lines=lines,
        carrier=carrier,
        service=service,
        tracking_number=tracking_number,
        shipped_at=shipped_at,
    )
    work.deps.stock.consume_for_shipment(
        work.uow, order_id=fulfilment.order_id, lines=lines, location=fulfilment.location
    )


def _track(work: _Work, provider_code: str, update: TrackingUpdate) -> int:
    fulfilment_id = work.uow.fulfilment.by_tracking(provider_code, update.tracking_number)
    if fulfilment_id is None:
        return 0  # not a parcel of this provider's
    fulfilment = work.fulfilment(fulfilment_id)
    shipment = next(s for s in fulfilment.shipments if s.tracking_number == update.tracking_number)
    if not fulfilment.track(shipment.id, update.status, at=update.at, detail=update.detail):
        return 0
    if update.status == TrackingStatus.EXCEPTION:
        detail = f"{shipment.carrier} {update.tracking_number}: {update.detail or 'exception'}"
        work.exception(fulfilment, ExceptionKind.DELIVERY_EXCEPTION, detail)
    return 1


# -- staff and operator actions ----------------------------------------------------------------
def ship_from_warehouse(
    uow: UnitOfWork,
    *,
    fulfilment_id: str,
    lines: Mapping[str, int],
    carrier: str,
    tracking_number: str | None,
    service: str | None,
    shipped_at: datetime | None,
    deps: FulfilmentDeps,
) -> str:
    """Staff report a parcel from an own location; commits. Returns the shipment id."""
    work = _Work(uow, deps)
    fulfilment = work.fulfilment(fulfilment_id)
    if fulfilment.status == FulfilmentStatus.CREATED:
        raise IllegalTransition("fulfilment", "created", "shipped")  # dispatch it first
    if uow.pickups.is_pickup(fulfilment_id):  # the customer collects it, with the code
        raise Conflict(f"fulfilment {fulfilment_id} is a pick-up: hand it over with its code")
    record_shipment(
        work,
        fulfilment,
        lines=lines,
        carrier=carrier,
        service=service,
        tracking_number=tracking_number,
        shipped_at=shipped_at or deps.clock(),
    )
    shipment_id = fulfilment.shipments[-1].id
    work.flush()
    uow.commit()
    return shipment_id


def resolve_exception(uow: UnitOfWork, *, exception_id: str, resolution: str, actor: str) -> None:
    """Close an exception; resolving it twice is refused so nobody overwrites a resolution."""
    uow.fulfilment.exception(exception_id)
    if not uow.fulfilment.resolve_exception(
        exception_id, resolution=resolution, actor=actor, now=utc_now()
    ):
        raise ValidationFailed(
            "exception already resolved", [FieldError(("id",), "resolved already", "resolved")]
        )
    uow.commit()


def poll_providers(uow: UnitOfWork, *, deps: FulfilmentDeps, now: datetime) -> int:
    """Ask the providers that are polled (``FulfilmentProvider.polled``: the simulated 3PL)
    about their open fulfilment orders, :data:`POLL_PAGE` at a time by id: every one of them
    however many are open, and none read for the providers that call back (the built-in
    warehouse, HTTP 3PLs, ShipStation). Each page is read on a read-only snapshot (not under
    SQLite's write lock), polled with no transaction open, and its updates applied in one
    transaction. Returns the changes applied."""
    polled = [
        config.code
        for config in uow.fulfilment.providers()
        if config.active and deps.providers(config.code).polled
    ]
    uow.rollback()
    applied = 0
    for code in polled:
        after: str | None = None
        while True:
            with uow.reader() as reader:
                page = reader.fulfilment.open_of_provider(
                    code, POLLED_STATUSES, after=after, limit=POLL_PAGE
                )
            if not page:
                break
            provider = deps.providers(code)  # (its configuration read: ended before the call)
            uow.rollback()
            updates = provider.poll(page, now)
            if updates:
                applied += apply_updates(uow, provider_code=code, updates=updates, deps=deps)
            if len(page) < POLL_PAGE:
                break
            after = page[-1].id
    return applied


POLL_PAGE = 200  # open fulfilment orders per poll call
POLLED_STATUSES = frozenset(
    {FulfilmentStatus.ACCEPTED, FulfilmentStatus.IN_PROGRESS, FulfilmentStatus.SHIPPED}
)


def cancel_fulfilments(
    uow: UnitOfWork,
    *,
    order_id: str,
    reason: str,
    deps: FulfilmentDeps,
    line_ids: Collection[str] | None = None,
) -> int:
    """Take back every unshipped fulfilment order of the order — or only those holding one of
    ``line_ids`` — (before cancelling it); commits.

    The provider is told first: if it refuses or cannot be reached the ProviderError propagates
    and nothing changes here, so the caller can refuse or retry.
    """
    work = _Work(uow, deps)
    work.order(order_id)
    wanted = set(line_ids) if line_ids is not None else None
    cancelled = 0
    for fulfilment in work.fulfilments[order_id]:
        if not fulfilment.is_open or fulfilment.shipments:
            continue
        if wanted is not None and not wanted & {x.line_id for x in fulfilment.lines}:
            continue
        if fulfilment.status != FulfilmentStatus.CREATED:
            deps.providers(fulfilment.provider).cancel(fulfilment)
        fulfilment.cancel(reason=reason)
        deps.stock.release(
            uow,
            order_id=order_id,
            location=fulfilment.location,
            line_ids=[x.line_id for x in fulfilment.lines],
            reason=f"fulfilment cancelled: {reason}",
        )
        cancelled += 1
    work.flush()
    uow.commit()
    return cancelled
