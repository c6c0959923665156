"""Stores as locations: their settings through the API, their safety stock kept back from
every channel (under concurrency too), and ship from store when routing finds it cheaper."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from orderhub.bootstrap import Container
from orderhub.services.allocation import allocate_order
from orderhub.services.inventory_check import find_drift
from tests.conftest import native_order
from tests.integration.inventory_helpers import levels, place
from tests.integration.store_support import STORE, WAREHOUSE, add_locations, receive
from tests.integration.test_no_oversell import race


def test_a_store_is_created_with_its_settings_and_patched(
    client: TestClient, admin: dict[str, str]
) -> None:
    add_locations(client, admin, STORE)
    store = client.get("/v1/locations/soho", headers=admin).json()
    assert store["store"] == STORE["store"]
    assert store["daily_capacity"] == 40
    patched = client.patch(
        "/v1/locations/soho",
        json={"store": {"safety_stock": 5, "ship_from_store": False}},
        headers=admin,
    ).json()
    assert patched["store"]["safety_stock"] == 5
    assert patched["store"]["ship_from_store"] is False
    assert patched["store"]["pickup_enabled"] is True  # the defaults for what was left out
    plain = {"code": "corner", "name": "Corner", "kind": "store", "address": {"country": "US"}}
    add_locations(client, admin, plain)
    defaults = client.get("/v1/locations/corner", headers=admin).json()["store"]
    assert defaults == {
        "opening_hours": {},
        "pickup_enabled": True,
        "ship_from_store": True,
        "safety_stock": 0,
        "pickup_hold_days": 7,
    }
    assert client.get("/v1/locations?kind=store", headers=admin).json()["items"][0]["code"] == (
        "corner"
    )


def test_invalid_store_settings_are_problems_naming_the_field(
    client: TestClient, admin: dict[str, str]
) -> None:
    def refused(body: dict[str, Any]) -> list[str]:
        response = client.post("/v1/locations", json=body, headers=admin)
        assert response.status_code == 422, response.text
        return [e["field"] for e in response.json()["errors"]]

    def with_store(**store: Any) -> dict[str, Any]:
        return {**STORE, "store": {**STORE["store"], **store}}  # type: ignore[dict-item]

    assert refused(with_store(opening_hours={"mon": ["20:00", "09:00"]})) == ["store.opening_hours"]
    assert refused(with_store(opening_hours={"monday": ["09:00", "17:00"]}))[0].startswith(
        "store.opening_hours.monday"
    )
    assert refused(with_store(opening_hours={"mon": ["9am", "17:00"]}))[0].startswith(
        "store.opening_hours.mon"
    )
    assert refused(with_store(safety_stock=-1)) == ["store.safety_stock"]
    assert refused(with_store(pickup_hold_days=0)) == ["store.pickup_hold_days"]
    assert refused(with_store(pickup_enabled="yes")) == ["store.pickup_enabled"]
    assert refused({**WAREHOUSE, "store": {"safety_stock": 1}}) == ["store"]
    add_locations(client, admin, WAREHOUSE)
    patch = client.patch("/v1/locations/dc", json={"store": {"safety_stock": 1}}, headers=admin)
    assert patch.status_code == 422
    assert [e["field"] for e in patch.json()["errors"]] == ["store"]
    assert client.get("/v1/locations", headers=admin).json()["items"][0]["store"] is None


def test_channels_see_a_stores_stock_less_its_safety_stock(
    client: TestClient, admin: dict[str, str]
) -> None:
    add_locations(client, admin)
    receive(client, admin, "SKU-1", "soho", 5)
    receive(client, admin, "SKU-1", "dc", 1)
    figures = client.get("/v1/inventory/SKU-1", headers=admin).json()
    assert figures["channels"]["web"] == {"available": 4}  # 5 − 2 at the store, + 1
    client.patch("/v1/locations/soho", json={"store": {"safety_stock": 9}}, headers=admin)
    figures = client.get("/v1/inventory/SKU-1", headers=admin).json()
    assert figures["channels"]["web"] == {"available": 1}  # the store adds nothing, not −4


def test_racing_orders_never_take_a_stores_safety_stock(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    add_locations(client, admin, STORE)
    receive(client, admin, "SKU-1", "soho", 7)  # 5 sellable, 2 kept back
    order_ids = [place(seeded, n, [("SKU-1", 1)]) for n in range(12)]

    race(seeded, order_ids)

    assert levels(seeded)[("SKU-1", "soho")] == (7, 5)
    with seeded.uow(read_only=True) as uow:
        assert find_drift(uow)[1] == []
        statuses = sorted(uow.orders.get(i).status.value for i in order_ids)
    assert statuses.count("allocated") == 5
    with seeded.uow() as uow:  # the guard itself keeps it, whatever a planner proposed
        assert not uow.stock.reserve("SKU-1", "soho", 1, keep=2)
        assert uow.stock.reserve("SKU-1", "soho", 1, keep=1)
        uow.rollback()


RULES: dict[str, Any] = {
    "zones": [
        {"origin": "soho", "destinations": ["US-NY"], "zone": "local"},
        {"destinations": ["US"], "zone": "national"},
    ],
    "rate_cards": [
        {"zone": "local", "transit_days": 1, "bands": [{"price": "4.00"}]},
        {"zone": "national", "transit_days": 3, "bands": [{"price": "11.00"}]},
    ],
}


def route_one(
    client: TestClient, admin: dict[str, str], seeded: Container, handling: str
) -> dict[str, Any]:
    rules = {**RULES, "locations": {"soho": {"handling_cost": handling}}}
    put = client.put("/v1/routing/rules", json={"rules": rules, "comment": "t"}, headers=admin)
    assert put.status_code == 200, put.text
    order_id = client.post(
        "/v1/orders",
        json=native_order(
            f"S-{handling}", lines=[{"sku": "SKU-1", "quantity": 1, "unit_price": "9.00"}]
        ),
        headers=admin,
    ).json()["id"]
    with seeded.uow() as uow:
        allocate_order(uow, order_id=order_id)
    order: dict[str, Any] = client.get(f"/v1/orders/{order_id}", headers=admin).json()
    return order


def test_routing_ships_from_a_near_store_when_cheaper_and_says_so(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    add_locations(client, admin)
    receive(client, admin, "SKU-1", "soho", 10)
    receive(client, admin, "SKU-1", "dc", 10)

    near = route_one(client, admin, seeded, handling="3.00")  # 4 + 3 < 11

    (allocation,) = near["allocations"]
    assert allocation["location"] == "soho"
    explanation = allocation["explanation"]
    (shipment,) = explanation["chosen"]["shipments"]
    assert shipment["cost"]["handling"] == "3.00"
    assert explanation["ship_from_store"]["best_other_location"] == "dc"
    assert "less than 11.00 from dc" in explanation["ship_from_store"]["reason"]

    dear = route_one(client, admin, seeded, handling="8.00")  # 4 + 8 > 11

    (allocation,) = dear["allocations"]
    assert allocation["location"] == "dc"
    assert "ship_from_store" not in allocation["explanation"]


def test_a_store_without_ship_from_store_is_no_candidate_for_shipped_orders(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    add_locations(client, admin)
    client.patch("/v1/locations/soho", json={"store": {"ship_from_store": False}}, headers=admin)
    receive(client, admin, "SKU-1", "soho", 10)
    receive(client, admin, "SKU-1", "dc", 10)

    order = route_one(client, admin, seeded, handling="0.00")

    (allocation,) = order["allocations"]
    assert allocation["location"] == "dc"
    candidates = [c["location"] for c in allocation["explanation"]["candidates"]]
    assert candidates == ["dc"]
