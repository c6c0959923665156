"""BigCommerce and Adobe Commerce refund requests, exactly as their REST APIs document them."""

from __future__ import annotations

import json
from decimal import Decimal

from orderhub.channels import bigcommerce, magento


def test_bigcommerce_refund_posts_quantity_items_and_an_offline_custom_payment() -> None:
    request = bigcommerce.refund(
        "120",
        lines=[("31", 2)],
        amount=Decimal("21.33"),
        shipping=None,
        reason="damaged",
    )
    assert (request.method, request.path) == ("POST", "/v3/orders/120/payment_actions/refunds")
    assert request.body == {
        "items": [{"item_type": "PRODUCT", "item_id": 31, "quantity": 2, "reason": "damaged"}],
        "payments": [{"provider_id": "custom", "amount": 21.33, "offline": True}],
    }


def test_bigcommerce_refund_adds_shipping_as_an_amount_item_on_the_order_address() -> None:
    request = bigcommerce.refund(
        "120",
        lines=[("31", 1)],
        amount=Decimal("14.90"),
        shipping=(9, Decimal("4.9")),
        reason="late",
    )
    assert isinstance(request.body, dict)
    assert request.body["items"][-1] == {"item_type": "SHIPPING", "item_id": 9, "amount": 4.9}
    assert '"amount": 14.9' in json.dumps(request.body)


def test_magento_refund_posts_order_items_and_the_adjustment_arguments() -> None:
    request = magento.refund(
        "5",
        lines=[("3", 1), ("4", 2)],
        shipping=Decimal("5.00"),
        fees=Decimal("2.50"),
        reason="did not fit",
    )
    assert (request.method, request.path) == ("POST", "/V1/order/5/refund")
    assert request.body == {
        "items": [{"order_item_id": 3, "qty": 1}, {"order_item_id": 4, "qty": 2}],
        "notify": False,
        "appendComment": True,
        "comment": {"comment": "did not fit", "is_visible_on_front": 0},
        "arguments": {
            "shipping_amount": 5.0,
            "adjustment_positive": 0,
            "adjustment_negative": 2.5,
        },
    }


def test_magento_refund_can_ask_the_store_to_notify_the_customer() -> None:
    request = magento.refund(
        "5", lines=[("3", 1)], shipping=Decimal(0), fees=Decimal(0), reason="r", notify=True
    )
    assert isinstance(request.body, dict)
    assert request.body["notify"] is True
