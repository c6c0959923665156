"""The demo's marketplaces pull one order each through the real sync path."""

from __future__ import annotations

from orderhub.bootstrap import Container
from orderhub.channels.api_client import forget_shared_state
from orderhub.channels.marketplace_demo import seed_marketplaces
from orderhub.demo import DEMO_PRODUCTS
from tests.marketplace_fixtures import order_by_external


def test_the_demo_marketplaces_each_yield_an_order_with_exact_totals(container: Container) -> None:
    forget_shared_state()
    with container.uow(actor="test") as uow:
        for product in DEMO_PRODUCTS:
            uow.catalog.upsert(product)
        uow.commit()
    counts = seed_marketplaces(lambda: container.uow(actor="test"))
    assert counts == {
        code: {"created": 1} for code in ("amazon", "ebay", "walmart", "etsy", "tiktok")
    }
    totals = {
        code: str(order_by_external(container, code, external_id).totals.total)
        for code, external_id in [
            ("amazon", "113-0000001-0000001"),
            ("ebay", "12-00001-00001"),
            ("walmart", "1800000000001"),
            ("etsy", "3000000001"),
            ("tiktok", "576400000000000001"),
        ]
    }
    assert totals == {
        "amazon": "44.79",
        "ebay": "30.00",
        "walmart": "16.20",
        "etsy": "21.00",
        "tiktok": "22.00",
    }
    forget_shared_state()
