"""Locations, adjustments, stock per SKU and safety stock through the HTTP API."""

from __future__ import annotations

from fastapi.testclient import TestClient

from orderhub.bootstrap import Container
from orderhub.domain.access import Role
from orderhub.services.allocation import allocate_pending
from tests.conftest import bearer, make_key, native_order
from tests.integration.inventory_helpers import outbox_events

BER = {
    "code": "ber",
    "name": "Berlin DC",
    "kind": "warehouse",
    "address": {"country": "DE", "region": "BE", "postal_code": "10115", "latitude": 52.53},
    "timezone": "Europe/Berlin",
    "daily_capacity": 500,
    "cutoff": "15:00",
    "priority": 1,
}
NYC = {"code": "nyc", "name": "NYC store", "kind": "store", "address": {"country": "US"}}


def setup_locations(client: TestClient, admin: dict[str, str]) -> None:
    for body in (BER, NYC):
        assert client.post("/v1/locations", json=body, headers=admin).status_code == 201


def test_locations_are_created_read_listed_and_patched(
    client: TestClient, admin: dict[str, str]
) -> None:
    response = client.post("/v1/locations", json=BER, headers=admin)
    assert response.status_code == 201, response.text
    assert response.headers["location"] == "/v1/locations/ber"
    created = response.json()
    assert created["cutoff"] == "15:00:00"
    assert created["address"]["latitude"] == 52.53
    assert created["channels"] is None
    assert created["provider"] == "warehouse"
    assert client.get("/v1/locations/ber", headers=admin).json() == created
    assert client.post("/v1/locations", json=BER, headers=admin).status_code == 409
    patched = client.patch(
        "/v1/locations/ber", json={"active": False, "channels": ["web"]}, headers=admin
    ).json()
    assert (patched["active"], patched["channels"], patched["name"]) == (
        False,
        ["web"],
        "Berlin DC",
    )
    assert [loc["code"] for loc in client.get("/v1/locations", headers=admin).json()["items"]] == [
        "ber"
    ]
    assert client.get("/v1/locations/nope", headers=admin).status_code == 404


def test_invalid_location_names_each_field(client: TestClient, admin: dict[str, str]) -> None:
    body = {**BER, "code": "Bad Code", "timezone": "Mars/Olympus", "kind": "shed"}
    response = client.post("/v1/locations", json=body, headers=admin)
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"code", "timezone", "kind"}


def test_delta_count_and_stale_count_adjust_stock(
    client: TestClient, admin: dict[str, str]
) -> None:
    setup_locations(client, admin)
    delta = {"sku": "SKU-1", "location": "ber", "delta": 10, "reason": "po-1", "kind": "receipt"}
    first = client.post("/v1/inventory/adjustments", json=delta, headers=admin)
    assert first.status_code == 200, first.text
    assert first.json()["on_hand"] == 10
    count = {"sku": "SKU-1", "location": "ber", "on_hand": 7, "as_of": "2026-11-27T10:00:00Z"}
    assert (
        client.post("/v1/inventory/adjustments", json=count, headers=admin).json()["on_hand"] == 7
    )
    older = {**count, "on_hand": 50, "as_of": "2026-11-27T09:00:00Z"}
    stale = client.post("/v1/inventory/adjustments", json=older, headers=admin).json()
    assert (stale["stale"], stale["applied"], stale["on_hand"]) == (True, False, 7)
    ledger = client.get("/v1/inventory/SKU-1/movements", headers=admin).json()["items"]
    assert [(m["kind"], m["on_hand_delta"], m["stale"]) for m in ledger] == [
        ("receipt", 10, False),
        ("count", -3, False),
        ("count", 0, True),
    ]


def test_batch_is_all_or_nothing_with_field_paths(
    client: TestClient, admin: dict[str, str]
) -> None:
    setup_locations(client, admin)
    batch = {
        "items": [
            {"sku": "SKU-1", "location": "ber", "delta": 5, "reason": "receipt"},
            {"sku": "NOPE", "location": "ber", "delta": 1, "reason": "receipt"},
            {"sku": "SKU-2", "location": "mars", "on_hand": 3, "as_of": "2026-11-27T10:00:00Z"},
            {"sku": "SKU-2", "location": "ber", "delta": -1, "reason": "damaged"},
        ]
    }
    response = client.post("/v1/inventory/adjustments", json=batch, headers=admin)
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"items.1.sku", "items.2.location"}
    del batch["items"][1:3]
    response = client.post("/v1/inventory/adjustments", json=batch, headers=admin)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["items.1.delta"]
    assert client.get("/v1/inventory/SKU-1", headers=admin).json()["locations"] == []
    shapeless = {"items": [{"sku": "SKU-1", "location": "ber", "delta": "many"}]}
    response = client.post("/v1/inventory/adjustments", json=shapeless, headers=admin)
    assert [e["field"] for e in response.json()["errors"]] == ["items.0.delta"]
    batch["items"][1]["delta"] = 2
    batch["items"][1]["kind"] = "receipt"
    response = client.post("/v1/inventory/adjustments", json=batch, headers=admin)
    assert response.status_code == 200, response.text
    assert [i["on_hand"] for i in response.json()["items"]] == [5, 2]


