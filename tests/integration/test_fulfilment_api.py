"""The fulfilment API: providers, signed callbacks, staff shipping, the exception queue."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from orderhub.api.app import create_app
from orderhub.bootstrap import Container
from orderhub.clock import utc_now
from orderhub.domain.access import Role
from orderhub.domain.orders import OrderStatus
from orderhub.fulfilment.http import signed_headers
from orderhub.services import fulfilment as service
from orderhub.store import tables as t
from tests.conftest import bearer, make_key
from tests.integration.fulfilment_support import FakeRerouter, allocate, deps, place_order

SECRET = "acme-callback-secret-0001"


def fulfilled_order(
    container: Container, *, provider: str | None = None
) -> tuple[str, str, list[str]]:
    """An order with one dispatched fulfilment at ``east``: (order id, fulfilment id, line ids)."""
    order_id = place_order(container)
    allocations = allocate(container, order_id)
    with container.uow() as uow, deps(uow) as d:
        (fid,) = service.create_fulfilments(uow, order_id=order_id, allocations=allocations, deps=d)
        if provider is None:
            service.dispatch(uow, fulfilment_id=fid, deps=d)
        else:  # handed to ``provider`` already, without calling one
            uow.conn.execute(
                t.fulfilment_orders.update()
                .where(t.fulfilment_orders.c.id == fid)
                .values(provider=provider, status="dispatched")
            )
            uow.commit()
    return order_id, fid, [a["line_id"] for a in allocations]


def create_http_provider(client: TestClient, admin: dict[str, str]) -> None:
    response = client.post(
        "/v1/providers",
        headers=admin,
        json={
            "code": "acme",
            "name": "Acme 3PL",
            "kind": "http",
            "settings": {"url": "https://3pl.example.test/orders"},
            "secret": SECRET,
            "locations": ["east"],
        },
    )
    assert response.status_code == 201, response.text


def test_a_provider_address_the_outbound_guard_would_refuse_is_refused_when_saved(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    http = {"code": "acme", "name": "Acme", "kind": "http", "secret": SECRET}
    for url in ("http://127.0.0.1:9/orders", "http://[::ffff:169.254.169.254]/latest"):
        refused = client.post(
            "/v1/providers", headers=admin, json={**http, "settings": {"url": url}}
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == "settings.url"
        assert refused.json()["errors"][0]["code"] == "url_not_public"
    shipstation = {"code": "ss", "name": "SS", "kind": "shipstation"}
    settings = {"api_key": "k", "api_secret": "s", "base_url": "http://10.1.2.3"}
    refused = client.post(
        "/v1/providers", headers=admin, json={**shipstation, "settings": settings}
    )
    assert refused.json()["errors"][0]["field"] == "settings.base_url"
    assert client.get("/v1/providers", headers=admin).json()["items"] == []


def test_providers_are_created_and_listed_without_their_secret(
    client: TestClient, admin: dict[str, str]
) -> None:
    create_http_provider(client, admin)
    listed = client.get("/v1/providers", headers=admin).json()["items"]
    assert [p["code"] for p in listed] == ["acme"]
    assert listed[0]["secret_set"] is True
    assert SECRET not in json.dumps(listed)
    assert listed[0]["callback_url"] == "/v1/providers/acme/callbacks"


def test_a_provider_missing_a_required_setting_is_refused_with_the_field(
    client: TestClient, admin: dict[str, str]
) -> None:
    response = client.post(
        "/v1/providers", headers=admin, json={"code": "ss", "name": "SS", "kind": "shipstation"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "settings.api_key"


def test_only_admins_configure_providers(client: TestClient, seeded: Container) -> None:
    warehouse = bearer(make_key(seeded, Role.WAREHOUSE))
    response = client.post(
        "/v1/providers", headers=warehouse, json={"code": "x", "name": "X", "kind": "simulated"}
    )
    assert response.status_code == 403


def signed(payload: object, secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    return body, signed_headers(secret, body, datetime.now(UTC))


def test_a_callback_with_a_bad_signature_is_401_and_stores_nothing(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    create_http_provider(client, admin)
    order_id, fid, _lines = fulfilled_order(seeded, provider="acme")
    payload = {
        "type": "shipped",
        "fulfilment_id": fid,
        "carrier": "ups",
        "tracking_number": "1Z",
        "shipped_at": datetime.now(UTC).isoformat(),
    }
    body, headers = signed(payload, secret="not-the-secret-at-all")
    response = client.post("/v1/providers/acme/callbacks", content=body, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    unsigned = client.post("/v1/providers/acme/callbacks", json=payload)
    assert unsigned.status_code == 401
    with seeded.uow(read_only=True) as uow:
        assert uow.fulfilment.get(fid).shipments == []
        assert uow.orders.get(order_id).status == OrderStatus.ALLOCATED


def test_a_signed_callback_ships_the_order(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    create_http_provider(client, admin)
    order_id, fid, _lines = fulfilled_order(seeded, provider="acme")
    body, headers = signed(
        {"events": [
            {"type": "accepted", "fulfilment_id": fid},
            {"type": "shipped", "fulfilment_id": fid, "carrier": "ups", "service": "ground",
             "tracking_number": "1Z999", "shipped_at": datetime.now(UTC).isoformat()},
        ]}
    )  # fmt: skip
    response = client.post("/v1/providers/acme/callbacks", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"received": 2, "applied": 2}
    got = client.get(f"/v1/fulfillments/{fid}", headers=admin).json()
    assert got["status"] == "shipped"
    assert got["shipments"][0]["tracking_number"] == "1Z999"
    assert client.get(f"/v1/orders/{order_id}", headers=admin).json()["status"] == "shipped"


def test_a_callback_for_an_unknown_provider_is_404(client: TestClient) -> None:
    assert client.post("/v1/providers/nobody/callbacks", content=b"{}").status_code == 404


def test_staff_ship_partially_through_the_api_and_read_pick_list_and_packing_slip(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    order_id, fid, (first, second) = fulfilled_order(seeded)
    staff = bearer(make_key(seeded, Role.WAREHOUSE))
    picks = client.get(
        "/v1/fulfillments/pick-list", params={"location": "east"}, headers=staff
    ).json()
    assert [(p["sku"], p["quantity"]) for p in picks] == [("SKU-1", 2), ("SKU-2", 1)]
    slip = client.get(f"/v1/fulfillments/{fid}/packing-slip", headers=staff).json()
    assert slip["order_number"] == "1001"
    assert len(slip["lines"]) == 2

    shipped = client.post(
        f"/v1/fulfillments/{fid}/ship",
        headers=staff,
        json={
            "lines": [{"line_id": first, "quantity": 2}],
            "carrier": "ups",
            "tracking_number": "1ZP",
        },
    )
    assert shipped.status_code == 201, shipped.text
    assert shipped.json()["status"] == "in_progress"
    assert (
        client.get(f"/v1/orders/{order_id}", headers=admin).json()["status"] == "partially_shipped"
    )

    too_many = client.post(
        f"/v1/fulfillments/{fid}/ship",
        headers=staff,
        json={"lines": [{"line_id": first, "quantity": 1}], "carrier": "ups"},
    )
    assert too_many.status_code == 422
    assert too_many.json()["errors"][0]["field"] == f"lines.{first}"

    client.post(
        f"/v1/fulfillments/{fid}/ship",
        headers=staff,
        json={
            "lines": [{"line_id": second, "quantity": 1}],
            "carrier": "ups",
            "tracking_number": "1ZQ",
        },
    )
    assert client.get(f"/v1/orders/{order_id}", headers=admin).json()["status"] == "shipped"
    listed = client.get(
        "/v1/fulfillments", params={"status": "shipped", "location": "east"}, headers=admin
    ).json()["items"]
    assert [f["id"] for f in listed] == [fid]
    assert (
        client.get("/v1/fulfillments", params={"location": "west"}, headers=admin).json()["items"]
        == []
    )


def test_the_order_lists_its_shipments_with_carrier_tracking_lines_and_status(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    order_id, fid, (first, second) = fulfilled_order(seeded)
    staff = bearer(make_key(seeded, Role.WAREHOUSE))
    assert client.get(f"/v1/orders/{order_id}", headers=admin).json()["shipments"] == []
    parcels = [
        {"lines": [{"line_id": first, "quantity": 2}], "carrier": "ups", "service": "ground",
         "tracking_number": "1Z 999", "shipped_at": "2030-01-02T10:00:00Z"},
        {"lines": [{"line_id": second, "quantity": 1}], "carrier": "local_van",
         "shipped_at": "2030-01-03T10:00:00Z"},
    ]  # fmt: skip
    for parcel in parcels:
        assert client.post(f"/v1/fulfillments/{fid}/ship", headers=staff, json=parcel).is_success
    order = client.get(f"/v1/orders/{order_id}", headers=admin).json()
    shipments = order["shipments"]
    assert [
        (s["carrier"], s["service"], s["tracking_number"], s["tracking_url"], s["lines"])
        for s in shipments
    ] == [
        ("ups", "ground", "1Z 999", "https://www.ups.com/track?tracknum=1Z%20999", {first: 2}),
        ("local_van", None, None, None, {second: 1}),
    ]
    assert [s["shipped_at"] for s in shipments] == ["2030-01-02T10:00:00Z", "2030-01-03T10:00:00Z"]
    assert {(s["status"], s["fulfilment_id"], s["location"]) for s in shipments} == {
        ("in_transit", fid, "east")
    }
    fulfilment = client.get(f"/v1/fulfillments/{fid}", headers=admin).json()
    assert fulfilment["shipments"] == shipments
    listed = client.get("/v1/orders", headers=admin).json()["items"]
    assert next(o for o in listed if o["id"] == order_id)["shipments"] == shipments


def test_a_channel_key_does_not_see_other_channels_fulfilments(
    client: TestClient, seeded: Container
) -> None:
    _order_id, fid, _lines = fulfilled_order(seeded)  # on channel "web"
    app_key = bearer(make_key(seeded, Role.CHANNEL, channel="app"))
    assert client.get(f"/v1/fulfillments/{fid}", headers=app_key).status_code == 404
    assert client.get("/v1/fulfillments", headers=app_key).json()["items"] == []


def test_exceptions_are_listed_with_age_and_action_and_resolved_once(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    client.post(
        "/v1/providers",
        headers=admin,
        json={
            "code": "sim",
            "name": "Sim",
            "kind": "simulated",
            "settings": {"reject_rate": 1.0},
            "locations": ["east"],
        },
    )
    order_id = place_order(seeded)
    allocations = allocate(seeded, order_id)
    with seeded.uow() as uow, deps(uow, rerouter=FakeRerouter(None)) as d:
        service.create_fulfilments(uow, order_id=order_id, allocations=allocations, deps=d)
        service.dispatch_pending(uow, order_id=order_id, deps=d)
    listed = client.get("/v1/exceptions", headers=admin).json()["items"]
    assert [(e["type"], e["order_id"]) for e in listed] == [
        ("stock_out", order_id),
        ("unroutable", order_id),
    ]
    assert all(e["age_seconds"] >= 0 and e["suggested_action"] for e in listed)
    first = listed[0]["id"]
    resolved = client.post(
        f"/v1/exceptions/{first}/resolve", headers=admin, json={"resolution": "recounted"}
    )
    assert resolved.status_code == 200
    assert resolved.json()["status"] == "resolved"
    assert resolved.json()["resolved_by"]
    again = client.post(
        f"/v1/exceptions/{first}/resolve", headers=admin, json={"resolution": "again"}
    )
    assert again.status_code == 422
    assert [e["type"] for e in client.get("/v1/exceptions", headers=admin).json()["items"]] == [
        "unroutable"
    ]
    history = client.get(f"/v1/orders/{order_id}/events", headers=admin).json()
    assert "fulfilment.exception_raised" in [e["type"] for e in history]


def test_shipping_more_than_a_count_left_on_the_shelf_is_a_409_naming_the_shortfall(
    admin: dict[str, str], seeded: Container
) -> None:
    """A count may leave on hand below reserved (docs/inventory.md); shipping the reserved
    units then is refused with a problem, not a 500 from the on-hand check constraint."""
    _order_id, fid, (first, _second) = fulfilled_order(seeded)  # 2 × SKU-1 reserved at east
    staff = bearer(make_key(seeded, Role.WAREHOUSE))
    with TestClient(create_app(seeded), raise_server_exceptions=False) as client:
        counted = client.post(
            "/v1/inventory/adjustments",
            headers=admin,
            json={"sku": "SKU-1", "location": "east", "on_hand": 1, "as_of": utc_now().isoformat()},
        )
        assert counted.status_code < 300, counted.text
        shipped = client.post(
            f"/v1/fulfillments/{fid}/ship",
            headers=staff,
            json={"lines": [{"line_id": first, "quantity": 2}], "carrier": "ups"},
        )
        fulfilment = client.get(f"/v1/fulfillments/{fid}", headers=staff).json()
    assert shipped.status_code == 409, shipped.text
    body = shipped.json()
    assert shipped.headers["content-type"] == "application/problem+json"
    assert body["type"].endswith("/shelf_short")
    assert (body["sku"], body["location"], body["on_hand"], body["requested"]) == (
        "SKU-1",
        "east",
        1,
        2,
    )
    assert body["shortfall"] == 1
    assert "short by 1" in body["detail"]
    assert fulfilment["status"] == "accepted"  # nothing shipped
    with seeded.uow(read_only=True) as uow:
        (level,) = [x for x in uow.stock.levels(["SKU-1"]) if x.location == "east"]
    assert (level.on_hand, level.reserved) == (1, 2)
