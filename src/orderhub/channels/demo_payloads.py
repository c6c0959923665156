"""Demo orders in the channels' own formats (Shopify, WooCommerce, Adobe Commerce, CSV).

The demo feeds them through the same readers as real webhooks, pulls and files, so what the
dashboard shows went through the real normalization.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

from orderhub.channels import csv_import, magento, shopify, woocommerce
from orderhub.channels.base import ChannelOrder

CENT = Decimal("0.01")


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT))


def shopify_order(number: int, *, placed_at: datetime, sku: str, price: Decimal, email: str) -> str:
    """An ``orders/create`` body: one line with an order-level discount allocated to it."""
    discount = (price * Decimal("0.10")).quantize(CENT)

    def money_set(amount: Decimal) -> dict[str, object]:
        value = {"amount": _money(amount), "currency_code": "USD"}
        return {"shop_money": value, "presentment_money": value}

    return json.dumps(
        {
            "id": 7_000_000 + number,
            "name": f"#{1000 + number}",
            "order_number": 1000 + number,
            "email": email,
            "created_at": placed_at.isoformat(),
            "updated_at": placed_at.isoformat(),
            "currency": "USD",
            "taxes_included": False,
            "financial_status": "paid",
            "total_price_set": money_set(price - discount + Decimal("5")),
            "line_items": [
                {
                    "id": 8_000_000 + number,
                    "variant_id": 9_000_000 + number,
                    "sku": sku,
                    "name": sku.title(),
                    "quantity": 1,
                    "price_set": money_set(price),
                    "discount_allocations": [{"amount_set": money_set(discount)}],
                    "tax_lines": [],
                }
            ],
            "shipping_lines": [{"title": "Standard", "price_set": money_set(Decimal("5"))}],
            "shipping_address": {"country_code": "US", "name": email.split("@")[0].title()},
        }
    )


def woocommerce_order(
    number: int, *, placed_at: datetime, sku: str, price: Decimal, email: str
) -> str:
    """An ``order.created`` body: two units, tax 20 %, amounts as strings, ``price`` a number."""
    subtotal = price * 2
    tax = (subtotal * Decimal("0.2")).quantize(CENT)
    return json.dumps(
        {
            "id": 5000 + number,
            "number": str(5000 + number),
            "status": "processing",
            "currency": "EUR",
            "prices_include_tax": False,
            "date_created_gmt": placed_at.strftime("%Y-%m-%dT%H:%M:%S"),
            "date_modified_gmt": placed_at.strftime("%Y-%m-%dT%H:%M:%S"),
            "total": _money(subtotal + tax + Decimal("4.90")),
            "billing": {"email": email, "country": "AT", "first_name": "Demo"},
            "shipping": {"country": "AT", "city": "Wien", "postcode": "1010"},
            "line_items": [
                {
                    "id": 60_000 + number,
                    "sku": sku,
                    "name": sku.title(),
                    "quantity": 2,
                    "subtotal": _money(subtotal),
                    "total": _money(subtotal),
                    "total_tax": _money(tax),
                    "price": float(price),
                }
            ],
            "shipping_lines": [{"method_title": "Post", "total": "4.90", "total_tax": "0.00"}],
        }
    )


def magento_order(number: int, *, placed_at: datetime, sku: str, price: Decimal, email: str) -> str:
    """A ``GET /V1/orders`` item: JSON numbers for money, dates without a zone."""
    stamp = placed_at.strftime("%Y-%m-%d %H:%M:%S")
    return json.dumps(
        {
            "entity_id": 300 + number,
            "increment_id": f"{300 + number:09d}",
            "created_at": stamp,
            "updated_at": stamp,
            "state": "processing",
            "status": "processing",
            "order_currency_code": "USD",
            "customer_email": email,
            "grand_total": float(price + 5),
            "shipping_amount": 5,
            "items": [
                {
                    "item_id": 900 + number,
                    "sku": sku,
                    "name": sku.title(),
                    "qty_ordered": 1,
                    "price": float(price),
                    "discount_amount": 0,
                    "tax_amount": 0,
                    "product_type": "simple",
                },
            ],
            "extension_attributes": {
                "shipping_assignments": [{"shipping": {"address": {"country_id": "US"}}}]
            },
        }
    )


CSV_DEMO = """order_id,placed_at,currency,email,sku,quantity,unit_price,line_tax,shipping_price
DIST-9001,{placed_at},USD,grace@example.com,DIST-0001,4,19.90,0.00,9.00
DIST-9001,{placed_at},USD,grace@example.com,DIST-0001,1,19.90,0.00,
"""


def demo_channel_orders(
    prices: dict[str, str], people: list[str], *, now: datetime, rng: random.Random
) -> Iterator[ChannelOrder]:
    """A handful of orders per channel kind, read by the channel's own reader."""
    for number in range(4):
        sku = rng.choice(sorted(prices))
        price, email = Decimal(prices[sku]), rng.choice(people)
        body = shopify_order(number, placed_at=now, sku=sku, price=price, email=email)
        yield from shopify.read_webhook(
            "shopify", body.encode(), {"x-shopify-topic": "orders/create"}
        )
        body = woocommerce_order(number, placed_at=now, sku=sku, price=price, email=email)
        yield woocommerce.read_order("woo", body)
        body = magento_order(number, placed_at=now, sku=sku, price=price, email=email)
        yield magento.read_order("magento", body)
    yield from csv_import.read_orders("partner", CSV_DEMO.format(placed_at=now.isoformat()))
