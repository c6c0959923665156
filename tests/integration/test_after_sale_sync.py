"""Sync back to the channel (SQLite and PostgreSQL), against httpx.MockTransport."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from orderhub.bootstrap import Container
from orderhub.channels.api_client import ChannelApiError
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.domain.editing import ChangeLine, OrderEdit, ShippingChange
from orderhub.domain.money import Money
from orderhub.domain.orders import Address, Customer, LineDraft, OrderDraft, Shipping
from orderhub.domain.returns import request_return
from orderhub.services import refunds, returns
from orderhub.services.after_sale_sync import consumers
from orderhub.services.editing import edit_order
from orderhub.services.ingest import ingest_order
from orderhub.services.messagebus import Message, OutboundConsumer
from orderhub.services.orders import cancel_order
from orderhub.store import history
from orderhub.workers.targets import OutboundTarget


class Recorder:
    def __init__(self, status: int = 200) -> None:
        self.requests: list[httpx.Request] = []
        self.status = status

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, json={})

    def calls(self) -> list[tuple[str, str, object]]:
        return [
            (r.method, r.url.path, json.loads(r.content) if r.content else None)
            for r in self.requests
        ]


def add_channel(
    container: Container, code: str, kind: ChannelKind, *, sync_back: bool = True
) -> None:
    with container.uow(actor="test") as uow:
        uow.channels.add(
            Channel(
                code=code,
                name=code,
                kind=kind,
                api_base_url="http://127.0.0.1:9/api",
                credentials={"access_token": "t", "consumer_key": "k", "consumer_secret": "s"},
                sync_back=sync_back,
            )
        )
        uow.commit()


def order_on(
    container: Container,
    channel: str,
    *,
    actor: str = "test",
    metadata: dict[str, object] | None = None,
) -> str:
    usd = "USD"

    def money(value: str) -> Money:
        return Money(Decimal(value), usd)

    draft = OrderDraft(
        channel=channel,
        external_id="5001",
        currency=usd,
        placed_at=datetime(2026, 11, 20, tzinfo=UTC),
        customer=Customer(email="b@example.com"),
        shipping_address=None,
        billing_address=None,
        lines=(
            LineDraft("SKU-1", 2, money("10.00"), money("1.00"), money("2.33"),
                      channel_line_id="111"),
            LineDraft("SKU-2", 1, money("5.00"), money("0"), money("0"), channel_line_id="222"),
        ),
        shipping=Shipping(money("4.00"), money("0"), money("0")),
        metadata=dict(metadata or {}),
    )  # fmt: skip
    with container.uow(actor=actor) as uow:
        result = ingest_order(uow, draft=draft, source="test", payload="{}")
    assert result.order_id
    return result.order_id


def deliver(
    container: Container, order_id: str, consumer: OutboundConsumer, event_type: str
) -> None:
    """Hand the order's last ``event_type`` event to ``consumer``, as the worker does."""
    with container.uow(read_only=True) as uow:
        event = [e for e in history.events_of(uow.conn, order_id) if e.type == event_type][-1]
    message = Message(
        event.id, event.type, f"order:{order_id}", event.data, event.actor, event.occurred_at
    )
    OutboundTarget(consumer, container.uow).deliver(message, on_done=lambda _uow: None)


def named(recorder: Recorder, name: str) -> OutboundConsumer:
    transport = httpx.MockTransport(recorder)
    return next(c for c in consumers(lambda: transport) if c.name == name)


def test_a_hub_cancellation_is_sent_to_shopify_with_its_reason(seeded: Container) -> None:
    add_channel(seeded, "shop", ChannelKind.SHOPIFY)
    order_id = order_on(seeded, "shop")
    with seeded.uow(actor="user:ops") as uow:
        cancel_order(uow, order_id=order_id, reason="fraud")
    recorder = Recorder()
    deliver(seeded, order_id, named(recorder, "channels.cancel"), "order.cancelled")
    assert recorder.calls() == [
        (
            "POST",
            "/api/admin/api/2024-10/orders/5001/cancel.json",
            {"reason": "fraud", "email": False},
        )
    ]


def test_a_cancellation_that_came_from_the_channel_is_not_echoed_back(
    seeded: Container,
) -> None:
    add_channel(seeded, "shop", ChannelKind.SHOPIFY)
    order_id = order_on(seeded, "shop")
    with seeded.uow(actor="channel:shop") as uow:
        cancel_order(uow, order_id=order_id, reason="customer")
    recorder = Recorder()
    deliver(seeded, order_id, named(recorder, "channels.cancel"), "order.cancelled")
    assert recorder.requests == []


def test_a_channel_without_sync_back_hears_of_no_cancellation_and_no_refund(
    seeded: Container,
) -> None:
    add_channel(seeded, "shop", ChannelKind.SHOPIFY, sync_back=False)
    order_id = order_on(seeded, "shop")
    with seeded.uow() as uow:
        first = uow.orders.get(order_id).lines[0].id
        uow.rollback()
        refunds.refund_units(uow, order_id=order_id, units={first: 1}, reason="damaged")
    with seeded.uow(actor="user:ops") as uow:
        cancel_order(uow, order_id=order_id, reason="fraud")
    recorder = Recorder()
    deliver(seeded, order_id, named(recorder, "channels.refund"), "order.refunded")
    deliver(seeded, order_id, named(recorder, "channels.cancel"), "order.cancelled")
    assert recorder.requests == []


