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

Each is an :class:`~orderhub.services.messagebus.OutboundConsumer`: the order, channel and
refund are read and the requests built in a short transaction, the calls are made with no
transaction open. A refused call (4xx other than 429) raises, so the delivery is retried and
then buried where an operator sees it; 429 and 5xx are retried by
:func:`orderhub.channels.http.send` first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from orderhub.channels import bigcommerce, magento, shopify, woocommerce
from orderhub.channels.api_client import ChannelApiError
from orderhub.channels.base import OutboundRequest
from orderhub.channels.http import channel_client, send
from orderhub.domain.cancellation import CancelReason
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.domain.money import Money
from orderhub.domain.orders import Order
from orderhub.store.after_sale import StoredRefund
from orderhub.store.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from orderhub.services.messagebus import Message, OutboundConsumer, Outcall

TransportFactory = Callable[[], httpx.BaseTransport | None]
RETURN_EVENTS = frozenset({"return.requested", "return.status_changed"})

_SHOPIFY_REASONS: dict[str, str] = {
    CancelReason.CUSTOMER_REQUEST: "customer",
    CancelReason.FRAUD: "fraud",
    CancelReason.OUT_OF_STOCK: "inventory",
}


def _call(channel: Channel, requests: list[OutboundRequest], transport: TransportFactory) -> None:
    with channel_client(channel, transport=transport()) as client:
        for request in requests:
            response = send(client, request)
            if response.is_error:
                raise ChannelApiError(response.status_code, response.text, request.path)


# The kinds with after-sale calls (the stores); the others get no delivery for these events.
SYNCED_KINDS = frozenset(
    {ChannelKind.SHOPIFY, ChannelKind.WOOCOMMERCE, ChannelKind.BIGCOMMERCE, ChannelKind.MAGENTO}
)

# The kinds told of order edits (docs/channels/*.md, "Order edits").
EDIT_KINDS = frozenset({ChannelKind.SHOPIFY, ChannelKind.WOOCOMMERCE, ChannelKind.MAGENTO})


def _syncable(channel: Channel) -> bool:
    """Connected (an ``api_base_url``), synced back, and of a kind with these calls."""
    return channel.sync_back and bool(channel.api_base_url) and channel.kind in SYNCED_KINDS


def cancel_requests(channel: Channel, order: Order, reason: str) -> list[OutboundRequest]:
    """The calls that cancel ``order`` on its channel (none where it cannot be done)."""
    ref = order.external_id
    if channel.kind == ChannelKind.SHOPIFY:
        return [shopify.cancel(ref, reason=_SHOPIFY_REASONS.get(reason, "other"))]
    if channel.kind == ChannelKind.WOOCOMMERCE:
        return [woocommerce.cancel(ref)]
    if channel.kind == ChannelKind.BIGCOMMERCE:
        return [bigcommerce.cancel(ref)]
    if channel.kind == ChannelKind.MAGENTO:
        return [magento.cancel(ref)]
    return []


def edit_note(data: Mapping[str, Any]) -> str:
    """An order edit in one line, for a channel that takes order notes."""
    changes = data.get("changes") or {}
    parts = [f"{x['sku']} {x['before']} → {x['after']}" for x in changes.get("lines", [])] + [
        f"added {x['sku']} × {x['quantity']} at {x['unit_price']}"
        for x in changes.get("added_lines", [])
    ]
    address = (changes.get("shipping_address") or {}).get("after")
    if address:
        where = ", ".join(
            str(address[k])
            for k in ("line1", "city", "region", "postal_code", "country")
            if address.get(k)
        )
        parts.append(f"ship to {where}")
    shipping = (changes.get("shipping") or {}).get("after")
    if shipping:
        parts.append(
            f"shipping {shipping.get('method') or ''} {shipping['price']}".replace("  ", " ")
        )
    totals = changes.get("totals") or {}
    if totals:
        parts.append(f"total {totals['before']['total']} → {totals['after']['total']}")
    reason = f" ({data['reason']})" if data.get("reason") else ""
    return f"Order edited in OrderHub{reason}: " + "; ".join(parts)


def edit_requests(channel: Channel, order: Order, data: Mapping[str, Any]) -> list[OutboundRequest]:
    """How the channel hears of an order edit: Shopify gets a new shipping address (its line
    edits are GraphQL order-edit sessions, not sent); WooCommerce a private order note;
    Magento a status-history comment; BigCommerce nothing."""
    ref = order.external_id
    if channel.kind == ChannelKind.SHOPIFY:
        changes = data.get("changes") or {}
        address = (changes.get("shipping_address") or {}).get("after")
        return [shopify.update_shipping_address(ref, address)] if address else []
    if channel.kind == ChannelKind.WOOCOMMERCE:
        return [woocommerce.add_note(ref, edit_note(data))]
    if channel.kind == ChannelKind.MAGENTO:
        return [magento.add_comment(ref, edit_note(data))]
    return []


