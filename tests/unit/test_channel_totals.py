"""Every connector checks its total against the total the channel stated."""

import pytest

from orderhub.channels import magento, shopify, woocommerce
from orderhub.channels.base import ChannelOrder
from tests.support.channels import fixture_text, totals_of
from tests.unit.test_bigcommerce import read_250


def shopify_item(name: str) -> ChannelOrder:
    [item] = shopify.read_webhook("shop", fixture_text(name).encode(), {})
    return item


def woo_item(name: str) -> ChannelOrder:
    return woocommerce.read_order("woo", fixture_text(name))


def magento_item(name: str) -> ChannelOrder:
    return magento.read_order("mage", fixture_text(name))


@pytest.mark.parametrize(
    "item",
    [
        pytest.param(lambda: shopify_item("shopify/test_notification_cancelled.json"), id="s1"),
        pytest.param(
            lambda: shopify_item("shopify/orders_create_tax_included_presentment.json"), id="s2"
        ),
        pytest.param(lambda: woo_item("woocommerce/order_727_docs_sample.json"), id="w1"),
        pytest.param(
            lambda: woo_item("woocommerce/order_inclusive_coupon_negative_fee.json"), id="w2"
        ),
        pytest.param(read_250, id="bc"),
        pytest.param(lambda: magento_item("magento/order_101_configurable.json"), id="m1"),
        pytest.param(lambda: magento_item("magento/order_102_canceled.json"), id="m2"),
        pytest.param(lambda: magento_item("magento/order_103_shipping_discount.json"), id="m3"),
    ],
)
def test_fixture_totals_match_the_channels_stated_total(item: object) -> None:
    read = item() if callable(item) else item
    assert isinstance(read, ChannelOrder)
    assert read.draft is not None
    assert read.draft.metadata["channel_total_matches"] is True
    assert str(totals_of(read.draft).total) == read.draft.metadata["channel_total"]


def test_a_trimmed_sample_whose_items_do_not_add_up_is_flagged_not_refused() -> None:
    # The documentation's order 3 lists one 22.00 item of seven, but states 165.00.
    item = magento_item("magento/order_3_docs_sample.json")
    assert item.draft is not None
    assert item.draft.metadata["channel_total"] == "165.00"
    assert item.draft.metadata["channel_total_matches"] is False
