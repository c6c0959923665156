"""ShipStation end to end against a local fake that replays its documented payloads:
createorder on dispatch, SHIP_NOTIFY → fetch resource_url → shipments → order shipped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from orderhub.bootstrap import Container
from orderhub.domain.fulfilment import FulfilmentStatus
from orderhub.services import fulfilment as service
from tests.integration.fake_shipstation import FakeShipStation, running
from tests.integration.fulfilment_support import allocate, deps, place_order

TOKEN = "webhook-token-0123456789"


@pytest.fixture
def shipstation(seeded: Container) -> Iterator[FakeShipStation]:
    """The fake on loopback, which the SSRF guard lets through only when told to."""
    allowed = {"outbound_allowed_hosts": ["127.0.0.1"]}
    seeded.settings = seeded.settings.model_copy(update=allowed)
    with running(FakeShipStation()) as fake:
        yield fake


@pytest.fixture
def dispatched(
    client: TestClient, admin: dict[str, str], seeded: Container, shipstation: FakeShipStation
) -> tuple[str, str, list[str]]:
    response = client.post(
        "/v1/providers",
        headers=admin,
        json={
            "code": "ss",
            "name": "ShipStation",
            "kind": "shipstation",
            "settings": {
                "api_key": "ss-key",
                "api_secret": "ss-secret",
                "base_url": shipstation.base_url,
            },
            "secret": TOKEN,
            "locations": ["east"],
        },
    )
    assert response.status_code == 201, response.text
    order_id = place_order(seeded)
    allocations = allocate(seeded, order_id)
    with seeded.uow() as uow, deps(uow) as d:
        (fid,) = service.create_fulfilments(uow, order_id=order_id, allocations=allocations, deps=d)
        service.dispatch(uow, fulfilment_id=fid, deps=d)
        service.dispatch(uow, fulfilment_id=fid, deps=d)  # a retry after success calls nobody
    return order_id, fid, [a["line_id"] for a in allocations]


def notify(client: TestClient, resource_url: str, token: str = TOKEN) -> int:
    return client.post(
        "/v1/providers/ss/callbacks",
        params={"token": token},
        json={"resource_url": resource_url, "resource_type": "SHIP_NOTIFY"},
    ).status_code


def test_dispatch_creates_the_shipstation_order_with_our_keys(
    dispatched: tuple[str, str, list[str]], shipstation: FakeShipStation, seeded: Container
) -> None:
    _order_id, fid, lines = dispatched
    (order,) = shipstation.orders.values()
    assert order["orderKey"] == fid
    assert order["orderNumber"] == "1001"
    assert order["orderStatus"] == "awaiting_shipment"
    assert [i["lineItemKey"] for i in order["items"]] == lines
    assert order["shipTo"]["postalCode"] == "10001"
    assert [m for m, _ in shipstation.requests] == ["POST"]
    with seeded.uow(read_only=True) as uow:
        f = uow.fulfilment.get(fid)
    assert (f.status, f.external_ref) == (FulfilmentStatus.ACCEPTED, str(order["orderId"]))


def test_ship_notify_fetches_the_shipments_and_ships_the_order_partially_then_fully(
    dispatched: tuple[str, str, list[str]],
    shipstation: FakeShipStation,
    client: TestClient,
    admin: dict[str, str],
) -> None:
    order_id, fid, (first, second) = dispatched
    url = shipstation.ship(fid, tracking="1Z0000000000000001", items={first: 2})
    assert notify(client, url) == 200
    assert (
        client.get(f"/v1/orders/{order_id}", headers=admin).json()["status"] == "partially_shipped"
    )
    assert notify(client, url) == 200  # ShipStation retries: nothing doubles
    got = client.get(f"/v1/fulfillments/{fid}", headers=admin).json()
    assert len(got["shipments"]) == 1
    parcel = got["shipments"][0]
    assert (parcel["carrier"], parcel["service"]) == ("ups_walleted", "ups_ground")
    assert parcel["shipped_at"].startswith("2026-11-24T18:15:32")  # 10:15:32 Pacific, in UTC

    url = shipstation.ship(fid, tracking="1Z0000000000000002", items={second: 1})
    assert notify(client, url) == 200
    assert client.get(f"/v1/orders/{order_id}", headers=admin).json()["status"] == "shipped"


def test_voided_labels_are_ignored(
    dispatched: tuple[str, str, list[str]],
    shipstation: FakeShipStation,
    client: TestClient,
    admin: dict[str, str],
) -> None:
    _order_id, fid, _lines = dispatched
    assert notify(client, shipstation.ship(fid, tracking="1ZVOID", voided=True)) == 200
    assert client.get(f"/v1/fulfillments/{fid}", headers=admin).json()["shipments"] == []


def test_a_wrong_token_or_a_foreign_resource_url_is_401_and_fetches_nothing(
    dispatched: tuple[str, str, list[str]],
    shipstation: FakeShipStation,
    client: TestClient,
    admin: dict[str, str],
) -> None:
    _order_id, fid, _lines = dispatched
    url = shipstation.ship(fid, tracking="1ZX")
    before = len(shipstation.requests)
    assert notify(client, url, token="wrong-token-0000000000") == 401
    assert notify(client, "http://127.0.0.2:1/shipments?batchId=1") == 401
    assert len(shipstation.requests) == before
    assert client.get(f"/v1/fulfillments/{fid}", headers=admin).json()["shipments"] == []


def test_cancel_deletes_the_shipstation_order(
    dispatched: tuple[str, str, list[str]], shipstation: FakeShipStation, seeded: Container
) -> None:
    _order_id, fid, _lines = dispatched
    with seeded.uow() as uow, deps(uow) as d:
        f = uow.fulfilment.get(fid)
        d.providers("ss").cancel(f)
    assert shipstation.deleted == [int(f.external_ref or 0)]


def test_shipments_of_orders_the_hub_never_sent_are_ignored(
    dispatched: tuple[str, str, list[str]],
    shipstation: FakeShipStation,
    client: TestClient,
    admin: dict[str, str],
) -> None:
    _order_id, fid, _lines = dispatched
    foreign = dict(next(iter(shipstation.orders.values())), orderKey="manual-order-in-shipstation")
    shipstation.orders[1] = foreign
    response = client.post(
        "/v1/providers/ss/callbacks",
        params={"token": TOKEN},
        json={
            "resource_url": shipstation.ship("manual-order-in-shipstation", tracking="1ZF"),
            "resource_type": "SHIP_NOTIFY",
        },
    )
    assert response.status_code == 200
    assert response.json() == {"received": 1, "applied": 0}
    assert client.get(f"/v1/fulfillments/{fid}", headers=admin).json()["shipments"] == []
