"""Prometheus metrics: request counts and latencies, ingest outcomes."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderhub.api.deps import require
from orderhub.domain.access import Permission
from orderhub.store.access import Principal

REGISTRY = CollectorRegistry()
REQUESTS = Counter(
    "orderhub_http_requests_total",
    "HTTP requests",
    ["method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "orderhub_http_request_seconds", "HTTP request latency", ["method", "route"], registry=REGISTRY
)

router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
def metrics(_principal: Annotated[Principal, Depends(require(Permission.AUDIT_READ))]) -> Response:
    """Scrape with a key (Prometheus ``authorization: {credentials: …}``)."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


class MetricsMiddleware:
    """Counts and times every HTTP request by route template and status.

    Plain ASGI: Starlette's ``BaseHTTPMiddleware`` runs the app in a task of its own behind
    memory streams, which cost more per request than the ingest's own bookkeeping. The
    labelled children are kept here once looked up: ``labels()`` validates and locks on every
    call. (There are as many as the registry has children anyway.)
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._latency: dict[tuple[str, str], Histogram] = {}
        self._requests: dict[tuple[str, str, int], Counter] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            path = _route_label(scope)
            method = scope["method"]
            latency = self._latency.get((method, path))
            if latency is None:
                latency = self._latency[method, path] = LATENCY.labels(method, path)
            latency.observe(time.perf_counter() - started)
            requests = self._requests.get((method, path, status))
            if requests is None:
                requests = REQUESTS.labels(method, path, str(status))
                self._requests[method, path, status] = requests
            requests.inc()


def _route_label(scope: Scope) -> str:
    """The matched route's template as clients call it. FastAPI hands an included router's
    route over with its own path (``/orders``), without the ``/v1`` it was included under:
    the API's ``/v1/orders`` and the dashboard's ``/orders`` would share one series."""
    template: str | None = getattr(scope.get("route"), "path", None)
    if template is None:
        return "unmatched"
    if scope["path"].startswith("/v1/") and not template.startswith("/v1/"):
        return "/v1" + template
    return template