def refund_requests(
    uow: UnitOfWork, channel: Channel, order: Order, refund_id: str
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
    amount = str(Money.from_minor(stored.amount_minor, stored.currency).amount)
    ref = order.external_id
    if channel.kind == ChannelKind.SHOPIFY:
        shipping = Money.from_minor(stored.shipping_minor, stored.currency)
        return [
            shopify.refund(
                ref,
                currency=stored.currency,
                lines=[(item, quantity) for item, quantity, _ in lines if item],
                shipping=str(shipping.amount) if stored.shipping_minor else None,
                note=stored.reason,
            )
        ]
    if channel.kind == ChannelKind.WOOCOMMERCE:
        return [
            woocommerce.refund(
                ref,
                amount=amount,
                lines=[(item, q, t) for item, q, t in lines if item],
                reason=stored.reason,
            )
        ]
    counted = [(item, quantity) for item, quantity, _ in lines if item]
    if channel.kind == ChannelKind.BIGCOMMERCE:
        return [bigcommerce_refund(order, stored, counted)]
    if channel.kind == ChannelKind.MAGENTO:
        return [
            magento.refund(
                ref,
                lines=counted,
                shipping=Money.from_minor(stored.shipping_minor, stored.currency).amount,
                fees=Money.from_minor(stored.fees_minor, stored.currency).amount,
                reason=stored.reason,
            )
        ]
    return []


def bigcommerce_refund(
    order: Order, stored: StoredRefund, lines: list[tuple[str, int]]
) -> OutboundRequest:
    """Shipping is refunded against the order's first shipping address (ingest keeps their
    ids in ``order_address_ids``); without one the shipping share rides in the payment only."""
    addresses = order.metadata.get("order_address_ids") or []
    shipping = None
    if stored.shipping_minor and addresses and addresses[0] is not None:
        shipping = (
            int(addresses[0]),
            Money.from_minor(stored.shipping_minor, stored.currency).amount,
        )
    return bigcommerce.refund(
        order.external_id,
        lines=lines,
        amount=Money.from_minor(stored.amount_minor, stored.currency).amount,
        shipping=shipping,
        reason=stored.reason,
    )


def _from_channel(message: Message, order: Order) -> bool:
    return (
        message.actor == f"channel:{order.channel}"
        or message.data.get("reason") == CancelReason.CHANNEL_CANCELLED.value
    )


def consumers(transport: TransportFactory = lambda: None) -> list[OutboundConsumer]:
    """The sync-back consumers, calling the channels through ``transport``."""
    from orderhub.services.messagebus import OutboundConsumer, Outcall

    def load(uow: UnitOfWork, message: Message) -> tuple[Order, Channel] | None:
        order = uow.orders.get(str(message.data["order_id"]))
        channel = uow.channels.get(order.channel)
        return (order, channel) if _syncable(channel) else None

    def calling(channel: Channel, requests: list[OutboundRequest]) -> Outcall[None] | None:
        if not requests:
            return None
        return Outcall(lambda: _call(channel, requests, transport))

    def on_cancelled(uow: UnitOfWork, message: Message) -> Outcall[None] | None:
        found = load(uow, message)
        if found is None or not message.data.get("whole_order", True):
            return None  # partial cancellations reach the channel as their refund
        order, channel = found
        if _from_channel(message, order):
            return None
        return calling(channel, cancel_requests(channel, order, str(message.data["reason"])))

    def on_refunded(uow: UnitOfWork, message: Message) -> Outcall[None] | None:
        found = load(uow, message)
        if found is None:
            return None
        order, channel = found
        return calling(
            channel, refund_requests(uow, channel, order, str(message.data["refund_id"]))
        )

    def on_return(uow: UnitOfWork, message: Message) -> Outcall[None] | None:
        found = load(uow, message)
        if found is None or found[1].kind != ChannelKind.WOOCOMMERCE:
            return None
        order, channel = found
        status = message.data.get("to_status", "requested")
        note = f"Return {message.data['return_id']}: {status}"
        if message.data.get("note"):
            note += f" ({message.data['note']})"
        return calling(channel, [woocommerce.add_note(order.external_id, note)])

    def on_edited(uow: UnitOfWork, message: Message) -> Outcall[None] | None:
        found = load(uow, message)
        if found is None or message.actor == f"channel:{found[0].channel}":
            return None  # an edit the channel made is not echoed back
        order, channel = found
        return calling(channel, edit_requests(channel, order, message.data))

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
