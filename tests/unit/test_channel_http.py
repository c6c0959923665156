from datetime import UTC, datetime

import httpx
import pytest

from orderhub.channels.base import OutboundRequest
from orderhub.channels.http import channel_client, retry_after, send
from orderhub.domain.channels import Channel, ChannelKind

SHOP = Channel(
    "shop", "Shop", ChannelKind.SHOPIFY, api_base_url="https://shop.example.test",
    credentials={"access_token": "shpat_1"},
)  # fmt: skip
REQUEST = OutboundRequest("POST", "/admin/api/2024-10/inventory_levels/set.json", {"available": 3})


def scripted(*responses: httpx.Response) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    queue = list(responses)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return queue.pop(0)

    return httpx.MockTransport(handle), seen


def test_retries_429_honouring_retry_after_then_succeeds() -> None:
    transport, seen = scripted(
        httpx.Response(429, headers={"Retry-After": "7"}),
        httpx.Response(503),
        httpx.Response(200, json={"inventory_level": {"available": 3}}),
    )
    waits: list[float] = []
    with channel_client(SHOP, transport=transport) as client:
        response = send(client, REQUEST, sleep=waits.append, base_delay=0.5)
    assert response.status_code == 200
    assert waits == [7.0, 1.0]  # as asked, then the doubled back-off for the 503
    assert len(seen) == 3
    assert seen[0].headers["X-Shopify-Access-Token"] == "shpat_1"
    assert seen[0].url == "https://shop.example.test/admin/api/2024-10/inventory_levels/set.json"
    assert seen[0].content == b'{"available":3}'


def test_gives_the_last_response_back_after_the_last_attempt() -> None:
    transport, seen = scripted(*(httpx.Response(500) for _ in range(3)))
    with channel_client(SHOP, transport=transport) as client:
        response = send(client, REQUEST, attempts=3, sleep=lambda _s: None)
    assert response.status_code == 500
    assert len(seen) == 3


def test_client_errors_are_not_retried() -> None:
    transport, seen = scripted(httpx.Response(422, json={"errors": "bad"}))
    with channel_client(SHOP, transport=transport) as client:
        assert send(client, REQUEST, sleep=lambda _s: None).status_code == 422
    assert len(seen) == 1


def test_transport_errors_are_retried_then_raised() -> None:
    calls = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ConnectError("refused", request=request)

    with (
        channel_client(SHOP, transport=httpx.MockTransport(refuse)) as client,
        pytest.raises(httpx.ConnectError),
    ):
        send(client, REQUEST, attempts=2, sleep=lambda _s: None)
    assert len(calls) == 2


def test_retry_after_as_an_http_date() -> None:
    response = httpx.Response(429, headers={"Retry-After": "Fri, 27 Nov 2026 03:00:30 GMT"})
    assert retry_after(response, now=datetime(2026, 11, 27, 3, 0, 0, tzinfo=UTC)) == 30.0


def test_each_kind_authenticates_its_own_way() -> None:
    woo = Channel("woo", "Woo", ChannelKind.WOOCOMMERCE, api_base_url="https://woo.test",
                  credentials={"consumer_key": "ck_1", "consumer_secret": "cs_1"})  # fmt: skip
    transport, seen = scripted(httpx.Response(200))
    with channel_client(woo, transport=transport) as client:
        client.get("/wp-json/wc/v3/orders/1")
    assert seen[0].headers["Authorization"].startswith("Basic ")
