"""Outbound channel sync: the internal consumers that call the channels' APIs.

- ``channels.ship`` — on ``shipment.created``, mark the lines shipped with carrier and tracking;
- ``channels.stock`` — on ``inventory.available_changed``, push the available-to-sell;
- ``channels.acknowledge`` — on ``order.received`` from Walmart, acknowledge the order;
- ``channels.b2b`` — EDI 855/856/810 and cXML confirmation and ship notice to the buyer
  (:mod:`orderhub.services.outbound.b2b`).

None of them calls a channel whose ``sync_back`` is false (the worker does not even create
their deliveries for its events; one created before the switch is delivered without a call).
Each runs inside the worker's delivery transaction (receipt taken first), makes its calls and
returns; a failure rolls the receipt back so the worker retries (or buries, for a permanent
refusal). A retry may repeat a call: the ship calls skip what the channel already has (Shopify)
or are refused as duplicates, and the stock pushes are absolute quantities.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orderhub.channels import walmart
from orderhub.domain.channels import ChannelKind
from orderhub.domain.errors import NotFound
from orderhub.services.outbound import b2b, inventory, shipments
from orderhub.services.outbound.calls import TransportFactory, marketplace_calls
from orderhub.store.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from orderhub.services.messagebus import Consumer, Message


def consumers(transport: TransportFactory) -> list[Consumer]:
    """The outbound consumers, making their calls through ``transport``."""
    from orderhub.services.messagebus import Consumer

    def ship(uow: UnitOfWork, message: Message) -> None:
        order = uow.orders.get(message.data["order_id"])
        channel = uow.channels.get(order.channel)
        shipments.mark_shipped(channel, order, message.data, transport)

    def stock(uow: UnitOfWork, message: Message) -> None:
        try:
            channel = uow.channels.get(str(message.data["channel"]))
        except NotFound:
            return
        sku = str(message.data["sku"])
        inventory.push_available(
            channel,
            sku=sku,
            available=int(message.data["available"]),
            item=uow.channel_items.get(channel.code, sku),
            transport=transport,
        )

    def acknowledge(uow: UnitOfWork, message: Message) -> None:
        channel = uow.channels.get(str(message.data["channel"]))
        if channel.kind != ChannelKind.WALMART or not channel.sync_back:
            return
        with marketplace_calls(channel, transport) as call:
            call(walmart.acknowledge(str(message.data["external_id"])))

    def documents(uow: UnitOfWork, message: Message) -> None:
        b2b.on_event(uow, message.type, message.data, transport)

    return [
        Consumer("channels.b2b", b2b.EVENTS, documents, calls_channel=True),
        Consumer("channels.ship", frozenset({"shipment.created"}), ship, calls_channel=True),
        Consumer(
            "channels.stock", frozenset({"inventory.available_changed"}), stock, calls_channel=True
        ),
        Consumer(
            "channels.acknowledge", frozenset({"order.received"}), acknowledge, calls_channel=True
        ),
    ]
