"""Returns (RMA) through the API, on SQLite and PostgreSQL: the lifecycle, the channel's
policy, restocking through the ledger, the refund and the order's history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from orderhub.bootstrap import Container
from orderhub.domain.access import Role
from orderhub.domain.orders import OrderStatus
from orderhub.services.allocation import allocate_order
from tests.conftest import bearer, make_key
from tests.integration.after_sale_support import (
    on_hand,
    set_policy,
    shipped_order,
    snapshot,
    stock_up,
)
from tests.integration.fulfilment_support import place_order


@pytest.fixture
def stocked(seeded: Container) -> Container:
    stock_up(seeded)
    return seeded


def lines_of(client: TestClient, headers: dict[str, str], order_id: str) -> dict[str, str]:
    order = client.get(f"/v1/orders/{order_id}", headers=headers).json()
    return {line["sku"]: line["id"] for line in order["lines"]}


def open_return(
    client: TestClient, headers: dict[str, str], order_id: str, units: dict[str, int]
) -> Any:
    return client.post(
        f"/v1/orders/{order_id}/returns",
        json={
            "lines": [{"line_id": k, "quantity": v} for k, v in units.items()],
            "reason": "wrong size",
        },
        headers=headers,
    )


def test_a_return_goes_from_request_to_close_restocks_and_refunds_its_share(
    stocked: Container, client: TestClient, admin: dict[str, str]
) -> None:
    order_id = shipped_order(stocked, delivered_at=datetime.now(UTC) - timedelta(days=2))
    line = lines_of(client, admin, order_id)["SKU-1"]  # 2 × 10.00, tax 1.60
    before = on_hand(stocked, "SKU-1")
    created = open_return(client, admin, order_id, {line: 1})
    assert created.status_code == 201, created.text
    rma = created.json()
    assert rma["status"] == "requested"
    steps: list[tuple[str, dict[str, Any]]] = [
        ("authorize", {}),
        ("in-transit", {"note": "RET-1"}),
        ("receive", {"location": "east"}),
        ("inspect", {"dispositions": {line: "restock"}}),
        ("refund", {}),
        ("close", {}),
    ]
    for action, body in steps:
        moved = client.post(f"/v1/returns/{rma['id']}/{action}", json=body, headers=admin)
        assert moved.status_code == 200, (action, moved.text)
    final = client.get(f"/v1/returns/{rma['id']}", headers=admin).json()
    assert final["status"] == "closed"
    assert final["location"] == "east"
    assert final["lines"][0]["disposition"] == "restock"
    assert final["refunded"] == "10.80"  # 10.00 + half of 1.60 tax; shipping stays
    assert on_hand(stocked, "SKU-1") == before + 1
    history = client.get(f"/v1/orders/{order_id}/events", headers=admin).json()
    types = [e["type"] for e in history]
    assert types.count("return.status_changed") == 6
    assert "return.requested" in types
    assert "order.refunded" in types
    ledger = client.get(f"/v1/orders/{order_id}/ledger", headers=admin).json()
    assert (ledger["charged"], ledger["refunded"], ledger["balance"]) == (
        "31.59",
        "10.80",
        "20.79",
    )


def test_a_skipped_step_is_refused_with_409(
    stocked: Container, client: TestClient, admin: dict[str, str]
) -> None:
    order_id = shipped_order(stocked)
    line = lines_of(client, admin, order_id)["SKU-2"]
    rma = open_return(client, admin, order_id, {line: 1}).json()
    refused = client.post(f"/v1/returns/{rma['id']}/refund", json={}, headers=admin)
    assert refused.status_code == 409
    assert client.get(f"/v1/returns/{rma['id']}", headers=admin).json()["status"] == "requested"


def test_the_channel_policy_refuses_late_non_returnable_and_unshipped_units(
    stocked: Container, client: TestClient, admin: dict[str, str]
) -> None:
    set_policy(stocked, "web", window_days=14, non_returnable_skus=["SKU-2"])
    late = shipped_order(stocked, "L", delivered_at=datetime.now(UTC) - timedelta(days=15))
    lines = lines_of(client, admin, late)
    refused = open_return(client, admin, late, {lines["SKU-1"]: 1})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["code"] == "window_closed"
    recent = shipped_order(stocked, "R", delivered_at=datetime.now(UTC) - timedelta(days=1))
    lines = lines_of(client, admin, recent)
    codes = {
        e["code"]
        for e in open_return(client, admin, recent, {lines["SKU-2"]: 1, lines["SKU-1"]: 3}).json()[
            "errors"
        ]
    }
    assert codes == {"not_returnable", "quantity"}
    assert open_return(client, admin, recent, {lines["SKU-1"]: 2}).status_code == 201
    again = open_return(client, admin, recent, {lines["SKU-1"]: 1})
    assert again.status_code == 422  # both units are already in a return


def test_restocking_fee_and_return_shipping_are_kept_and_booked_as_fees(
    stocked: Container, client: TestClient, admin: dict[str, str]
) -> None:
    set_policy(
        stocked,
        "web",
        restocking_fee_percent="10",
        customer_pays_return_shipping=True,
        return_shipping_fee="2.00",
    )
    order_id = shipped_order(stocked)
    line = lines_of(client, admin, order_id)["SKU-1"]
    rma = open_return(client, admin, order_id, {line: 2}).json()
    for action, body in [
        ("authorize", {}),
        ("receive", {"location": "east"}),
        ("inspect", {"dispositions": {line: "damaged"}}),
        ("refund", {}),
    ]:
        assert client.post(f"/v1/returns/{rma['id']}/{action}", json=body, headers=admin).is_success
    refunds = client.get(f"/v1/orders/{order_id}/refunds", headers=admin).json()
    # 20.00 + 1.60 tax − (2.00 restocking + 2.00 return shipping)
    assert [(r["amount"], r["fees"]) for r in refunds] == [("17.60", "4.00")]
    ledger = client.get(f"/v1/orders/{order_id}/ledger", headers=admin).json()
    assert [e["kind"] for e in ledger["entries"]] == ["charge", "refund", "fee"]
    assert ledger["fees_kept"] == "4.00"


def test_returns_are_listed_by_status_and_order_and_only_for_the_keys_channel(
    stocked: Container, client: TestClient, admin: dict[str, str]
) -> None:
    web = shipped_order(stocked, "W")
    app = shipped_order(stocked, "A", channel="app")
    for order_id in (web, app):
        open_return(client, admin, order_id, {lines_of(client, admin, order_id)["SKU-2"]: 1})
    assert len(client.get("/v1/returns?status=requested", headers=admin).json()["items"]) == 2
    assert [
        r["order_id"]
        for r in client.get(f"/v1/returns?order_id={app}", headers=admin).json()["items"]
    ] == [app]
    app_key = bearer(make_key(stocked, Role.ADMIN, channel="app"))
    seen = client.get("/v1/returns", headers=app_key).json()["items"]
    assert [r["order_id"] for r in seen] == [app]
    web_return = client.get(f"/v1/returns?order_id={web}", headers=admin).json()["items"][0]["id"]
    assert client.get(f"/v1/returns/{web_return}", headers=app_key).status_code == 404


def test_an_exchange_credits_the_return_and_charges_the_difference_on_a_linked_order(
    stocked: Container, client: TestClient, admin: dict[str, str]
) -> None:
    order_id = shipped_order(stocked)
    line = lines_of(client, admin, order_id)["SKU-2"]  # 5.50 − 0.50 discount
    rma = open_return(client, admin, order_id, {line: 1}).json()
    for action, body in [
        ("authorize", {}),
        ("receive", {"location": "east"}),
        ("inspect", {"dispositions": {line: "restock"}}),
    ]:
        client.post(f"/v1/returns/{rma['id']}/{action}", json=body, headers=admin)
    swapped = client.post(
        f"/v1/returns/{rma['id']}/exchange",
        json={"lines": [{"sku": "SKU-3", "quantity": 1, "unit_price": "7.00"}]},
        headers=admin,
    )
    assert swapped.status_code == 200, swapped.text
    body = swapped.json()
    assert (body["credit"], body["difference"]) == ("5.00", "2.00")
    assert body["return"]["status"] == "refunded"
    assert body["return"]["exchange_order_id"] == body["exchange_order_id"]
    replacement = client.get(f"/v1/orders/{body['exchange_order_id']}", headers=admin).json()
    assert replacement["metadata"]["exchange_for"] == order_id
    assert replacement["channel"] == "web"
    ledger = client.get(f"/v1/orders/{body['exchange_order_id']}/ledger", headers=admin).json()
    assert ledger["charged"] == "7.00"
    assert "2.00 charged" in ledger["entries"][0]["note"]
    original = client.get(f"/v1/orders/{order_id}/ledger", headers=admin).json()
    assert original["refunded"] == "5.00"


def inspected_return(
    client: TestClient, headers: dict[str, str], order_id: str, units: dict[str, int]
) -> str:
    rma = open_return(client, headers, order_id, units).json()
    for action, body in [
        ("authorize", {}),
        ("receive", {"location": "east"}),
        ("inspect", {"dispositions": dict.fromkeys(units, "restock")}),
    ]:
        moved = client.post(f"/v1/returns/{rma['id']}/{action}", json=body, headers=headers)
        assert moved.status_code == 200, moved.text
    return str(rma["id"])


def test_a_refused_exchange_writes_nothing(
    stocked: Container, client: TestClient, admin: dict[str, str]
) -> None:
    order_id = shipped_order(stocked)
    line = lines_of(client, admin, order_id)["SKU-2"]
    rma = inspected_return(client, admin, order_id, {line: 1})
    refunded = client.post(
        f"/v1/orders/{order_id}/refunds",
        json={"lines": [{"line_id": line, "quantity": 1}], "reason": "goodwill"},
        headers=admin,
    )
    assert refunded.status_code == 201, refunded.text
    before = snapshot(stocked)
    swap = {"lines": [{"sku": "SKU-2", "quantity": 1, "unit_price": "5.50"}]}
    refused = client.post(f"/v1/returns/{rma}/exchange", json=swap, headers=admin)
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"] == "these units cannot be refunded"
    assert snapshot(stocked) == before
    unknown = {
        "lines": [
            {"sku": "SKU-2", "quantity": 1, "unit_price": "5.50"},
            {"sku": "NOPE", "quantity": 1, "unit_price": "1.00"},
        ]
    }
    refused = client.post(f"/v1/returns/{rma}/exchange", json=unknown, headers=admin)
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["lines.1.sku"]
    assert snapshot(stocked) == before
    assert client.get(f"/v1/returns/{rma}", headers=admin).json()["exchange_order_id"] is None


def test_an_exchange_takes_its_prices_from_the_original_order(
    stocked: Container, client: TestClient, admin: dict[str, str]
) -> None:
    order_id = shipped_order(stocked)
    line = lines_of(client, admin, order_id)["SKU-1"]  # 2 × 10.00, tax 1.60
    rma = inspected_return(client, admin, order_id, {line: 1})
    swap = {"lines": [{"sku": "SKU-1", "quantity": 1}, {"sku": "SKU-3", "quantity": 1}]}
    swapped = client.post(f"/v1/returns/{rma}/exchange", json=swap, headers=admin)
    assert swapped.status_code == 200, swapped.text
    replacement = client.get(
        f"/v1/orders/{swapped.json()['exchange_order_id']}", headers=admin
    ).json()
    # SKU-1 at its own line's price and tax share; SKU-3 (another size) at the returned line's
    assert [(x["sku"], x["unit_price"], x["tax"]) for x in replacement["lines"]] == [
        ("SKU-1", "10.00", "0.80"),
        ("SKU-3", "10.00", "0.80"),
    ]
    assert (swapped.json()["credit"], swapped.json()["difference"]) == ("10.80", "10.80")


def test_a_price_override_needs_its_own_permission_and_is_in_the_history(
    stocked: Container, client: TestClient, admin: dict[str, str]
) -> None:
    order_id = shipped_order(stocked)
    line = lines_of(client, admin, order_id)["SKU-2"]
    rma = inspected_return(client, admin, order_id, {line: 1})
    support = bearer(make_key(stocked, Role.SUPPORT))
    cheap = {"lines": [{"sku": "SKU-3", "quantity": 2, "unit_price": "0.00"}]}
    before = snapshot(stocked)
    refused = client.post(f"/v1/returns/{rma}/exchange", json=cheap, headers=support)
    assert refused.status_code == 403
    assert "returns:override_price" in refused.json()["title"]
    assert snapshot(stocked) == before
    operator = bearer(make_key(stocked, Role.OPERATOR))
    swapped = client.post(f"/v1/returns/{rma}/exchange", json=cheap, headers=operator)
    assert swapped.status_code == 200, swapped.text
    replacement = swapped.json()["exchange_order_id"]
    history = client.get(f"/v1/orders/{replacement}/events", headers=admin).json()
    (override,) = [e for e in history if e["type"] == "exchange.price_overridden"]
    assert override["actor"].startswith("api_key:")
    assert (override["data"]["sku"], override["data"]["unit_price"]) == ("SKU-3", "0.00")
    assert override["data"]["derived_price"] == "5.50"


def test_restocked_return_units_serve_the_waiting_orders(
    stocked: Container, client: TestClient, admin: dict[str, str]
) -> None:
    order_id = shipped_order(stocked)  # 2 of the 50 SKU-1 shipped: 48 left at east
    wanting = [{"sku": "SKU-1", "quantity": 49, "unit_price": "1.00"}]
    waiting_id = place_order(stocked, "W-1", lines=wanting)
    with stocked.uow(actor="test") as uow:
        assert allocate_order(uow, order_id=waiting_id).status == OrderStatus.BACKORDERED
    line = lines_of(client, admin, order_id)["SKU-1"]
    inspected_return(client, admin, order_id, {line: 1})  # restocked: 49 free
    assert client.get(f"/v1/orders/{waiting_id}", headers=admin).json()["status"] == "allocated"


def test_a_rejected_and_closed_return_gives_its_units_back_to_be_returned_again(
    stocked: Container, client: TestClient, admin: dict[str, str]
) -> None:
    order_id = shipped_order(stocked)
    line = lines_of(client, admin, order_id)["SKU-2"]
    rma = open_return(client, admin, order_id, {line: 1}).json()
    assert open_return(client, admin, order_id, {line: 1}).status_code == 422
    client.post(f"/v1/returns/{rma['id']}/reject", json={"note": "no label"}, headers=admin)
    client.post(f"/v1/returns/{rma['id']}/close", json={}, headers=admin)
    assert open_return(client, admin, order_id, {line: 1}).status_code == 201


def test_the_return_rate_report_counts_orders_with_a_return(
    stocked: Container, client: TestClient, admin: dict[str, str]
) -> None:
    returned = shipped_order(stocked, "R-1", delivered_at=datetime.now(UTC) - timedelta(days=1))
    shipped_order(stocked, "R-2", delivered_at=datetime.now(UTC) - timedelta(days=1))
    line = lines_of(client, admin, returned)["SKU-1"]
    assert open_return(client, admin, returned, {line: 1}).status_code == 201
    params = {"from": "2026-11-20", "to": "2026-11-20"}
    rows = client.get("/v1/reports/return-rate", params=params, headers=admin).json()["rows"]
    assert [(r["channel"], r["returned_orders"], r["return_rate"]) for r in rows] == [
        ("web", 1, 0.5)
    ]
