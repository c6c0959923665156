"""Domain events: facts in the past tense, recorded by aggregates, never side effects.

The unit of work appends each recorded event to the order's hash-chained history and to the
transactional outbox in the same transaction as the state change; the worker delivers them.
Every event names its *stream* (``order:<id>``, ``inventory:<sku>``): delivery keeps each
stream's events in order.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any, ClassVar

from orderhub.domain.money import Money

JSON = dict[str, Any]


_PLAIN = frozenset({str, int, bool, float, type(None)})


def to_json_value(value: Any) -> Any:
    """Event data as plain JSON: Decimal and Money become strings, datetimes ISO 8601 UTC."""
    kind = type(value)
    if kind in _PLAIN:  # most of an event's values: nothing to convert
        return value
    # A list or dict (exactly: a subclass takes the checks below) converts only what is not
    # plain: no call per plain item (an allocation's lines, a cancellation's units).
    if kind is list or kind is tuple:
        return [v if type(v) in _PLAIN else to_json_value(v) for v in value]
    if kind is dict:
        return {
            k if type(k) is str else str(k): v if type(v) in _PLAIN else to_json_value(v)
            for k, v in value.items()
        }
    if isinstance(value, Money):
        return str(value)
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    return value


@dataclass(frozen=True)
class DomainEvent:
    """Base of every event; subclasses set ``type`` and are frozen dataclasses."""

    type: ClassVar[str] = "event"

    @property
    def stream(self) -> str:
        raise NotImplementedError

    def data(self) -> JSON:
        data = {}
        for name in _field_names(type(self)):
            value = getattr(self, name)  # mostly plain: converted without a call
            data[name] = value if type(value) in _PLAIN else to_json_value(value)
        return data


_FIELD_NAMES: dict[type[DomainEvent], tuple[str, ...]] = {}


def _field_names(cls: type[DomainEvent]) -> tuple[str, ...]:
    """An event class's field names, worked out once per class (``data`` is called for every
    event recorded)."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


@dataclass(frozen=True)
class OrderEvent(DomainEvent):
    order_id: str

    @property
    def stream(self) -> str:
        return f"order:{self.order_id}"


@dataclass(frozen=True)
class OrderReceived(OrderEvent):
    type: ClassVar[str] = "order.received"
    channel: str
    external_id: str
    currency: str
    total: str
    line_count: int


@dataclass(frozen=True)
class OrderStatusChanged(OrderEvent):
    type: ClassVar[str] = "order.status_changed"
    from_status: str
    to_status: str
    reason: str | None = None


@dataclass(frozen=True)
class OrderCancelled(OrderEvent):
    type: ClassVar[str] = "order.cancelled"
    reason: str
    line_ids: tuple[str, ...] = ()
    units: dict[str, int] = dataclasses.field(default_factory=dict)  # line id → units cancelled
    whole_order: bool = True


@dataclass(frozen=True)
class OrderLineStatusChanged(OrderEvent):
    type: ClassVar[str] = "order.line_status_changed"
    line_id: str
    from_status: str
    to_status: str


@dataclass(frozen=True)
class ReturnRequested(OrderEvent):
    type: ClassVar[str] = "return.requested"
    return_id: str
    reason: str
    units: dict[str, int]


@dataclass(frozen=True)
class ReturnStatusChanged(OrderEvent):
    type: ClassVar[str] = "return.status_changed"
    return_id: str
    from_status: str
    to_status: str
    note: str | None = None


@dataclass(frozen=True)
class RefundIssued(OrderEvent):
    type: ClassVar[str] = "order.refunded"
    refund_id: str
    amount: str
    currency: str
    reason: str
    return_id: str | None = None
    lines: dict[str, int] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class ExchangePriceOverridden(OrderEvent):
    """A replacement line priced by hand instead of from the original order (the history
    names who did it); ``derived_price`` is what the hub would have charged, if anything."""

    type: ClassVar[str] = "exchange.price_overridden"
    return_id: str
    original_order_id: str
    sku: str
    quantity: int
    unit_price: str
    tax: str
    derived_price: str | None = None


@dataclass(frozen=True)
class OrderChannelUpdated(OrderEvent):
    """The channel reported a change to an order the hub has (its metadata, e.g. status)."""

    type: ClassVar[str] = "order.channel_updated"
    changed: tuple[str, ...] = ()


@dataclass(frozen=True)
class OrderEdited(OrderEvent):
    """The order was changed after placement: ``changes`` holds each part before and after
    (lines, added lines, address, shipping, totals), ``routing`` what moved and why,
    ``fulfilments`` what each fulfilment order became (updated, cancelled, kept)."""

    type: ClassVar[str] = "order.edited"
    edit_id: str
    reason: str | None
    changes: dict[str, Any]
    difference: str  # after − before: > 0 due from the buyer, < 0 owed to them
    currency: str
    routing: dict[str, Any]
    fulfilments: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class OrderNotesChanged(OrderEvent):
    """An operator changed the order's internal notes or tags (the dashboard's order page)."""

    type: ClassVar[str] = "order.notes_changed"
    notes: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class OrderAllocated(OrderEvent):
    type: ClassVar[str] = "order.allocated"
    strategy: str
    allocations: tuple[dict[str, Any], ...]  # {line_id, sku, location, quantity}


