"""The dashboard on a 390 px phone: the navigation folds behind a menu button."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import LiveServer, shoot, sign_in

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE, base_url=live_server.url)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_at_390_px_the_navigation_folds_behind_a_menu_button(phone: Page) -> None:
    sign_in(phone)
    header = phone.locator("header.topbar").bounding_box()
    assert header is not None
    assert header["height"] < 0.1 * PHONE["height"]  # one bar, not a third of the screen
    nav = phone.get_by_role("navigation", name="Main")
    expect(nav).to_be_hidden()
    menu = phone.get_by_role("button", name="Menu")
    expect(menu).to_have_attribute("aria-expanded", "false")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(nav).to_be_visible()
    shoot(phone, "phone390", "menu-open")
    nav.get_by_role("link", name="Reports").click()
    phone.wait_for_url("**/reports")
    expect(phone.get_by_role("navigation", name="Main")).to_be_hidden()
    expect(phone.get_by_test_id("rate-chart").first).to_be_visible()
    shoot(phone, "phone390", "reports")


def test_at_1280_px_there_is_no_menu_button(browser: Browser, live_server: LiveServer) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=live_server.url)
    page = context.new_page()
    try:
        sign_in(page)
        expect(page.get_by_role("button", name="Menu")).to_be_hidden()
        expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    finally:
        context.close()
