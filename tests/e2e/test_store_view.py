"""The store view on a counter tablet, in a real browser at 390 and 800 px wide: mark a pick-up
ready, refuse a wrong code, hand it over on the right one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from orderhub.bootstrap import bootstrap
from orderhub.config import Settings
from orderhub.demo.stores import STORE, place_pickup
from orderhub.services import stores
from orderhub.services.inventory import StockAdjustment, adjust_stock
from tests.e2e.conftest import LiveServer, shoot, sign_in
from tests.e2e.test_dashboard import fits_the_width

pytestmark = pytest.mark.browser

TABLETS = {"tablet-narrow": (390, 844), "tablet-wide": (800, 1280)}


@pytest.fixture(params=list(TABLETS))
def tablet(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def counter(browser: Browser, tablet: str, live_server: LiveServer) -> Iterator[Page]:
    width, height = TABLETS[tablet]
    context = browser.new_context(
        viewport={"width": width, "height": height}, base_url=live_server.url, has_touch=True
    )
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def a_pickup(live_server: LiveServer, number: str) -> tuple[str, str]:
    """A fresh pick-up order at the demo store, still to pick, and its customer's code."""
    container = bootstrap(Settings(database_url=live_server.database_url))
    try:
        with container.uow(actor="e2e") as uow:
            adjust_stock(uow, items=[StockAdjustment("POSTER-A2", STORE, delta=10, reason="e2e")])
        pickup_id = place_pickup(container, number, "POSTER-A2", 1, minutes_ago=5)
        with container.uow(actor="e2e") as uow:
            code = stores.issue_code(uow, fulfilment_id=pickup_id)
    finally:
        container.close()
    return pickup_id, code


def test_the_counter_marks_a_pickup_ready_and_hands_it_over_on_the_code(
    counter: Page, tablet: str, live_server: LiveServer
) -> None:
    number = f"E2E-{tablet.upper()}"
    _, code = a_pickup(live_server, number)
    sign_in(counter, "warehouse")
    counter.goto(f"/stores/{STORE}")
    row = counter.get_by_test_id("pickups-picking").get_by_test_id(f"pickup-{number}")
    expect(row).to_be_visible()
    assert fits_the_width(counter)
    shoot(counter, tablet, "store-view")

    row.get_by_role("button", name="Mark ready").click()
    expect(counter.get_by_role("status")).to_contain_text("Marked ready")
    ready = counter.get_by_test_id("pickups-ready").get_by_test_id(f"pickup-{number}")
    ready.get_by_label("Customer's code").fill("WRONG999")
    ready.get_by_role("button", name="Hand over").click()
    expect(counter.get_by_role("alert")).to_contain_text("does not match")

    ready = counter.get_by_test_id("pickups-ready").get_by_test_id(f"pickup-{number}")
    ready.get_by_label("Customer's code").fill(code.lower())
    ready.get_by_role("button", name="Hand over").click()
    expect(counter.get_by_role("status")).to_contain_text("Handed over.")
    done = counter.get_by_test_id("pickups-done").get_by_test_id(f"pickup-{number}")
    expect(done).to_contain_text("picked up")
    assert fits_the_width(counter)
    shoot(counter, tablet, "store-view-handed-over")