def test_a_refund_reaches_shopify_as_refund_line_items(seeded: Container) -> None:
    add_channel(seeded, "shop", ChannelKind.SHOPIFY)
    order_id = order_on(seeded, "shop")
    with seeded.uow() as uow:
        first = uow.orders.get(order_id).lines[0].id
        uow.rollback()
        refunds.refund_units(uow, order_id=order_id, units={first: 1}, reason="damaged")
    recorder = Recorder()
    deliver(seeded, order_id, named(recorder, "channels.refund"), "order.refunded")
    ((method, path, body),) = recorder.calls()
    assert (method, path) == ("POST", "/api/admin/api/2024-10/orders/5001/refunds.json")
    assert body == {
        "refund": {
            "currency": "USD",
            "notify": False,
            "note": "damaged",
            "refund_line_items": [
                {"line_item_id": 111, "quantity": 1, "restock_type": "no_restock"}
            ],
        }
    }


def test_a_refund_reaches_woocommerce_with_per_line_totals_and_a_refusal_raises(
    seeded: Container,
) -> None:
    add_channel(seeded, "woo", ChannelKind.WOOCOMMERCE)
    order_id = order_on(seeded, "woo")
    with seeded.uow() as uow:
        first = uow.orders.get(order_id).lines[0].id
        uow.rollback()
        refunds.refund_units(uow, order_id=order_id, units={first: 1}, reason="late")
    with pytest.raises(ChannelApiError):  # refused: nothing recorded, so the retry calls again
        deliver(seeded, order_id, named(Recorder(400), "channels.refund"), "order.refunded")
    recorder = Recorder()
    deliver(seeded, order_id, named(recorder, "channels.refund"), "order.refunded")
    ((method, path, body),) = recorder.calls()
    assert (method, path) == ("POST", "/api/wp-json/wc/v3/orders/5001/refunds")
    # 10.00 − 0.50 discount share + 1.16 tax share (2.33 × ½, half-even)
    assert body == {
        "amount": "10.66",
        "reason": "late",
        "api_refund": False,
        "line_items": [{"id": 111, "quantity": 1, "refund_total": "10.66"}],
    }
    again = Recorder()
    deliver(seeded, order_id, named(again, "channels.refund"), "order.refunded")
    assert again.calls() == [], "a delivered event is not called again"


def test_a_full_refund_reaches_bigcommerce_as_products_shipping_and_one_offline_payment(
    seeded: Container,
) -> None:
    add_channel(seeded, "bc", ChannelKind.BIGCOMMERCE)
    order_id = order_on(seeded, "bc", metadata={"order_address_ids": [7]})
    with seeded.uow() as uow:
        first, second = (line.id for line in uow.orders.get(order_id).lines)
        uow.rollback()
        refunds.refund_units(uow, order_id=order_id, units={first: 2, second: 1}, reason="lost")
    recorder = Recorder()
    deliver(seeded, order_id, named(recorder, "channels.refund"), "order.refunded")
    ((method, path, body),) = recorder.calls()
    assert (method, path) == ("POST", "/api/v3/orders/5001/payment_actions/refunds")
    # 2 × 10.00 − 1.00 + 2.33 tax, + 5.00, + 4.00 shipping (the last units take it along)
    assert body == {
        "items": [
            {"item_type": "PRODUCT", "item_id": 111, "quantity": 2, "reason": "lost"},
            {"item_type": "PRODUCT", "item_id": 222, "quantity": 1, "reason": "lost"},
            {"item_type": "SHIPPING", "item_id": 7, "amount": 4.0},
        ],
        "payments": [{"provider_id": "custom", "amount": 30.33, "offline": True}],
    }


def test_a_refund_reaches_magento_as_an_offline_credit_memo_and_a_refusal_raises(
    seeded: Container,
) -> None:
    add_channel(seeded, "mage", ChannelKind.MAGENTO)
    order_id = order_on(seeded, "mage")
    with seeded.uow() as uow:
        first = uow.orders.get(order_id).lines[0].id
        uow.rollback()
        refunds.refund_units(uow, order_id=order_id, units={first: 1}, reason="damaged")
    with pytest.raises(ChannelApiError):  # refused: nothing recorded, so the retry calls again
        deliver(seeded, order_id, named(Recorder(422), "channels.refund"), "order.refunded")
    recorder = Recorder()
    deliver(seeded, order_id, named(recorder, "channels.refund"), "order.refunded")
    assert recorder.calls() == [
        (
            "POST",
            "/api/V1/order/5001/refund",
            {
                "items": [{"order_item_id": 111, "qty": 1}],
                "notify": False,
                "appendComment": True,
                "comment": {"comment": "damaged", "is_visible_on_front": 0},
                "arguments": {
                    "shipping_amount": 0.0,
                    "adjustment_positive": 0,
                    "adjustment_negative": 0.0,
                },
            },
        )
    ]


