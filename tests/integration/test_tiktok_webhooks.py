"""TikTok Shop order webhooks through the HTTP API, on SQLite and PostgreSQL: verified with the
app secret, the order fetched with a signed Get Order Detail call from a local fake."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from orderhub.bootstrap import Container
from orderhub.channels import tiktok
from orderhub.channels.api_client import forget_shared_state
from orderhub.domain.orders import OrderStatus
from orderhub.store.tables import orders, quarantine
from tests.integration import test_marketplace_sync_others as marketplace
from tests.marketplace_fixtures import (
    FakeMarketplace,
    add_channel,
    fixture_text,
    order_by_external,
    text_response,
)
from tests.support.channels import sent_now

ORDER_ID = "576461413038785752"
APP_SECRET = "tiktok-app-secret"  # the test channel's, as in the sync tests
CANCEL = fixture_text("tiktok", "webhook_order_status_cancel.json")
AWAITING = CANCEL.replace(
    '"order_status": "CANCEL"', '"order_status": "AWAITING_SHIPMENT"'
).replace(
    "7327112393057371910", "7327112393057371900"
)  # another notification: another tts_notification_id
SKUS = {"TT-CAP": "CAP", "TT-SCARF": "SCARF"}


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    forget_shared_state()
    yield
    forget_shared_state()


@pytest.fixture
def fake(seeded: Container) -> FakeMarketplace:
    add_channel(seeded, marketplace.TIKTOK, SKUS)
    recorder = FakeMarketplace(marketplace.tiktok_handler)
    seeded.http_transport = recorder.transport  # type: ignore[attr-defined]
    return recorder


def post(
    client: TestClient, body: str, *, secret: str = APP_SECRET, app_key: str = "123abc"
) -> httpx.Response:
    raw = sent_now(body).encode()
    signature = tiktok.webhook_signature(app_key=app_key, secret=secret, body=raw)
    headers = {"Authorization": signature, "Content-Type": "application/json"}
    return client.post("/v1/channels/tiktok/webhooks", content=raw, headers=headers)


def count(container: Container, table: object) -> int:
    with container.uow(read_only=True) as uow:
        return int(uow.conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_a_signed_notification_fetches_the_order_with_a_signed_call_and_creates_it(
    client: TestClient, seeded: Container, fake: FakeMarketplace
) -> None:
    response = post(client, AWAITING)
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    assert (result["outcome"], result["external_id"]) == ("created", ORDER_ID)
    [detail] = fake.requests
    assert (detail.method, detail.url.path) == ("GET", "/order/202309/orders")
    assert detail.url.params["ids"] == ORDER_ID
    assert detail.url.params["app_key"] == "123abc"
    assert detail.url.params["shop_cipher"] == "ROW_RHkDDABBAAB8tKAVoAqsMTjsQZFLyNfY"
    order = order_by_external(seeded, "tiktok", ORDER_ID)
    assert [(line.sku, line.quantity) for line in order.lines] == [("CAP", 2), ("SCARF", 1)]
    assert str(order.totals.total) == "49.28"
    assert order.status != OrderStatus.CANCELLED


def test_a_repeated_delivery_creates_no_second_order(
    client: TestClient, seeded: Container, fake: FakeMarketplace
) -> None:
    first = post(client, AWAITING).json()["results"][0]
    again = post(client, AWAITING)  # the same tts_notification_id: a repeat, not acted on
    assert again.status_code == 200
    assert again.json() == {"results": [], "duplicate": True}
    other = post(client, AWAITING.replace("7327112393057371900", "7327112393057371901"))
    assert other.json()["results"][0] == {**first, "outcome": "unchanged"}
    assert count(seeded, orders) == 1


def test_a_cancel_notification_cancels_the_known_order_once(
    client: TestClient, seeded: Container, fake: FakeMarketplace
) -> None:
    created = post(client, AWAITING).json()["results"][0]
    second_notice = CANCEL.replace("7327112393057371910", "7327112393057371911")
    outcomes = [post(client, body).json()["results"][0] for body in (CANCEL, second_notice)]
    assert [o["outcome"] for o in outcomes] == ["cancelled", "unchanged"]
    assert {o["order_id"] for o in outcomes} == {created["order_id"]}
    assert order_by_external(seeded, "tiktok", ORDER_ID).status == OrderStatus.CANCELLED
    assert count(seeded, orders) == 1


@pytest.mark.parametrize(
    ("secret", "app_key", "header"),
    [
        ("not-the-app-secret", "123abc", True),
        (APP_SECRET, "other-app", True),
        (APP_SECRET, "123abc", False),
    ],
    ids=["wrong-secret", "wrong-app-key", "no-authorization"],
)
def test_a_bad_signature_is_a_401_problem_fetches_nothing_and_stores_nothing(
    client: TestClient,
    seeded: Container,
    fake: FakeMarketplace,
    secret: str,
    app_key: str,
    header: bool,
) -> None:
    if header:
        response = post(client, AWAITING, secret=secret, app_key=app_key)
    else:
        response = client.post("/v1/channels/tiktok/webhooks", content=AWAITING.encode())
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert fake.requests == []
    assert count(seeded, orders) == 0
    assert count(seeded, quarantine) == 0


def test_a_tampered_body_is_rejected(
    client: TestClient, seeded: Container, fake: FakeMarketplace
) -> None:
    signed = sent_now(AWAITING)
    signature = tiktok.webhook_signature(app_key="123abc", secret=APP_SECRET, body=signed.encode())
    tampered = signed.replace(ORDER_ID, "576461413038785999").encode()
    response = client.post(
        "/v1/channels/tiktok/webhooks", content=tampered, headers={"Authorization": signature}
    )
    assert response.status_code == 401
    assert fake.requests == []


def test_without_a_webhook_secret_the_app_secret_credential_verifies(
    client: TestClient, seeded: Container
) -> None:
    add_channel(seeded, replace(marketplace.TIKTOK, webhook_secret=None), SKUS)
    seeded.http_transport = FakeMarketplace(marketplace.tiktok_handler).transport  # type: ignore[attr-defined]
    assert post(client, AWAITING, secret="wrong").status_code == 401
    response = post(client, AWAITING)
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["outcome"] == "created"


@pytest.mark.parametrize(
    "answer",
    [
        text_response('{"code": 36009004, "message": "order not found"}'),
        httpx.Response(500),
    ],
    ids=["refused-with-200", "server-error"],
)
def test_a_failed_order_fetch_asks_tiktok_to_deliver_again(
    client: TestClient, seeded: Container, answer: httpx.Response
) -> None:
    add_channel(seeded, marketplace.TIKTOK, SKUS)
    seeded.http_transport = httpx.MockTransport(lambda _r: answer)  # type: ignore[attr-defined]
    response = post(client, AWAITING)
    assert response.status_code == 503
    assert count(seeded, orders) == 0
    seeded.http_transport = FakeMarketplace(marketplace.tiktok_handler).transport  # type: ignore[attr-defined]
    retried = post(client, AWAITING)  # TikTok's retry, same notification id: not a repeat
    assert retried.json()["results"][0]["outcome"] == "created", retried.text


def test_a_webhook_whose_fetch_finds_the_token_expired_refreshes_and_stores_the_new_pair(
    client: TestClient, seeded: Container
) -> None:
    credentials = {**marketplace.TIKTOK.credentials, "access_token": "TTP_expired"}
    add_channel(
        seeded,
        replace(marketplace.TIKTOK, credentials={**credentials, "refresh_token": "TTP_r1"}),
        SKUS,
    )

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.tiktok-shops.com":
            now = int(time.time())
            data = {
                "access_token": "TTP_seller_token",
                "refresh_token": "TTP_r2",
                "access_token_expire_in": now + 7 * 86400,
                "refresh_token_expire_in": now + 365 * 86400,
            }
            return httpx.Response(200, json={"code": 0, "message": "success", "data": data})
        if request.headers["x-tts-access-token"] == "TTP_expired":
            body = {"code": 105002, "message": "Expired credentials. The access token has expired."}
            return httpx.Response(401, json=body)
        return marketplace.tiktok_handler(request)

    seeded.http_transport = FakeMarketplace(handler).transport  # type: ignore[attr-defined]
    response = post(client, AWAITING)
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["outcome"] == "created"
    with seeded.uow(read_only=True) as uow:
        stored = uow.channels.get("tiktok").credentials
    assert (stored["access_token"], stored["refresh_token"]) == ("TTP_seller_token", "TTP_r2")
