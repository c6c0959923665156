import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from orderhub.channels import shopify
from orderhub.channels.base import Tracking, WebhookRejected
from orderhub.domain.money import Money
from tests.support.channels import SECRET, fixture_text, sign, totals_of

TAX_INCLUDED = "shopify/orders_create_tax_included_presentment.json"


def read(name: str, topic: str = "orders/create") -> shopify.ChannelOrder:
    body = fixture_text(name).encode()
    [item] = shopify.read_webhook("shop", body, {"x-shopify-topic": topic})
    return item


def cad(value: str) -> Money:
    return Money(Decimal(value), "CAD")


def test_the_documented_test_notification_normalizes_to_its_totals() -> None:
    item = read("shopify/test_notification_cancelled.json")
    assert item.draft is not None
    totals = totals_of(item.draft)
    assert (str(totals.subtotal), str(totals.discount), str(totals.shipping)) == (
        "398.00", "5.00", "10.00",
    )  # fmt: skip
    assert str(totals.total) == "403.00" == item.draft.metadata["channel_total"]
    assert item.cancelled  # cancelled_at is set on this test order
    assert [ln.channel_line_id for ln in item.draft.lines] == [
        "866550311766439020",
        "141249953214522974",
    ]


def test_tax_included_order_uses_shop_money_and_keeps_presentment_in_metadata() -> None:
    item = read(TAX_INCLUDED)
    draft = item.draft
    assert draft is not None
    assert not item.cancelled
    assert draft.currency == "CAD"
    assert draft.prices_include_tax
    assert draft.metadata["presentment_currency"] == "USD"
    assert draft.metadata["presentment_total"] == "102.12"
    totals = totals_of(draft)
    assert totals.subtotal == cad("140.00")
    assert totals.discount == cad("17.00")  # 5 + (5 + 2) on lines, 5 on shipping
    assert totals.shipping == cad("15.00")
    assert totals.tax == cad("12.26")  # included, so not added again
    assert totals.total == cad("138.00") == cad(draft.metadata["channel_total"])


def test_order_and_line_discount_allocations_land_on_their_lines() -> None:
    draft = read(TAX_INCLUDED).draft
    assert draft is not None
    shirt, mug, _gift_card, _sample = draft.lines
    assert (shirt.quantity, shirt.unit_price, shirt.discount, shirt.tax) == (
        2, cad("25.00"), cad("5.00"), cad("6.50"),
    )  # fmt: skip
    assert (mug.discount, mug.tax) == (cad("7.00"), cad("4.03"))
    assert draft.shipping.discount == cad("5.00")
    assert draft.shipping.tax == cad("1.73")


def test_gift_card_product_is_a_line_and_gift_card_payment_is_not_a_discount() -> None:
    draft = read(TAX_INCLUDED).draft
    assert draft is not None
    gift_card = draft.lines[2]
    assert gift_card.channel_sku == "variant:40003"  # no SKU on the channel
    assert gift_card.unit_price == cad("50.00")
    assert gift_card.discount == cad("0.00")
    assert draft.metadata["paid_with_gift_card"] is True
    assert draft.metadata["gift_card_line_ids"] == ["13003"]


def test_zero_priced_lines_are_kept() -> None:
    draft = read(TAX_INCLUDED).draft
    assert draft is not None
    sample = draft.lines[3]
    assert sample.channel_sku == "SAMPLE-1"
    assert sample.unit_price == cad("0.00")


def test_customer_email_is_normalized_and_time_is_utc() -> None:
    draft = read(TAX_INCLUDED).draft
    assert draft is not None
    assert draft.customer.email == "ada@example.com"
    assert draft.placed_at == datetime(2026, 11, 20, 14, 14, 58, tzinfo=UTC)
    assert draft.shipping_address is not None
    assert draft.shipping_address.region == "ON"


def test_cancelled_at_in_the_payload_marks_the_order_cancelled() -> None:
    body = json.loads(fixture_text(TAX_INCLUDED))
    body["cancelled_at"] = "2026-11-21T10:00:00-05:00"
    headers = {"x-shopify-topic": "orders/cancelled"}
    (item,) = shopify.read_webhook("shop", json.dumps(body).encode(), headers)
    assert item.cancelled


def test_the_cancel_topic_alone_does_not_cancel_an_order_the_payload_says_is_open() -> None:
    """The topic header is not signed: a create body re-sent as orders/cancelled is no cancel."""
    assert not read(TAX_INCLUDED, topic="orders/cancelled").cancelled


def test_topics_other_than_orders_are_ignored() -> None:
    assert shopify.read_webhook("shop", b"{}", {"x-shopify-topic": "products/update"}) == []


def test_an_unreadable_order_comes_back_with_its_problem_not_an_exception() -> None:
    [item] = shopify.read_webhook("shop", b'{"id": 1}', {"x-shopify-topic": "orders/create"})
    assert item.draft is None
    assert item.problem is not None


def test_replay_parser_reads_the_envelope_back_to_the_same_draft() -> None:
    item = read(TAX_INCLUDED)
    assert shopify.parse(item.payload) == item.draft


def test_signature_is_the_base64_hmac_of_the_raw_body() -> None:
    body = fixture_text(TAX_INCLUDED).encode()
    shopify.verify(secret=SECRET, body=body, headers={"x-shopify-hmac-sha256": sign(body)})
    with pytest.raises(WebhookRejected):
        shopify.verify(secret="other", body=body, headers={"x-shopify-hmac-sha256": sign(body)})
    hex_digest = __import__("hashlib").sha256(body).hexdigest()
    with pytest.raises(WebhookRejected):
        shopify.verify(secret=SECRET, body=body, headers={"x-shopify-hmac-sha256": hex_digest})


FULFILLMENT_ORDERS = {
    "fulfillment_orders": [
        {
            "id": 1046000778,
            "status": "open",
            "line_items": [
                {"id": 1025578633, "line_item_id": 13001, "quantity": 2},
                {"id": 1025578634, "line_item_id": 13002, "quantity": 1},
            ],
        },
        {"id": 1046000779, "status": "closed", "line_items": []},
    ]
}


def test_shipping_maps_order_lines_to_fulfillment_order_lines_with_tracking() -> None:
    groups = shopify.fulfillment_order_lines(FULFILLMENT_ORDERS, {"13001": 2})
    request = shopify.mark_shipped(groups, Tracking("UPS", "1Z999", "https://ups.test/1Z999"))
    assert request.method == "POST"
    assert request.path == "/admin/api/2024-10/fulfillments.json"
    assert request.body == {
        "fulfillment": {
            "line_items_by_fulfillment_order": [
                {
                    "fulfillment_order_id": 1046000778,
                    "fulfillment_order_line_items": [{"id": 1025578633, "quantity": 2}],
                }
            ],
            "tracking_info": {"company": "UPS", "number": "1Z999", "url": "https://ups.test/1Z999"},
            "notify_customer": True,
        }
    }


def test_cancel_and_inventory_bodies_follow_the_admin_api() -> None:
    assert shopify.cancel("5123", reason="inventory").body == {
        "reason": "inventory",
        "email": False,
    }
    request = shopify.set_inventory(
        inventory_item_id=808950810, location_id=655441491, available=-3
    )
    assert request.path.endswith("/inventory_levels/set.json")
    assert request.body == {
        "location_id": 655441491,
        "inventory_item_id": 808950810,
        "available": 0,
    }
