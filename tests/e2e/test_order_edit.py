"""Editing an order in a real browser: the htmx preview shows the cost before anything is
saved; saving applies it and the timeline records it (desktop and phone width)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import shoot, sign_in
from tests.e2e.test_dashboard import fits_the_width

pytestmark = pytest.mark.browser


def test_the_edit_form_previews_the_cost_then_saves_the_edit(page: Page, viewport: str) -> None:
    sign_in(page)
    page.goto("/orders?status=allocated")
    page.locator("#results tbody tr").first.get_by_role("link").click()
    form = page.get_by_test_id("edit-form")
    expect(form).to_be_visible()
    total = page.get_by_test_id("order-total").inner_text()
    price = form.get_by_label("Shipping price")
    price.fill(str(Decimal(price.input_value()) + 10))  # the phone run edits it again
    form.get_by_label("Note").fill(f"e2e {viewport}")
    form.get_by_test_id("edit-preview-button").click()
    preview = page.get_by_test_id("edit-preview")
    # Whichever order comes first (the seeded history holds USD, EUR and GBP orders).
    due = re.compile(r"10\.00 [A-Z]{3} due from the buyer")
    expect(preview.get_by_test_id("edit-balance")).to_contain_text(due)
    expect(preview).to_contain_text("Nothing is saved")
    expect(page.get_by_test_id("order-total")).to_have_text(total)  # not saved yet
    assert fits_the_width(page)
    shoot(page, viewport, "order-edit-preview")
    form.get_by_test_id("edit-save-button").click()
    expect(page.get_by_role("status")).to_contain_text("The order was edited.")
    expect(page.locator(".timeline")).to_contain_text("order.edited")
    expect(page.locator(".timeline")).to_contain_text(f"e2e {viewport}")
