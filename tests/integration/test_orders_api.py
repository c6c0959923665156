"""Native ingest and reads through the HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import native_order


def test_create_order_returns_the_design_representation(
    client: TestClient, admin: dict[str, str]
) -> None:
    response = client.post("/v1/orders", json=native_order(), headers=admin)
    assert response.status_code == 201, response.text
    order = response.json()
    assert response.headers["location"] == f"/v1/orders/{order['id']}"
    assert order["status"] == "received"
    assert order["customer"]["email"] == "buyer@example.com"
    assert order["placed_at"] == "2026-11-20T13:30:00Z"
    assert order["totals"] == {
        "subtotal": "25.50", "discount": "0.50", "shipping": "4.99", "tax": "1.60",
        "total": "31.59",
    }  # fmt: skip
    assert [line["unit_price"] for line in order["lines"]] == ["10.00", "5.50"]
    fetched = client.get(f"/v1/orders/{order['id']}", headers=admin).json()
    assert fetched == order


def test_same_channel_and_external_id_returns_the_existing_order(
    client: TestClient, admin: dict[str, str]
) -> None:
    first = client.post("/v1/orders", json=native_order(), headers=admin)
    again = client.post("/v1/orders", json=native_order(), headers=admin)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    listed = client.get("/v1/orders", headers=admin).json()
    assert len(listed["items"]) == 1
    events = client.get(f"/v1/orders/{first.json()['id']}/events", headers=admin).json()
    assert [e["type"] for e in events] == ["order.received"]


def test_invalid_order_is_a_problem_naming_each_field(
    client: TestClient, admin: dict[str, str]
) -> None:
    body = native_order(currency="usd", placed_at="2026-11-20T10:00:00")
    body["lines"] = [{"sku": "SKU-1", "quantity": 0, "unit_price": 9.99}]
    response = client.post("/v1/orders", json=body, headers=admin)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"currency", "placed_at", "lines.0.quantity", "lines.0.unit_price"} <= fields
    assert client.get("/v1/orders", headers=admin).json()["items"] == []


def test_amounts_finer_than_the_currency_are_refused(
    client: TestClient, admin: dict[str, str]
) -> None:
    body = native_order(currency="JPY")
    response = client.post("/v1/orders", json=body, headers=admin)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"lines.0.tax", "lines.1.unit_price", "lines.1.discount", "shipping.price"}
    assert "JPY amounts take at most 0 decimals" in response.json()["errors"][0]["message"]


def test_unknown_channel_is_a_validation_problem(client: TestClient, admin: dict[str, str]) -> None:
    response = client.post("/v1/orders", json=native_order(channel="nope"), headers=admin)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "channel"


def test_keyset_pagination_walks_every_order_once(
    client: TestClient, admin: dict[str, str]
) -> None:
    created = {
        client.post("/v1/orders", json=native_order(f"P-{n}"), headers=admin).json()["id"]
        for n in range(7)
    }
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = client.get("/v1/orders", params=params, headers=admin).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 7
    assert set(seen) == created
    assert seen == sorted(seen, reverse=True)


def test_filters_narrow_the_list(client: TestClient, admin: dict[str, str]) -> None:
    client.post("/v1/orders", json=native_order("F-1"), headers=admin)
    client.post(
        "/v1/orders",
        json=native_order("F-2", channel="app", customer={"email": "other@example.com"}),
        headers=admin,
    )

    def external_ids(**params: str) -> list[str]:
        page = client.get("/v1/orders", params=params, headers=admin).json()
        return [o["external_id"] for o in page["items"]]

    assert external_ids(channel="app") == ["F-2"]
    assert external_ids(email="BUYER@example.com") == ["F-1"]
    assert external_ids(external_id="F-2") == ["F-2"]
    assert external_ids(status="cancelled") == []
    assert sorted(external_ids(placed_from="2026-11-20T00:00:00Z")) == ["F-1", "F-2"]
    assert external_ids(placed_to="2026-11-20T00:00:00Z") == []
    bad = client.get("/v1/orders", params={"status": "lost"}, headers=admin)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "query.status"


def test_the_same_email_on_two_channels_is_one_customer(
    client: TestClient, admin: dict[str, str]
) -> None:
    web = client.post("/v1/orders", json=native_order("C-1"), headers=admin).json()
    app = client.post(
        "/v1/orders",
        json=native_order("C-1", channel="app", customer={"email": "buyer@EXAMPLE.com "}),
        headers=admin,
    ).json()
    assert web["id"] != app["id"]
    assert web["customer"]["id"] == app["customer"]["id"]


def test_cancel_moves_the_order_and_a_second_cancel_conflicts(
    client: TestClient, admin: dict[str, str]
) -> None:
    order = client.post("/v1/orders", json=native_order(), headers=admin).json()
    cancelled = client.post(
        f"/v1/orders/{order['id']}/cancel", json={"reason": "customer_request"}, headers=admin
    )
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    again = client.post(f"/v1/orders/{order['id']}/cancel", json={"reason": "other"}, headers=admin)
    assert again.status_code == 409
    events = client.get(f"/v1/orders/{order['id']}/events", headers=admin).json()
    assert events[-1]["type"] == "order.cancelled"
    assert events[-1]["actor"].startswith("api_key:")


def test_cancelling_some_units_is_stored_and_in_the_history(
    client: TestClient, admin: dict[str, str]
) -> None:
    order = client.post("/v1/orders", json=native_order(), headers=admin).json()
    first = order["lines"][0]["id"]
    response = client.post(
        f"/v1/orders/{order['id']}/cancel",
        json={"reason": "out_of_stock", "lines": [{"line_id": first, "quantity": 1}]},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "received"
    assert [line["cancelled_quantity"] for line in body["lines"]] == [1, 0]
    events = client.get(f"/v1/orders/{order['id']}/events", headers=admin).json()
    assert events[-1]["data"]["units"] == {first: 1}
    too_many = client.post(
        f"/v1/orders/{order['id']}/cancel",
        json={"reason": "other", "lines": [{"line_id": first, "quantity": 2}]},
        headers=admin,
    )
    assert too_many.status_code == 422
    assert too_many.json()["errors"][0]["field"] == "lines.0.quantity"
