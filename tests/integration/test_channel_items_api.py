"""POST /v1/channels/{code}/inventory-items: the channel ids stock is pushed to."""

from __future__ import annotations

from fastapi.testclient import TestClient

from orderhub.bootstrap import Container
from tests.support.channels import seed_channels


def test_inventory_items_are_stored_replaced_and_listed(
    client: TestClient, seeded: Container, admin: dict[str, str]
) -> None:
    seed_channels(seeded)
    url = "/v1/channels/shop/inventory-items"
    first = {"items": [{"sku": "MUG-1", "item": {"inventory_item_id": 1, "location_id": 2}}]}
    assert client.post(url, json=first, headers=admin).json() == {"stored": 1}
    again = {"items": [{"sku": "MUG-1", "item": {"inventory_item_id": 3, "location_id": 2}}]}
    assert client.post(url, json=again, headers=admin).status_code == 200
    assert client.get(url, headers=admin).json() == again


def test_an_unknown_sku_or_a_missing_channel_id_is_a_problem_naming_the_field(
    client: TestClient, seeded: Container, admin: dict[str, str]
) -> None:
    seed_channels(seeded)
    body = {
        "items": [
            {"sku": "NOPE", "item": {"inventory_item_id": 1, "location_id": 2}},
            {"sku": "MUG-1", "item": {"inventory_item_id": 1}},
        ]
    }
    response = client.post("/v1/channels/shop/inventory-items", json=body, headers=admin)
    assert response.status_code == 422
    fields = [e["field"] for e in response.json()["errors"]]
    assert fields == ["items.0.sku", "items.1.item.location_id"]
    assert client.get("/v1/channels/shop/inventory-items", headers=admin).json() == {"items": []}
