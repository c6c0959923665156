"""The operations dashboard: server-rendered pages under ``/``, htmx for live parts.

:func:`mount` is the one place the dashboard joins the API application: static files, the
session middleware, the error pages and every page router in :data:`PAGES`.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.responses import Response

from orderhub.api.problems import http_error
from orderhub.bootstrap import Container
from orderhub.web.auth import CsrfFailed, Forbidden, LoginRequired, check_csrf
from orderhub.web.pages import (
    audit,
    bulk,
    channels,
    deliveries,
    exceptions,
    inventory,
    login,
    order_actions,
    order_edits,
    order_returns,
    order_workflows,
    orders,
    overview,
    quarantine,
    reports,
    routing,
    stores,
)
from orderhub.web.session import SessionMiddleware, Signer
from orderhub.web.templating import render

PAGES = [
    login, overview, bulk, orders, order_actions, order_edits, order_returns, order_workflows,
    inventory, exceptions, routing, quarantine, channels, deliveries, audit, reports, stores,
]  # fmt: skip
STATIC = Path(__file__).parent / "static"


def mount(app: FastAPI, container: Container) -> None:
    secret = container.settings.session_secret
    signer = Signer(
        secret.get_secret_value().encode() if secret else secrets.token_bytes(32)
    )  # without a configured secret, sessions last as long as this process
    web = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])
    for module in PAGES:
        web.include_router(module.router)
    app.include_router(web)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(SessionMiddleware, signer=signer, secure=container.settings.secure_cookies)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(CsrfFailed, _csrf_failed)
    app.add_exception_handler(HTTPException, _not_found_page)


async def _not_found_page(request: Request, exc: Exception) -> Response:
    """An unknown dashboard address answers a page; the API (``/v1``) keeps its problem
    documents, and every other HTTP error stays one too."""
    assert isinstance(exc, HTTPException)
    path = request.url.path
    if exc.status_code != 404 or path == "/v1" or path.startswith("/v1/") or _sessionless(request):
        return await http_error(request, exc)
    context = {
        "title": "Page not found",
        "message": f"There is no page at {path}. Use the menu, or search the orders.",
    }
    return render(request, "error.html", context, status_code=404)


def _sessionless(request: Request) -> bool:
    """A request the session middleware never saw (a missing file under the ``/static`` mount,
    which answers beside it): no page can be rendered for it, its 404 stays a problem."""
    return not hasattr(request.state, "session")


async def _login_required(request: Request, _exc: Exception) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = "/login" if target == "/" else f"/login?next={_quote(target)}"
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


async def _forbidden(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Forbidden)
    context = {"title": "Not allowed", "message": f"Your role lacks {exc.permission.value}."}
    return render(request, "error.html", context, status_code=403)


async def _csrf_failed(request: Request, _exc: Exception) -> Response:
    context = {
        "title": "Form expired",
        "message": "This form's security token did not match. Reload the page and try again.",
    }
    return render(request, "error.html", context, status_code=403)


def _quote(target: str) -> str:
    return quote(target, safe="/")
