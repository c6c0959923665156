"""Jinja2 set-up: autoescaped templates, display filters, and the context every page shares."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from orderhub.domain.money import Money
from orderhub.web.auth import Viewer
from orderhub.web.nav import NAV
from orderhub.web.session import CSRF_FIELD, session_of

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


def money(value: Money | None) -> str:
    """``1234.5 USD`` → ``1,234.50 USD``: grouped digits, exact decimals, code after."""
    if value is None:
        return "—"
    return f"{value.amount:,f} {value.currency}"


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def label(value: str | None) -> str:
    return (value or "").replace("_", " ")


TEMPLATES.env.filters.update(money=money, when=when, label=label)


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    viewer: Viewer | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """Render a page with the navigation the viewer may see and the session's CSRF token."""
    shared: dict[str, Any] = {
        "viewer": viewer,
        "nav": [item for item in NAV if viewer and viewer.can(item.permission)],
        "csrf_token": session_of(request).csrf,
        "csrf_field": CSRF_FIELD,
        "path": request.url.path,
    }
    return TEMPLATES.TemplateResponse(
        request, name, {**shared, **(context or {})}, status_code=status_code, headers=headers
    )
