"""OWASP API2:2023 Broken Authentication: what authenticates a channel's webhook is its
signature, and only what the signature covers is acted upon."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from orderhub.bootstrap import Container
from orderhub.channels import tiktok
from orderhub.clock import utc_now
from tests.marketplace_fixtures import add_channel
from tests.marketplace_fixtures import fixture_text as marketplace_fixture
from tests.support.channels import fixture_text, seed_channels, sent_now, sign

REFUSED = {
    "type": "https://orderhub.dev/problems/401",
    "title": "webhook signature rejected",
    "status": 401,
}  # every refusal of a channel webhook, byte for byte (docs/security.md)


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


def deliver(client: TestClient, code: str, body: bytes, headers: dict[str, str]) -> Response:
    return client.post(f"/v1/channels/{code}/webhooks", content=body, headers=headers)


def shopify_headers(body: bytes, **extra: str) -> dict[str, str]:
    return {"X-Shopify-Hmac-Sha256": sign(body), "X-Shopify-Topic": "orders/create", **extra}


def test_a_repeated_shopify_delivery_id_is_answered_but_not_acted_upon(
    client: TestClient, seeded: Container
) -> None:
    seed_channels(seeded)
    body = fixture_text("shopify/orders_create_tax_included_presentment.json").encode()
    headers = shopify_headers(body, **{"X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f"})
    first = deliver(client, "shop", body, headers)
    assert first.json()["results"][0]["outcome"] == "created"
    again = deliver(client, "shop", body, headers)
    assert again.status_code == 200  # Shopify must stop retrying
    assert again.json() == {"results": [], "duplicate": True}


def test_a_woocommerce_delivery_id_is_acted_upon_once(
    client: TestClient, seeded: Container
) -> None:
    seed_channels(seeded)
    body = fixture_text("woocommerce/order_727_docs_sample.json").encode()
    headers = {
        "X-WC-Webhook-Signature": sign(body),
        "X-WC-Webhook-Topic": "order.created",
        "X-WC-Webhook-Delivery-ID": "36e520ebabc2fa725092ff4a47acedf2",
    }
    assert deliver(client, "woo", body, headers).json()["results"][0]["outcome"] == "created"
    assert deliver(client, "woo", body, headers).json() == {"results": [], "duplicate": True}


@pytest.mark.parametrize(
    "sent", [timedelta(hours=-73), timedelta(minutes=10)], ids=["stale", "future"]
)
def test_a_shopify_delivery_triggered_outside_the_window_is_refused(
    client: TestClient, seeded: Container, sent: timedelta
) -> None:
    seed_channels(seeded)
    body = fixture_text("shopify/orders_create_tax_included_presentment.json").encode()
    at = (utc_now() + sent).isoformat().replace("+00:00", "Z")
    refused = deliver(client, "shop", body, shopify_headers(body, **{"X-Shopify-Triggered-At": at}))
    assert refused.status_code == 401
    assert refused.json() == REFUSED
    fresh = utc_now().isoformat()
    taken = deliver(
        client, "shop", body, shopify_headers(body, **{"X-Shopify-Triggered-At": fresh})
    )
    assert taken.json()["results"][0]["outcome"] == "created"


def test_a_signed_tiktok_notification_older_than_the_window_is_refused(
    client: TestClient, seeded: Container
) -> None:
    from tests.integration.test_marketplace_sync_others import TIKTOK

    add_channel(seeded, TIKTOK, {"TT-CAP": "CAP"})
    body = sent_now(
        marketplace_fixture("tiktok", "webhook_order_status_cancel.json"), age=timedelta(hours=73)
    ).encode()
    signature = tiktok.webhook_signature(app_key="123abc", secret="tiktok-app-secret", body=body)
    refused = deliver(client, "tiktok", body, {"Authorization": signature})
    assert refused.status_code == 401
    assert refused.json() == REFUSED
