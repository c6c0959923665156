"""The operations pages in a real browser: inventory, exceptions, routing, order detail's
routing explanation, deliveries and reports, at desktop and phone width."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import shoot, sign_in
from tests.e2e.test_dashboard import fits_the_width, nav

pytestmark = pytest.mark.browser


def test_order_detail_explains_where_the_order_ships_from_and_why(
    page: Page, viewport: str
) -> None:
    sign_in(page)
    page.goto("/orders?status=allocated")
    page.locator("#results tbody tr").first.get_by_role("link").click()
    explanation = page.get_by_test_id("routing-explanation").first
    expect(explanation).to_contain_text("Candidates")
    expect(explanation.get_by_test_id("cost-breakdown")).to_be_visible()
    expect(page.get_by_role("heading", name="Service level")).to_be_visible()
    expect(page.get_by_role("heading", name="Fulfilment and shipments")).to_be_visible()
    assert fits_the_width(page)
    shoot(page, viewport, "order-routing")


def test_inventory_shows_stock_per_location_and_a_skus_ledger(page: Page, viewport: str) -> None:
    sign_in(page)
    nav(page, "Inventory").click()
    table = page.get_by_test_id("stock-table")
    expect(table).to_contain_text("MUG-LOGO")
    expect(page.get_by_test_id("ats-table")).to_contain_text("web")
    assert fits_the_width(page)
    shoot(page, viewport, "inventory")
    table.get_by_role("link", name="MUG-LOGO").click()
    expect(page.get_by_role("heading", name="Movement ledger")).to_be_visible()
    expect(page.get_by_test_id("ledger")).to_contain_text("opening stock")
    assert fits_the_width(page)
    shoot(page, viewport, "inventory-sku")


def test_resolving_an_exception_takes_it_off_the_queue(page: Page, viewport: str) -> None:
    sign_in(page, "warehouse")
    nav(page, "Exceptions").click()
    rows = page.get_by_test_id("exceptions").locator("tbody tr", has_text="recount the bin")
    before = rows.count()
    assert before >= 1
    expect(rows.first).to_contain_text("recount the bin, then re-route")
    shoot(page, viewport, "exceptions")
    rows.first.get_by_role("textbox").fill(f"recounted ({viewport})")
    rows.first.get_by_role("button", name="Resolve").click()
    expect(page.get_by_role("status")).to_have_text("The exception was resolved.")
    expect(rows).to_have_count(before - 1)
    page.get_by_role("link", name="Resolved", exact=True).click()
    expect(page.get_by_test_id("exceptions")).to_contain_text(f"recounted ({viewport})")
    expect(page.get_by_test_id("exceptions")).to_contain_text("by user:warehouse")


def test_simulating_an_order_shows_the_plan_without_reserving(page: Page, viewport: str) -> None:
    sign_in(page)
    nav(page, "Routing").click()
    expect(page.get_by_test_id("active-rules")).to_contain_text("rate_cards")
    page.get_by_label("Channel").select_option("web")
    page.get_by_label("Country").fill("US")
    # SKUs the seeded demo leaves free stock of (its orders take every T-shirt and mug now that
    # a waiting order that cannot be filled holds nothing back).
    page.get_by_label(re.compile("^Lines")).fill("CAP-NAVY 2\nSOCKS-3PK 1")
    page.get_by_role("button", name="Simulate").click()
    result = page.get_by_test_id("simulate-result")
    expect(result).to_contain_text("routable")
    expect(result).to_contain_text("CAP-NAVY")
    expect(result.get_by_test_id("cost-breakdown").first).to_be_visible()
    assert fits_the_width(page)
    shoot(page, viewport, "routing-simulate")


def test_overview_deliveries_and_reports_render(page: Page, viewport: str) -> None:
    sign_in(page)
    expect(page.get_by_test_id("lead-time-chart")).to_be_visible()
    expect(page.get_by_test_id("open-exceptions")).to_be_visible()
    nav(page, "Reports").click()
    expect(page.get_by_test_id("rates")).to_contain_text("web")
    assert fits_the_width(page)
    shoot(page, viewport, "reports")
    page.goto("/deliveries")
    expect(page.get_by_role("heading", name="Deliveries")).to_be_visible()
    shoot(page, viewport, "deliveries")
