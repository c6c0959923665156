"""How the marketplaces authenticate today, against fakes written from their documentation:
Etsy's ``keystring:shared_secret`` API key (Request Standards page, enforced since 9 February
2026) and token endpoints on the host of the environment the channel points at (eBay's
sandbox and production each have their own; Etsy's is on its API host)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import parse_qs

import httpx
import pytest

from orderhub.channels import ebay, etsy
from orderhub.channels.api_client import ChannelApiError, forget_shared_state
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.domain.errors import ValidationFailed


@pytest.fixture(autouse=True)
def _fresh_tokens() -> Iterator[None]:
    forget_shared_state()
    yield
    forget_shared_state()


def etsy_channel(**credentials: str) -> Channel:
    return Channel(
        code="etsy",
        name="Etsy",
        kind=ChannelKind.ETSY,
        credentials=credentials,
        settings={"shop_id": "55667788"},
    )


class EtsyFake:
    """Etsy Open API v3: the token endpoint on the API host; every v3 call needs
    ``x-api-key: keystring:shared_secret`` and is refused with 403 otherwise."""

    def __init__(self, host: str = "openapi.etsy.com") -> None:
        self.host = host
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        if request.url.host != self.host:
            return httpx.Response(404, json={"error": f"no such host {request.url.host}"})
        if request.url.path == "/v3/public/oauth/token":
            form = parse_qs(request.content.decode())
            if form.get("client_id") != ["exJeyZtXODeekHfX8VRgMQ"]:
                return httpx.Response(401, json={"error": "invalid_client"})
            return httpx.Response(
                200,
                json={
                    "access_token": "12345678.VJTv9q",
                    "expires_in": 3600,
                    "token_type": "Bearer",
                },
            )
        if request.headers.get("x-api-key") != "exJeyZtXODeekHfX8VRgMQ:a1b2c3d4e5":
            return httpx.Response(403, json={"error": "Shared secret is required in x-api-key"})
        return httpx.Response(200, json={"count": 0, "results": []})


def test_etsy_sends_keystring_colon_shared_secret_as_the_api_key() -> None:
    fake = EtsyFake()
    channel = etsy_channel(
        keystring="exJeyZtXODeekHfX8VRgMQ", shared_secret="a1b2c3d4e5", refresh_token="12345678.r"
    )
    api = etsy.client(channel, transport=httpx.MockTransport(fake), environ={})
    response = api.call("GET", "/v3/application/shops/55667788/receipts", api="etsy")
    assert response.status_code == 200
    call = fake.seen[-1]
    assert call.headers["x-api-key"] == "exJeyZtXODeekHfX8VRgMQ:a1b2c3d4e5"
    assert call.headers["authorization"] == "Bearer 12345678.VJTv9q"


def test_an_etsy_channel_without_its_shared_secret_names_the_missing_credential() -> None:
    channel = etsy_channel(keystring="exJeyZtXODeekHfX8VRgMQ", refresh_token="12345678.r")
    with pytest.raises(ValidationFailed) as error:
        etsy.client(channel, environ={})
    assert [f.field for f in error.value.fields] == ["credentials.shared_secret"]


def test_etsy_buys_its_token_on_the_host_the_channel_points_at() -> None:
    fake = EtsyFake(host="api.etsy.com")
    channel = etsy_channel(
        keystring="exJeyZtXODeekHfX8VRgMQ", shared_secret="a1b2c3d4e5", refresh_token="12345678.r"
    )
    channel = replace(channel, api_base_url="https://api.etsy.com")
    api = etsy.client(channel, transport=httpx.MockTransport(fake), environ={})
    api.call("GET", "/v3/application/shops/55667788/receipts", api="etsy")
    token_call = fake.seen[0]
    assert str(token_call.url) == "https://api.etsy.com/v3/public/oauth/token"


class EbayFake:
    """Two eBay environments: each token endpoint knows only its own environment's app keys
    (eBay's refresh-token request page: sandbox and production token endpoints)."""

    KEYS = {"api.sandbox.ebay.com": "SBX-App-ID", "api.ebay.com": "PRD-App-ID"}

    def __init__(self) -> None:
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        host = request.url.host
        if request.url.path == "/identity/v1/oauth2/token":
            # Basic base64(client_id:client_secret), as eBay's token requests are sent
            basic = request.headers.get("authorization", "").removeprefix("Basic ")
            app_id = base64.b64decode(basic).decode().split(":")[0] if basic else ""
            if self.KEYS.get(host) != app_id:
                return httpx.Response(
                    401,
                    json={
                        "error": "invalid_client",
                        "error_description": "client authentication failed",
                    },
                )
            return httpx.Response(
                200,
                json={
                    "access_token": f"v^1.1#{host}",
                    "expires_in": 7200,
                    "token_type": "User Access Token",
                },
            )
        if request.headers.get("authorization") != f"Bearer v^1.1#{host}":
            return httpx.Response(401, json={"errors": [{"errorId": 1001}]})
        return httpx.Response(200, json={"orders": [], "total": 0})


def test_an_ebay_sandbox_channel_buys_its_token_in_the_sandbox() -> None:
    fake = EbayFake()
    channel = Channel(
        code="ebay-sbx",
        name="eBay sandbox",
        kind=ChannelKind.EBAY,
        api_base_url="https://api.sandbox.ebay.com",
        credentials={
            "refresh_token": "v^1.1#r",
            "client_id": "SBX-App-ID",
            "client_secret": "SBX-Cert",
        },
    )
    api = ebay.client(channel, transport=httpx.MockTransport(fake), environ={})
    api.call("GET", "/sell/fulfillment/v1/order", api="fulfillment")
    token_call, call = fake.seen
    assert str(token_call.url) == "https://api.sandbox.ebay.com/identity/v1/oauth2/token"
    assert call.url.host == "api.sandbox.ebay.com"


def test_an_ebay_channel_without_a_base_url_buys_its_token_in_production() -> None:
    fake = EbayFake()
    channel = Channel(
        code="ebay",
        name="eBay",
        kind=ChannelKind.EBAY,
        credentials={
            "refresh_token": "v^1.1#r",
            "client_id": "PRD-App-ID",
            "client_secret": "PRD-Cert",
        },
    )
    api = ebay.client(channel, transport=httpx.MockTransport(fake), environ={}, attempts=1)
    api.call("GET", "/sell/fulfillment/v1/order", api="fulfillment")
    assert str(fake.seen[0].url) == "https://api.ebay.com/identity/v1/oauth2/token"
    sandbox_keys = Channel(
        code="ebay2",
        name="eBay",
        kind=ChannelKind.EBAY,
        credentials={"refresh_token": "v^1.1#r", "client_id": "SBX-App-ID", "client_secret": "x"},
    )
    wrong = ebay.client(sandbox_keys, transport=httpx.MockTransport(fake), environ={}, attempts=1)
    with pytest.raises(ChannelApiError) as refused:
        wrong.call("GET", "/sell/fulfillment/v1/order", api="fulfillment")
    assert refused.value.status == 401
