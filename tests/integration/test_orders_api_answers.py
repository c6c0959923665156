"""``POST /v1/orders`` answers byte for byte what it answered when it built the ``OrderOut``
model and dumped it: a new order (allocated, split, backordered, not allocated, with every
optional part of a native order) as the model built from what its transaction wrote, and an
order that existed already (200) as the model read back, which is also what
``GET /v1/orders/{id}`` answers. The route now builds its answers from plain values
(``created_document``, ``queries.order_documents``) and serializes them once."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC

import pytest
from fastapi.testclient import TestClient
from pydantic_core import to_json

from orderhub.api.app import create_app
from orderhub.api.routes.orders import created_document, order_out
from orderhub.api.schemas.orders import OrderOut
from orderhub.bootstrap import Container, bootstrap
from orderhub.channels import native
from orderhub.config import Settings
from orderhub.services.ingest import Outcome, ingest_order
from tests.conftest import native_order
from tests.integration.inventory_helpers import add_locations, receive


@pytest.fixture(params=[True, False], ids=["allocating", "not-allocating"])
def hub(
    seeded: Container, database_url: str, request: pytest.FixtureRequest
) -> Iterator[Container]:
    """The seeded hub with stock of SKU-1 and SKU-2 (none of SKU-3), allocating on ingest
    or not."""
    add_locations(seeded, ("a", 1), ("b", 2))
    receive(seeded, "SKU-1", "a", 3)
    receive(seeded, "SKU-2", "b", 5)
    container = bootstrap(Settings(database_url=database_url, allocate_on_ingest=request.param))
    yield container
    container.close()


@pytest.fixture
def api(hub: Container) -> Iterator[TestClient]:
    with TestClient(create_app(hub)) as test_client:
        yield test_client


def model_bytes(hub: Container, order_id: str) -> bytes:
    """The order as the route answered it before: ``OrderOut`` built and dumped."""
    with hub.uow(read_only=True) as uow:
        return order_out(uow, order_id).model_dump_json().encode()


BODIES: list[dict[str, object]] = [
    native_order("A-1"),  # SKU-1 ×2 from a, SKU-2 from b: split
    native_order(  # SKU-3 has no stock: backordered
        "A-2",
        lines=[{"sku": "SKU-3", "quantity": 1, "unit_price": "7", "channel_line_id": "L1"}],
    ),
    native_order(  # every optional part; non-ASCII text, nested metadata, another zone
        "A-3",
        placed_at="2026-11-20T23:59:59.123456-08:00",
        customer={"email": "zoë@example.com", "name": "Zoë \u00c5ngström", "phone": "+1 555"},
        billing_address={"country": "DE", "name": "Bill", "company": "Acme GmbH", "city": "Köln"},
        lines=[
            {"sku": "SKU-1", "quantity": 1, "unit_price": "0.10", "name": "Ein Ding"},
            {"channel_sku": "SKU-2", "quantity": 3, "unit_price": "12", "discount": "1.5"},
        ],
        shipping={"price": "0", "tax": "0.01", "discount": "0", "method": None},
        prices_include_tax=True,
        metadata={"gift": True, "note": "“quoted” \\ /", "n": [1, 2.5, None, {"x": "y"}]},
    ),
]


@pytest.mark.parametrize("body", BODIES, ids=["split", "backordered", "every-part"])
def test_a_new_orders_document_is_the_model_it_was_built_as(
    hub: Container, body: dict[str, object]
) -> None:
    """The answer from what the transaction wrote, against the model the route built from
    the same values before (``OrderOut.of`` of the order with its times in UTC, dumped)."""
    order = native.NativeOrder.model_validate(body)
    with hub.uow(actor="test") as uow:
        result = ingest_order(
            uow,
            draft=order.to_draft(),
            source=native.SOURCE,
            payload=order.model_dump_json(),
            allocate=hub.settings.allocate_on_ingest,
        )
    assert result.outcome == Outcome.CREATED
    assert result.order is not None
    stored = dataclasses.replace(
        result.order, placed_at=result.order.placed_at.astimezone(UTC), events=[]
    )
    before = OrderOut.of(stored, allocations=list(result.allocations), fulfilments=[])
    answer = to_json(created_document(result.order, result.allocations))
    assert answer == before.model_dump_json().encode()


@pytest.mark.parametrize("body", BODIES, ids=["split", "backordered", "every-part"])
def test_a_new_order_is_answered_as_a_read_gives_it_and_again_as_the_model_read_back(
    hub: Container, api: TestClient, admin: dict[str, str], body: dict[str, object]
) -> None:
    created = api.post("/v1/orders", json=body, headers=admin)
    assert created.status_code == 201, created.text
    order_id = created.json()["id"]
    assert created.headers["location"] == f"/v1/orders/{order_id}"
    assert created.headers["content-type"] == "application/json"
    read = api.get(f"/v1/orders/{order_id}", headers=admin)
    assert created.json() == read.json()  # PostgreSQL's jsonb keeps an explanation's keys in
    if hub.engine.dialect.name == "sqlite":  # its own order: the bytes differ there
        assert created.content == read.content

    again = api.post("/v1/orders", json=body, headers=admin)
    assert again.status_code == 200, again.text
    assert again.headers["location"] == f"/v1/orders/{order_id}"
    assert again.headers["content-type"] == "application/json"
    assert again.content == model_bytes(hub, order_id)
    assert again.content == read.content


def test_the_statuses_the_answers_cover(
    hub: Container, api: TestClient, admin: dict[str, str]
) -> None:
    """The bodies above do reach each state they are named for (on an allocating hub)."""
    statuses = [
        api.post("/v1/orders", json=body, headers=admin).json()["status"] for body in BODIES
    ]
    if hub.settings.allocate_on_ingest:
        assert statuses == ["allocated", "backordered", "allocated"]
    else:
        assert statuses == ["received"] * 3


def test_a_quarantined_order_is_answered_202_as_before(
    api: TestClient, admin: dict[str, str]
) -> None:
    body = native_order("Q-1", lines=[{"sku": "NOPE", "quantity": 1, "unit_price": "1"}])
    held = api.post("/v1/orders", json=body, headers=admin)
    assert held.status_code == 202, held.text
    assert "location" not in held.headers
    document = held.json()
    assert list(document) == ["status", "quarantine_id", "reason", "errors"]
    assert document["status"] == "quarantined"
