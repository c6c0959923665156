"""Audit: who did what to which order, newest first, and a check of every hash chain."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from orderhub.api.deps import ContainerDep
from orderhub.domain.access import Permission
from orderhub.store import history, reports
from orderhub.web.auth import Viewer, page
from orderhub.web.templating import render

router = APIRouter()
Auditor = Annotated[Viewer, Depends(page(Permission.AUDIT_READ))]
PAGE_SIZE = 50
MAX_BREAKS_SHOWN = 50


def _context(container: ContainerDep, before: int | None) -> dict[str, Any]:
    with container.uow(read_only=True) as uow:
        entries, next_before = reports.recent_events(uow.conn, limit=PAGE_SIZE, before_seq=before)
        names = reports.user_names(uow.conn, {e.actor for e in entries})
    return {
        "entries": entries,
        "actor_names": names,
        "next_before": next_before,
        "paged": before is not None,
        "verification": None,
    }


@router.get("/audit")
def audit_log(
    request: Request, viewer: Auditor, container: ContainerDep, before: int | None = None
) -> Response:
    return render(request, "audit.html", _context(container, before), viewer=viewer)


@router.post("/audit/verify")
def verify_chains(request: Request, viewer: Auditor, container: ContainerDep) -> Response:
    """Recompute every order's hash chain (``orderhub audit verify``) and show the outcome."""
    started = time.perf_counter()
    breaks: list[history.ChainBreak] = []
    checked = 0
    with container.uow(read_only=True) as uow:
        for item in history.verify(uow.conn):
            if isinstance(item, history.ChainBreak):
                breaks.append(item)
            else:
                checked = item
    context = _context(container, None)
    context["verification"] = {
        "checked": checked,
        "breaks": breaks[:MAX_BREAKS_SHOWN],
        "break_count": len(breaks),
        "seconds": time.perf_counter() - started,
    }
    return render(request, "audit.html", context, viewer=viewer)
