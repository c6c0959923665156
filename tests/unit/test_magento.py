from datetime import UTC, datetime
from decimal import Decimal

import httpx

from orderhub.channels import magento
from orderhub.channels.base import Tracking
from orderhub.domain.money import Money
from tests.support.channels import fixture_text, totals_of
from tests.support.fake_magento import FakeMagento


def usd(value: str) -> Money:
    return Money(Decimal(value), "USD")


def test_the_documented_order_reads_its_shipping_address_from_shipping_assignments() -> None:
    item = magento.read_order("mage", fixture_text("magento/order_3_docs_sample.json"))
    draft = item.draft
    assert draft is not None
    assert draft.external_id == "3"
    assert draft.metadata["increment_id"] == "000000003"
    assert draft.placed_at == datetime(2017, 8, 21, 22, 22, 19, tzinfo=UTC)
    assert draft.shipping_address is not None
    assert (draft.shipping_address.line1, draft.shipping_address.region) == ("123 Oak Ave", "NY")
    [line] = draft.lines
    assert (line.channel_sku, line.unit_price, line.quantity) == ("WS12-M-Orange", usd("22"), 1)


def test_configurable_child_rows_are_skipped_and_totals_are_exact() -> None:
    item = magento.read_order("mage", fixture_text("magento/order_101_configurable.json"))
    draft = item.draft
    assert draft is not None
    assert [(ln.channel_sku, ln.quantity) for ln in draft.lines] == [
        ("WS12-M-Orange", 2), ("24-MB01", 1),
    ]  # fmt: skip
    totals = totals_of(draft)
    assert (totals.subtotal, totals.discount, totals.tax) == (
        usd("78.00"), usd("7.80"), usd("6.53"),
    )  # fmt: skip
    assert totals.total == usd("86.73") == usd(draft.metadata["channel_total"])
    assert draft.customer.email == "jdoe@example.com"


def test_shipping_discount_and_zero_priced_lines_total_exactly() -> None:
    draft = magento.read_order(
        "mage", fixture_text("magento/order_103_shipping_discount.json")
    ).draft
    assert draft is not None
    totals = totals_of(draft)
    assert totals.discount == usd("5.00")
    assert totals.shipping == usd("15.00")
    assert totals.total == usd("121.65") == usd(draft.metadata["channel_total"])
    assert draft.lines[1].unit_price == usd("0.00")


def test_canceled_state_cancels() -> None:
    assert magento.read_order("mage", fixture_text("magento/order_102_canceled.json")).cancelled


def test_search_uses_the_documented_search_criteria() -> None:
    params = magento.search_params(datetime(2026, 11, 22, 10, 0, tzinfo=UTC), page=2, page_size=2)
    f = "searchCriteria[filter_groups][0][filters][0]"
    assert params[f"{f}[field]"] == "updated_at"
    assert params[f"{f}[value]"] == "2026-11-22 10:00:00"
    assert params[f"{f}[condition_type]"] == "gteq"
    assert params["searchCriteria[currentPage]"] == "2"
    assert params["searchCriteria[sortOrders][0][direction]"] == "ASC"


def test_paging_stops_at_total_count_although_magento_repeats_the_last_page() -> None:
    fake = FakeMagento.with_fixtures()
    with httpx.Client(
        base_url="https://mage.example.test/rest/default",
        headers={"Authorization": "Bearer mage-token"},
        transport=fake.transport(),
    ) as client:
        texts = list(magento.fetch_updated(client, None, page_size=2))
    assert len(texts) == 3
    assert len(fake.requests) == 2
    ids = [magento.read_order("mage", t).external_id for t in texts]
    assert ids == ["101", "102", "103"]
    # Re-serialized pages keep amounts exact: still the same totals.
    draft = magento.read_order("mage", texts[0]).draft
    assert draft is not None
    assert totals_of(draft).total == usd("86.73")


def test_outbound_ship_cancel_and_source_items_bodies() -> None:
    ship = magento.mark_shipped("101", items={11: 2, 13: 1}, tracking=Tracking("UPS", "1Z1"))
    assert (ship.method, ship.path) == ("POST", "/V1/order/101/ship")
    assert ship.body == {
        "items": [{"order_item_id": 11, "qty": 2}, {"order_item_id": 13, "qty": 1}],
        "notify": True,
        "tracks": [{"track_number": "1Z1", "title": "UPS", "carrier_code": "ups"}],
    }
    assert magento.cancel("101") == magento.OutboundRequest("POST", "/V1/orders/101/cancel")
    items = magento.set_source_items([("24-MB01", "default", 5), ("WS12-M-Orange", "wh2", 0)])
    assert items.body == {
        "sourceItems": [
            {"sku": "24-MB01", "source_code": "default", "quantity": 5, "status": 1},
            {"sku": "WS12-M-Orange", "source_code": "wh2", "quantity": 0, "status": 0},
        ]
    }
