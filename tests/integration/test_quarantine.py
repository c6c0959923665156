"""Orders that cannot be normalized wait whole in quarantine and become orders on replay."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import native_order


def _unknown_sku_order(external_id: str = "Q-1") -> dict[str, object]:
    body = native_order(external_id)
    body["lines"] = [
        {"channel_sku": "WEB-MUG", "quantity": 1, "unit_price": "12.00"},
        {"sku": "SKU-1", "quantity": 1, "unit_price": "3.00"},
    ]
    return body


def test_an_unknown_sku_is_kept_in_quarantine_and_writes_no_order(
    client: TestClient, admin: dict[str, str]
) -> None:
    response = client.post("/v1/orders", json=_unknown_sku_order(), headers=admin)
    assert response.status_code == 202
    held = response.json()
    assert held["status"] == "quarantined"
    assert held["errors"] == [
        {"field": "lines.0.channel_sku", "message": "unknown SKU 'WEB-MUG'", "code": "unknown_sku"}
    ]
    assert client.get("/v1/orders", headers=admin).json()["items"] == []
    listed = client.get("/v1/quarantine", headers=admin).json()["items"]
    assert [entry["id"] for entry in listed] == [held["quarantine_id"]]
    assert listed[0]["external_id"] == "Q-1"
    assert '"WEB-MUG"' in listed[0]["payload"]


def test_a_repeat_of_a_quarantined_order_updates_the_entry_instead_of_adding_one(
    client: TestClient, admin: dict[str, str]
) -> None:
    first = client.post("/v1/orders", json=_unknown_sku_order(), headers=admin).json()
    second = client.post("/v1/orders", json=_unknown_sku_order(), headers=admin).json()
    assert first["quarantine_id"] == second["quarantine_id"]
    entry = client.get(f"/v1/quarantine/{first['quarantine_id']}", headers=admin).json()
    assert entry["attempts"] == 2


def test_replay_after_mapping_the_channel_sku_creates_the_order_once(
    client: TestClient, admin: dict[str, str]
) -> None:
    held = client.post("/v1/orders", json=_unknown_sku_order(), headers=admin).json()
    entry_id = held["quarantine_id"]
    still = client.post(f"/v1/quarantine/{entry_id}/replay", headers=admin).json()
    assert still["outcome"] == "quarantined"
    assert still["quarantine"]["attempts"] == 2

    mapped = client.post(
        "/v1/channels/web/sku-map",
        json={"mappings": [{"channel_sku": "WEB-MUG", "sku": "SKU-3"}]},
        headers=admin,
    )
    assert mapped.status_code == 200
    replayed = client.post(f"/v1/quarantine/{entry_id}/replay", headers=admin).json()
    assert replayed["outcome"] == "created"
    assert replayed["quarantine"]["status"] == "replayed"
    order = client.get(f"/v1/orders/{replayed['order_id']}", headers=admin).json()
    assert [(line["sku"], line["channel_sku"]) for line in order["lines"]] == [
        ("SKU-3", "WEB-MUG"),
        ("SKU-1", None),
    ]
    assert order["totals"]["subtotal"] == "15.00"
    again = client.post(f"/v1/quarantine/{entry_id}/replay", headers=admin).json()
    assert (again["outcome"], again["order_id"]) == ("existing", replayed["order_id"])
    assert client.get("/v1/quarantine", headers=admin).json()["items"] == []
    assert len(client.get("/v1/orders", headers=admin).json()["items"]) == 1


def test_replay_after_adding_the_product(client: TestClient, admin: dict[str, str]) -> None:
    body = native_order("Q-2")
    body["lines"] = [{"sku": "NEW-SKU", "quantity": 2, "unit_price": "1.00"}]
    held = client.post("/v1/orders", json=body, headers=admin).json()
    product = {"sku": "NEW-SKU", "name": "New", "weight_grams": 100}
    assert client.post("/v1/products", json=product, headers=admin).status_code == 201
    replayed = client.post(f"/v1/quarantine/{held['quarantine_id']}/replay", headers=admin)
    assert replayed.json()["outcome"] == "created"


def test_mapping_to_an_unknown_master_sku_is_refused(
    client: TestClient, admin: dict[str, str]
) -> None:
    response = client.post(
        "/v1/channels/web/sku-map",
        json={
            "mappings": [{"channel_sku": "A", "sku": "SKU-1"}, {"channel_sku": "B", "sku": "NOPE"}]
        },
        headers=admin,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "mappings.1.sku"
