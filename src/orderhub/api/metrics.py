"""Prometheus metrics: request counts and latencies, ingest outcomes."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

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


class MetricsMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        LATENCY.labels(request.method, path).observe(time.perf_counter() - started)
        REQUESTS.labels(request.method, path, str(response.status_code)).inc()
        return response
