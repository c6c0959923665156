"""OWASP API1:2023 Broken Object Level Authorization: a key scoped to one channel neither
reads, lists, changes nor subscribes to another channel's objects — checked for every route of
the app's route table, with every role, against a key scoped to the other channel."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from orderhub.bootstrap import Container
from orderhub.domain.access import Role, allows
from orderhub.services.allocation import allocate_order
from orderhub.services.inventory import StockAdjustment, adjust_stock
from tests.conftest import bearer, make_key, native_order
from tests.security.route_table import api_routes

VICTIM_EMAIL = "victim-q7z@example.com"
VICTIM_EXTERNAL = "VICTIM-7Q"


@pytest.fixture
def victim(client: TestClient, seeded: Container, admin: dict[str, str]) -> str:
    """An order of channel ``web`` that holds stock (so it shows in stock movements)."""
    from orderhub.domain.locations import Location, LocationAddress, LocationKind

    with seeded.uow(actor="test") as uow:
        uow.locations.add(Location("east", "East", LocationKind.WAREHOUSE, LocationAddress("US")))
        uow.commit()
    with seeded.uow(actor="test") as uow:
        adjust_stock(
            uow,
            items=[StockAdjustment(s, "east", 10, reason="receipt") for s in ("SKU-1", "SKU-2")],
        )
    body = native_order(VICTIM_EXTERNAL, customer={"email": VICTIM_EMAIL, "name": "Victim"})
    response = client.post("/v1/orders", headers=admin, json=body)
    assert response.status_code == 201, response.text
    order_id: str = response.json()["id"]
    with seeded.uow(actor="test") as uow:
        allocate_order(uow, order_id=order_id)
    return order_id


@pytest.mark.parametrize("role", list(Role))
def test_a_key_scoped_to_another_channel_sees_and_touches_nothing_of_this_one(
    client: TestClient, seeded: Container, victim: str, role: Role
) -> None:
    headers = bearer(make_key(seeded, role, "app"))
    values = {"order_id": victim, "code": "web", "sku": "SKU-1"}
    leaks = []
    routes = api_routes(client.app)  # type: ignore[arg-type]
    assert sum(r.permission is not None for r in routes) > 50  # the table was read
    for route in routes:
        if route.permission is None:
            continue
        body = {"channel": "web"} if route.method in {"POST", "PUT", "PATCH"} else None
        response = client.request(route.method, route.url(values), headers=headers, json=body)
        allowed = allows(role, route.permission, channel_scoped=True)
        if not allowed and response.status_code != 403:
            leaks.append(f"{route.method} {route.path}: {response.status_code}, expected 403")
        # A 404 may repeat the id it was asked for; nothing else may show the order.
        markers = (
            (victim, VICTIM_EMAIL, VICTIM_EXTERNAL)
            if response.is_success
            else (VICTIM_EMAIL, VICTIM_EXTERNAL)
        )
        if any(marker in response.text for marker in markers):
            leaks.append(f"{route.method} {route.path}: {response.status_code} shows the order")
        if route.writes and response.is_success:
            leaks.append(f"{route.method} {route.path}: {response.status_code} changed it")
    assert leaks == [], "\n".join(leaks)
    order = client.get(f"/v1/orders/{victim}", headers=bearer(make_key(seeded, Role.ADMIN)))
    assert order.json()["status"] != "cancelled"


def test_a_scoped_key_cannot_subscribe_to_every_channels_events(
    client: TestClient, seeded: Container
) -> None:
    headers = bearer(make_key(seeded, Role.OPERATOR, "app"))
    response = client.post(
        "/v1/webhooks",
        headers=headers,
        json={"url": "https://hooks.example.com/x", "event_types": ["*"]},
    )
    assert response.status_code == 403


def test_stock_movements_do_not_name_another_channels_orders(
    client: TestClient, seeded: Container, victim: str
) -> None:
    own = client.get("/v1/inventory/SKU-1/movements", headers=bearer(make_key(seeded, Role.ADMIN)))
    assert victim in own.text  # the reservation names the order…
    other = bearer(make_key(seeded, Role.CHANNEL, "app"))
    movements = client.get("/v1/inventory/SKU-1/movements", headers=other)
    assert movements.status_code == 200
    assert len(movements.json()) == len(own.json())  # …the quantities stay visible…
    assert victim not in movements.text  # …but not whose they are


def test_a_scoped_key_cannot_list_or_retry_deliveries(
    client: TestClient, seeded: Container
) -> None:
    headers = bearer(make_key(seeded, Role.OPERATOR, "app"))
    assert client.get("/v1/deliveries", headers=headers).status_code == 403
    assert client.post("/v1/deliveries/x/retry", headers=headers).status_code == 403
    assert client.post("/v1/channels", headers=headers, json={}).status_code == 403
