"""OWASP API6:2023 Unrestricted Access to Sensitive Business Flows: the flows worth automating
against the hub — taking orders, replaying a channel's deliveries, re-using another caller's
answer — each have a bound an automated client meets (password guessing: API4)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from orderhub.api.app import create_app
from orderhub.bootstrap import Container
from orderhub.domain.access import Role
from orderhub.store import tables as t
from tests.conftest import bearer, make_key, native_order
from tests.support.channels import fixture_text, seed_channels, sign

SHOPIFY = "shopify/orders_create_tax_included_presentment.json"


def count(container: Container, table: t.Table) -> int:
    with container.uow(read_only=True) as uow:
        return int(uow.conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_channel_key_cannot_place_orders_faster_than_its_rate(seeded: Container) -> None:
    seeded.settings = seeded.settings.model_copy(
        update={"rate_limit_key_per_second": 1 / 60, "rate_limit_key_burst": 3}
    )
    key = bearer(make_key(seeded, Role.CHANNEL, channel="web"))
    with TestClient(create_app(seeded)) as bot:
        statuses = [
            bot.post("/v1/orders", json=native_order(f"BOT-{n}"), headers=key).status_code
            for n in range(5)
        ]
    assert statuses == [201, 201, 201, 429, 429]
    assert count(seeded, t.orders) == 3


def test_a_captured_channel_delivery_replayed_acts_once(
    client: TestClient, seeded: Container
) -> None:
    seed_channels(seeded)
    body = fixture_text(SHOPIFY).encode()
    headers = {
        "X-Shopify-Hmac-Sha256": sign(body),
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Webhook-Id": "0e2a1a3c-replayed",
    }
    answers = [
        client.post("/v1/channels/shop/webhooks", content=body, headers=headers).json()
        for _ in range(3)
    ]
    assert answers[0]["results"][0]["outcome"] == "created"
    assert answers[1:] == [{"results": [], "duplicate": True}] * 2
    assert count(seeded, t.orders) == 1
    assert count(seeded, t.order_events) == 1


def test_another_caller_cannot_collect_an_order_answer_by_its_idempotency_key(
    client: TestClient, seeded: Container, admin: dict[str, str]
) -> None:
    key = {"Idempotency-Key": "order-7"}
    placed = client.post("/v1/orders", json=native_order("IK-7"), headers=admin | key)
    assert placed.status_code == 201
    other = bearer(make_key(seeded, Role.OPERATOR))
    answer = client.post("/v1/orders", json=native_order("IK-7"), headers=other | key)
    assert "idempotent-replayed" not in answer.headers  # its own answer, not the first caller's
    anonymous = client.post("/v1/orders", json=native_order("IK-7"), headers=key)
    assert anonymous.status_code == 401
    assert "Buyer" not in anonymous.text
