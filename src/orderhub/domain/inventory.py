"""Inventory vocabulary: movements of the stock ledger, shortage policies, available-to-sell.

Stock per (SKU, location) is ``on_hand`` and ``reserved``; ``available = on_hand − reserved``.
Every change is a :class:`Movement` in an append-only ledger, so each level equals the sum of
its movements (``orderhub inventory check`` proves it). A channel's available-to-sell for a SKU
is the sum of what the locations serving it have available — a store's less the units it keeps
back for walk-in customers — minus the channel's safety stock, never < 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from orderhub.domain.channels import Channel
from orderhub.domain.locations import Location


class MovementKind(StrEnum):
    RECEIPT = "receipt"  # goods in
    ADJUSTMENT = "adjustment"  # a correction by delta (damage, shrinkage, found)
    COUNT = "count"  # an absolute count; stale counts are recorded with no effect
    RESERVATION = "reservation"  # units held for an order line
    RELEASE = "release"  # a reservation given back (cancellation, re-route)
    SHIPMENT = "shipment"  # reserved units left the building
    RETURN_RESTOCK = "return_restock"  # returned units back on the shelf


DELTA_KINDS = frozenset(
    {MovementKind.RECEIPT, MovementKind.ADJUSTMENT, MovementKind.RETURN_RESTOCK}
)


class ShortStockPolicy(StrEnum):
    """What happens to an order whose stock is short (``channel.settings.insufficient_stock``)."""

    BACKORDER = "backorder"  # wait as ``backordered``; allocated first-come-first-served
    HOLD = "hold"  # ``on_hold`` with reason ``insufficient_stock``: a person decides


INSUFFICIENT_STOCK = "insufficient_stock"


def short_stock_policy(channel: Channel) -> ShortStockPolicy:
    value = channel.settings.get("insufficient_stock", ShortStockPolicy.BACKORDER.value)
    try:
        return ShortStockPolicy(value)
    except ValueError:
        return ShortStockPolicy.BACKORDER


@dataclass(frozen=True)
class Movement:
    """One ledger entry: what changed at (sku, location), by whom and why."""

    sku: str
    location: str
    kind: MovementKind
    on_hand_delta: int = 0
    reserved_delta: int = 0
    reason: str | None = None
    reference: str | None = None  # order id, line id, document number
    order_line_id: str | None = None
    counted: int | None = None  # absolute counts: the counted quantity
    as_of: datetime | None = None  # absolute counts: when the count was taken
    stale: bool = False  # a count older than the last applied one: recorded, not applied


@dataclass(frozen=True)
class StockLevel:
    sku: str
    location: str
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        """May be negative when a count found fewer units than are reserved."""
        return self.on_hand - self.reserved


def serves(location: Location, channel: Channel) -> bool:
    """The location may fill this channel's orders: active, and allowed on both sides."""
    allowed = channel.locations_allowed is None or location.code in channel.locations_allowed
    return location.active and allowed and location.may_serve(channel.code)


def available_to_sell(
    channel: Channel,
    locations: Iterable[Location],
    levels: Mapping[str, StockLevel],
    safety_stock: int,
) -> int:
    """Σ over serving locations of available (each floored at 0) − safety stock, floored at 0.

    ``levels`` maps location code → the SKU's level there. A location whose count fell below its
    reservations contributes 0, not a negative number that would hide another location's stock.
    A store contributes what it has beyond its own safety stock (:func:`sellable`).
    """
    total = sum(
        sellable(loc, levels[loc.code].available)
        for loc in locations
        if loc.code in levels and serves(loc, channel)
    )
    return max(0, total - safety_stock)


def sellable(location: Location, available: int) -> int:
    """What channels may take of ``available`` units here: a store keeps its safety stock back
    for the customers in front of its shelves."""
    return max(0, available - location.safety_stock)


def local_day(location: Location, now: datetime) -> str:
    """The location's calendar day at ``now`` (capacity counts per local day)."""
    return now.astimezone(ZoneInfo(location.timezone)).date().isoformat()
