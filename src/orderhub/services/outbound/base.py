"""What a channel kind's outbound adapter offers: one Protocol per capability.

A kind belongs to one of two families, told apart by how its calls are made:

- a **store** (:class:`StoreAdapter`) is called with plain REST on the channel's
  ``api_base_url`` (:func:`~orderhub.services.outbound.calls.store_calls`, and
  :mod:`orderhub.channels.http` for the after-sale calls); without that URL it is not connected;
- a **marketplace** (:class:`MarketplaceAdapter`) through its own client, which holds tokens,
  signing and pacing (:func:`~orderhub.services.outbound.calls.marketplace_calls`).

Each capability is a plain function of the channel module's request builders; one left None is
nothing to send for that kind. The adapters only build and make calls: the consumers decide
whether to call at all (``sync_back``, a connected store, lines the channel knows).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from orderhub.channels.base import OutboundRequest, Tracking
from orderhub.domain.channels import Channel
from orderhub.domain.orders import Order
from orderhub.services.outbound.calls import MarketplaceCalls, StoreCalls
from orderhub.store.after_sale import StoredRefund

# A refund's lines as the channel knows them: (channel line id, quantity, amount); lines
# the channel does not know are left out, adapters still pass over an empty id.
RefundLines = list[tuple[str | None, int, str]]


@dataclass(frozen=True)
class Shipment:
    """One ``shipment.created`` as a channel hears of it."""

    channel: Channel
    order: Order
    shipped: dict[str, int]  # units per channel line id
    tracking: Tracking


@dataclass(frozen=True)
class StockLevel:
    """A SKU's available-to-sell as a channel takes it."""

    channel: Channel
    item: dict[str, Any]  # the channel's inventory item: its ids for the SKU
    sku: str  # the channel's SKU
    available: int


class StoreShip(Protocol):
    """Mark the shipped units shipped, through ``call``."""

    def __call__(self, call: StoreCalls, shipment: Shipment, /) -> None: ...


class StoreStock(Protocol):
    """Set the channel's quantity of the SKU, through ``call``."""

    def __call__(self, call: StoreCalls, level: StockLevel, /) -> None: ...


class Cancel(Protocol):
    """The calls that cancel the whole order (``reason``: a :class:`CancelReason` value)."""

    def __call__(self, order: Order, reason: str, /) -> list[OutboundRequest]: ...


class Refund(Protocol):
    """The calls that record a refund of ``lines`` on the order."""

    def __call__(
        self, order: Order, refund: StoredRefund, lines: RefundLines, /
    ) -> list[OutboundRequest]: ...


class Edit(Protocol):
    """The calls that tell the channel of an ``order.edited`` (its event data)."""

    def __call__(self, order: Order, data: Mapping[str, Any], /) -> list[OutboundRequest]: ...


class ReturnNote(Protocol):
    """The calls that put a note about a return on the order."""

    def __call__(self, order: Order, note: str, /) -> list[OutboundRequest]: ...


class MarketplaceShip(Protocol):
    """Confirm the shipped units, shipped at ``shipped_at``, through ``call``."""

    def __call__(
        self, call: MarketplaceCalls, shipment: Shipment, shipped_at: datetime, /
    ) -> None: ...


class MarketplaceStock(Protocol):
    """Set the channel's quantity of the SKU, through ``call``."""

    def __call__(self, call: MarketplaceCalls, level: StockLevel, /) -> None: ...


class Acknowledge(Protocol):
    """The call that acknowledges an order that arrived (by its external id)."""

    def __call__(self, external_id: str, /) -> OutboundRequest: ...


@dataclass(frozen=True, kw_only=True)
class StoreAdapter:
    """A store platform's calls; ``stock_needs``: the ids its inventory items must carry."""

    ship: StoreShip
    stock: StoreStock
    stock_needs: tuple[str, ...] = ()
    cancel: Cancel
    refund: Refund
    edit: Edit | None = None
    return_note: ReturnNote | None = None


@dataclass(frozen=True, kw_only=True)
class MarketplaceAdapter:
    """A marketplace's calls; ``stock_needs``: the ids its inventory items must carry."""

    ship: MarketplaceShip
    stock: MarketplaceStock
    stock_needs: tuple[str, ...] = ()
    acknowledge: Acknowledge | None = None


Adapter = StoreAdapter | MarketplaceAdapter
