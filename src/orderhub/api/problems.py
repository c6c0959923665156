"""Every error leaves the API as an RFC 9457 problem document, mapped in this one place."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException

from orderhub.domain import errors
from orderhub.store.db import busy

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://orderhub.dev/problems/"

_STATUS: list[tuple[type[errors.OrderHubError], int]] = [
    (errors.ValidationFailed, 422),
    (errors.NotFound, 404),
    (errors.IdempotencyConflict, 409),
    (errors.IllegalTransition, 409),
    (errors.Conflict, 409),
    (errors.NotNormalizable, 422),
]


def problem(
    status: int,
    title: str,
    *,
    detail: str | None = None,
    code: str | None = None,
    errors_: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = document(status, title, detail=detail, code=code, errors_=errors_, **extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def document(
    status: int,
    title: str,
    *,
    detail: str | None = None,
    code: str | None = None,
    errors_: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The problem document itself: a response's body, or one item's answer in a batch."""
    body: dict[str, Any] = {
        "type": TYPE_BASE + (code or str(status)),
        "title": title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if errors_ is not None:
        body["errors"] = errors_
    body.update(extra)
    return body


def domain_document(
    exc: errors.OrderHubError, *, prefix: tuple[str | int, ...] = ()
) -> dict[str, Any]:
    """The problem for a domain error; ``prefix`` roots its fields (``orders.3``) in a batch."""
    status = next((code for cls, code in _STATUS if isinstance(exc, cls)), 400)
    fields: list[errors.FieldError] = []
    if isinstance(exc, errors.ValidationFailed):
        fields = exc.fields
    elif isinstance(exc, errors.NotNormalizable):
        fields = exc.problem.fields
    return document(
        status,
        exc.__class__.__name__,
        detail=exc.detail,
        code=exc.code,
        errors_=[errors.FieldError((*prefix, *f.loc), f.message, f.code).as_json() for f in fields]
        if fields
        else None,
        **exc.extensions(),
    )


def validation_document(
    failures: list[Any], *, prefix: tuple[str | int, ...] = ()
) -> dict[str, Any]:
    """The problem for Pydantic's ``errors()``, each field rooted at ``prefix``."""
    items = [
        {"field": _loc((*prefix, *e["loc"])), "message": e["msg"], "code": e["type"]}
        for e in failures
    ]
    return document(
        422,
        "Request validation failed",
        detail=f"{len(items)} field(s) failed validation",
        code="validation_failed",
        errors_=items,
    )


def _loc(loc: tuple[Any, ...] | list[Any]) -> str:
    """``("body", "lines", 0, "sku")`` → ``"lines.0.sku"`` (the body prefix says nothing)."""
    parts = list(loc)
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(str(p) for p in parts) or "body"


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.OrderHubError)
    body = domain_document(exc)
    return JSONResponse(body, status_code=body["status"], media_type=PROBLEM_JSON)


async def _request_validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    body = validation_document(list(exc.errors()))
    return JSONResponse(body, status_code=422, media_type=PROBLEM_JSON)


async def http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return problem(
        exc.status_code,
        str(exc.detail) if exc.status_code >= 400 else "Error",
        code=str(exc.status_code),
        headers=dict(exc.headers) if exc.headers else None,
    )


async def _database_error(_request: Request, exc: Exception) -> JSONResponse:
    """Contention alone (SQLite still locked after its busy timeout, a PostgreSQL deadlock or
    lock timeout) is 503 with ``Retry-After``: the transaction was rolled back, nothing was
    written, and the same request can be sent again. Anything else stays a 500."""
    if not busy(exc):
        raise exc
    return problem(
        503,
        "The database is busy",
        detail="nothing was written; send the same request again",
        code="database_busy",
        headers={"Retry-After": "1"},
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(errors.OrderHubError, _domain_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(HTTPException, http_error)
