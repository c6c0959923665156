import random
from datetime import UTC, datetime

from orderhub.channels.demo_payloads import demo_channel_orders
from tests.support.channels import totals_of


def test_demo_orders_in_channel_formats_all_normalize_to_the_channels_totals() -> None:
    items = list(
        demo_channel_orders(
            {"MUG-LOGO": "12.50", "CAP-NAVY": "15.00"},
            ["ada@example.com"],
            now=datetime(2026, 11, 27, 3, 0, tzinfo=UTC),
            rng=random.Random(1),
        )
    )
    assert {i.source for i in items} == {"shopify", "woocommerce", "magento", "csv"}
    for item in items:
        assert item.problem is None
        assert item.draft is not None
        expected = item.draft.metadata.get("channel_total")
        if expected is not None:
            assert str(totals_of(item.draft).total) == expected
