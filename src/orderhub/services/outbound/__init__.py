"""Outbound channel sync: the internal consumers that call the channels' APIs.

- ``channels.ship`` — on ``shipment.created``, mark the lines shipped with carrier and tracking;
- ``channels.stock`` — on ``inventory.available_changed``, push the available-to-sell;
- ``channels.acknowledge`` — on ``order.received`` from Walmart, acknowledge the order;
- ``channels.b2b`` — EDI 855/856/810 and cXML confirmation and ship notice to the buyer
  (:mod:`orderhub.services.outbound.b2b`).

The first three call through the channel kind's adapter and subscribe to the kinds that have
one (:mod:`orderhub.services.outbound.registry`).

Each is an :class:`~orderhub.services.messagebus.OutboundConsumer`: it reads the order,
channel and items in a short transaction and returns the call, which the worker makes with no
transaction open before it takes the receipt; a failure records nothing, so the worker retries
(or buries, for a permanent refusal). A retry may repeat a call: the ship calls skip what the
channel already has (Shopify) or are refused as duplicates, and the stock pushes are absolute
quantities.
None of them calls a channel whose ``sync_back`` is false (the worker does not even create
their deliveries for its events; one created before the switch is delivered without a call).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orderhub.domain.errors import NotFound
from orderhub.services.outbound import b2b, inventory, shipments
from orderhub.services.outbound.calls import TransportFactory, marketplace_calls
from orderhub.services.outbound.registry import ADAPTERS, MARKETPLACE_ADAPTERS
from orderhub.store.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from orderhub.services.messagebus import Message, OutboundConsumer


# The kinds whose orders are acknowledged on arrival (Walmart).
ACKNOWLEDGED = frozenset(kind for kind, a in MARKETPLACE_ADAPTERS.items() if a.acknowledge)


def consumers(transport: TransportFactory) -> list[OutboundConsumer]:
    """The outbound consumers, making their calls through ``transport``."""
    from orderhub.services.messagebus import OutboundConsumer, Outcall

    def ship(uow: UnitOfWork, message: Message) -> Outcall[bool]:
        order = uow.orders.get(message.data["order_id"])
        channel = uow.channels.get(order.channel)
        return Outcall(lambda: shipments.mark_shipped(channel, order, message.data, transport))

    def stock(uow: UnitOfWork, message: Message) -> Outcall[bool] | None:
        try:
            channel = uow.channels.get(str(message.data["channel"]))
        except NotFound:
            return None
        sku = str(message.data["sku"])
        item = uow.channel_items.get(channel.code, sku)
        available = int(message.data["available"])
        return Outcall(
            lambda: inventory.push_available(
                channel, sku=sku, available=available, item=item, transport=transport
            )
        )

    def acknowledge(uow: UnitOfWork, message: Message) -> Outcall[None] | None:
        channel = uow.channels.get(str(message.data["channel"]))
        adapter = MARKETPLACE_ADAPTERS.get(channel.kind)
        if adapter is None or adapter.acknowledge is None or not channel.sync_back:
            return None
        request = adapter.acknowledge(str(message.data["external_id"]))

        def send() -> None:
            with marketplace_calls(channel, transport) as call:
                call(request)

        return Outcall(send)

    def documents(uow: UnitOfWork, message: Message) -> Outcall[None] | None:
        document = b2b.prepare(uow, message.type, message.data, event_id=message.id)
        if document is None:
            return None
        return Outcall(lambda: b2b.post(document, transport), lambda uow, _: document.settle(uow))

    return [
        OutboundConsumer(
            "channels.b2b", b2b.EVENTS, documents, prepare_writes=True, channel_kinds=b2b.KINDS
        ),
        OutboundConsumer(
            "channels.ship",
            frozenset({"shipment.created"}),
            ship,
            channel_kinds=frozenset(ADAPTERS),
        ),
        OutboundConsumer(
            "channels.stock",
            frozenset({"inventory.available_changed"}),
            stock,
            channel_kinds=frozenset(ADAPTERS),
        ),
        OutboundConsumer(
            "channels.acknowledge",
            frozenset({"order.received"}),
            acknowledge,
            channel_kinds=ACKNOWLEDGED,
        ),
    ]
