"""The operator workflows in a real browser, at 1280 and 390 px: search with pages both ways,
bulk actions with confirmation, fixing quarantine in place, cancelling units of a line, notes
and the packing slip, stock forms, and a channel's page with sync now and pause."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import shoot, sign_in
from tests.e2e.test_dashboard import fits_the_width, nav

pytestmark = pytest.mark.browser


def test_search_counts_sorts_by_placed_date_and_pages_both_ways(page: Page, viewport: str) -> None:
    sign_in(page)
    nav(page, "Orders").click()
    page.get_by_label("Search", exact=True).fill("web-1")  # a prefix, any case
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"q=web-1"))  # htmx swapped the results in
    rows = page.locator("#results tbody tr")
    expect(rows.locator("td[data-label=Order] a").last).to_have_text(re.compile(r"^WEB-1"))
    expect(page.get_by_test_id("result-count")).to_contain_text(re.compile(r"^\d+ orders match"))
    expect(rows).to_have_count(25)
    first_page = rows.locator("td[data-label=Order] a").all_inner_texts()
    assert all(number.startswith("WEB-1") for number in first_page)
    placed = rows.locator("td[data-label=Placed]").all_inner_texts()
    assert placed == sorted(placed, reverse=True)  # newest placed first
    assert fits_the_width(page)
    shoot(page, viewport, "orders-search")
    page.get_by_role("link", name="Next page").click()
    expect(page.get_by_role("link", name="Previous page")).to_be_visible()
    second_page = rows.locator("td[data-label=Order] a").all_inner_texts()
    assert not set(second_page) & set(first_page)
    page.get_by_role("link", name="Previous page").click()
    expect(rows.locator("td[data-label=Order] a").first).to_have_text(first_page[0])
    assert rows.locator("td[data-label=Order] a").all_inner_texts() == first_page


def test_bulk_cancel_asks_for_confirmation_and_shows_each_outcome(
    page: Page, viewport: str
) -> None:
    sign_in(page)
    page.goto("/orders?status=allocated")
    rows = page.locator("#results tbody tr")
    numbers = rows.locator("td[data-label=Order] a").all_inner_texts()[:2]
    for row in range(2):
        rows.nth(row).get_by_role("checkbox").check()
    page.get_by_label("With the selected orders").select_option("cancel")
    page.get_by_role("button", name="Review…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cancel 2 order(s)?")
    expect(page.get_by_test_id("bulk-items")).to_contain_text(numbers[0])
    shoot(page, viewport, "bulk-confirm")
    page.get_by_label("Cancel reason").select_option("customer_request")
    page.get_by_role("button", name="Cancel 2 order(s)").click()
    expect(page.get_by_test_id("bulk-summary")).to_have_text("2 of 2 done.")
    expect(page.get_by_test_id("bulk-items")).to_contain_text("cancelled")
    assert fits_the_width(page)
    shoot(page, viewport, "bulk-result")


def test_quarantine_is_fixed_in_place_by_mapping_the_sku(page: Page, viewport: str) -> None:
    sign_in(page)
    nav(page, "Quarantine").click()
    page.get_by_role("link", name=f"Q-MAP-{viewport}").click()
    expect(page.get_by_role("heading", name="Unknown SKU CHANNEL-MUG")).to_be_visible()
    assert fits_the_width(page)
    shoot(page, viewport, "quarantine-entry")
    page.get_by_label("Map CHANNEL-MUG to catalogue SKU").fill("MUG-LOGO")
    page.get_by_role("button", name="Map and replay").click()
    expect(page.get_by_role("status")).to_have_text("Replayed: the payload became an order.")
    page.get_by_test_id("entry-order").click()
    expect(page.get_by_role("heading", name="Lines")).to_be_visible()
    expect(page.locator("body")).to_contain_text("MUG-LOGO")


def test_quarantine_entries_are_discarded_in_bulk(page: Page, viewport: str) -> None:
    sign_in(page)
    page.goto("/quarantine")
    table = page.get_by_test_id("quarantine")
    for name in ("BULK1", "BULK2"):
        table.locator("tr", has_text=f"Q-{name}-{viewport}").get_by_role("checkbox").check()
    page.get_by_label("With the selected payloads").select_option("discard")
    page.get_by_role("button", name="Review…").click()
    page.get_by_role("button", name="Discard 2 payload(s)").click()
    expect(page.get_by_test_id("bulk-summary")).to_have_text("2 of 2 done.")
    page.goto("/quarantine?status=discarded")
    expect(page.get_by_test_id("quarantine")).to_contain_text(f"Q-BULK1-{viewport}")
    shoot(page, viewport, "quarantine-discarded")


def test_cancelling_one_unit_of_a_line_with_confirmation(page: Page, viewport: str) -> None:
    sign_in(page)
    page.goto("/orders?status=allocated")
    page.locator("#results tbody tr").last.get_by_role("link").first.click()
    total_before = page.get_by_test_id("order-total").inner_text()
    page.locator("input[name^=units-]").first.fill("1")
    page.get_by_label("Why cancel these units").select_option("out_of_stock")
    page.get_by_role("button", name="Review the cancellation…").click()
    expect(page.get_by_test_id("cancel-preview")).to_be_visible()
    shoot(page, viewport, "cancel-units-confirm")
    page.get_by_role("button", name="Cancel 1 unit(s)").click()
    expect(page.get_by_role("status")).to_contain_text("The units were cancelled")
    expect(page.get_by_test_id("line-cancelled").first).to_have_text(re.compile(r"^\d+ cancelled"))
    assert page.get_by_test_id("order-total").inner_text() != total_before


def test_notes_tags_and_the_packing_slip(page: Page, viewport: str) -> None:
    sign_in(page)
    page.goto("/orders?status=allocated")
    page.locator("#results tbody tr").first.get_by_role("link").first.click()
    page.get_by_label("Internal notes").fill(f"Fragile ({viewport})")
    page.get_by_label("Tags, comma-separated").fill("vip, gift")
    page.get_by_role("button", name="Save notes and tags").click()
    expect(page.get_by_role("status")).to_have_text("Notes and tags saved.")
    expect(page.get_by_test_id("hub-tags")).to_contain_text("vip")
    expect(page.locator(".timeline")).to_contain_text("order.notes_changed")
    assert fits_the_width(page)
    shoot(page, viewport, "order-workflows")
    page.get_by_test_id("packing-slip-link").click()
    expect(page.get_by_role("heading", name="Packing slip")).to_be_visible()
    expect(page.get_by_test_id("slip-lines")).to_be_visible()
    expect(page.locator("body")).to_contain_text(f"Fragile ({viewport})")
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    shoot(page, viewport, "packing-slip")


def test_stock_is_found_received_adjusted_and_transferred(page: Page, viewport: str) -> None:
    sign_in(page)
    nav(page, "Inventory").click()
    page.get_by_label("SKU or product name").fill("cap")
    page.get_by_role("button", name="Find").click()
    table = page.get_by_test_id("stock-table")
    expect(table).to_contain_text("CAP-NAVY")
    expect(table).not_to_contain_text("MUG-LOGO")
    page.get_by_text("Adjust, receive or transfer stock").click()
    page.get_by_label("Receive SKU").fill("CAP-NAVY")
    page.get_by_label("Units").first.fill("7")
    page.get_by_role("button", name="Receive").click()
    expect(page.get_by_role("status")).to_contain_text("The receipt was booked")
    page.get_by_text("Adjust, receive or transfer stock").click()
    page.get_by_label("Adjust SKU").fill("CAP-NAVY")
    page.get_by_label("Change (+/−)").fill("-1")
    page.get_by_label("Reason").fill(f"damaged ({viewport})")
    page.get_by_role("button", name="Adjust").click()
    expect(page.get_by_role("status")).to_have_text("The adjustment was applied.")
    page.get_by_text("Adjust, receive or transfer stock").click()
    assert fits_the_width(page)
    shoot(page, viewport, "inventory-actions")
    page.get_by_role("link", name="CAP-NAVY").first.click()
    expect(page.get_by_test_id("ledger")).to_contain_text(f"damaged ({viewport})")
    expect(page.get_by_test_id("ledger")).to_contain_text("user:operator")
    page.goto("/inventory?low=5")
    expect(page.get_by_label("Low stock: available at most")).to_have_value("5")


def test_a_channel_page_syncs_now_records_the_error_and_pauses(page: Page, viewport: str) -> None:
    sign_in(page)
    nav(page, "Channels").click()
    page.get_by_role("link", name="magento", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Adobe Commerce store")
    page.get_by_role("button", name="Sync now").click()
    # The test hub has no network: the run fails, and the failure is kept for the page.
    expect(page.get_by_role("alert")).to_contain_text("The sync failed")
    expect(page.get_by_test_id("error-history").locator("tbody tr").first).not_to_contain_text(
        "No failed runs kept"
    )
    assert fits_the_width(page)
    shoot(page, viewport, "channel")
    page.get_by_label("Refuse its webhooks and stop polling it").check()
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_test_id("channel-state")).to_have_text("paused")
    page.get_by_role("button", name="Resume").click()
    expect(page.get_by_test_id("channel-state")).to_have_text("active")
    page.get_by_test_id("channel-quarantine").click()
    expect(page).to_have_url(re.compile(r"/quarantine\?channel=magento"))