def test_return_status_changes_become_woocommerce_order_notes(seeded: Container) -> None:
    add_channel(seeded, "woo", ChannelKind.WOOCOMMERCE)
    order_id = order_on(seeded, "woo")
    with seeded.uow() as uow:
        order = uow.orders.get(order_id)
        uow.rollback()
    # a return needs shipped units: pretend the fulfilment said so
    with seeded.uow() as uow:
        rma = request_return(
            uow.orders.get(order_id, for_update=True),
            {order.lines[1].id: 1},
            reason="broken",
            policy=refunds.return_policy(uow.channels.get("woo")),
            delivered_at=None,
            now=datetime.now(UTC),
            shipped={order.lines[1].id: 1},
            already_returned={},
        )
        uow.after_sale.add_return(rma, channel="woo", now=datetime.now(UTC))
        uow.commit()
        returns.act(uow, return_id=rma.id, action=returns.Action("reject", note="too late"))
    recorder = Recorder()
    deliver(seeded, order_id, named(recorder, "channels.return_status"), "return.status_changed")
    assert recorder.calls() == [
        (
            "POST",
            "/api/wp-json/wc/v3/orders/5001/notes",
            {"note": f"Return {rma.id}: rejected (too late)", "customer_note": False},
        )
    ]


def _edit_on(container: Container, channel: str, kind: ChannelKind) -> str:
    add_channel(container, channel, kind)
    order_id = order_on(container, channel)
    with container.uow(actor="user:ops") as uow:
        line = uow.orders.get(order_id).lines[1]
        uow.rollback()
        edit_order(
            uow,
            order_id=order_id,
            edit=OrderEdit(
                shipping_address=Address("US", name="Ann Lee", line1="1 Main St", city="Austin",
                                         region="TX", postal_code="73301"),
                change_lines=(ChangeLine(line.id, 2),),
                reason="customer called",
            ),
        )  # fmt: skip
    return order_id


def test_an_order_edit_reaches_shopify_as_its_new_shipping_address(seeded: Container) -> None:
    order_id = _edit_on(seeded, "shop", ChannelKind.SHOPIFY)
    recorder = Recorder()
    deliver(seeded, order_id, named(recorder, "channels.edit"), "order.edited")
    assert recorder.calls() == [
        (
            "PUT",
            "/api/admin/api/2024-10/orders/5001.json",
            {
                "order": {
                    "id": 5001,
                    "shipping_address": {
                        "address1": "1 Main St",
                        "city": "Austin",
                        "province_code": "TX",
                        "zip": "73301",
                        "country_code": "US",
                        "first_name": "Ann",
                        "last_name": "Lee",
                    },
                }
            },
        )
    ]


def test_an_order_edit_becomes_a_woocommerce_note_and_a_magento_comment(
    seeded: Container,
) -> None:
    woo = _edit_on(seeded, "woo", ChannelKind.WOOCOMMERCE)
    recorder = Recorder()
    deliver(seeded, woo, named(recorder, "channels.edit"), "order.edited")
    ((method, path, body),) = recorder.calls()
    assert (method, path) == ("POST", "/api/wp-json/wc/v3/orders/5001/notes")
    assert isinstance(body, dict)
    assert body["note"] == (
        "Order edited in OrderHub (customer called): SKU-2 1 → 2; "
        "ship to 1 Main St, Austin, TX, 73301, US; total 30.33 → 35.33"
    )
    assert body["customer_note"] is False
    with seeded.uow(actor="test") as uow:
        uow.channels.add(
            Channel(code="mage", name="m", kind=ChannelKind.MAGENTO,
                    api_base_url="http://127.0.0.1:9/api", credentials={"access_token": "t"})
        )  # fmt: skip
        uow.commit()
    mage = _edit_on_existing(seeded, "mage")
    recorder = Recorder()
    deliver(seeded, mage, named(recorder, "channels.edit"), "order.edited")
    ((method, path, body),) = recorder.calls()
    assert (method, path) == ("POST", "/api/V1/orders/5001/comments")
    assert isinstance(body, dict)
    assert body["statusHistory"]["comment"].startswith("Order edited in OrderHub")
    assert body["statusHistory"]["is_customer_notified"] == 0


def _edit_on_existing(container: Container, channel: str) -> str:
    order_id = order_on(container, channel)
    with container.uow(actor="user:ops") as uow:
        edit_order(
            uow, order_id=order_id, edit=OrderEdit(shipping=ShippingChange(price=Decimal("5.00")))
        )
    return order_id


def test_an_edit_the_channel_made_is_not_echoed_back(seeded: Container) -> None:
    add_channel(seeded, "woo", ChannelKind.WOOCOMMERCE)
    order_id = order_on(seeded, "woo")
    with seeded.uow(actor="channel:woo") as uow:
        edit_order(
            uow, order_id=order_id, edit=OrderEdit(shipping=ShippingChange(price=Decimal("1.00")))
        )
    recorder = Recorder()
    deliver(seeded, order_id, named(recorder, "channels.edit"), "order.edited")
    assert recorder.calls() == []
