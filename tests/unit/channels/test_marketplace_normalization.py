"""Each marketplace's fixtures normalize to exact totals (Decimal strings)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from orderhub.channels import amazon, ebay, etsy, registry, tiktok, walmart
from orderhub.channels._shared import ChannelOrder, loads
from tests.marketplace_fixtures import fixture_text, totals_of


def _amazon(order_index: int, page: str, *item_pages: str) -> tuple[dict, list]:  # type: ignore[type-arg]
    order = loads(fixture_text("amazon", page))["payload"]["Orders"][order_index]
    items = [
        i for p in item_pages for i in loads(fixture_text("amazon", p))["payload"]["OrderItems"]
    ]
    return order, items


def test_amazon_item_price_is_unit_times_quantity_and_promotions_discount_the_line() -> None:
    order, items = _amazon(
        0,
        "getOrders_page2.json",
        "getOrderItems_902-8745147-1934268_page1.json",
        "getOrderItems_902-8745147-1934268_page2.json",
    )
    item = amazon.read_order("amz", order, items)
    assert item.draft is not None
    mug, tee = item.draft.lines
    assert (mug.quantity, str(mug.unit_price), str(mug.discount)) == (3, "10.00", "2.01")
    assert (tee.quantity, str(tee.unit_price)) == (1, "15.00")
    assert totals_of(item.draft) == {
        "subtotal": "45.00",
        "discount": "2.01",
        "shipping": "4.99",
        "tax": "3.60",
        "total": "51.58",
    }
    assert item.draft.metadata["channel_total"] == "51.58"
    assert item.draft.metadata["skip_allocation"] is False


def test_amazon_fba_orders_are_marked_fulfilled_by_the_marketplace_and_skipped_by_allocation() -> (
    None
):
    order, items = _amazon(1, "getOrders_page2.json", "getOrderItems_902-4444444-0000002.json")
    item = amazon.read_order("amz", order, items)
    assert item.draft is not None
    assert item.draft.metadata["fulfilled_by_marketplace"] is True
    assert item.draft.metadata["skip_allocation"] is True
    assert totals_of(item.draft)["total"] == "11.01"


def test_amazon_payload_replays_to_the_same_draft() -> None:
    order, items = _amazon(0, "getOrders_page1.json", "getOrderItems_902-1845936-5435065.json")
    item = amazon.read_order("amz", order, items)
    assert amazon.parse(item.payload) == item.draft


def test_ebay_multi_quantity_line_keeps_line_cost_before_discount_and_legacy_ids() -> None:
    order = loads(fixture_text("ebay", "getOrders_page2.json"))["orders"][0]
    item = ebay.read_order("eb", order)
    assert item.draft is not None
    (line,) = item.draft.lines
    assert (line.quantity, str(line.unit_price), str(line.discount)) == (3, "12.50", "3.00")
    assert line.channel_sku == "110002000020-410002000021"
    assert totals_of(item.draft) == {
        "subtotal": "37.50",
        "discount": "3.00",
        "shipping": "5.00",
        "tax": "0.00",
        "total": "39.50",
    }
    assert item.draft.metadata["marketplace_collected_tax"] == [
        {"line_item_id": "10000000002", "type": "STATE_SALES_TAX", "amount": "3.26"}
    ]


def test_ebay_cross_currency_order_is_in_the_buyers_currency_with_payout_in_metadata() -> None:
    order = loads(fixture_text("ebay", "getOrders_page1.json"))["orders"][0]
    item = ebay.read_order("eb", order)
    assert item.draft is not None
    assert item.draft.currency == "EUR"
    assert totals_of(item.draft)["total"] == "116.26"
    assert item.draft.metadata["payout"] == {"amount": "85.02", "currency": "GBP"}
    assert item.draft.customer.email is None  # masked by eBay: not an identity
    assert item.draft.metadata["marketplace_collected_tax"][0]["amount"] == "24.41"


def test_walmart_purchase_orders_of_one_customer_order_are_separate_orders() -> None:
    first = loads(fixture_text("walmart", "released_page1.json"))["list"]["elements"]["order"][0]
    second = loads(fixture_text("walmart", "released_page2.json"))["list"]["elements"]["order"][0]
    a, b = walmart.read_order("wm", first), walmart.read_order("wm", second)
    assert a.draft is not None
    assert b.draft is not None
    assert a.draft.metadata["customer_order_id"] == b.draft.metadata["customer_order_id"]
    assert totals_of(a.draft) == {
        "subtotal": "5.00",
        "discount": "0.00",
        "shipping": "5.99",
        "tax": "0.75",
        "total": "11.74",
    }
    assert a.draft.placed_at.isoformat() == "2026-11-26T10:00:00+00:00"
    assert a.draft.shipping_address is not None
    assert a.draft.shipping_address.country == "US"
    (line,) = b.draft.lines
    assert (line.quantity, str(line.unit_price)) == (2, "12.99")
    assert totals_of(b.draft)["total"] == "27.80"


def test_etsy_money_with_divisor_and_receipt_discount_match_the_grand_total() -> None:
    receipt = loads(fixture_text("etsy", "getShopReceipts_page2.json"))["results"][0]
    item = etsy.read_order("et", receipt)
    assert item.draft is not None
    napkin, candle = item.draft.lines
    assert (str(napkin.discount), str(candle.discount)) == ("2.40", "0.85")
    assert (str(napkin.tax), str(candle.tax)) == ("1.51", "0.54")
    assert candle.channel_sku == "listing:1572338401:17854055001"
    assert totals_of(item.draft) == {
        "subtotal": "32.50",
        "discount": "3.25",
        "shipping": "4.00",
        "tax": "2.05",
        "total": "35.30",
    }


def test_etsy_float_coupons_are_kept_as_the_exact_text_etsy_wrote() -> None:
    receipt = loads(fixture_text("etsy", "getShopReceipts_page1.json"))["results"][0]
    assert receipt["transactions"][0]["buyer_coupon"] == Decimal("36.8")
    item = etsy.read_order("et", receipt)
    assert item.draft is not None
    assert item.draft.metadata["coupons"] == {
        "3735908460": {"buyer_coupon": "36.8", "shop_coupon": "37.5"}
    }
    assert totals_of(item.draft)["total"] == "112.50"
    assert etsy.parse(item.payload) == item.draft


def test_etsy_receipt_whose_lines_do_not_add_up_is_not_normalized() -> None:
    receipt = loads(fixture_text("etsy", "getShopReceipts_page2.json"))["results"][0]
    receipt["grandtotal"]["amount"] = 3531
    item = etsy.read_order("et", receipt)
    assert item.draft is None
    assert item.problem is not None
    assert "grandtotal" in item.problem.reason


def test_tiktok_one_item_per_unit_is_grouped_into_quantities() -> None:
    order = loads(fixture_text("tiktok", "get_order_detail.json"))["data"]["orders"][0]
    item = tiktok.read_order("tt", order)
    assert item.draft is not None
    cap, scarf = item.draft.lines
    assert (cap.channel_sku, cap.quantity, str(cap.discount), str(cap.tax)) == (
        "TT-CAP",
        2,
        "3.00",
        "1.68",
    )
    assert (scarf.channel_sku, scarf.quantity) == ("TT-SCARF", 1)
    assert item.draft.external_id == "576461413038785752"
    assert item.draft.metadata["line_item_ids"]["1729382476852921560"] == [
        "577086512123750001",
        "577086512123750003",
    ]
    assert totals_of(item.draft) == {
        "subtotal": "44.00",
        "discount": "4.00",
        "shipping": "6.00",
        "tax": "3.28",
        "total": "49.28",
    }
    assert item.draft.metadata["channel_total"] == "49.28"


@pytest.mark.parametrize(
    ("district_info", "city", "region"),
    [
        # Indonesia: lower-case labels, four levels below the country
        (
            [
                {
                    "address_level": "L0",
                    "address_level_name": "country",
                    "address_name": "Indonesia",
                },
                {
                    "address_level": "L1",
                    "address_level_name": "province",
                    "address_name": "DKI Jakarta",
                },
                {
                    "address_level": "L2",
                    "address_level_name": "city",
                    "address_name": "Jakarta Selatan",
                },
                {
                    "address_level": "L3",
                    "address_level_name": "district",
                    "address_name": "Kebayoran Baru",
                },
            ],
            "Jakarta Selatan",
            "DKI Jakarta",
        ),
        # United Kingdom: county and post town
        (
            [
                {
                    "address_level": "L0",
                    "address_level_name": "Country",
                    "address_name": "United Kingdom",
                },
                {
                    "address_level": "L2",
                    "address_level_name": "County",
                    "address_name": "Greater London",
                },
                {
                    "address_level": "L3",
                    "address_level_name": "Post Town",
                    "address_name": "London",
                },
            ],
            "London",
            "Greater London",
        ),
        # labels in a language we do not know: the documented levels decide
        (
            [
                {"address_level": "L0", "address_level_name": "ประเทศ", "address_name": "Thailand"},
                {"address_level": "L1", "address_level_name": "จังหวัด", "address_name": "Bangkok"},
                {"address_level": "L2", "address_level_name": "เขต", "address_name": "Pathum Wan"},
            ],
            "Pathum Wan",
            "Bangkok",
        ),
    ],
)
def test_tiktok_address_parts_come_from_any_market_s_district_levels(
    district_info: list[dict[str, str]], city: str, region: str
) -> None:
    order = loads(fixture_text("tiktok", "get_order_detail.json"))["data"]["orders"][0]
    order["recipient_address"]["district_info"] = district_info
    draft = tiktok.read_order("tt", order).draft
    assert draft is not None
    assert draft.shipping_address is not None
    assert (draft.shipping_address.city, draft.shipping_address.region) == (city, region)


@pytest.mark.parametrize("status", ["CANCELLED", "CANCEL"])
def test_tiktok_cancel_and_cancelled_both_mean_cancelled(status: str) -> None:
    order = loads(fixture_text("tiktok", "get_order_detail.json"))["data"]["orders"][0]
    order["status"] = status
    assert tiktok.read_order("tt", order).cancelled


@pytest.mark.parametrize(
    ("module", "channel", "name", "pick"),
    [
        (ebay, "ebay", "getOrders_page2.json", lambda page: page["orders"][0]),
        (
            walmart,
            "walmart",
            "released_page2.json",
            lambda page: page["list"]["elements"]["order"][0],
        ),
        (etsy, "etsy", "getShopReceipts_page2.json", lambda page: page["results"][0]),
        (tiktok, "tiktok", "get_order_detail.json", lambda page: page["data"]["orders"][0]),
    ],
)
def test_a_stored_payload_replays_to_the_same_draft(module, channel, name, pick) -> None:  # type: ignore[no-untyped-def]
    item = module.read_order(channel, pick(loads(fixture_text(channel, name))))
    assert item.draft is not None
    assert registry.PAYLOAD_PARSERS[module.SOURCE](item.payload) == item.draft


def _amazon_zero() -> ChannelOrder:
    order, items = _amazon(0, "getOrders_page1.json", "getOrderItems_902-1845936-5435065.json")
    items[0]["QuantityOrdered"] = 0
    return amazon.read_order("amz", order, items)


def _ebay_zero() -> ChannelOrder:
    order = loads(fixture_text("ebay", "getOrders_page2.json"))["orders"][0]
    order["lineItems"][0]["quantity"] = 0
    return ebay.read_order("eb", order)


def _walmart_zero() -> ChannelOrder:
    page = loads(fixture_text("walmart", "released_page2.json"))
    order = page["list"]["elements"]["order"][0]
    order["orderLines"]["orderLine"][0]["orderLineQuantity"]["amount"] = "0"
    return walmart.read_order("wm", order)


def _etsy_zero() -> ChannelOrder:
    receipt = loads(fixture_text("etsy", "getShopReceipts_page2.json"))["results"][0]
    receipt["transactions"][0]["quantity"] = 0
    return etsy.read_order("et", receipt)


@pytest.mark.parametrize("read", [_amazon_zero, _ebay_zero, _walmart_zero, _etsy_zero])
def test_a_marketplace_line_of_zero_units_is_quarantined_as_a_bad_quantity(
    read: Callable[[], ChannelOrder],
) -> None:
    item = read()
    assert item.draft is None
    assert item.problem is not None
    assert item.problem.reason == "bad quantity"
    [error] = item.problem.fields
    assert (error.code, error.message) == ("bad_quantity", "0 is not a positive whole quantity")
