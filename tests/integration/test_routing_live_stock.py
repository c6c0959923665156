"""The dry-run reads the same live stock allocation sees, and reserves none of it."""

from __future__ import annotations

from dataclasses import replace

from fastapi.testclient import TestClient

from orderhub.bootstrap import Container
from tests.integration.inventory_helpers import add_locations, levels, receive


def test_simulate_plans_against_live_stock_without_reserving(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    add_locations(seeded, ("east", 1), ("west", 2))
    receive(seeded, "SKU-1", "west", 5)
    before = levels(seeded)
    order = {
        "channel": "web",
        "destination": {"country": "US", "region": "NY"},
        "lines": [{"sku": "SKU-1", "quantity": 2}],
    }
    response = client.post("/v1/routing/simulate", json={"order": order}, headers=admin)
    assert response.status_code == 200, response.text
    plan = response.json()["plans"][0]["active"]
    assert [(p["location"], p["quantity"]) for p in plan["picks"]] == [("west", 2)]
    assert levels(seeded) == before
    short = {**order, "lines": [{"sku": "SKU-1", "quantity": 6}]}
    response = client.post("/v1/routing/simulate", json={"order": short}, headers=admin)
    assert response.json()["plans"][0]["active"]["picks"] == []


def test_simulate_explains_an_inactive_location_that_holds_stock(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    add_locations(seeded, ("east", 1), ("west", 2))
    receive(seeded, "SKU-1", "east", 5)
    receive(seeded, "SKU-1", "west", 5)
    with seeded.uow(actor="test") as uow:
        uow.locations.save(replace(uow.locations.get("east"), active=False))
        uow.commit()
    order = {
        "channel": "web",
        "destination": {"country": "US", "region": "NY"},
        "lines": [{"sku": "SKU-1", "quantity": 2}],
    }
    response = client.post("/v1/routing/simulate", json={"order": order}, headers=admin)
    assert response.status_code == 200, response.text
    plan = response.json()["plans"][0]["active"]
    assert [(p["location"], p["quantity"]) for p in plan["picks"]] == [("west", 2)]
    excluded = {e["location"]: e["reason"] for e in plan["explanation"]["excluded"]}
    assert excluded == {"east": "inactive"}
