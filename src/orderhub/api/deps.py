"""Typed dependencies: the container, the authenticated principal, permission checks."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from orderhub.bootstrap import Container
from orderhub.domain.access import Permission, allows
from orderhub.domain.errors import NotFound
from orderhub.store import queries
from orderhub.store.access import Principal
from orderhub.store.unit_of_work import UnitOfWork

_bearer = HTTPBearer(auto_error=False, description="an OrderHub API key: `ohk_…`")


async def get_container(request: Request) -> Container:
    """Async, as are the other dependencies here that do no I/O: FastAPI runs a sync one in the
    thread pool, a round trip that cost more than the dependency itself on every request."""
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


class PrincipalCache:
    """API keys this process has checked, trusted for ``ttl`` seconds.

    Every request used to open a transaction to look its key up: at ingest volume a tenth of
    the work. Entries are keyed by the SHA-256 of the key (the key itself is not kept), only
    successful look-ups are remembered (a key created a moment ago works at once), and a
    revoked key stops working once its entry expires — within ``ttl`` in every process.
    """

    MAX_ENTRIES = 4096

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()

    def fresh(self, token: str) -> Principal | None:
        """The principal for ``token`` while its entry is fresh, else None (no look-up): lets
        the event loop skip a trip to the thread pool when no database is needed."""
        if self.ttl <= 0:
            return None
        with self._lock:
            entry = self._entries.get(_digest(token))
        return entry[0] if entry is not None and entry[1] > self._clock() else None

    def get(self, token: str, look_up: Callable[[str], Principal | None]) -> Principal | None:
        """The principal for ``token``, from the cache while fresh, else ``look_up(token)``."""
        if self.ttl <= 0:
            return look_up(token)
        digest = _digest(token)
        now = self._clock()
        with self._lock:
            entry = self._entries.get(digest)
        if entry is not None and entry[1] > now:
            return entry[0]
        principal = look_up(token)
        with self._lock:
            if principal is None:
                self._entries.pop(digest, None)
            else:
                if len(self._entries) >= self.MAX_ENTRIES:
                    self._entries.clear()  # a flood of distinct keys: start over, stay small
                self._entries[digest] = (principal, now + self.ttl)
        return principal


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
"""The request's bearer key, if any: as a dependency it also declares the API's security
scheme in the OpenAPI document."""


async def authenticate(
    request: Request, credentials: HTTPAuthorizationCredentials | None
) -> Principal:
    """The caller; ``api/guard.py`` already found it for a write (before reading its body).
    A key fresh in the cache is answered on the event loop; only a look-up in the database
    goes to the thread pool. Called by :func:`require`'s check, not a dependency of its own:
    FastAPI solves every level of a route's dependency tree again on every request."""
    known = getattr(request.state, "principal", None)
    if isinstance(known, Principal):
        return known
    unauthorized = HTTPException(
        401, "Missing or invalid API key", headers={"WWW-Authenticate": "Bearer"}
    )
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise unauthorized
    cache: PrincipalCache = request.app.state.principals
    container: Container = request.app.state.container
    principal = cache.fresh(credentials.credentials) or await run_in_threadpool(
        key_holder, container, credentials.credentials, cache
    )
    if principal is None:
        raise unauthorized
    return principal


def bearer_token(authorization: bytes) -> str | None:
    """The token of a ``Bearer`` Authorization header as the ASGI scope holds it, else None
    (for the middlewares, which read the raw headers)."""
    scheme, _, token = authorization.decode("latin-1").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def key_holder(
    container: Container, token: str, cache: PrincipalCache | None = None
) -> Principal | None:
    """The principal of a live (not revoked) API key, or None; through the process's ``cache``
    when given (a revocation then takes effect within its TTL)."""

    def look_up(secret: str) -> Principal | None:
        with container.uow(read_only=True) as uow:
            return uow.api_keys.authenticate(secret)

    return look_up(token) if cache is None else cache.get(token, look_up)


def require(permission: Permission) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency that lets through only principals whose role has ``permission``."""

    async def check(request: Request, credentials: Credentials) -> Principal:
        principal = await authenticate(request, credentials)
        if not allows(principal.role, permission, channel_scoped=principal.channel is not None):
            scope = " (channel-scoped)" if principal.channel is not None else ""
            raise HTTPException(
                403, f"role {principal.role.value!r}{scope} lacks {permission.value!r}"
            )
        return principal

    check.permission = permission  # type: ignore[attr-defined]  # read by the route-table test
    return check


def visible_to(principal: Principal, channel: str) -> bool:
    """A channel-scoped key sees its own channel only; others see every channel."""
    return principal.channel is None or principal.channel == channel


def require_order_visible(uow: UnitOfWork, principal: Principal, order_id: str, what: str) -> str:
    """The order's channel, when the caller may see ``what`` (the order, or a fulfilment, a
    pick-up… of it): a key scoped to another channel is told it does not exist (a 404 names
    ``what``, never the order)."""
    channel = queries.order_channel(uow.conn, order_id)
    if channel is None or not visible_to(principal, channel):
        raise NotFound(f"{what} not found")
    return channel
