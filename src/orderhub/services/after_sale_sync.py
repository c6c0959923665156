"""Sync back: cancellations, refunds and return status told to the channel the order came from.

Internal consumers (listed in :func:`orderhub.services.messagebus.internal_consumers`), none
of which calls a channel whose ``sync_back`` is false:

- ``channels.cancel`` — on ``order.cancelled`` of the whole order: the channel's cancel call
  (Shopify, WooCommerce, BigCommerce, Magento). A cancellation that came *from* the channel
  (its webhook or pull: actor ``channel:<code>`` or reason ``channel_cancelled``) is not echoed.
- ``channels.refund`` — on ``order.refunded``: Shopify ``refunds.json`` with its
  ``refund_line_items``, WooCommerce ``orders/{id}/refunds`` with per-line totals,
  BigCommerce ``/v3/orders/{id}/payment_actions/refunds`` (an offline payment), Magento
  ``/V1/order/{id}/refund`` (an offline credit memo).
- ``channels.edit`` — on ``order.edited``: Shopify's new shipping address (``PUT
  orders/{id}.json``), a private order note on WooCommerce, a status-history comment on
  Magento.
- ``channels.return_status`` — on return events: a private order note on WooCommerce (the
  other channels have no REST returns API the hub can drive).

The requests come from the kind's store adapter (:mod:`orderhub.services.outbound.registry`).
``channels.edit`` subscribes to the kinds whose adapter takes edits, the others to every store
kind (a return status is then sent only where the adapter has a return note).

Each is an :class:`~orderhub.services.messagebus.OutboundConsumer`: the order, channel and
refund are read and the requests built in a short transaction, the calls are made with no
transaction open. A refused call (4xx other than 429) raises, so the delivery is retried and
then buried where an operator sees it; 429 and 5xx are retried by
:func:`orderhub.channels.http.send` first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx

from orderhub.channels.api_client import ChannelApiError
from orderhub.channels.base import OutboundRequest
from orderhub.channels.http import channel_client, send
from orderhub.domain.cancellation import CancelReason
from orderhub.domain.channels import Channel
from orderhub.domain.orders import Order
from orderhub.services.outbound.base import StoreAdapter
from orderhub.services.outbound.registry import STORE_ADAPTERS
from orderhub.store.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from orderhub.services.messagebus import Message, OutboundConsumer, Outcall

TransportFactory = Callable[[], httpx.BaseTransport | None]
RETURN_EVENTS = frozenset({"return.requested", "return.status_changed"})


def _call(channel: Channel, requests: list[OutboundRequest], transport: TransportFactory) -> None:
    with channel_client(channel, transport=transport()) as client:
        for request in requests:
            response = send(client, request)
            if response.is_error:
                raise ChannelApiError(response.status_code, response.text, request.path)


# The kinds with after-sale calls (the stores); the others get no delivery for these events.
SYNCED_KINDS = frozenset(STORE_ADAPTERS)

# The kinds told of order edits (docs/channels/*.md, "Order edits").
EDIT_KINDS = frozenset(kind for kind, adapter in STORE_ADAPTERS.items() if adapter.edit)


def _syncable(channel: Channel) -> StoreAdapter | None:
    """The kind's adapter when connected (an ``api_base_url``) and synced back."""
    if not (channel.sync_back and channel.api_base_url):
        return None
    return STORE_ADAPTERS.get(channel.kind)


def refund_requests(
    uow: UnitOfWork, adapter: StoreAdapter, order: Order, refund_id: str
) -> list[OutboundRequest]:
    """The calls that record the refund ``refund_id`` on the order's channel."""
    stored = next((r for r in uow.after_sale.refunds_of(order.id) if r.id == refund_id), None)
    if stored is None:
        return []
    channel_lines = {line.id: line.channel_line_id for line in order.lines}
    lines = [
        (channel_lines[str(x["line_id"])], int(x["quantity"]), str(x["amount"]))
        for x in stored.lines
        if channel_lines.get(str(x["line_id"]))
    ]
    return adapter.refund(order, stored, lines)


def _from_channel(message: Message, order: Order) -> bool:
    return (
        message.actor == f"channel:{order.channel}"
        or message.data.get("reason") == CancelReason.CHANNEL_CANCELLED.value
    )


def consumers(transport: TransportFactory = lambda: None) -> list[OutboundConsumer]:
    """The sync-back consumers, calling the channels through ``transport``."""
    from orderhub.services.messagebus import OutboundConsumer, Outcall

    def load(uow: UnitOfWork, message: Message) -> tuple[Order, Channel, StoreAdapter] | None:
        order = uow.orders.get(str(message.data["order_id"]))
        channel = uow.channels.get(order.channel)
        adapter = _syncable(channel)
        return None if adapter is None else (order, channel, adapter)

    def calling(channel: Channel, requests: list[OutboundRequest]) -> Outcall[None] | None:
        if not requests:
            return None
        return Outcall(lambda: _call(channel, requests, transport))

    def on_cancelled(uow: UnitOfWork, message: Message) -> Outcall[None] | None:
        found = load(uow, message)
        if found is None or not message.data.get("whole_order", True):
            return None  # partial cancellations reach the channel as their refund
        order, channel, adapter = found
        if _from_channel(message, order):
            return None
        return calling(channel, adapter.cancel(order, str(message.data["reason"])))

    def on_refunded(uow: UnitOfWork, message: Message) -> Outcall[None] | None:
        found = load(uow, message)
        if found is None:
            return None
        order, channel, adapter = found
        return calling(
            channel, refund_requests(uow, adapter, order, str(message.data["refund_id"]))
        )

    def on_return(uow: UnitOfWork, message: Message) -> Outcall[None] | None:
        found = load(uow, message)
        if found is None:
            return None
        order, channel, adapter = found
        if adapter.return_note is None:
            return None
        status = message.data.get("to_status", "requested")
        note = f"Return {message.data['return_id']}: {status}"
        if message.data.get("note"):
            note += f" ({message.data['note']})"
        return calling(channel, adapter.return_note(order, note))

    def on_edited(uow: UnitOfWork, message: Message) -> Outcall[None] | None:
        found = load(uow, message)
        if found is None or message.actor == f"channel:{found[0].channel}":
            return None  # an edit the channel made is not echoed back
        order, channel, adapter = found
        if adapter.edit is None:
            return None
        return calling(channel, adapter.edit(order, message.data))

    return [
        OutboundConsumer(
            "channels.edit", frozenset({"order.edited"}), on_edited, channel_kinds=EDIT_KINDS
        ),
        OutboundConsumer(
            "channels.cancel",
            frozenset({"order.cancelled"}),
            on_cancelled,
            channel_kinds=SYNCED_KINDS,
        ),
        OutboundConsumer(
            "channels.refund",
            frozenset({"order.refunded"}),
            on_refunded,
            channel_kinds=SYNCED_KINDS,
        ),
        OutboundConsumer(
            "channels.return_status", RETURN_EVENTS, on_return, channel_kinds=SYNCED_KINDS
        ),
    ]
