"""A rate limit per API key and per client address: token buckets in this process.

Every request that carries a bearer key draws from that key's bucket
(``rate_limit_key_per_second``, burst ``rate_limit_key_burst``); every other request — channel
webhooks, cXML, the dashboard, sign-in — and every answer ``401`` draws from the client
address's bucket (``rate_limit_address_per_second``, burst ``rate_limit_address_burst``), so
made-up keys cannot dodge it. An empty bucket answers ``429`` (an RFC 9457 problem) with
``Retry-After`` in whole seconds. Addresses in ``rate_limit_exempt_addresses`` (loopback by
default: the demo, benchmarks, a reverse proxy on the same host — which should then limit per
client itself) skip the address limit; ``/static/`` and ``/v1/health`` are never limited.

The buckets live in each process: with N API processes a client gets up to N times the rate.
The defaults are generous (1000 requests/s per key) so that load tests are not throttled;
tighten them in production (docs/configuration.md).
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderhub.api.problems import PROBLEM_JSON, TYPE_BASE
from orderhub.config import Settings

UNLIMITED_PREFIXES = ("/static/", "/v1/health")
MAX_BUCKETS = 100_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """One bucket per name, refilled at ``rate`` per second up to ``burst``; thread-safe."""

    def __init__(
        self, *, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate, self.burst, self._clock = rate, burst, clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, name: str) -> float | None:
        """Take one token: None when there was one, else the seconds until there is."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(name)
            if bucket is None:
                if len(self._buckets) >= MAX_BUCKETS:
                    self._forget_full(now)
                bucket = self._buckets[name] = _Bucket(float(self.burst), now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return None
            return (1 - bucket.tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        """Drop buckets idle long enough to be full again: they hold no state worth keeping."""
        refill = self.burst / self.rate
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.updated < refill}


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.enabled = settings.rate_limit_enabled
        self.exempt = frozenset(settings.rate_limit_exempt_addresses)
        self.keys = TokenBuckets(
            rate=settings.rate_limit_key_per_second, burst=settings.rate_limit_key_burst
        )
        self.addresses = TokenBuckets(
            rate=settings.rate_limit_address_per_second, burst=settings.rate_limit_address_burst
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not self.enabled
            or scope["path"].startswith(UNLIMITED_PREFIXES)
        ):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = client[0] if client else "unknown"
        key = _bearer(scope)
        if key is not None:
            wait = self.keys.take(hashlib.sha256(key).hexdigest())
        else:
            wait = self._charge(address)
        if wait is not None:
            await _too_many(send, wait, "API key" if key is not None else "client address")
            return

        async def send_charging_refusals(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                self._charge(address)  # a wrong key counts against where it came from
            await send(message)

        await self.app(scope, receive, send_charging_refusals)

    def _charge(self, address: str) -> float | None:
        return None if address in self.exempt else self.addresses.take(address)


def _bearer(scope: Scope) -> bytes | None:
    headers: list[tuple[bytes, bytes]] = scope["headers"]
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            if scheme.lower() == b"bearer" and token.strip():
                return token.strip()
    return None


async def _too_many(send: Send, wait: float, per: str) -> None:
    seconds = max(1, math.ceil(wait))
    body = json.dumps(
        {
            "type": TYPE_BASE + "429",
            "title": "Too many requests",
            "status": 429,
            "detail": f"the rate limit of this {per} is used up; retry after {seconds} s",
        }
    ).encode()
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(seconds).encode()),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})
