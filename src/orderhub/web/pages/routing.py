"""Routing rules: the active version, the history with a diff between any two versions, and a
dry-run form that plans an order under the active rules (and a draft) without reserving."""

from __future__ import annotations

import difflib
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from pydantic import ValidationError
from starlette.responses import Response

from orderhub.api.deps import ContainerDep
from orderhub.api.routes.routing import stock_view
from orderhub.domain.access import Permission
from orderhub.domain.errors import NotFound, OrderHubError
from orderhub.domain.orders import Address
from orderhub.domain.routing.rules import RuleSet
from orderhub.services import routing as service
from orderhub.store.routing import RuleVersion
from orderhub.web.auth import Viewer, page
from orderhub.web.templating import render

router = APIRouter()
Reader = Annotated[Viewer, Depends(page(Permission.ROUTING_READ))]
HISTORY = 50


def pretty(rules: dict[str, Any]) -> list[str]:
    return json.dumps(rules, indent=2, sort_keys=True).splitlines()


def diff_lines(old: RuleVersion, new: RuleVersion) -> list[tuple[str, str]]:
    """(css class, text) per line of a unified diff of the two versions' pretty JSON."""
    out: list[tuple[str, str]] = []
    for text in difflib.unified_diff(
        pretty(old.rules), pretty(new.rules), f"version {old.version}", f"version {new.version}",
        lineterm="",
    ):  # fmt: skip
        kind = "hunk" if text.startswith("@@") else ""
        if text.startswith("+") and not text.startswith("+++"):
            kind = "add"
        elif text.startswith("-") and not text.startswith("---"):
            kind = "del"
        out.append((kind, text))
    return out


def parse_lines(text: str) -> list[tuple[str, int]]:
    """``SKU qty`` (or ``SKU,qty``) per line; a bare SKU is one unit. A ValueError's text is
    shown to the user as it is, so each names the line and what to type instead."""
    found: list[tuple[str, int]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        parts = raw.replace(",", " ").split()
        if not parts:
            continue
        if len(parts) > 2:
            raise ValueError(f"line {number}: one SKU and one quantity per line, e.g. MUG-LOGO 2")
        if len(parts) > 1 and not (parts[1].isascii() and parts[1].isdigit()):
            raise ValueError(
                f"line {number}: the quantity of {parts[0]} must be a whole number, "
                f"not {parts[1]!r} (e.g. {parts[0]} 2)"
            )
        quantity = int(parts[1]) if len(parts) > 1 else 1
        if quantity < 1 or quantity > 100_000:
            raise ValueError(f"{parts[0]}: quantity must be 1 to 100000")
        found.append((parts[0], quantity))
    if not found:
        raise ValueError("give at least one line")
    return found


def _context(
    container: ContainerDep, viewer: Viewer, a: int | None, b: int | None
) -> dict[str, Any]:
    with container.uow(read_only=True) as uow:
        active = service.active_rules(uow=uow)
        history = uow.routing_rules.history(limit=HISTORY)
        channels = [
            c.code for c in uow.channels.list() if viewer.principal.channel in (None, c.code)
        ]
        diff, diff_error = None, None
        if a is not None and b is not None:
            try:
                diff = diff_lines(uow.routing_rules.get(a), uow.routing_rules.get(b))
            except NotFound as error:
                diff_error = str(error)
    return {
        "active": active,
        "active_json": "\n".join(pretty(active.rules)),
        "history": history,
        "channels": channels,
        "diff": diff,
        "diff_error": diff_error,
        "a": a,
        "b": b,
        "form": {"channel": channels[0] if channels else "", "country": "US", "region": "",
                 "postal_code": "", "lines": "", "draft": ""},
    }  # fmt: skip


@router.get("/routing")
def routing(
    request: Request,
    viewer: Reader,
    container: ContainerDep,
    a: int | None = None,
    b: int | None = None,
) -> Response:
    context = _context(container, viewer, a, b)
    return render(request, "routing.html", context, viewer=viewer)


@router.post("/routing/simulate")
def simulate(
    request: Request,
    viewer: Reader,
    container: ContainerDep,
    channel: Annotated[str, Form(max_length=64)],
    country: Annotated[str, Form(pattern=r"^[A-Za-z]{2}$")],
    lines: Annotated[str, Form(max_length=10_000)],
    region: Annotated[str, Form(max_length=64)] = "",
    postal_code: Annotated[str, Form(max_length=32)] = "",
    draft: Annotated[str, Form(max_length=100_000)] = "",
) -> Response:
    """The dashboard face of ``POST /v1/routing/simulate`` for one order not in the hub."""
    context = _context(container, viewer, None, None)
    context["form"] = {"channel": channel, "country": country.upper(), "region": region,
                       "postal_code": postal_code, "lines": lines, "draft": draft}  # fmt: skip
    try:
        if channel not in context["channels"]:
            raise ValueError(f"unknown channel {channel!r}")
        draft_rules = RuleSet.model_validate_json(draft) if draft.strip() else None
        order = service.DraftOrder(
            channel=channel,
            destination=Address(country=country.upper(), region=region or None,
                                postal_code=postal_code or None),
            lines=tuple(parse_lines(lines)),
            placed_at=None,
        )  # fmt: skip
        with container.uow(read_only=True) as uow:
            result = service.simulate(
                uow=uow, stock=stock_view(container), draft_rules=draft_rules, order=order
            )
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        context["simulate_error"] = f"draft rules: {where}: {first['msg']}"
        return render(request, "routing.html", context, viewer=viewer, status_code=422)
    except (ValueError, OrderHubError) as error:
        context["simulate_error"] = str(error).splitlines()[0] if str(error) else "invalid input"
        return render(request, "routing.html", context, viewer=viewer, status_code=422)
    context["result"] = result
    return render(request, "routing.html", context, viewer=viewer)
