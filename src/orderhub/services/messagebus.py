"""Internal consumers of domain events, run by the outbox worker (at least once, in order).

Every consumer is named (deliveries are tracked per consumer) and must be idempotent on the
event id: the worker may hand it the same event again after a crash. A consumer that calls the
event's channel says so (``calls_channel``): events of a channel that takes no sync back
(``Channel.sync_back`` false) get no delivery for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from orderhub.services import after_sale_sync, fulfilment_wiring, outbound
from orderhub.services.allocation import allocate_order
from orderhub.services.outbound.calls import TransportFactory, transports
from orderhub.store.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Message:
    """A domain event as read back from the outbox."""

    id: str
    type: str
    stream: str
    data: dict[str, Any]
    actor: str
    occurred_at: datetime


Handler = Callable[[UnitOfWork, Message], None]


@dataclass(frozen=True)
class Consumer:
    name: str
    event_types: frozenset[str]
    handle: Handler
    calls_channel: bool = False  # skipped for channels with sync_back false

    def wants(self, event_type: str) -> bool:
        return event_type in self.event_types


def _allocate_received(uow: UnitOfWork, message: Message) -> None:
    """A new order: reserve its stock (idempotent: an allocated order is left alone)."""
    allocate_order(uow, order_id=message.data["order_id"])


def internal_consumers(*, transport: TransportFactory | None = None) -> list[Consumer]:
    """The one list of internal consumers; each capability adds its own here.

    ``transport`` makes the channel calls (the worker passes its SSRF-guarded or injected
    one); without it they go through the SSRF guard with no exceptions allowed.
    """
    channel_transport = transport or transports(None, [])
    return [
        Consumer("inventory.allocate", frozenset({"order.received"}), _allocate_received),
        Consumer(
            "fulfilment.dispatch",
            frozenset({fulfilment_wiring.DISPATCH_EVENT}),
            fulfilment_wiring.on_order_allocated,
        ),
        *outbound.consumers(channel_transport),
        *after_sale_sync.consumers(channel_transport),
    ]
