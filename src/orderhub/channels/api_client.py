"""Calling marketplace APIs politely: credentials, token buckets, retries, token refresh.

Marketplaces throttle hard (Amazon answers 429 after a burst of a few calls per API; Walmart
and Etsy per second; eBay per day), so every call goes through one :class:`ApiClient`:

* a :class:`TokenBucket` per (channel, API) paces calls *before* they are refused; Amazon's
  ``x-amzn-RateLimit-Limit`` response header lowers the bucket's rate to what the seller has;
* 429 and 5xx are retried after ``Retry-After`` (seconds or HTTP date) or an exponential
  backoff, transport errors too; anything else comes back to the caller as
  :class:`ChannelApiError` carrying status and body.

Credentials are channel settings: each value is the secret itself or ``{"env": "NAME"}``,
read from the environment at call time so that secrets need not sit in the database.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from orderhub.clock import utc_now
from orderhub.domain.channels import Channel, without_userinfo
from orderhub.domain.errors import FieldError, ValidationFailed
from orderhub.http.outbound import outbound_client

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
Sleep = Callable[[float], None]
Clock = Callable[[], float]


class ChannelApiError(Exception):
    """The marketplace refused a call for good (4xx other than 429, or retries exhausted)."""

    def __init__(self, status: int, body: str, url: str) -> None:
        # The message lands in delivery and sync errors: never a user:password@ in it.
        super().__init__(f"{without_userinfo(url)} answered {status}: {body[:300]}")
        self.status = status
        self.body = body


def resolve_credentials(
    credentials: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Every credential as a string; ``{"env": "NAME"}`` values come from the environment."""
    env = os.environ if environ is None else environ
    resolved: dict[str, str] = {}
    missing: list[FieldError] = []
    for key, value in credentials.items():
        if isinstance(value, Mapping) and set(value) == {"env"}:
            name = str(value["env"])
            if name not in env:
                missing.append(
                    FieldError(("credentials", key), f"environment variable {name} is not set")
                )
                continue
            resolved[key] = env[name]
        else:
            resolved[key] = str(value)
    if missing:
        raise ValidationFailed("channel credentials are incomplete", missing)
    return resolved


def require(creds: Mapping[str, str], *names: str) -> list[str]:
    """The named credentials, or one error naming every missing one."""
    absent = [n for n in names if not creds.get(n)]
    if absent:
        raise ValidationFailed(
            "channel credentials are incomplete",
            [FieldError(("credentials", n), "required") for n in absent],
        )
    return [creds[n] for n in names]


class TokenBucket:
    """``rate`` calls per second on average, bursts up to ``burst``; thread-safe."""

    def __init__(
        self,
        rate: float,
        burst: float,
        *,
        clock: Clock = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._clock = clock
        self._at = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token; returns how long the caller must wait before using it.

        The wait is reserved (tokens go negative), so concurrent callers queue up fairly.
        """
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
            self._tokens -= 1
            return -self._tokens / self.rate if self._tokens < 0 else 0.0

    def limit_to(self, rate: float) -> None:
        """The server told us our real rate (never raise it above the configured one)."""
        with self._lock:
            if 0 < rate < self.rate:
                self.rate = rate

    def drain(self) -> None:
        """A 429 means the server's bucket is empty: ours should be too."""
        with self._lock:
            self._tokens = min(self._tokens, 0.0)


def retry_after(response: httpx.Response, *, now: datetime | None = None) -> float | None:
    """Seconds to wait as the server asked, or None when it did not say."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - (now or utc_now())).total_seconds())


# Buckets live as long as the process: every sync and push of a channel shares them.
_BUCKETS: dict[tuple[str, str], TokenBucket] = {}
_BUCKETS_LOCK = threading.Lock()


def shared_bucket(channel: str, api: str, rate: float, burst: float) -> TokenBucket:
    with _BUCKETS_LOCK:
        key = (channel, api)
        if key not in _BUCKETS:
            _BUCKETS[key] = TokenBucket(rate, burst)
        return _BUCKETS[key]


Authorize = Callable[[httpx.Request], None]


@dataclass
class ApiClient:
    """One marketplace's HTTP client: paced per API, retried, authenticated per request."""

    http: httpx.Client
    buckets: Mapping[str, TokenBucket]
    authorize: Authorize = lambda _request: None
    attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 120.0
    sleep: Sleep = time.sleep
    rate_header: str | None = None  # e.g. Amazon's x-amzn-RateLimit-Limit
    wall: Callable[[], float] = time.time  # for Walmart's x-next-replenish-time (epoch ms)
    waits: list[float] = field(default_factory=list)  # what we slept, for logs and tests

    def call(
        self,
        method: str,
        url: str,
        *,
        api: str,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        bucket = self.buckets.get(api)
        for attempt in range(1, self.attempts + 1):
            if bucket is not None:
                paced = bucket.acquire()
                if paced:
                    self.waits.append(paced)
                    self.sleep(paced)
            request = self.http.build_request(
                method, url, params=params, json=json, data=data, content=content, headers=headers
            )
            self.authorize(request)
            try:
                response = self.http.send(request)
            except httpx.TransportError:
                if attempt == self.attempts:
                    raise
                self._wait(self._backoff(attempt))
                continue
            self._learn_rate(response, bucket)
            self._await_replenish(response)
            if response.status_code in RETRY_STATUSES and attempt < self.attempts:
                if response.status_code == 429 and bucket is not None:
                    bucket.drain()
                asked = retry_after(response)
                self._wait(asked if asked is not None else self._backoff(attempt))
                continue
            if response.is_error:
                raise ChannelApiError(response.status_code, response.text, str(request.url))
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt: int) -> float:
        return float(min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))

    def _wait(self, seconds: float) -> None:
        seconds = min(self.max_delay, seconds)
        self.waits.append(seconds)
        self.sleep(seconds)

    def _await_replenish(self, response: httpx.Response) -> None:
        """Walmart says how many calls are left and when its bucket refills: when none are
        left, wait for the refill instead of spending a call on a 429."""
        left = response.headers.get("x-current-token-count")
        refill = response.headers.get("x-next-replenish-time")
        if left is None or refill is None or left.strip() not in ("0", "0.0"):
            return
        with contextlib.suppress(ValueError):
            wait = float(refill) / 1000 - self.wall()
            if wait > 0:
                self._wait(wait)

    def _learn_rate(self, response: httpx.Response, bucket: TokenBucket | None) -> None:
        if bucket is None or not self.rate_header:
            return
        value = response.headers.get(self.rate_header)
        if value:
            with contextlib.suppress(ValueError):
                bucket.limit_to(float(value))


