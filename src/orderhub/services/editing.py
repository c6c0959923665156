"""Order edits: change an open order after placement, all or nothing (``POST …/edits``).

One transaction does it all, in this order, and a refusal at any step rolls all of it back:

1. the edit is checked whole (:func:`~orderhub.domain.editing.prepare_edit`): 422 naming the
   fields, 409 once a line has shipped;
2. the fulfilment orders it touches are judged: one that shipped a parcel or is being picked
   (``in_progress``) can no longer change (409, cancel-and-replace offered); one whose lines
   change is cancelled and its lines routed again; one whose lines stay but whose address or
   shipping method changes is updated in place when its provider can
   (:func:`~orderhub.fulfilment.base.can_update`) and routing keeps it where it is, and
   cancelled and recreated otherwise;
3. the order is changed, the reservations of every line routed again are released and the
   lines reserved anew under the active rules (an address change can move them; the plan's
   explanation says why). An order holding stock never becomes short by an edit: when the
   stock is not there the edit is refused (409 ``insufficient_stock``);
4. the ledger books the difference: a ``charge`` when the buyer owes more, a ``credit`` (a
   refund owed, paid with ``POST …/refunds``) when less;
5. the providers are told last (update or cancel), so a provider's "no" undoes everything;
   then the ``order.edited`` event is recorded and the transaction commits.

Afterwards, as after every release, the orders waiting for the units given back are woken,
first received first served. ``preview`` runs steps 1–4 and rolls back: it writes nothing and
calls no provider, and answers what the edit would cost and where it would ship from.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from orderhub.domain import events
from orderhub.domain.allocation import AllocationPlan
from orderhub.domain.editing import (
    AppliedEdit,
    EditRefused,
    OrderEdit,
    PreparedEdit,
    apply_edit,
    prepare_edit,
)
from orderhub.domain.fulfilment import FulfilmentOrder, FulfilmentStatus, follow_shipments
from orderhub.domain.ids import new_id
from orderhub.domain.money import Money
from orderhub.domain.orders import LineStatus, Order, OrderStatus, Totals
from orderhub.fulfilment.base import ProviderError, UpdatableProvider, can_update
from orderhub.services.allocation import allocate_order, allocate_waiting, reserve_lines
from orderhub.services.fulfilment import FulfilmentDeps, dispatch_request
from orderhub.services.fulfilment_wiring import default_dependencies
from orderhub.services.inventory import release_order
from orderhub.services.refunds import open_ledger, refund_ledger
from orderhub.store.after_sale import LedgerEntry
from orderhub.store.unit_of_work import UnitOfWork

RESERVING = frozenset({OrderStatus.ALLOCATED, OrderStatus.IN_FULFILMENT})
ALLOCATE_AFTER = frozenset({OrderStatus.RECEIVED, OrderStatus.BACKORDERED})
_HELD = (LineStatus.ALLOCATED, LineStatus.IN_FULFILMENT)
UPDATED, CANCELLED, KEPT = "updated", "cancelled", "kept"


@dataclass(frozen=True)
class EditOutcome:
    order_id: str
    edit_id: str
    preview: bool
    changes: dict[str, Any]
    before: Totals
    after: Totals
    routing: dict[str, Any]
    fulfilments: tuple[dict[str, Any], ...]

    @property
    def difference(self) -> Money:
        """After − before: positive, due from the buyer; negative, owed to them."""
        return self.after.total - self.before.total


def edit_order(
    uow: UnitOfWork,
    *,
    order_id: str,
    edit: OrderEdit,
    preview: bool = False,
    deps: FulfilmentDeps | None = None,
) -> EditOutcome:
    """Apply ``edit`` to the order, all or nothing; commits (``preview``: rolls back)."""
    if deps is not None:
        return _edit(uow, order_id, edit, preview, deps)
    with default_dependencies(uow) as ready:
        return _edit(uow, order_id, edit, preview, ready)


def _edit(
    uow: UnitOfWork, order_id: str, edit: OrderEdit, preview: bool, deps: FulfilmentDeps
) -> EditOutcome:
    order = uow.orders.get(order_id, for_update=True)
    skus = {line.sku for line in edit.add_lines}
    products = uow.catalog.products(skus, identifiers=False) if skus else {}
    refunded = refund_ledger(uow, order).refunded_units if edit.change_lines else {}
    prepared = prepare_edit(
        order,
        edit,
        known_skus=set(products),
        names={sku: p.name for sku, p in products.items()},
        refunded_units=refunded,
    )
    fulfilments = uow.fulfilment.for_order(order_id)
    actions = _judge(order, prepared, fulfilments, deps)
    was = {f.id: f.status for f in fulfilments}
    before_at = _locations(uow, order_id)
    edit_id = new_id()
    now = uow.now()
    if prepared.money_changed:
        open_ledger(uow, order, now)  # the charge as placed, before the order changes
    applied = apply_edit(order, prepared)
    uow.orders.save_edited(order)  # new lines exist before stock is reserved for them
    by_id = {f.id: f for f in fulfilments}
    reroute = _to_route(
        order, prepared, applied, [by_id[i] for i, a in actions.items() if a == CANCELLED]
    )
    why = _why(prepared)
    released = release_order(
        uow, order_id=order.id, reason=f"order edit {edit_id}", line_ids=reroute
    )
    for line in order.lines:
        if line.id in reroute and line.status in _HELD:
            order.set_line_status(line.id, LineStatus.OPEN)
        elif line.id in applied.new_line_ids and order.status == OrderStatus.BACKORDERED:
            order.set_line_status(line.id, LineStatus.BACKORDERED)
    plan = _reserve(uow, order, why) if order.status in RESERVING else None
    if plan is not None:
        _moved_elsewhere(actions, by_id, plan)
    for fulfilment_id, action in actions.items():
        if action == CANCELLED:
            by_id[fulfilment_id].cancel(reason=f"order edited ({edit_id})")
    follow_shipments(order, fulfilments)
    after_at = _locations(uow, order_id)
    routing = {
        "reason": why,
        "lines": sorted(reroute),
        "before": before_at,
        "after": after_at,
        "moved": sorted(k for k in set(before_at) & set(after_at) if before_at[k] != after_at[k]),
        "explanation": dict(plan.explanation) if plan is not None else None,
    }
    told = tuple(
        {
            "fulfilment_id": f_id,
            "location": by_id[f_id].location,
            "provider": by_id[f_id].provider,
            "action": action,
        }
        for f_id, action in sorted(actions.items())
    )
    outcome = EditOutcome(
        order.id, edit_id, preview, applied.diff, applied.before, applied.after, routing, told
    )
    if preview:
        uow.rollback()
        return outcome
    _book(uow, order, applied, edit_id, now)
    _tell_providers(uow, order, actions, by_id, was, deps)
    for fulfilment in fulfilments:
        if fulfilment.events:
            uow.fulfilment.save(fulfilment)
            order.events.extend(fulfilment.events)
            fulfilment.events.clear()
    order.events.append(
        events.OrderEdited(
            order.id,
            edit_id,
            edit.reason,
            applied.diff,
            str(applied.difference.amount),
            order.currency,
            routing,
            told,
        )
    )
    status = order.status
    uow.commit()
    if status in ALLOCATE_AFTER:
        allocate_order(uow, order_id=order.id)
    woken = released | {line.sku for line in order.lines if line.id in prepared.touched}
    if woken:
        allocate_waiting(uow, skus=woken, skip={order.id})
    return outcome


def _judge(
    order: Order,
    prepared: PreparedEdit,
    fulfilments: Sequence[FulfilmentOrder],
    deps: FulfilmentDeps,
) -> dict[str, str]:
    """What becomes of each open fulfilment order the edit touches; refuses those that can no
    longer change (a parcel left, or picking started)."""
    actions: dict[str, str] = {}
    details = prepared.address_changed or prepared.method_changed
    for fulfilment in fulfilments:
        if not fulfilment.is_open:
            continue
        held = {x.line_id for x in fulfilment.lines}
        hit = held & prepared.touched
        if not hit and not details:
            continue
        if fulfilment.shipments:
            raise EditRefused(
                f"fulfilment {fulfilment.id} at {fulfilment.location} has shipped a parcel "
                f"with line(s) {', '.join(sorted(held))}",
                order_id=order.id,
                lines=held,
                fulfilment_id=fulfilment.id,
                reason="shipped",
            )
        if fulfilment.status == FulfilmentStatus.IN_PROGRESS:
            raise EditRefused(
                f"fulfilment {fulfilment.id} at {fulfilment.location} is being picked: "
                f"{fulfilment.provider} can no longer change line(s) {', '.join(sorted(held))}",
                order_id=order.id,
                lines=held,
                fulfilment_id=fulfilment.id,
                reason="fulfilment_locked",
            )
        in_place = fulfilment.status == FulfilmentStatus.CREATED or can_update(
            deps.providers(fulfilment.provider)
        )
        actions[fulfilment.id] = UPDATED if not hit and in_place else CANCELLED
    return actions


def _to_route(
    order: Order, prepared: PreparedEdit, applied: AppliedEdit, cancelled: Iterable[FulfilmentOrder]
) -> set[str]:
    """Lines whose reservations go and which are routed again: those whose units changed,
    the new ones, those of a cancelled fulfilment order, and every live line when the address
    changed (the best location may be another now)."""
    lines = set(prepared.touched) | set(applied.new_line_ids)
    for fulfilment in cancelled:
        lines |= {x.line_id for x in fulfilment.lines}
    if prepared.address_changed:
        lines |= {line.id for line in order.lines if line.status in (*_HELD, LineStatus.OPEN)}
    return lines


def _why(prepared: PreparedEdit) -> str:
    parts = []
    if prepared.address_changed:
        parts.append("the shipping address changed")
    if prepared.changes or prepared.added:
        parts.append("lines changed")
    if prepared.method_changed:
        parts.append("the shipping method changed")
    return "order edit: " + (", ".join(parts) or "shipping price changed")


def _reserve(uow: UnitOfWork, order: Order, why: str) -> AllocationPlan | None:
    """Reserve the lines left open, or refuse the edit: an order holding stock stays whole."""
    wanting = [
        line
        for line in order.lines
        if line.status in (LineStatus.OPEN, LineStatus.BACKORDERED) and line.open_quantity
    ]
    if not wanting:
        return None
    plan, reserved = reserve_lines(uow, order, wanting, note=why)
    if not reserved:
        uow.rollback()
        names = ", ".join(f"{line.id} ({line.sku} × {line.open_quantity})" for line in wanting)
        raise EditRefused(
            f"not enough stock for the edited lines: {names}",
            order_id=order.id,
            lines=[line.id for line in wanting],
            reason="insufficient_stock",
        )
    return plan


def _moved_elsewhere(
    actions: dict[str, str], by_id: dict[str, FulfilmentOrder], plan: AllocationPlan
) -> None:
    """A fulfilment order to update in place whose lines routing sent elsewhere (a new
    address nearer another location) is cancelled and recreated instead."""
    picked: dict[str, list[tuple[str, int]]] = {}
    for pick in plan.picks:
        picked.setdefault(pick.line_id, []).append((pick.location, pick.quantity))
    for fulfilment_id, action in actions.items():
        fulfilment = by_id[fulfilment_id]
        if action != UPDATED:
            continue
        for line in fulfilment.lines:
            if line.line_id in picked and picked[line.line_id] != [
                (fulfilment.location, line.quantity)
            ]:
                actions[fulfilment_id] = CANCELLED
                break


def _locations(uow: UnitOfWork, order_id: str) -> dict[str, list[str]]:
    """Line id → the locations holding its reserved units."""
    held: dict[str, set[str]] = {}
    for allocation in uow.stock.allocations(order_id, open_only=True):
        held.setdefault(allocation.line_id, set()).add(allocation.location)
    return {line_id: sorted(places) for line_id, places in sorted(held.items())}


def _book(uow: UnitOfWork, order: Order, applied: AppliedEdit, edit_id: str, now: Any) -> None:
    """The difference in the ledger: a charge (due from the buyer) or a credit (owed)."""
    difference = applied.difference
    if not difference.amount:
        return
    if difference.is_negative():
        entry = LedgerEntry(
            "credit", (-difference).minor, order.currency, edit_id,
            f"order edit {edit_id}: refund owed to the buyer", now,
        )  # fmt: skip
    else:
        entry = LedgerEntry(
            "charge", difference.minor, order.currency, edit_id,
            f"order edit {edit_id}: balance due from the buyer", now,
        )  # fmt: skip
    uow.after_sale.add_entry(order.id, entry)


def _tell_providers(
    uow: UnitOfWork,
    order: Order,
    actions: dict[str, str],
    by_id: dict[str, FulfilmentOrder],
    was: dict[str, FulfilmentStatus],
    deps: FulfilmentDeps,
) -> None:
    """Last, before the commit: a provider's refusal undoes the whole edit."""
    for fulfilment_id, action in sorted(actions.items()):
        fulfilment = by_id[fulfilment_id]
        if was[fulfilment_id] == FulfilmentStatus.CREATED:
            continue  # not sent yet: dispatch will send the order as it is now
        provider = deps.providers(fulfilment.provider)
        try:
            if action == CANCELLED:
                provider.cancel(fulfilment)
            elif isinstance(provider, UpdatableProvider):
                provider.update(fulfilment, dispatch_request(order, fulfilment))
        except ProviderError as error:
            uow.rollback()
            raise EditRefused(
                f"{fulfilment.provider} did not accept the change to fulfilment {fulfilment.id} "
                f"at {fulfilment.location}: {error}",
                order_id=order.id,
                lines=[x.line_id for x in fulfilment.lines],
                fulfilment_id=fulfilment.id,
                reason="provider_refused",
            ) from error
