"""Liveness and readiness: open without a key so load balancers can probe; it reveals nothing."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from orderhub import __version__
from orderhub.api.deps import ContainerDep
from orderhub.store.db import READ_ONLY

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    responses={
        503: {"description": "the database is unreachable", "content": {"application/json": {}}}
    },
)
def health(container: ContainerDep) -> JSONResponse:
    try:
        # Read-only: on SQLite a write transaction would queue the probe behind the writers.
        with container.engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            conn.execute(text("SELECT 1"))
        database = "ok"
    except Exception:
        database = "unavailable"
    status = 200 if database == "ok" else 503
    return JSONResponse(
        {
            "status": "ok" if status == 200 else "degraded",
            "database": database,
            "version": __version__,
        },
        status_code=status,
    )
