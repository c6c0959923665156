import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from orderhub.channels import woocommerce
from orderhub.channels.base import ChannelOrder, Tracking, WebhookRejected
from orderhub.domain.money import Money
from tests.support.channels import SECRET, fixture_text, sign, totals_of

DOCS_SAMPLE = "woocommerce/order_727_docs_sample.json"
INCLUSIVE = "woocommerce/order_inclusive_coupon_negative_fee.json"


def read(name: str, topic: str = "order.created") -> ChannelOrder:
    [item] = woocommerce.read_webhook(
        "woo", fixture_text(name).encode(), {"x-wc-webhook-topic": topic}
    )
    return item


def eur(value: str) -> Money:
    return Money(Decimal(value), "EUR")


def usd(value: str) -> Money:
    return Money(Decimal(value), "USD")


def test_the_documented_sample_normalizes_to_its_total() -> None:
    draft = read(DOCS_SAMPLE).draft
    assert draft is not None
    totals = totals_of(draft)
    assert (totals.subtotal, totals.discount, totals.shipping, totals.tax, totals.total) == (
        usd("18.00"), usd("0.00"), usd("10.00"), usd("1.35"), usd("29.35"),
    )  # fmt: skip
    assert draft.metadata["channel_total"] == "29.35"
    first, second = draft.lines
    assert (first.channel_sku, first.unit_price, first.quantity) == ("product:93", usd("3.00"), 2)
    assert (second.channel_sku, second.channel_line_id) == ("Bar3", "316")
    assert draft.placed_at == datetime(2017, 3, 22, 19, 28, 2, tzinfo=UTC)  # the _gmt field


def test_tax_inclusive_coupon_and_negative_fee_normalize_to_the_exact_total() -> None:
    draft = read(INCLUSIVE).draft
    assert draft is not None
    assert draft.prices_include_tax
    totals = totals_of(draft)
    assert totals.subtotal == eur("41.66")
    assert totals.discount == eur("13.34")
    assert totals.shipping == eur("5.95")
    assert totals.tax == eur("5.47")
    assert totals.total == eur("34.27") == eur(draft.metadata["channel_total"])


def test_line_discount_is_subtotal_minus_total_and_the_fee_is_allocated() -> None:
    draft = read(INCLUSIVE).draft
    assert draft is not None
    tee, cap = draft.lines
    # 3 tees: 29.75 with tax before the coupon, 23.80 after; unit rounded up to 9.92.
    assert (tee.unit_price, tee.discount, tee.tax) == (eur("9.92"), eur("9.53"), eur("3.23"))
    assert (cap.unit_price, cap.discount, cap.tax) == (eur("11.90"), eur("3.81"), eur("1.29"))
    assert tee.unit_price * 3 - tee.discount + cap.unit_price - cap.discount == eur("28.32")


def test_the_float_unit_price_is_never_read_through_a_float() -> None:
    raw = json.loads(fixture_text(INCLUSIVE), parse_float=Decimal)
    assert raw["line_items"][0]["price"] == Decimal("6.666667")
    draft = read(INCLUSIVE).draft
    assert draft is not None
    assert all(isinstance(ln.unit_price.amount, Decimal) for ln in draft.lines)


def test_cancelled_status_cancels_and_the_creation_ping_is_ignored() -> None:
    body = fixture_text(DOCS_SAMPLE).replace('"processing"', '"cancelled"').encode()
    [item] = woocommerce.read_webhook("woo", body, {"x-wc-webhook-topic": "order.updated"})
    assert item.cancelled
    assert woocommerce.read_webhook("woo", b"webhook_id=42", {}) == []


def test_signature_header_is_checked() -> None:
    body = fixture_text(DOCS_SAMPLE).encode()
    woocommerce.verify(secret=SECRET, body=body, headers={"x-wc-webhook-signature": sign(body)})
    with pytest.raises(WebhookRejected):
        woocommerce.verify(secret=SECRET, body=body, headers={"x-wc-webhook-signature": "AAAA"})


def test_outbound_status_tracking_note_cancel_and_stock_bodies() -> None:
    status, note = woocommerce.mark_shipped("727", Tracking("DHL", "JD0123"))
    assert (status.method, status.path, status.body) == (
        "PUT", "/wp-json/wc/v3/orders/727", {"status": "completed"},
    )  # fmt: skip
    assert note.path == "/wp-json/wc/v3/orders/727/notes"
    assert note.body == {"note": "Shipped with DHL, tracking number JD0123", "customer_note": True}
    assert woocommerce.cancel("727").body == {"status": "cancelled"}
    stock = woocommerce.set_stock(product_id=22, variation_id=23, quantity=7)
    assert stock.path == "/wp-json/wc/v3/products/22/variations/23"
    assert stock.body == {"manage_stock": True, "stock_quantity": 7}