def test_inventory_answers_per_location_and_per_channel_with_safety_stock(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    setup_locations(client, admin)
    client.patch("/v1/locations/nyc", json={"channels": ["app"]}, headers=admin)
    client.patch("/v1/channels/web", json={"safety_stock": 2}, headers=admin)
    items = [
        {"sku": "SKU-1", "location": "ber", "delta": 6, "reason": "receipt"},
        {"sku": "SKU-1", "location": "nyc", "delta": 4, "reason": "receipt"},
    ]
    client.post("/v1/inventory/adjustments", json={"items": items}, headers=admin)
    client.post("/v1/orders", json=native_order(lines=[{"sku": "SKU-1", "quantity": 1,
                "unit_price": "1.00"}]), headers=admin)  # fmt: skip
    allocate_pending(seeded.uow)
    body = client.get("/v1/inventory/SKU-1", headers=admin).json()
    assert body == {
        "sku": "SKU-1",
        "locations": [
            {"location": "ber", "on_hand": 6, "reserved": 1, "available": 5},
            {"location": "nyc", "on_hand": 4, "reserved": 0, "available": 4},
        ],
        "channels": {"app": {"available": 9}, "web": {"available": 3}},
    }
    put = client.put("/v1/channels/web/safety-stock/SKU-1", json={"safety_stock": 9}, headers=admin)
    assert put.json() == {"channel": "web", "sku": "SKU-1", "safety_stock": 9, "overridden": True}
    assert client.get("/v1/inventory/SKU-1", headers=admin).json()["channels"]["web"] == {
        "available": 0
    }
    client.delete("/v1/channels/web/safety-stock/SKU-1", headers=admin)
    channel_key = bearer(make_key(seeded, Role.CHANNEL, channel="web"))
    scoped = client.get("/v1/inventory/SKU-1", headers=channel_key).json()
    assert scoped["channels"] == {"web": {"available": 3}}
    assert [loc["location"] for loc in scoped["locations"]] == ["ber"]
    assert client.get("/v1/inventory/NOPE", headers=admin).status_code == 404


def test_order_representation_shows_its_allocations(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    setup_locations(client, admin)
    stock = {"sku": "SKU-1", "location": "nyc", "delta": 5, "reason": "receipt"}
    client.post("/v1/inventory/adjustments", json=stock, headers=admin)
    stock["sku"] = "SKU-2"
    client.post("/v1/inventory/adjustments", json=stock, headers=admin)
    order_id = client.post("/v1/orders", json=native_order(), headers=admin).json()["id"]
    allocate_pending(seeded.uow)
    order = client.get(f"/v1/orders/{order_id}", headers=admin).json()
    assert order["status"] == "allocated"
    assert sorted((a["sku"], a["location"], a["quantity"]) for a in order["allocations"]) == [
        ("SKU-1", "nyc", 2),
        ("SKU-2", "nyc", 1),
    ]
    cancelled = client.post(
        f"/v1/orders/{order_id}/cancel", json={"reason": "customer_request"}, headers=admin
    ).json()
    assert {a["status"] for a in cancelled["allocations"]} == {"released"}
    assert client.get("/v1/inventory/SKU-1", headers=admin).json()["locations"][0]["reserved"] == 0


def test_warehouse_role_adjusts_but_channel_role_may_not(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    setup_locations(client, admin)
    delta = {"sku": "SKU-1", "location": "ber", "delta": 1, "reason": "found"}
    warehouse = bearer(make_key(seeded, Role.WAREHOUSE))
    channel = bearer(make_key(seeded, Role.CHANNEL, channel="web"))
    assert (
        client.post("/v1/inventory/adjustments", json=delta, headers=warehouse).status_code == 200
    )
    assert client.post("/v1/inventory/adjustments", json=delta, headers=channel).status_code == 403


def test_changing_safety_stock_announces_the_channels_new_available_to_sell(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    setup_locations(client, admin)
    stock = {"sku": "SKU-1", "location": "ber", "delta": 5, "reason": "receipt"}
    client.post("/v1/inventory/adjustments", json=stock, headers=admin)
    before = len(outbox_events(seeded, "inventory.available_changed"))
    client.patch("/v1/channels/web", json={"safety_stock": 2}, headers=admin)
    client.put("/v1/channels/app/safety-stock/SKU-1", json={"safety_stock": 4}, headers=admin)
    client.put("/v1/channels/app/safety-stock/SKU-1", json={"safety_stock": 4}, headers=admin)
    changed = outbox_events(seeded, "inventory.available_changed")[before:]
    assert [(e["channel"], e["sku"], e["previous"], e["available"]) for e in changed] == [
        ("web", "SKU-1", 5, 3),
        ("app", "SKU-1", 5, 1),
    ]


def test_a_cutoff_is_a_local_time_without_offset_fraction_or_seconds_count(
    client: TestClient, admin: dict[str, str]
) -> None:
    # The location's time zone gives the offset; the answer ("15:00:00") is what the OpenAPI
    # document declares (it used to say format: time, which demands an offset).
    for cutoff in ["15:00Z", "15:00+02:00", "15:00:00.5", 54000, "25:00"]:
        response = client.post("/v1/locations", json={**BER, "cutoff": cutoff}, headers=admin)
        assert response.status_code == 422, cutoff
        assert [e["field"] for e in response.json()["errors"]] == ["cutoff"], response.text
    accepted = client.post("/v1/locations", json={**BER, "cutoff": "15:00:30"}, headers=admin)
    assert accepted.json()["cutoff"] == "15:00:30"