@dataclass
class OAuthRefresh:
    """An access token from a refresh token (Login with Amazon, eBay, Etsy), cached until
    a minute before it expires; one refresh at a time."""

    token_url: str
    form: dict[str, str]
    basic_auth: tuple[str, str] | None = None
    clock: Callable[[], float] = time.time
    _token: str | None = None
    _expires_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def token(self, http: httpx.Client) -> str:
        with self._lock:
            if self._token is None or self.clock() >= self._expires_at - 60:
                response = (
                    http.post(self.token_url, data=self.form, auth=self.basic_auth)
                    if self.basic_auth
                    else http.post(self.token_url, data=self.form)
                )
                if response.is_error:
                    raise ChannelApiError(response.status_code, response.text, self.token_url)
                body = response.json()
                self._token = str(body["access_token"])
                self._expires_at = self.clock() + float(body.get("expires_in", 3600))
            return self._token


_TOKENS: dict[tuple[str, str], OAuthRefresh] = {}


def shared_refresh(channel: str, make: Callable[[], OAuthRefresh]) -> OAuthRefresh:
    """One token cache per (channel, token URL + form), shared across syncs and pushes."""
    probe = make()
    key = (channel, repr((probe.token_url, sorted(probe.form.items()))))
    with _BUCKETS_LOCK:
        return _TOKENS.setdefault(key, probe)


def oauth_client(
    channel: Channel,
    *,
    default_base: str,
    token_url: str,
    rates: Mapping[str, tuple[float, float]],
    scope: str | None = None,
    basic_auth: bool = False,
    access_header: str | None = None,
    transport: httpx.BaseTransport | None = None,
    environ: Mapping[str, str] | None = None,
    **options: Any,
) -> ApiClient:
    """A client whose calls carry an access token bought with the channel's refresh token.

    The credentials ``refresh_token``, ``client_id`` and ``client_secret`` are required; the
    client id and secret go in the token request's form, or as HTTP Basic auth with
    ``basic_auth`` (eBay). A ``token_url`` starting with ``/`` is a path on the channel's own
    API host (eBay's sandbox and production each have theirs), so a sandbox channel buys its
    tokens in the sandbox; a ``token_url`` credential overrides it. The token is
    sent as ``Authorization: Bearer``, or bare in ``access_header`` (Amazon's
    ``x-amz-access-token``). ``options`` go to :class:`ApiClient`.
    """
    creds = resolve_credentials(channel.credentials, environ)
    refresh_token, client_id, client_secret = require(
        creds, "refresh_token", "client_id", "client_secret"
    )
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    if not basic_auth:
        form.update(client_id=client_id, client_secret=client_secret)
    if scope:
        form["scope"] = scope
    base = (channel.api_base_url or default_base).rstrip("/")
    http = outbound_client(base_url=base, transport=transport, timeout=30.0)
    if token_url.startswith("/"):
        token_url = base + token_url
    refresh = shared_refresh(
        channel.code,
        lambda: OAuthRefresh(
            creds.get("token_url", token_url),
            form,
            basic_auth=(client_id, client_secret) if basic_auth else None,
        ),
    )

    def authorize(request: httpx.Request) -> None:
        if access_header:
            # A call that brings its own token (Amazon's restricted data token) keeps it.
            if access_header not in request.headers:
                request.headers[access_header] = refresh.token(http)
        else:
            request.headers["Authorization"] = f"Bearer {refresh.token(http)}"

    buckets = {api: shared_bucket(channel.code, api, *rate) for api, rate in rates.items()}
    return ApiClient(http, buckets, authorize, **options)


_STATE: dict[tuple[str, str], Any] = {}


def shared_state(channel: str, name: str, make: Callable[[], Any]) -> Any:
    """One object per (channel, name) for the process (e.g. TikTok's rotating tokens), so
    that a token refreshed by one sync or push is the one the next uses."""
    with _BUCKETS_LOCK:
        return _STATE.setdefault((channel, name), make())


def forget_shared_state() -> None:
    """Drop every cached token and bucket (tests; a channel whose credentials changed)."""
    with _BUCKETS_LOCK:
        _BUCKETS.clear()
        _TOKENS.clear()
        _STATE.clear()
