"""OWASP API2:2023 Broken Authentication: what authenticates a channel's webhook is its
signature, and only what the signature covers is acted upon."""

from __future__ import annotations

from fastapi.testclient import TestClient

from orderhub.bootstrap import Container
from tests.support.channels import fixture_text, seed_channels, sign


def shopify(client: TestClient, body: bytes, topic: str) -> dict[str, str]:
    headers = {"X-Shopify-Hmac-Sha256": sign(body), "X-Shopify-Topic": topic}
    response = client.post("/v1/channels/shop/webhooks", content=body, headers=headers)
    assert response.status_code == 200, response.text
    result: dict[str, str] = response.json()["results"][0]
    return result


def test_a_captured_create_resent_under_the_cancel_topic_cancels_nothing(
    client: TestClient, seeded: Container, admin: dict[str, str]
) -> None:
    seed_channels(seeded)
    body = fixture_text("shopify/orders_create_tax_included_presentment.json").encode()
    created = shopify(client, body, "orders/create")
    replayed = shopify(client, body, "orders/cancelled")  # the HMAC does not cover the topic
    assert replayed["outcome"] != "cancelled"
    order = client.get(f"/v1/orders/{created['order_id']}", headers=admin).json()
    assert order["status"] != "cancelled"
