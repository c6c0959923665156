"""TikTok Shop seller tokens against a fake written from TikTok Shop's authorization docs:
``GET auth.tiktok-shops.com/api/v2/token/refresh`` with ``app_key``, ``app_secret``,
``refresh_token`` and ``grant_type=refresh_token``, answered with a new pair whose
``*_expire_in`` are Unix times; an expired access token is refused with code 105002."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from orderhub.channels import tiktok
from orderhub.channels.api_client import ChannelApiError, forget_shared_state
from orderhub.domain.channels import Channel, ChannelKind

APP_KEY, APP_SECRET = "6a6xxx", "tiktok-app-secret"


@pytest.fixture(autouse=True)
def _fresh_tokens() -> Iterator[None]:
    forget_shared_state()
    yield
    forget_shared_state()


@dataclass
class TikTokShop:
    """Seller tokens that expire at a Unix time; refresh rotates the refresh token."""

    now: float
    access: str = "ROW_old_access"
    refresh: str = "ROW_refresh_1"
    access_expires: float = 0.0
    refreshes: list[httpx.Request] = field(default_factory=list)
    calls: list[httpx.Request] = field(default_factory=list)
    refuse_next_as_expired: bool = False
    lifetime: float = 7 * 86400  # TikTok Shop access tokens live days

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.tiktok-shops.com":
            return self.refresh_token(request)
        self.calls.append(request)
        token = request.headers.get("x-tts-access-token")
        if token != self.access or self.now >= self.access_expires or self.refuse_next_as_expired:
            self.refuse_next_as_expired = False
            body = {"code": 105002, "message": "Expired credentials. The access token has expired."}
            return httpx.Response(401, json=body)
        return httpx.Response(200, json={"code": 0, "data": {"orders": []}, "message": "Success"})

    def refresh_token(self, request: httpx.Request) -> httpx.Response:
        self.refreshes.append(request)
        q = request.url.params
        if request.url.path != "/api/v2/token/refresh" or request.method != "GET":
            return httpx.Response(404)
        if (q.get("app_key"), q.get("app_secret"), q.get("grant_type")) != (
            APP_KEY,
            APP_SECRET,
            "refresh_token",
        ) or q.get("refresh_token") != self.refresh:
            return httpx.Response(200, json={"code": 36004004, "message": "invalid refresh token"})
        n = len(self.refreshes) + 1
        self.access, self.refresh = f"ROW_access_{n}", f"ROW_refresh_{n}"
        self.access_expires = self.now + self.lifetime
        data = {
            "access_token": self.access,
            "access_token_expire_in": int(self.access_expires),
            "refresh_token": self.refresh,
            "refresh_token_expire_in": int(self.now + 365 * 86400),
            "open_id": "7010736057180325637",
            "seller_name": "Jjj test shop",
            "seller_base_region": "ID",
            "user_type": 0,
        }
        return httpx.Response(200, json={"code": 0, "message": "success", "data": data})


def channel(**extra: str) -> Channel:
    return Channel(
        code="tiktok",
        name="TikTok Shop",
        kind=ChannelKind.TIKTOK,
        credentials={
            "app_key": APP_KEY,
            "app_secret": APP_SECRET,
            "access_token": "ROW_old_access",
            "refresh_token": "ROW_refresh_1",
            **extra,
        },
    )


def search(api: tiktok.ApiClient) -> httpx.Response:
    return api.call("POST", "/order/202309/orders/search", api="orders", json={})


def test_a_token_about_to_expire_is_refreshed_first_and_the_new_pair_is_handed_to_save() -> None:
    now = 1_800_000_000.0
    shop = TikTokShop(now=now, access_expires=now + 60)
    saved: list[dict[str, str]] = []
    api = tiktok.client(
        channel(access_token_expires_at=str(int(now + 60))),
        transport=httpx.MockTransport(shop),
        environ={},
        clock=lambda: now,
        save_tokens=saved.append,
    )
    search(api)
    (refresh,) = shop.refreshes
    assert refresh.url.params["refresh_token"] == "ROW_refresh_1"
    (call,) = shop.calls
    assert call.headers["x-tts-access-token"] == "ROW_access_2"
    assert saved == [
        {
            "access_token": "ROW_access_2",
            "refresh_token": "ROW_refresh_2",
            "access_token_expires_at": str(int(now + 7 * 86400)),
            "refresh_token_expires_at": str(int(now + 365 * 86400)),
        }
    ]
    search(api)
    assert len(shop.refreshes) == 1  # a fresh token is not refreshed again
    assert len(saved) == 1


def test_an_expired_token_refusal_refreshes_and_makes_the_call_again_once() -> None:
    now = 1_800_000_000.0
    shop = TikTokShop(now=now, access_expires=now + 86400, refuse_next_as_expired=True)
    saved: list[dict[str, str]] = []
    api = tiktok.client(
        channel(),  # no stored expiry: only TikTok's refusal tells
        transport=httpx.MockTransport(shop),
        environ={},
        clock=lambda: now,
        save_tokens=saved.append,
    )
    assert search(api).json()["code"] == 0
    assert [c.headers["x-tts-access-token"] for c in shop.calls] == [
        "ROW_old_access",
        "ROW_access_2",
    ]
    assert saved[0]["refresh_token"] == "ROW_refresh_2"


def test_a_token_tiktok_still_refuses_after_a_refresh_is_an_error_not_a_loop() -> None:
    now = 1_800_000_000.0
    shop = TikTokShop(now=now, access_expires=now - 1, lifetime=-1)  # born expired
    api = tiktok.client(
        channel(), transport=httpx.MockTransport(shop), environ={}, clock=lambda: now
    )
    with pytest.raises(ChannelApiError) as error:
        search(api)
    assert error.value.status == 401
    assert len(shop.calls) == 2  # the call and one retry, no more
    assert len(shop.refreshes) == 2  # after the refusal; then the new token was born expired


def test_a_failed_refresh_names_the_endpoint_but_never_the_app_secret() -> None:
    now = 1_800_000_000.0
    shop = TikTokShop(now=now, refresh="ROW_someone_else", access_expires=now - 1)
    api = tiktok.client(
        channel(), transport=httpx.MockTransport(shop), environ={}, clock=lambda: now
    )
    with pytest.raises(ChannelApiError) as error:
        search(api)
    assert "auth.tiktok-shops.com/api/v2/token/refresh" in str(error.value)
    assert APP_SECRET not in str(error.value)