@dataclass(frozen=True)
class InventoryAvailableChanged(DomainEvent):
    """A channel's available-to-sell for a SKU changed (one per channel and SKU per commit)."""

    type: ClassVar[str] = "inventory.available_changed"
    sku: str
    channel: str
    available: int
    previous: int | None

    @property
    def stream(self) -> str:
        return f"inventory:{self.sku}"


@dataclass(frozen=True)
class RoutingRulesActivated(DomainEvent):
    """A routing rule version became the active one (a new version, or a rollback)."""

    type: ClassVar[str] = "routing.rules_activated"
    version: int
    previous_version: int | None
    author: str
    comment: str | None = None

    @property
    def stream(self) -> str:
        return "routing:rules"


@dataclass(frozen=True)
class OrderRouted(OrderEvent):
    """Routing chose where the order ships from (or found no way): the explanation, kept."""

    type: ClassVar[str] = "order.routed"
    strategy: str
    rules_version: int | None
    locations: tuple[str, ...]
    explanation: dict[str, Any]


# --- fulfilment (issue 6): on the order's stream, so they join its hash-chained history ---


@dataclass(frozen=True)
class FulfilmentCreated(OrderEvent):
    type: ClassVar[str] = "fulfilment.created"
    fulfilment_id: str
    location: str
    provider: str
    lines: tuple[dict[str, Any], ...]  # {line_id, sku, quantity}


@dataclass(frozen=True)
class FulfilmentDispatched(OrderEvent):
    type: ClassVar[str] = "fulfilment.dispatched"
    fulfilment_id: str
    provider: str
    external_ref: str | None = None


@dataclass(frozen=True)
class FulfilmentAccepted(OrderEvent):
    type: ClassVar[str] = "fulfilment.accepted"
    fulfilment_id: str


@dataclass(frozen=True)
class FulfilmentRejected(OrderEvent):
    type: ClassVar[str] = "fulfilment.rejected"
    fulfilment_id: str
    location: str
    reason: str


@dataclass(frozen=True)
class FulfilmentStarted(OrderEvent):
    type: ClassVar[str] = "fulfilment.in_progress"
    fulfilment_id: str


@dataclass(frozen=True)
class FulfilmentShipped(OrderEvent):
    """Every unit of the fulfilment order has left the location (one or more shipments)."""

    type: ClassVar[str] = "fulfilment.shipped"
    fulfilment_id: str


@dataclass(frozen=True)
class FulfilmentDelivered(OrderEvent):
    type: ClassVar[str] = "fulfilment.delivered"
    fulfilment_id: str


@dataclass(frozen=True)
class FulfilmentCancelled(OrderEvent):
    type: ClassVar[str] = "fulfilment.cancelled"
    fulfilment_id: str
    reason: str


@dataclass(frozen=True)
class ShipmentCreated(OrderEvent):
    type: ClassVar[str] = "shipment.created"
    shipment_id: str
    fulfilment_id: str
    location: str
    carrier: str
    service: str | None
    tracking_number: str | None
    lines: tuple[dict[str, Any], ...]  # {line_id, quantity}
    shipped_at: datetime


@dataclass(frozen=True)
class ShipmentStatusChanged(OrderEvent):
    type: ClassVar[str] = "shipment.status_changed"
    shipment_id: str
    fulfilment_id: str
    from_status: str
    to_status: str
    detail: str | None = None


@dataclass(frozen=True)
class FulfilmentExceptionRaised(OrderEvent):
    """Something needs a person or a re-route: a rejection, a stock-out, a failed delivery."""

    type: ClassVar[str] = "fulfilment.exception_raised"
    exception_id: str
    kind: str
    detail: str


@dataclass(frozen=True)
class OrderSlaAtRisk(OrderEvent):
    type: ClassVar[str] = "order.sla_at_risk"
    ship_by: datetime


@dataclass(frozen=True)
class OrderSlaBreached(OrderEvent):
    type: ClassVar[str] = "order.sla_breached"
    ship_by: datetime


# --- stores (issue 21): pick-up in store, on the order's stream for the channel and webhooks ---
@dataclass(frozen=True)
class OrderReadyForPickup(OrderEvent):
    """The store has the order ready; the customer may collect it until ``expires_at``."""

    type: ClassVar[str] = "order.ready_for_pickup"
    fulfilment_id: str
    location: str
    expires_at: datetime


@dataclass(frozen=True)
class OrderPickedUp(OrderEvent):
    type: ClassVar[str] = "order.picked_up"
    fulfilment_id: str
    location: str


@dataclass(frozen=True)
class OrderPickupExpired(OrderEvent):
    """Not collected in time: the order is cancelled and its units go back on sale."""

    type: ClassVar[str] = "order.pickup_expired"
    fulfilment_id: str
    location: str
