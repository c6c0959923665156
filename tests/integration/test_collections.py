"""Every collection of the API follows one convention (docs/api.md, Pagination).

The routes are read from the app's own route table (its OpenAPI document), so a list added
tomorrow as a bare array, or without ``limit``/``cursor``, fails here without anyone having to
remember to add it.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from fastapi.testclient import TestClient

from orderhub.api.app import create_app
from orderhub.api.schemas.pages import MAX_LIMIT
from orderhub.bootstrap import Container
from orderhub.clock import utc_now
from orderhub.store import deliveries
from tests.conftest import native_order
from tests.integration.after_sale_support import shipped_order, stock_up
from tests.integration.inventory_helpers import add_locations
from tests.integration.store_support import add_locations as add_store_locations
from tests.integration.store_support import open_pickup, pickup_order
from tests.integration.store_support import receive as receive_at

# GET routes that answer one thing, not a collection, and why.
NOT_COLLECTIONS = {
    "/v1/health": "a status document",
    "/v1/routing/rules": "the current rule set",
    "/v1/fulfillments/{fulfilment_id}/packing-slip": "one document",
    "/v1/fulfillments/pick-list": "an aggregate per SKU of one location's open work",
    "/v1/orders/{order_id}/events": "one order's hash chain, read whole to verify it",
    "/v1/orders/{order_id}/refunds": "one order's refunds, bounded by the order",
    "/v1/routing/rules/versions": "paged by version number (`before`, `limit`)",
}
PATH_VALUES = {"sku": "SKU-1"}


def _schema(app_doc: dict[str, Any], path: str) -> dict[str, Any]:
    """The JSON schema of a GET route's 200 answer, with a top-level ``$ref`` resolved."""
    content = app_doc["paths"][path]["get"]["responses"]["200"].get("content", {})
    schema: dict[str, Any] = content.get("application/json", {}).get("schema", {})
    if "$ref" in schema:
        schema = app_doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _get_routes(app_doc: dict[str, Any]) -> list[str]:
    return [path for path, ops in app_doc["paths"].items() if "get" in ops]


def collection_routes(app_doc: dict[str, Any]) -> list[str]:
    """GET routes whose answer is a page: ``items`` and ``next_cursor``."""
    return [
        path
        for path in _get_routes(app_doc)
        if {"items", "next_cursor"} <= set(_schema(app_doc, path).get("properties", {}))
    ]


def _url(path: str) -> str:
    for name, value in PATH_VALUES.items():
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, f"give {path} a path value in PATH_VALUES"
    return path


@pytest.fixture
def doc(seeded: Container) -> dict[str, Any]:
    return create_app(seeded).openapi()


def test_no_get_route_answers_a_bare_array(doc: dict[str, Any]) -> None:
    bare = [
        path
        for path in _get_routes(doc)
        if _schema(doc, path).get("type") == "array" and path not in NOT_COLLECTIONS
    ]
    assert bare == [], "lists answer {items, next_cursor}: page them with keyset_page"


def test_every_collection_takes_limit_with_the_documented_max_and_a_cursor(
    doc: dict[str, Any],
) -> None:
    routes = collection_routes(doc)
    assert "/v1/products" in routes
    assert "/v1/inventory/{sku}/movements" in routes
    for path in routes:
        params = {p["name"]: p for p in doc["paths"][path]["get"].get("parameters", [])}
        assert {"limit", "cursor"} <= set(params), path
        assert params["limit"]["schema"]["maximum"] == MAX_LIMIT, path


def seed_two_of_everything(container: Container, client: TestClient, key: dict[str, str]) -> None:
    """At least two items in every collection the API has."""
    stock_up(container)
    for external_id in ("R-1", "R-2"):
        order_id = shipped_order(container, external_id)
        line = client.get(f"/v1/orders/{order_id}", headers=key).json()["lines"][0]["id"]
        opened = client.post(
            f"/v1/orders/{order_id}/returns",
            json={"lines": [{"line_id": line, "quantity": 1}], "reason": "damaged"},
            headers=key,
        )
        assert opened.status_code == 201, opened.text
    for code in ("sim-a", "sim-b"):
        created = client.post(
            "/v1/providers", json={"code": code, "name": code, "kind": "simulated"}, headers=key
        )
        assert created.status_code == 201, created.text
    for external_id in ("Q-1", "Q-2"):
        body = native_order(external_id, lines=[{"sku": "NOPE", "quantity": 1, "unit_price": "1"}])
        assert client.post("/v1/orders", json=body, headers=key).status_code == 202
    add_store_locations(client, key)
    receive_at(client, key, "SKU-1", "soho", 5)
    for external_id in ("P-1", "P-2"):
        placed = client.post("/v1/orders", json=pickup_order(external_id), headers=key)
        assert placed.status_code in (201, 202), placed.text
        open_pickup(container, placed.json()["id"])
    for url in ("https://example.com/a", "https://example.com/b"):
        created = client.post("/v1/webhooks", json={"url": url, "event_types": ["*"]}, headers=key)
        assert created.status_code == 201, created.text
    with container.uow(actor="test") as uow:
        for kind in ("stock_out", "unroutable"):
            uow.fulfilment.raise_exception(
                kind=kind,
                order_id=order_id,
                fulfilment_id=None,
                detail="test",
                suggested_action="look",
                now=utc_now(),
            )
        deliveries.fan_out(uow.conn, consumers_for=lambda _type: ["a", "b"], now=utc_now())
        uow.commit()
    add_locations(container, ("west", 2))  # the orders' receipts and shipments: the ledger


def test_every_collection_pages_by_limit_and_cursor_without_skipping_or_repeating(
    client: TestClient, admin: dict[str, str], seeded: Container, doc: dict[str, Any]
) -> None:
    seed_two_of_everything(seeded, client, admin)
    for path in collection_routes(doc):
        url = _url(path)
        whole = client.get(url, params={"limit": MAX_LIMIT}, headers=admin)
        assert whole.status_code == 200, (path, whole.text)
        assert set(whole.json()) == {"items", "next_cursor"}, path
        everything = whole.json()["items"]
        assert len(everything) >= 2, f"seed two items of {path} to prove its paging"
        seen: list[Any] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 1} | ({"cursor": cursor} if cursor else {})
            page = client.get(url, params=params, headers=admin).json()
            assert len(page["items"]) <= 1, path
            seen += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert seen == everything, path


@pytest.mark.parametrize(
    "cursor",
    ["!!!", "not a cursor", base64.urlsafe_b64encode(b"\x00").decode(), "////", "%"],
)
def test_a_malformed_cursor_is_a_422_naming_cursor_on_every_collection(
    client: TestClient, admin: dict[str, str], doc: dict[str, Any], cursor: str
) -> None:
    for path in collection_routes(doc):
        answer = client.get(_url(path), params={"cursor": cursor}, headers=admin)
        assert answer.status_code == 422, (path, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in answer.json()["errors"]] == ["query.cursor"], path
