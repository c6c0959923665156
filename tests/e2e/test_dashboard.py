"""The dashboard in a real browser, at desktop (1280×800) and phone (390×844) width."""

from __future__ import annotations

import re
from urllib.parse import quote_plus

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import PASSWORD, shoot, sign_in

pytestmark = pytest.mark.browser


def open_menu(page: Page) -> None:
    """On a phone the navigation folds behind the Menu button: open it (a no-op on desktop)."""
    menu = page.get_by_role("button", name="Menu")
    if menu.is_visible() and menu.get_attribute("aria-expanded") == "false":
        menu.click()


def nav(page: Page, label: str) -> Locator:
    open_menu(page)
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=label, exact=True)


def fits_the_width(page: Page) -> bool:
    """No horizontal scrolling of the whole page (wide tables scroll inside their box)."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def test_a_wrong_password_is_refused_with_a_message(page: Page, viewport: str) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))
    page.get_by_label("Username").fill("operator")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("wrong password")
    expect(page).to_have_url(re.compile(r"/login$"))
    shoot(page, viewport, "login-failed")


def test_signing_in_opens_the_overview_with_a_chart_of_orders_per_channel(
    page: Page, viewport: str
) -> None:
    sign_in(page)
    expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    chart = page.get_by_test_id("orders-chart")
    expect(chart).to_be_visible()
    assert chart.locator("rect").count() > 0
    expect(page.locator(".legend")).to_contain_text("web")
    assert int(page.get_by_test_id("orders-today").inner_text()) > 0
    assert fits_the_width(page)
    shoot(page, viewport, "overview")


def test_the_overview_refreshes_itself(page: Page) -> None:
    sign_in(page)
    with page.expect_response(re.compile(r"/overview/live$"), timeout=25_000) as response:
        pass
    assert response.value.status == 200
    expect(page.get_by_test_id("orders-chart")).to_be_visible()


def test_searching_by_external_id_finds_that_order(page: Page, viewport: str) -> None:
    sign_in(page)
    nav(page, "Orders").click()
    first = page.locator("#results tbody tr").first.get_by_role("link")
    external_id = first.inner_text()
    shoot(page, viewport, "orders")
    page.get_by_label("Search", exact=True).fill(external_id)
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#results tbody tr")).to_have_count(1)
    expect(page.locator("#results")).to_contain_text(external_id)
    expect(page).to_have_url(re.compile(rf"q={re.escape(quote_plus(external_id))}"))
    assert fits_the_width(page)


def test_searching_by_email_lists_only_that_customers_orders(page: Page) -> None:
    sign_in(page)
    page.goto("/orders")
    page.get_by_label("Search", exact=True).fill("ADA@example.com")
    page.get_by_label("Search", exact=True).press("Enter")
    expect(page).to_have_url(re.compile(r"q=ADA"))
    rows = page.locator("#results tbody tr")
    assert rows.count() > 0
    for text in rows.all_inner_texts():
        assert "ada@example.com" in text


def test_order_detail_shows_lines_totals_addresses_and_timeline(page: Page, viewport: str) -> None:
    sign_in(page)
    page.goto("/orders")
    page.locator("#results tbody tr").first.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Lines")).to_be_visible()
    expect(page.get_by_test_id("order-total")).to_have_text(re.compile(r"^[\d,]+\.\d\d [A-Z]{3}$"))
    expect(page.get_by_role("heading", name="Ship to")).to_be_visible()
    timeline = page.locator(".timeline li")
    expect(timeline.first).to_contain_text("order.received")
    expect(timeline.first).to_contain_text("by demo")
    expect(timeline.first.locator("code")).to_have_text(re.compile(r"^[0-9a-f]{12}…$"))
    assert fits_the_width(page)
    shoot(page, viewport, "order-detail")


def test_cancelling_an_order_records_who_did_it(page: Page, viewport: str) -> None:
    sign_in(page)
    page.goto("/orders?status=allocated")
    page.locator("#results tbody tr").first.get_by_role("link").click()
    page.get_by_label("Reason").select_option("customer_request")
    page.get_by_role("button", name="Cancel order").click()
    expect(page.get_by_role("status")).to_have_text("The order was cancelled.")
    expect(page.get_by_test_id("order-status")).to_have_text("cancelled")
    expect(page.locator(".timeline")).to_contain_text("order.cancelled")
    expect(page.locator(".timeline")).to_contain_text("user:operator")
    expect(page.get_by_role("button", name="Cancel order")).to_have_count(0)
    shoot(page, viewport, "order-cancelled")


def test_quarantine_channels_and_audit_pages_render(page: Page, viewport: str) -> None:
    sign_in(page)
    nav(page, "Quarantine").click()
    expect(page.locator("tbody")).to_contain_text("NOT-IN-CATALOGUE")
    expect(page.get_by_role("button", name=re.compile("^Replay")).first).to_be_visible()
    shoot(page, viewport, "quarantine")
    nav(page, "Channels").click()
    expect(page.locator("tbody")).to_contain_text("Own web store")
    shoot(page, viewport, "channels")
    nav(page, "Audit").click()
    page.get_by_role("button", name="Verify all chains").click()
    expect(page.get_by_test_id("verify-result")).to_contain_text("History intact")
    assert fits_the_width(page)
    shoot(page, viewport, "audit")


def test_the_dashboard_works_from_the_keyboard(page: Page, viewport: str) -> None:
    page.goto("/login")
    # The username field takes focus on load (autofocus), which Chromium applies at its next
    # rendering step, possibly after the load event: wait for it, or the first keys are lost.
    expect(page.get_by_label("Username")).to_be_focused()
    page.keyboard.type("operator")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # past the brand to the first navigation link
    if viewport == "phone":  # … which folds behind the Menu button: open it with Enter
        expect(page.get_by_role("button", name="Menu")).to_be_focused()
        page.keyboard.press("Enter")
        page.keyboard.press("Tab")
    expect(nav(page, "Overview")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/orders$"))


def test_a_role_without_the_permission_does_not_see_the_page(page: Page) -> None:
    sign_in(page, "warehouse")
    open_menu(page)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).not_to_contain_text("Audit")
    expect(nav).not_to_contain_text("Quarantine")
    response = page.goto("/audit")
    assert response is not None
    assert response.status == 403


def test_signing_out_ends_the_session(page: Page) -> None:
    sign_in(page, "auditor")
    open_menu(page)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/orders")
    expect(page).to_have_url(re.compile(r"/login\?next=/orders$"))
