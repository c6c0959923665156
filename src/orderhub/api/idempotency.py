"""``Idempotency-Key`` on every mutating request, as pure ASGI middleware.

The key is scoped to the authenticated caller — ``api_key:<id>`` for an API key,
``user:<id>`` for a signed-in dashboard user — and to the request's method, path and body: the
same key with another request gets 422, a duplicate still running gets 409, a finished one gets
the first response again with ``Idempotent-Replayed: true``. The caller is authenticated
*before* anything is claimed or replayed: a request without a live principal (no key, a
revoked key, an anonymous or ended dashboard session, a channel's signed webhook) is passed
through untouched, so it can neither read nor burn anyone's stored answer; inbound channel
payloads are idempotent on their own natural keys instead. Server errors and authentication
failures are not stored, so the client may retry them with the same key.

Sits inside the dashboard's session middleware (see :func:`orderhub.api.app.create_app`), which
has loaded the session by the time this runs.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderhub.api.deps import PrincipalCache, bearer_token, key_holder
from orderhub.bootstrap import Container
from orderhub.clock import utc_now
from orderhub.store import idempotency
from orderhub.web.auth import signed_in_user
from orderhub.web.session import Session

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
HEADER = b"idempotency-key"
_NOT_STORED = frozenset({401, 403, 429})


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, container: Container) -> None:
        self.app = app
        self.container = container

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in MUTATING:
            await self.app(scope, receive, send)
            return
        raw: list[tuple[bytes, bytes]] = scope["headers"]
        if not any(name == HEADER for name, _ in raw):  # most writes: no dict, no decoding
            await self.app(scope, receive, send)
            return
        headers = dict(raw)
        key = headers.get(HEADER, b"").decode("latin-1").strip()
        if not key:
            await self.app(scope, receive, send)
            return
        if len(key) > 255:
            await _send_problem(send, 422, "Idempotency-Key is longer than 255 characters")
            return
        principal = self._cached_caller(scope, headers) or await run_in_threadpool(
            self._caller, scope, headers
        )
        if principal is None:  # nobody to scope the key to: no replay, no claim
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        request_hash = hashlib.sha256(
            b"\n".join([scope["method"].encode(), scope["path"].encode(), body])
        ).hexdigest()
        settings = self.container.settings
        claim = await run_in_threadpool(
            idempotency.claim,
            self.container.engine,
            principal=principal,
            key=key,
            request_hash=request_hash,
            now=utc_now(),
            ttl=timedelta(hours=settings.idempotency_ttl_hours),
            lock=timedelta(seconds=settings.idempotency_lock_seconds),
        )
        if claim.outcome == "mismatch":
            await _send_problem(send, 422, "This Idempotency-Key was used with a different request")
            return
        if claim.outcome == "in_progress":
            await _send_problem(send, 409, "A request with this Idempotency-Key is in progress")
            return
        if claim.outcome == "replay":
            assert claim.response is not None
            await _send_stored(send, claim.response)
            return
        await self._run_and_store(scope, body, send, principal, key)

    def _cached_caller(self, scope: Scope, headers: dict[bytes, bytes]) -> str | None:
        """The caller when its API key is fresh in the key cache (else None): answered on the
        event loop, without the thread pool :meth:`_caller` needs for the database."""
        token = bearer_token(headers.get(b"authorization", b""))
        if token is None:
            return None
        cache: PrincipalCache = scope["app"].state.principals
        found = cache.fresh(token)
        return found.actor if found is not None else None

    def _caller(self, scope: Scope, headers: dict[bytes, bytes]) -> str | None:
        """Who is asking, authenticated now (a revoked key or ended session is nobody)."""
        token = bearer_token(headers.get(b"authorization", b""))
        if token is not None:
            found = key_holder(self.container, token, scope["app"].state.principals)
            return found.actor if found is not None else None
        session = scope.get("state", {}).get("session")
        if isinstance(session, Session):
            user = signed_in_user(self.container, session)
            return user.actor if user is not None else None
        return None

    async def _run_and_store(
        self, scope: Scope, body: bytes, send: Send, principal: str, key: str
    ) -> None:
        status = 500
        response_headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []
        delivered = settled = False

        async def replay_body() -> Message:
            nonlocal delivered
            if delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def settle() -> None:
            """Store the answer (or release the claim), once."""
            nonlocal settled
            if settled:
                return
            settled = True
            engine = self.container.engine
            if status >= 500 or status in _NOT_STORED:
                await run_in_threadpool(idempotency.release, engine, principal=principal, key=key)
                return
            kept = {
                k.decode("latin-1"): v.decode("latin-1")
                for k, v in response_headers
                if k.lower() in (b"content-type", b"location")
            }
            stored = idempotency.StoredResponse(status, kept, b"".join(chunks).decode("utf-8"))
            await run_in_threadpool(
                idempotency.complete, engine, principal=principal, key=key, response=stored
            )

        async def capture(message: Message) -> None:
            nonlocal status, response_headers
            if message["type"] == "http.response.start":
                status = message["status"]
                response_headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    # Stored before the client has the whole answer: a retry sent the moment
                    # it arrives is replayed, not refused as still in progress (409).
                    await settle()
            await send(message)

        try:
            await self.app(scope, replay_body, capture)
        finally:
            await settle()


async def _read_body(receive: Receive) -> bytes:
    parts: list[bytes] = []
    while True:
        message = await receive()
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)


async def _send_stored(send: Send, response: idempotency.StoredResponse) -> None:
    body = response.body.encode()
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()]
    headers += [(b"idempotent-replayed", b"true"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_problem(send: Send, status: int, title: str) -> None:
    payload: dict[str, Any] = {
        "type": "https://orderhub.dev/problems/idempotency_conflict",
        "title": title,
        "status": status,
        "errors": [{"field": "header.Idempotency-Key", "message": title, "code": "idempotency"}],
    }
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
