"""Cancelling in the dashboard: the same reasons as the API, the same figures as the API."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from orderhub.api.app import create_app
from orderhub.bootstrap import Container
from orderhub.domain.access import Role
from orderhub.domain.cancellation import CancelReason
from tests.conftest import native_order
from tests.integration.dashboard_support import signed_in, submit


def _dd(html: str, label: str) -> str:
    """The figure shown beside ``label`` in a totals list."""
    found = re.search(rf"<dt>{label}</dt><dd[^>]*>([^<]+)</dd>", html)
    assert found, f"no {label} on the page"
    return found.group(1).strip()


def _partly_cancelled(client: TestClient, admin: dict[str, str]) -> dict[str, object]:
    """native_order (2 × SKU-1 at 10.00 with 1.60 tax, …, total 31.59) less one SKU-1."""
    order = client.post("/v1/orders", json=native_order("PC-1"), headers=admin).json()
    first = order["lines"][0]["id"]
    cancelled = client.post(
        f"/v1/orders/{order['id']}/cancel",
        json={"reason": "out_of_stock", "lines": [{"line_id": first, "quantity": 1}]},
        headers=admin,
    )
    assert cancelled.status_code == 200, cancelled.text
    body: dict[str, object] = cancelled.json()
    return body


def test_a_cancelled_unit_leaves_the_totals_on_the_page_and_in_the_api_alike(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    order = _partly_cancelled(client, admin)
    totals = client.get(f"/v1/orders/{order['id']}", headers=admin).json()["totals"]
    # one unit of 10.00 and its half of the line's 1.60 tax are no longer part of the order
    assert (totals["subtotal"], totals["tax"], totals["total"]) == ("15.50", "0.80", "20.79")
    signed_in(client, seeded, Role.SUPPORT)
    html = client.get(f"/orders/{order['id']}").text
    assert _dd(html, "Subtotal") == "15.50 USD"
    assert _dd(html, "Total") == "20.79 USD"
    assert _dd(html, "Ordered") == "31.59 USD"
    ledger = client.get(f"/v1/orders/{order['id']}/ledger", headers=admin).json()
    assert (ledger["balance"], ledger["to_refund"]) == ("31.59", "10.80")
    assert _dd(html, "Balance") == "31.59 USD"
    assert _dd(html, "To refund") == "10.80 USD"


def test_a_partial_cancellation_reads_as_units_cancelled_not_the_order(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    order = _partly_cancelled(client, admin)
    signed_in(client, seeded, Role.SUPPORT)
    html = client.get(f"/orders/{order['id']}").text
    assert "order.cancelled" not in html
    assert "units cancelled" in html
    assert "SKU-1 × 1" in html


def test_the_dashboard_offers_exactly_the_reasons_the_api_takes(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    order = client.post("/v1/orders", json=native_order("PC-2"), headers=admin).json()
    token = signed_in(client, seeded, Role.SUPPORT)
    html = client.get(f"/orders/{order['id']}").text
    form = re.search(r'<select id="reason" name="reason"[^>]*>(.*?)</select>', html, re.S)
    assert form, "no cancel form"
    offered = re.findall(r'<option value="([a-z_]+)">', form.group(1))
    api = create_app(seeded).openapi()["components"]["schemas"]["CancelReason"]["enum"]
    assert offered == api == [r.value for r in CancelReason]
    refused = submit(client, f"/orders/{order['id']}/cancel", token, {"reason": "payment_failed"})
    assert refused.status_code == 422
    assert client.get(f"/v1/orders/{order['id']}", headers=admin).json()["status"] != "cancelled"
