"""The FastAPI application: routers under /v1, problems, idempotency, metrics, dashboard at /."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from orderhub import __version__, web
from orderhub.api import docs, metrics, openapi, problems
from orderhub.api.deps import PrincipalCache
from orderhub.api.guard import RequestGuard
from orderhub.api.headers import SecurityHeadersMiddleware
from orderhub.api.idempotency import IdempotencyMiddleware
from orderhub.api.rate_limit import RateLimitMiddleware
from orderhub.api.routes import (
    channel_items,
    channel_webhooks,
    channels,
    cxml,
    deliveries,
    edi,
    edits,
    exceptions,
    fulfilments,
    health,
    inventory,
    locations,
    order_batch,
    orders,
    pickups,
    products,
    providers,
    quarantine,
    rate_reports,
    refunds,
    reports,
    returns,
    routing,
    sla,
    webhooks,
)
from orderhub.bootstrap import Container, bootstrap
from orderhub.heap import frozen_heap


@asynccontextmanager
async def _frozen_heap(_app: FastAPI) -> AsyncIterator[None]:
    """A served process's lifespan: its start-up heap frozen (:func:`orderhub.heap.frozen_heap`)."""
    with frozen_heap():
        yield


def create_app(container: Container, *, freeze_heap: bool = False) -> FastAPI:
    """The API and dashboard on ``container``. ``freeze_heap``: a served process's start-up
    objects are frozen out of the garbage collector's work (:func:`_frozen_heap`); tests,
    which build many applications in one process, leave them be."""
    app = FastAPI(
        lifespan=_frozen_heap if freeze_heap else None,
        title="OrderHub",
        version=__version__,
        description="Multi-channel order management: one hub for every channel's orders.",
        openapi_url="/v1/openapi.json",
        docs_url=None,  # served by api/docs.py from the package: no CDN
        redoc_url=None,
        # FastAPI's OpenTelemetry bridge asks on every request whether a provider has been
        # configured since (~4 µs per request); the hub ships no OpenTelemetry SDK and counts
        # and times its requests itself (``/metrics``).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.container = container
    app.state.principals = PrincipalCache(container.settings.api_key_cache_seconds)
    problems.install(app)
    openapi.install(app)  # every operation declares its problem answers
    # Each router is included into the application itself, not into one /v1 router: FastAPI
    # matches an included router by walking its children (twice: to match, then to dispatch),
    # so every extra level of nesting is paid again on every request.
    for module in (
        health,
        order_batch,
        orders,
        edits,
        channels,
        channel_items,
        channel_webhooks,
        products,
        quarantine,
        locations,
        inventory,
        routing,
        fulfilments,
        pickups,
        providers,
        exceptions,
        sla,
        edi,
        cxml,
        rate_reports,
        reports,
        deliveries,
        webhooks,
        returns,
        refunds,
    ):
        app.include_router(module.router, prefix="/v1")
    app.include_router(metrics.router)
    app.include_router(docs.router)
    # Idempotency first, so that it runs inside the dashboard's session middleware and sees
    # who is signed in (middleware added later wraps the earlier ones).
    app.add_middleware(IdempotencyMiddleware, container=container)
    app.add_middleware(RequestGuard, container=container)  # runs before idempotency
    web.mount(app, container)  # the dashboard at /
    app.add_middleware(RateLimitMiddleware, settings=container.settings)
    app.add_middleware(SecurityHeadersMiddleware)  # on every answer, 429s included
    app.add_middleware(metrics.MetricsMiddleware)
    return app


def app_from_settings() -> FastAPI:
    """The application of one ``orderhub serve --workers N`` process, wired from the settings
    (each process has its own engine and connection pool)."""
    return create_app(bootstrap(), freeze_heap=True)
