"""eBay, Walmart, Etsy and TikTok Shop polled against local fakes, through ingest, exact totals."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from orderhub.api.app import create_app
from orderhub.bootstrap import Container
from orderhub.channels import tiktok
from orderhub.channels.api_client import forget_shared_state
from orderhub.domain.access import Role
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.domain.orders import OrderStatus
from orderhub.services.marketplace_sync import sync_marketplace
from orderhub.store import tables as t
from tests.conftest import bearer, make_key
from tests.marketplace_fixtures import (
    FakeMarketplace,
    add_channel,
    fixture_text,
    order_by_external,
    order_ids,
    text_response,
)

NOW = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    forget_shared_state()
    yield
    forget_shared_state()


def run(container: Container, code: str, fake: FakeMarketplace, now: datetime = NOW):  # type: ignore[no-untyped-def]
    return sync_marketplace(
        lambda: container.uow(actor="test"),
        channel=code,
        transport=fake.transport,
        clock=lambda: now,
        sleep=lambda _s: None,
        environ={},
    )


EBAY = Channel(
    code="ebay",
    name="eBay",
    kind=ChannelKind.EBAY,
    credentials={"refresh_token": "v^1.1#r", "client_id": "App-ID", "client_secret": "Cert-ID"},
)


def ebay_handler(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/identity/v1/oauth2/token":
        return text_response('{"access_token": "v^1.1#i^1#token", "expires_in": 7200}')
    page = "2" if request.url.params["offset"] == "1" else "1"
    return text_response(fixture_text("ebay", f"getOrders_page{page}.json"))


def test_ebay_orders_are_paged_by_offset_and_the_multi_quantity_line_is_exact(
    container: Container,
) -> None:
    add_channel(container, EBAY, {"EB-LAMP": "LAMP", "110002000020-410002000021": "PIN"})
    fake = FakeMarketplace(ebay_handler)
    assert run(container, "ebay", fake).counts == {"created": 2}
    first = fake.calls("/sell/fulfillment/v1/order")[0]
    assert first.url.params["filter"] == (
        "lastmodifieddate:[2026-11-23T14:00:00.000Z..2026-11-26T13:58:00.000Z]"
    )
    assert first.headers["Authorization"] == "Bearer v^1.1#i^1#token"
    token_call = fake.calls("/identity/v1/oauth2/token")[0]
    assert token_call.headers["Authorization"].startswith("Basic ")
    pins = order_by_external(container, "ebay", "12-10002-00002")
    (line,) = pins.lines
    assert (line.sku, line.quantity, str(line.unit_price)) == ("PIN", 3, "12.50")
    assert str(pins.totals.total) == "39.50"
    lamp = order_by_external(container, "ebay", "12-10001-00001")
    assert (lamp.currency, str(lamp.totals.total)) == ("EUR", "116.26")


WALMART = Channel(
    code="walmart",
    name="Walmart",
    kind=ChannelKind.WALMART,
    credentials={"client_id": "wm-client", "client_secret": "wm-secret"},
)


def walmart_handler(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/v3/token":
        return text_response(fixture_text("walmart", "token.json"))
    page = "2" if "soIndex" in request.url.params else "1"
    return text_response(fixture_text("walmart", f"released_page{page}.json"))


def test_walmart_released_orders_follow_next_cursor_one_hub_order_per_purchase_order(
    container: Container,
) -> None:
    add_channel(container, WALMART, {"YHY-FN25200B2": "WAGON", "WM-KNEEL": "KNEELER"})
    fake = FakeMarketplace(walmart_handler)
    assert run(container, "walmart", fake).counts == {"created": 2}
    first, second = fake.calls("/v3/orders/released")
    assert first.url.params["createdStartDate"] == "2026-11-23T14:00:00Z"  # the first window
    assert first.url.params["createdEndDate"] == "2026-11-26T13:58:00Z"
    assert second.url.params["soIndex"] == "2"
    assert second.headers["WM_SEC.ACCESS_TOKEN"] == "eyJraWQiOiI1MWY3-walmart-test"
    assert second.headers["WM_SVC.NAME"] == "Walmart Marketplace"
    assert second.headers["WM_QOS.CORRELATION_ID"]
    one = order_by_external(container, "walmart", "1815367951431")
    two = order_by_external(container, "walmart", "1815367951432")
    assert one.metadata["customer_order_id"] == two.metadata["customer_order_id"] == "4372135469400"
    assert (str(one.totals.total), str(two.totals.total)) == ("11.74", "27.80")


def test_walmart_reads_released_orders_back_two_days_so_late_releases_are_not_missed(
    container: Container,
) -> None:
    add_channel(container, WALMART, {"YHY-FN25200B2": "WAGON", "WM-KNEEL": "KNEELER"})
    fake = FakeMarketplace(walmart_handler)
    run(container, "walmart", fake)
    later = NOW + timedelta(hours=6)
    assert run(container, "walmart", fake, now=later).counts == {"existing": 2}
    third = fake.calls("/v3/orders/released")[2]
    assert third.url.params["createdStartDate"] == "2026-11-24T19:58:00Z"  # until − 2 days


ETSY = Channel(
    code="etsy",
    name="Etsy",
    kind=ChannelKind.ETSY,
    credentials={
        "keystring": "etsy-key",
        "shared_secret": "etsy-shared-secret",
        "refresh_token": "12345678.etsy-refresh",
    },
    settings={"shop_id": "55667788"},
)


def etsy_handler(request: httpx.Request) -> httpx.Response:
    """Etsy since 9 February 2026: ``x-api-key`` is ``keystring:shared_secret`` or 403."""
    if request.url.path == "/v3/public/oauth/token":
        return text_response(fixture_text("etsy", "token.json"))
    if request.headers.get("x-api-key") != "etsy-key:etsy-shared-secret":
        return text_response('{"error": "Invalid API key"}', status=403)
    page = "2" if request.url.params["offset"] == "1" else "1"
    return text_response(fixture_text("etsy", f"getShopReceipts_page{page}.json"))


def test_etsy_receipts_are_paged_and_normalized_exactly(container: Container) -> None:
    add_channel(
        container,
        ETSY,
        {
            "listing:1572338361:17854054931": "BAG",
            "ETSY-NAPKIN": "NAPKIN",
            "listing:1572338401:17854055001": "CANDLE",
        },
    )
    fake = FakeMarketplace(etsy_handler)
    assert run(container, "etsy", fake).counts == {"created": 2}
    call = fake.calls("/receipts")[0]
    assert call.url.path == "/v3/application/shops/55667788/receipts"
    assert call.headers["x-api-key"] == "etsy-key:etsy-shared-secret"
    assert call.headers["Authorization"] == "Bearer 12345678.etsy-access"
    token_form = parse_qs(fake.calls("/oauth/token")[0].content.decode())
    assert token_form["grant_type"] == ["refresh_token"]
    assert str(order_by_external(container, "etsy", "3021745600").totals.total) == "35.30"
    assert str(order_by_external(container, "etsy", "3021745515").totals.total) == "112.50"


TIKTOK = Channel(
    code="tiktok",
    name="TikTok Shop",
    kind=ChannelKind.TIKTOK,
    webhook_secret="tiktok-app-secret",
    credentials={
        "app_key": "123abc",
        "app_secret": "tiktok-app-secret",
        "access_token": "TTP_seller_token",
        "shop_cipher": "ROW_RHkDDABBAAB8tKAVoAqsMTjsQZFLyNfY",
    },
)


def tiktok_handler(request: httpx.Request) -> httpx.Response:
    """Refuses any request whose signature is not the 202309 one (recomputed here)."""
    params = dict(request.url.params.items())
    expected = tiktok.sign(
        secret="tiktok-app-secret", path=request.url.path, params=params, body=request.content
    )
    if (
        params.get("sign") != expected
        or request.headers["x-tts-access-token"] != "TTP_seller_token"
    ):
        return text_response('{"code": 106001, "message": "invalid sign"}', status=401)
    if request.url.path.endswith("/orders/search"):
        page = "2" if params.get("page_token") else "1"
        return text_response(fixture_text("tiktok", f"search_page{page}.json"))
    return text_response(fixture_text("tiktok", "get_order_detail.json"))


def test_tiktok_orders_are_fetched_with_signed_requests_and_cancelled_ones_cancelled(
    container: Container,
) -> None:
    add_channel(container, TIKTOK, {"TT-CAP": "CAP", "TT-SCARF": "SCARF"})
    fake = FakeMarketplace(tiktok_handler)
    assert run(container, "tiktok", fake).counts == {"created": 1, "cancelled": 1}
    search = fake.calls("/orders/search")[0]
    assert search.url.params["app_key"] == "123abc"
    assert search.url.params["shop_cipher"] == "ROW_RHkDDABBAAB8tKAVoAqsMTjsQZFLyNfY"
    order = order_by_external(container, "tiktok", "576461413038785752")
    assert [(line.sku, line.quantity) for line in order.lines] == [("CAP", 2), ("SCARF", 1)]
    assert str(order.totals.total) == "49.28"
    cancelled = order_by_external(container, "tiktok", "576461413038785999")
    assert cancelled.status == OrderStatus.CANCELLED


def test_an_expired_tiktok_token_is_refreshed_and_the_new_pair_stored_sealed(
    container: Container,
) -> None:
    expired = {**TIKTOK.credentials, "refresh_token": "TTP_refresh_1"}
    now = int(time.time())  # the client reads the wall clock for token expiry, as TikTok does
    expired["access_token_expires_at"] = str(now - 3600)
    add_channel(
        container, replace(TIKTOK, credentials=expired), {"TT-CAP": "CAP", "TT-SCARF": "SCARF"}
    )

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.tiktok-shops.com":  # the documented refresh endpoint
            assert request.url.params["refresh_token"] == "TTP_refresh_1"
            body = {"code": 0, "message": "success", "data": {
                "access_token": "TTP_seller_token", "refresh_token": "TTP_refresh_2",
                "access_token_expire_in": now + 7 * 86400,
                "refresh_token_expire_in": now + 365 * 86400}}  # fmt: skip
            return httpx.Response(200, json=body)
        return tiktok_handler(request)

    fake = FakeMarketplace(handler)
    assert run(container, "tiktok", fake).counts == {"created": 1, "cancelled": 1}
    with container.uow(read_only=True) as uow:
        stored = uow.channels.get("tiktok").credentials
        raw = uow.conn.execute(select(t.channels.c.credentials)).scalar_one()
    assert stored["access_token"] == "TTP_seller_token"
    assert stored["refresh_token"] == "TTP_refresh_2"
    assert stored["access_token_expires_at"] == str(now + 7 * 86400)
    assert raw.startswith("fernet:")
    assert "TTP_refresh_2" not in raw


def test_a_tiktok_signature_check_catches_a_wrong_secret() -> None:
    params = {"app_key": "123abc", "timestamp": "1625484268", "ids": "1"}
    good = tiktok.sign(secret="s", path="/order/202309/orders", params=params)
    assert tiktok.sign(secret="t", path="/order/202309/orders", params=params) != good
    assert tiktok.sign(secret="s", path="/order/202309/orders", params=params, body=b"{}") != good
    assert (
        tiktok.sign(secret="s", path="/order/202309/orders", params={**params, "sign": "x"}) == good
    )


def test_post_sync_pulls_a_marketplace_channel(seeded: Container) -> None:
    add_channel(seeded, EBAY, {"EB-LAMP": "LAMP", "110002000020-410002000021": "PIN"})
    seeded.http_transport = FakeMarketplace(ebay_handler).transport  # type: ignore[attr-defined]
    with TestClient(create_app(seeded)) as client:
        key = make_key(seeded, Role.ADMIN)
        response = client.post("/v1/channels/ebay/sync", headers=bearer(key))
        assert response.status_code == 200, response.text
        assert response.json()["counts"] == {"created": 2}
        again = client.post("/v1/channels/ebay/sync", headers=bearer(key))
        assert again.json()["counts"] == {"existing": 2}
        native = client.post("/v1/channels/web/sync", headers=bearer(key))
        assert native.status_code == 422
    assert order_ids(seeded, "ebay") == ["12-10001-00001", "12-10002-00002"]
