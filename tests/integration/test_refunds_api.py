"""Refunds the hub decides and the order's ledger, through the API (SQLite and PostgreSQL)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import native_order


def test_a_partial_cancellation_then_its_refund_gives_back_the_units_share_and_reconciles(
    client: TestClient, admin: dict[str, str]
) -> None:
    order = client.post("/v1/orders", json=native_order(), headers=admin).json()
    first, second = (line["id"] for line in order["lines"])
    client.post(
        f"/v1/orders/{order['id']}/cancel",
        json={"reason": "out_of_stock", "lines": [{"line_id": first, "quantity": 1}]},
        headers=admin,
    )
    refund = client.post(
        f"/v1/orders/{order['id']}/refunds",
        json={"lines": [{"line_id": first, "quantity": 1}], "reason": "partial cancellation"},
        headers=admin,
    )
    assert refund.status_code == 201, refund.text
    body = refund.json()
    assert (body["amount"], body["shipping"], body["fees"]) == ("10.80", "0.00", "0.00")
    assert body["lines"] == [
        {
            "line_id": first,
            "quantity": 1,
            "merchandise": "10.00",
            "discount": "0.00",
            "tax": "0.80",
            "amount": "10.80",
        }
    ]
    too_many = client.post(
        f"/v1/orders/{order['id']}/refunds",
        json={"lines": [{"line_id": first, "quantity": 2}], "reason": "again"},
        headers=admin,
    )
    assert too_many.status_code == 422
    assert too_many.json()["errors"][0]["field"] == "lines.0.quantity"
    rest = client.post(
        f"/v1/orders/{order['id']}/refunds",
        json={
            "lines": [{"line_id": first, "quantity": 1}, {"line_id": second, "quantity": 1}],
            "reason": "cancelled",
        },
        headers=admin,
    )
    assert rest.json()["amount"] == "20.79"  # 10.80 + 5.00 + shipping 4.99: the remainder
    ledger = client.get(f"/v1/orders/{order['id']}/ledger", headers=admin).json()
    assert (ledger["order_total"], ledger["charged"], ledger["refunded"], ledger["balance"]) == (
        "20.79",  # the order less its cancelled unit: 31.59 − 10.80
        "31.59",
        "31.59",
        "0.00",
    )
    events = client.get(f"/v1/orders/{order['id']}/events", headers=admin).json()
    assert [e["type"] for e in events].count("order.refunded") == 2


def test_an_order_without_after_sale_money_has_its_charge_in_the_ledger(
    client: TestClient, admin: dict[str, str]
) -> None:
    order = client.post("/v1/orders", json=native_order(), headers=admin).json()
    ledger = client.get(f"/v1/orders/{order['id']}/ledger", headers=admin).json()
    assert [(e["kind"], e["amount"]) for e in ledger["entries"]] == [("charge", "31.59")]
    assert ledger["balance"] == "31.59"
