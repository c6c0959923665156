"""Channel webhooks through the HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from orderhub.bootstrap import Container
from orderhub.store.tables import orders, quarantine
from tests.support.channels import SECRET, fixture_text, seed_channels, sent_now, sign
from tests.unit.test_bigcommerce import fake_store

SHOPIFY = "shopify/orders_create_tax_included_presentment.json"
WOO = "woocommerce/order_inclusive_coupon_negative_fee.json"


@pytest.fixture
def hub(client: TestClient, seeded: Container) -> Iterator[TestClient]:
    seed_channels(seeded)
    return client


def shopify_post(
    client: TestClient, body: bytes, *, topic: str = "orders/create", secret: str = SECRET
) -> httpx.Response:
    headers = {
        "X-Shopify-Hmac-Sha256": sign(body, secret),
        "X-Shopify-Topic": topic,
        "Content-Type": "application/json",
    }
    return client.post("/v1/channels/shop/webhooks", content=body, headers=headers)


def count(container: Container, table: object) -> int:
    with container.uow(read_only=True) as uow:
        return int(uow.conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_a_signed_shopify_webhook_creates_the_order_with_exact_totals(
    hub: TestClient, admin: dict[str, str]
) -> None:
    response = shopify_post(hub, fixture_text(SHOPIFY).encode())
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    assert result["outcome"] == "created"
    assert result["external_id"] == "5123456789012"
    order = hub.get(f"/v1/orders/{result['order_id']}", headers=admin).json()
    assert order["currency"] == "CAD"
    assert order["channel"] == "shop"
    assert order["totals"] == {
        "subtotal": "140.00", "discount": "17.00", "shipping": "15.00", "tax": "12.26",
        "total": "138.00",
    }  # fmt: skip
    assert [(ln["sku"], ln["channel_sku"]) for ln in order["lines"]] == [
        ("SHIRT-RED", "SHIRT-RED"), ("MUG-1", "MUG-1"), ("GIFTCARD-50", "variant:40003"),
        ("SAMPLE-1", "SAMPLE-1"),
    ]  # fmt: skip


def test_a_bad_signature_is_a_401_problem_and_stores_nothing(
    hub: TestClient, seeded: Container
) -> None:
    body = fixture_text(SHOPIFY).encode()
    response = shopify_post(hub, body, secret="not-the-secret")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    tampered = body.replace(b'"138.00"', b'"1.00"')
    headers = {"X-Shopify-Hmac-Sha256": sign(body), "X-Shopify-Topic": "orders/create"}
    assert (
        hub.post("/v1/channels/shop/webhooks", content=tampered, headers=headers).status_code == 401
    )
    assert count(seeded, orders) == 0
    assert count(seeded, quarantine) == 0


def test_an_api_key_is_not_what_authenticates_a_webhook(
    hub: TestClient, admin: dict[str, str]
) -> None:
    body = fixture_text(SHOPIFY).encode()
    response = hub.post("/v1/channels/shop/webhooks", content=body, headers=admin)
    assert response.status_code == 401


def test_a_repeated_delivery_creates_no_second_order(hub: TestClient, seeded: Container) -> None:
    body = fixture_text(SHOPIFY).encode()
    first = shopify_post(hub, body).json()["results"][0]
    again = shopify_post(hub, body)
    assert again.status_code == 200
    assert again.json()["results"][0] == {**first, "outcome": "unchanged"}
    assert count(seeded, orders) == 1


def test_orders_updated_records_the_change_once(hub: TestClient, admin: dict[str, str]) -> None:
    body = fixture_text(SHOPIFY)
    order_id = shopify_post(hub, body.encode()).json()["results"][0]["order_id"]
    updated = body.replace('"fulfillment_status": null', '"fulfillment_status": "partial"').replace(
        "2026-11-20T09:15:02-05:00", "2026-11-20T10:00:00-05:00"
    )
    outcomes = [
        shopify_post(hub, updated.encode(), topic="orders/updated").json()["results"][0]["outcome"]
        for _ in range(2)
    ]
    assert outcomes == ["updated", "unchanged"]
    events = hub.get(f"/v1/orders/{order_id}/events", headers=admin).json()
    assert [e["type"] for e in events] == ["order.received", "order.channel_updated"]
    assert set(events[1]["data"]["changed"]) == {"fulfillment_status", "updated_at"}


def test_orders_cancelled_cancels_through_the_order_service(
    hub: TestClient, admin: dict[str, str]
) -> None:
    body = fixture_text(SHOPIFY)
    order_id = shopify_post(hub, body.encode()).json()["results"][0]["order_id"]
    cancelled = body.replace('"cancelled_at": null', '"cancelled_at": "2026-11-20T11:00:00-05:00"')
    cancelled = cancelled.replace('"cancel_reason": null', '"cancel_reason": "customer"')
    results = [shopify_post(hub, cancelled.encode(), topic="orders/cancelled") for _ in range(2)]
    assert [r.json()["results"][0]["outcome"] for r in results] == ["cancelled", "unchanged"]
    order = hub.get(f"/v1/orders/{order_id}", headers=admin).json()
    assert order["status"] == "cancelled"
    assert {ln["status"] for ln in order["lines"]} == {"cancelled"}
    events = [e["type"] for e in hub.get(f"/v1/orders/{order_id}/events", headers=admin).json()]
    assert "order.cancelled" in events


def test_an_unmapped_sku_goes_to_quarantine_and_replays_after_mapping(
    hub: TestClient, admin: dict[str, str]
) -> None:
    body = fixture_text("shopify/test_notification_cancelled.json").replace(
        "IPOD2008PINK", "IPOD-UNMAPPED"
    )
    result = shopify_post(hub, body.encode()).json()["results"][0]
    assert result["outcome"] == "quarantined"
    entry = hub.get(f"/v1/quarantine/{result['quarantine_id']}", headers=admin).json()
    assert entry["source"] == "shopify"
    assert entry["errors"][0]["code"] == "unknown_sku"
    mapped = hub.post(
        "/v1/channels/shop/sku-map",
        json={"mappings": [{"channel_sku": "IPOD-UNMAPPED", "sku": "IPOD-NANO"}]},
        headers=admin,
    )
    assert mapped.status_code == 200
    replay = hub.post(f"/v1/quarantine/{result['quarantine_id']}/replay", headers=admin).json()
    assert replay["outcome"] == "created"
    order = hub.get(f"/v1/orders/{replay['order_id']}", headers=admin).json()
    assert order["totals"]["total"] == "403.00"


def test_the_same_person_is_one_customer_across_shopify_and_woocommerce(
    hub: TestClient, admin: dict[str, str]
) -> None:
    shop = shopify_post(hub, fixture_text(SHOPIFY).encode()).json()["results"][0]
    woo_body = fixture_text(WOO).encode()
    woo = hub.post(
        "/v1/channels/woo/webhooks",
        content=woo_body,
        headers={"X-WC-Webhook-Signature": sign(woo_body), "X-WC-Webhook-Topic": "order.created"},
    ).json()["results"][0]
    first = hub.get(f"/v1/orders/{shop['order_id']}", headers=admin).json()
    second = hub.get(f"/v1/orders/{woo['order_id']}", headers=admin).json()
    assert second["totals"]["total"] == "34.27"
    assert second["currency"] == "EUR"
    assert first["customer"]["email"] == second["customer"]["email"] == "ada@example.com"
    assert first["customer"]["id"] == second["customer"]["id"]


def test_a_woocommerce_cancellation_is_applied(hub: TestClient, admin: dict[str, str]) -> None:
    body = fixture_text(WOO)

    def post(text: str) -> dict[str, str]:
        data = text.encode()
        headers = {"X-WC-Webhook-Signature": sign(data), "X-WC-Webhook-Topic": "order.updated"}
        return hub.post("/v1/channels/woo/webhooks", content=data, headers=headers).json()[
            "results"
        ][0]

    created = post(body)
    cancelled = post(body.replace('"status": "processing"', '"status": "cancelled"'))
    assert cancelled["outcome"] == "cancelled"
    assert cancelled["order_id"] == created["order_id"]
    order = hub.get(f"/v1/orders/{created['order_id']}", headers=admin).json()
    assert order["status"] == "cancelled"


def test_bigcommerce_webhook_fetches_the_order_through_the_v2_api(
    hub: TestClient, seeded: Container, admin: dict[str, str]
) -> None:
    requests: list[httpx.Request] = []
    seeded.http_transport = fake_store(requests)
    body = sent_now(fixture_text("bigcommerce/webhook_store_order_created.json"))
    headers = {"X-OrderHub-Webhook-Secret": SECRET}
    first = hub.post("/v1/channels/bc/webhooks", content=body, headers=headers)
    again = hub.post("/v1/channels/bc/webhooks", content=body, headers=headers)
    assert first.status_code == again.status_code == 200, first.text
    result = first.json()["results"][0]
    assert result["outcome"] == "created"
    assert again.json() == {"results": [], "duplicate": True}  # the same hash: a repeat
    order = hub.get(f"/v1/orders/{result['order_id']}", headers=admin).json()
    assert order["totals"]["total"] == "134.13"
    assert order["currency"] == "USD"
    assert len(requests) == 3  # the repeat fetched nothing
    assert count(seeded, orders) == 1


def test_bigcommerce_without_the_secret_header_fetches_nothing(
    hub: TestClient, seeded: Container
) -> None:
    requests: list[httpx.Request] = []
    seeded.http_transport = fake_store(requests)
    body = fixture_text("bigcommerce/webhook_store_order_created.json").encode()
    assert hub.post("/v1/channels/bc/webhooks", content=body).status_code == 401
    assert requests == []


def test_bigcommerce_api_failure_asks_the_channel_to_deliver_again(
    hub: TestClient, seeded: Container
) -> None:
    seeded.http_transport = httpx.MockTransport(lambda _r: httpx.Response(500))
    body = sent_now(fixture_text("bigcommerce/webhook_store_order_created.json"))
    response = hub.post(
        "/v1/channels/bc/webhooks", content=body, headers={"X-OrderHub-Webhook-Secret": SECRET}
    )
    assert response.status_code == 503
    assert count(seeded, orders) == 0


def test_unknown_inactive_and_webhookless_channels_answer_exactly_like_a_bad_signature(
    hub: TestClient, admin: dict[str, str]
) -> None:
    body = fixture_text(SHOPIFY).encode()
    bad_signature = shopify_post(hub, body, secret="not-the-secret")
    assert bad_signature.status_code == 401
    assert bad_signature.json() == {
        "type": "https://orderhub.dev/problems/401",
        "title": "webhook signature rejected",
        "status": 401,
    }
    missing_header = hub.post("/v1/channels/shop/webhooks", content=body)
    assert hub.patch("/v1/channels/woo", json={"active": False}, headers=admin).status_code == 200
    headers = {"X-Shopify-Hmac-Sha256": sign(body), "X-Shopify-Topic": "orders/create"}
    for answer in [
        missing_header,
        hub.post("/v1/channels/nope/webhooks", content=body, headers=headers),  # unknown code
        hub.post("/v1/channels/mage/webhooks", content=body, headers=headers),  # pull-style
        hub.post("/v1/channels/partner/webhooks", content=body, headers=headers),  # CSV
        hub.post("/v1/channels/woo/webhooks", content=body, headers=headers),  # inactive
    ]:
        assert answer.status_code == bad_signature.status_code
        assert answer.content == bad_signature.content
        assert answer.headers["content-type"] == bad_signature.headers["content-type"]


def test_a_malformed_but_signed_payload_is_kept_in_quarantine(
    hub: TestClient, admin: dict[str, str]
) -> None:
    body = json.dumps({"id": 77, "created_at": "2026-11-20T09:15:00Z", "currency": "USD"}).encode()
    result = shopify_post(hub, body).json()["results"][0]
    assert result["outcome"] == "quarantined"
    again = shopify_post(hub, body).json()["results"][0]
    assert again["quarantine_id"] == result["quarantine_id"]  # a repeat updates, not duplicates
    entries = hub.get("/v1/quarantine", headers=admin).json()["items"]
    assert len(entries) == 1
    assert (entries[0]["source"], entries[0]["external_id"]) == ("shopify", "77")
    assert entries[0]["attempts"] == 2
