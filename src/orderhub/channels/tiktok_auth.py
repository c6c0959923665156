"""TikTok Shop seller tokens: refreshed before they expire and when TikTok says they have.

A seller's access token lives days, its refresh token months. TikTok Shop's token refresh
(Partner Center, "Authorization overview") is
``GET https://auth.tiktok-shops.com/api/v2/token/refresh?app_key=…&app_secret=…&
refresh_token=…&grant_type=refresh_token``, answered ``{"code": 0, "data": {"access_token",
"access_token_expire_in", "refresh_token", "refresh_token_expire_in", …}}`` where both
``*_expire_in`` are Unix times (not durations). The answer's refresh token replaces the old one.

A token is refreshed ``MARGIN`` seconds before the stored expiry, and at once when a call is
refused with TikTok's expired-token code (then the call is made again, once). The new pair
is handed to ``save`` — the hub stores it with the channel's credentials, sealed — so it
survives a restart; until saved it is shared in the process (:func:`shared_state`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from orderhub.channels.api_client import ApiClient, ChannelApiError

TOKEN_URL = "https://auth.tiktok-shops.com/api/v2/token/refresh"  # noqa: S105 (an endpoint)
EXPIRED_CODES = frozenset({105002})  # "Expired credentials": the access token has expired
MARGIN = 600.0  # refresh ten minutes before the stored expiry
SaveTokens = Callable[[dict[str, str]], None]


def _expiry(value: str | None) -> float | None:
    return float(value) if value else None


class SellerTokens:
    """A seller's access and refresh token, refreshed under a lock (one refresh at a time)."""

    def __init__(self, creds: Mapping[str, str], *, token_url: str = TOKEN_URL) -> None:
        self.app_key = creds["app_key"]
        self._app_secret = creds["app_secret"]
        self.access_token = creds["access_token"]
        self.refresh_token = creds.get("refresh_token") or None
        self.expires_at = _expiry(creds.get("access_token_expires_at"))
        self.refresh_expires_at = _expiry(creds.get("refresh_token_expires_at"))
        self.token_url = token_url
        self._lock = threading.Lock()

    def token(self, http: httpx.Client, now: float) -> str:
        """The access token, refreshed first when it expires within ``MARGIN``."""
        with self._lock:
            due = self.expires_at is not None and now >= self.expires_at - MARGIN
            if due and self.refresh_token:
                self._refresh(http)
            return self.access_token

    def expired(self, http: httpx.Client, used: str) -> None:
        """TikTok said ``used`` has expired: refresh, unless another call did meanwhile."""
        with self._lock:
            if self.access_token == used:
                self._refresh(http)

    @staticmethod
    def stored_in(creds: Mapping[str, str]) -> dict[str, str]:
        """The token values among a channel's credentials (to compare with :meth:`credentials`)."""
        names = (
            "access_token",
            "refresh_token",
            "access_token_expires_at",
            "refresh_token_expires_at",
        )
        return {name: creds[name] for name in names if name in creds}

    def credentials(self) -> dict[str, str]:
        """What to store with the channel's credentials (replacing the old values)."""
        stored = {"access_token": self.access_token}
        if self.refresh_token:
            stored["refresh_token"] = self.refresh_token
        if self.expires_at is not None:
            stored["access_token_expires_at"] = str(int(self.expires_at))
        if self.refresh_expires_at is not None:
            stored["refresh_token_expires_at"] = str(int(self.refresh_expires_at))
        return stored

    def _refresh(self, http: httpx.Client) -> None:
        if not self.refresh_token:
            raise ChannelApiError(
                401, "the access token has expired and there is no refresh_token", self.token_url
            )
        params = {
            "app_key": self.app_key,
            "app_secret": self._app_secret,
            "refresh_token": self.refresh_token,
            "grant_type": "refresh_token",
        }
        response = http.get(self.token_url, params=params)
        try:
            body = json.loads(response.content)
        except ValueError:
            body = {}
        data = (body.get("data") if isinstance(body, dict) else None) or {}
        if response.is_error or body.get("code") not in (0, None) or not data.get("access_token"):
            # The URL in the error is the bare endpoint: its query holds the app secret.
            raise ChannelApiError(response.status_code, response.text, self.token_url)
        self.access_token = str(data["access_token"])
        self.refresh_token = str(data.get("refresh_token") or self.refresh_token)
        self.expires_at = _expiry(str(data.get("access_token_expire_in") or "")) or None
        self.refresh_expires_at = (
            _expiry(str(data.get("refresh_token_expire_in") or "")) or self.refresh_expires_at
        )


def expired_code(body: bytes | str) -> bool:
    """Whether a TikTok answer is the expired-token refusal (HTTP 401, or 200 with the code)."""
    try:
        parsed: Any = json.loads(body)
    except ValueError:
        return False
    return isinstance(parsed, dict) and parsed.get("code") in EXPIRED_CODES


@dataclass
class TikTokApiClient(ApiClient):
    """An :class:`ApiClient` that renews an expired seller token and makes the call again."""

    tokens: SellerTokens | None = None
    save: SaveTokens | None = None
    stored: dict[str, str] = field(default_factory=dict)  # the channel's stored token values

    def call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        assert self.tokens is not None
        for attempt in (1, 2):
            used = self.tokens.access_token
            try:
                response = super().call(method, url, **kwargs)
            except ChannelApiError as error:
                if attempt == 1 and expired_code(error.body):
                    self.renew(used)
                    continue
                raise
            self.keep()
            if attempt == 1 and expired_code(response.content):
                self.renew(used)
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def renew(self, used: str) -> None:
        assert self.tokens is not None
        self.tokens.expired(self.http, used)
        self.keep()

    def keep(self) -> None:
        """Hand tokens the channel has not stored yet to ``save`` (once per refresh)."""
        if self.tokens is None or self.save is None:
            return
        current = self.tokens.credentials()
        if any(self.stored.get(name) != value for name, value in current.items()):
            self.save(current)
            self.stored = current
