"""Stock changes: adjustments and counts, releases, consumption on shipment, restocking.

``adjust_stock`` is a handler (it commits, then lets waiting orders take what arrived). The
other functions change stock inside the caller's transaction and do not commit: cancellation,
fulfilment and returns call them from their own handlers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from orderhub.domain.allocation import Planner
from orderhub.domain.errors import Conflict, FieldError, ShelfShort, ValidationFailed
from orderhub.domain.inventory import DELTA_KINDS, Movement, MovementKind
from orderhub.domain.limits import MAX_STOCK
from orderhub.services import allocation
from orderhub.store.unit_of_work import UnitOfWork

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class StockAdjustment:
    """A delta (``delta`` + ``reason``) or an absolute count (``on_hand`` + ``as_of``)."""

    sku: str
    location: str
    delta: int | None = None
    on_hand: int | None = None
    as_of: datetime | None = None
    reason: str | None = None
    reference: str | None = None
    kind: MovementKind = MovementKind.ADJUSTMENT


@dataclass(frozen=True)
class AdjustmentResult:
    sku: str
    location: str
    kind: MovementKind
    applied: bool  # False: a stale count, recorded in the ledger without effect
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


def adjust_stock(
    uow: UnitOfWork,
    *,
    items: Sequence[StockAdjustment],
    paths: Sequence[Path] | None = None,
    planner: Planner | None = None,
) -> list[AdjustmentResult]:
    """Apply every item or none; then allocate waiting orders for SKUs that gained stock.

    ``paths`` names each item in the request (``("items", 3)``) for field errors.
    """
    paths = list(paths) if paths is not None else [() for _ in items]
    _check_shape(items, paths)
    _check_known(uow, items, paths)
    problems: list[FieldError] = []
    results: dict[int, AdjustmentResult] = {}
    gained: set[str] = set()
    # Rows in (sku, location) order: two batches never wait for each other in a cycle.
    for index in sorted(range(len(items)), key=lambda i: (items[i].sku, items[i].location, i)):
        item = items[index]
        level, last_count = uow.stock.lock_level(item.sku, item.location)
        movement = _movement(item, level.on_hand, last_count)
        if level.on_hand + movement.on_hand_delta < 0:
            problems.append(
                FieldError(
                    (*paths[index], "delta"),
                    f"would leave {level.on_hand + movement.on_hand_delta} on hand "
                    f"({level.on_hand} now)",
                    "negative_stock",
                )
            )
            continue
        if level.on_hand + movement.on_hand_delta > MAX_STOCK:
            problems.append(
                FieldError(
                    (*paths[index], "delta" if item.delta is not None else "on_hand"),
                    f"would leave {level.on_hand + movement.on_hand_delta:,} on hand, more than "
                    f"the {MAX_STOCK:,} a location holds ({level.on_hand:,} now)",
                    "too_large",
                )
            )
            continue
        uow.stock.apply(movement)
        if movement.on_hand_delta > 0:
            gained.add(item.sku)
        results[index] = AdjustmentResult(
            item.sku,
            item.location,
            movement.kind,
            not movement.stale,
            level.on_hand + movement.on_hand_delta,
            level.reserved,
        )
    if problems:
        uow.rollback()
        raise ValidationFailed("stock adjustments refused; none was applied", problems)
    uow.commit()
    if gained:
        allocation.allocate_waiting(uow, skus=gained, planner=planner)
    return [results[i] for i in range(len(items))]


def _movement(item: StockAdjustment, on_hand: int, last_count: datetime | None) -> Movement:
    if item.on_hand is None:
        assert item.delta is not None
        return Movement(
            item.sku,
            item.location,
            item.kind,
            on_hand_delta=item.delta,
            reason=item.reason,
            reference=item.reference,
        )
    stale = last_count is not None and item.as_of is not None and item.as_of < last_count
    return Movement(
        item.sku,
        item.location,
        MovementKind.COUNT,
        on_hand_delta=0 if stale else item.on_hand - on_hand,
        reason=item.reason or ("stale count" if stale else "count"),
        reference=item.reference,
        counted=item.on_hand,
        as_of=item.as_of,
        stale=stale,
    )


def _check_shape(items: Sequence[StockAdjustment], paths: Sequence[Path]) -> None:
    problems: list[FieldError] = []
    for item, path in zip(items, paths, strict=True):
        if (item.delta is None) == (item.on_hand is None):
            problems.append(FieldError(path or ("body",), "give either delta or on_hand"))
        elif item.delta is not None:
            if item.delta == 0:
                problems.append(FieldError((*path, "delta"), "must not be zero"))
            if not item.reason:
                problems.append(FieldError((*path, "reason"), "a delta needs a reason"))
            if item.kind not in DELTA_KINDS:
                allowed = ", ".join(sorted(k.value for k in DELTA_KINDS))
                problems.append(FieldError((*path, "kind"), f"must be one of {allowed}"))
        else:
            if item.on_hand is not None and item.on_hand < 0:
                problems.append(FieldError((*path, "on_hand"), "must not be negative"))
            if item.as_of is None or item.as_of.tzinfo is None:
                problems.append(FieldError((*path, "as_of"), "a count needs as_of with a zone"))
    if problems:
        raise ValidationFailed("stock adjustments refused; none was applied", problems)


def _check_known(uow: UnitOfWork, items: Sequence[StockAdjustment], paths: Sequence[Path]) -> None:
    skus = uow.catalog.known_skus({i.sku for i in items})
    locations = uow.locations.existing({i.location for i in items})
    problems: list[FieldError] = []
    for item, path in zip(items, paths, strict=True):
        if item.sku not in skus:
            problems.append(FieldError((*path, "sku"), f"unknown SKU {item.sku!r}", "unknown_sku"))
        if item.location not in locations:
            problems.append(
                FieldError(
                    (*path, "location"), f"unknown location {item.location!r}", "unknown_location"
                )
            )
    if problems:
        raise ValidationFailed("stock adjustments refused; none was applied", problems)


def release_order(
    uow: UnitOfWork,
    *,
    order_id: str,
    reason: str,
    units: Mapping[str, int] | None = None,
    location: str | None = None,
    line_ids: set[str] | None = None,
) -> set[str]:
    """Give back the units still reserved for the order — all, or ``units`` per line id, or
    those of ``line_ids`` at ``location`` — and return the SKUs released. Does not commit.

    Takes the id, not the order: the caller holds (and will save) the order aggregate."""
    released: set[str] = set()
    wanted = dict(units) if units is not None else None
    for held in uow.stock.allocations(order_id, open_only=True):  # (sku, location) order
        if (location is not None and held.location != location) or (
            line_ids is not None and held.line_id not in line_ids
        ):
            continue
        count = held.open_quantity
        if wanted is not None:
            count = min(count, wanted.get(held.line_id, 0))
            wanted[held.line_id] = wanted.get(held.line_id, 0) - count
        if count <= 0:
            continue
        uow.stock.apply(
            Movement(
                held.sku,
                held.location,
                MovementKind.RELEASE,
                reserved_delta=-count,
                reason=reason,
                reference=order_id,
                order_line_id=held.line_id,
            )
        )
        uow.stock.close_allocation(held, released=count, shipped=0)
        released.add(held.sku)
    return released


def consume_for_shipment(
    uow: UnitOfWork, *, order_id: str, lines: Mapping[str, int], location: str
) -> None:
    """Reserved units of these lines left ``location``: on hand and reserved both go down.

    ``lines`` maps order line id → units shipped. Refuses (Conflict) to ship more than is
    reserved for a line at that location, and (ShelfShort, before writing anything) more of a
    SKU than is on hand there: a count may have left the shelf below what is reserved.
    Does not commit: fulfilment's handler does.
    """
    held = [a for a in uow.stock.allocations(order_id, open_only=True) if a.location == location]
    per_sku: dict[str, int] = {}
    for line_id, quantity in sorted(lines.items()):
        mine = [a for a in held if a.line_id == line_id]
        if quantity <= 0 or sum(a.open_quantity for a in mine) < quantity:
            raise Conflict(
                f"line {line_id} has fewer than {quantity} units reserved at {location!r}"
            )
        per_sku[mine[0].sku] = per_sku.get(mine[0].sku, 0) + quantity
    _check_on_hand(uow, location=location, units=per_sku)
    for line_id, quantity in sorted(lines.items()):
        mine = [a for a in held if a.line_id == line_id]
        for allocation_ in mine:
            take = min(quantity, allocation_.open_quantity)
            if not take:
                continue
            uow.stock.apply(
                Movement(
                    allocation_.sku,
                    location,
                    MovementKind.SHIPMENT,
                    on_hand_delta=-take,
                    reserved_delta=-take,
                    reason="shipped",
                    reference=order_id,
                    order_line_id=line_id,
                )
            )
            uow.stock.close_allocation(allocation_, released=0, shipped=take)
            quantity -= take


def _check_on_hand(uow: UnitOfWork, *, location: str, units: Mapping[str, int]) -> None:
    """Refuse a shipment the shelf cannot cover (the level stays locked until commit, so no
    count lowers it in between) rather than let the on-hand check constraint fail."""
    for sku, requested in sorted(units.items()):
        level, _ = uow.stock.lock_level(sku, location)
        if level.on_hand < requested:
            raise ShelfShort(sku=sku, location=location, on_hand=level.on_hand, requested=requested)


def restock_return(
    uow: UnitOfWork, *, sku: str, location: str, quantity: int, reference: str
) -> None:
    """Returned units back on the shelf. Does not commit: the returns handler does."""
    if quantity <= 0:
        raise ValidationFailed("nothing to restock", [FieldError(("quantity",), "must be > 0")])
    uow.stock.apply(
        Movement(
            sku,
            location,
            MovementKind.RETURN_RESTOCK,
            on_hand_delta=quantity,
            reason="return",
            reference=reference,
        )
    )
