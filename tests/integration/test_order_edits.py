"""``POST /v1/orders/{id}/edits`` through the API, on SQLite and PostgreSQL: what an edit
changes (lines, address, shipping, money, stock, routing, fulfilment orders, history) and
every way it is refused without writing anything."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from orderhub.bootstrap import Container
from orderhub.domain.access import Role
from orderhub.domain.fulfilment import FulfilmentStatus
from orderhub.services.allocation import allocate_order
from orderhub.store import tables as t
from tests.conftest import bearer, make_key, native_order
from tests.integration.after_sale_support import dispatch, ship, snapshot
from tests.integration.edit_support import CA, NY, reserved, two_coasts, use_rules


def place(
    client: TestClient, admin: dict[str, str], external_id: str = "E-1", **extra: Any
) -> dict[str, Any]:
    body = native_order(external_id, shipping_address=NY, **extra)
    created = client.post("/v1/orders", json=body, headers=admin)
    assert created.status_code == 201, created.text
    return dict(created.json())


def allocated(
    client: TestClient,
    admin: dict[str, str],
    container: Container,
    external_id: str = "E-1",
    **extra: Any,
) -> dict[str, Any]:
    order = place(client, admin, external_id, **extra)
    with container.uow(actor="test") as uow:
        allocate_order(uow, order_id=order["id"])
    return dict(client.get(f"/v1/orders/{order['id']}", headers=admin).json())


def edit(client: TestClient, headers: dict[str, str], order_id: str, body: dict[str, Any]) -> Any:
    return client.post(f"/v1/orders/{order_id}/edits", json=body, headers=headers)


def history(client: TestClient, admin: dict[str, str], order_id: str) -> list[dict[str, Any]]:
    return list(client.get(f"/v1/orders/{order_id}/events", headers=admin).json())


@pytest.fixture
def coasts(seeded: Container, client: TestClient, admin: dict[str, str]) -> Container:
    two_coasts(seeded)
    use_rules(client, admin)
    return seeded


def test_an_address_across_the_country_moves_the_order_to_the_nearer_warehouse_and_says_why(
    client: TestClient, admin: dict[str, str], coasts: Container
) -> None:
    order = allocated(client, admin, coasts)
    assert {a["location"] for a in order["allocations"]} == {"east"}
    answer = edit(client, admin, order["id"], {"shipping_address": CA, "reason": "moved"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["difference"] == "0.00" and body["balance"] == "none"
    assert body["changes"]["shipping_address"]["after"]["region"] == "CA"
    routing = body["routing"]
    assert set(routing["moved"]) == {line["id"] for line in order["lines"]}
    assert all(places == ["west"] for places in routing["after"].values())
    assert "shipping address changed" in routing["explanation"]["note"]
    assert {a["location"] for a in body["order"]["allocations"] if a["open_quantity"]} == {"west"}
    held = reserved(coasts)
    assert (held[("SKU-1", "east")], held[("SKU-1", "west")]) == (0, 2)
    assert body["order"]["shipping_address"]["region"] == "CA"
    edited = [e for e in history(client, admin, order["id"]) if e["type"] == "order.edited"]
    assert len(edited) == 1
    assert edited[0]["data"]["reason"] == "moved"
    assert edited[0]["data"]["changes"]["shipping_address"]["before"]["region"] == "NY"
