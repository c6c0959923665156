"""The published OpenAPI document declares what the API really answers.

FastAPI documents a route's success and a ``422`` shaped like its own validation error; the hub
answers every error as an RFC 9457 problem document (``application/problem+json``, see
``problems.py``), from its middleware (``401``/``413``/``429``), its permission checks
(``403``), its domain (``400``/``404``/``409``/``422``) and, for a write that met only
contention in the database, ``503`` with ``Retry-After``. This module rewrites the document
once, where it is built, so that every operation declares those statuses with the problem's
schema and media type; a client generated from the document, and schemathesis
(``tests/integration/test_openapi_fuzz.py``), then see no undeclared answer.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from orderhub.api.guard import SIGNED
from orderhub.api.problems import PROBLEM_JSON

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem document; ``errors`` names each field that failed.",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {"type": "array", "items": {"$ref": "#/components/schemas/ProblemField"}},
    },
    "additionalProperties": True,  # extensions: limit, sku, shortfall, …
}
PROBLEM_FIELD_SCHEMA: dict[str, Any] = {
    "title": "ProblemField",
    "type": "object",
    "required": ["field", "message"],
    "properties": {
        "field": {"type": "string"},
        "message": {"type": "string"},
        "code": {"type": "string"},
    },
    "additionalProperties": True,
}

_DESCRIPTIONS = {
    400: "the request cannot be carried out as it stands",
    401: "no API key, or one that is malformed, unknown or revoked",
    403: "the key's role lacks the permission, or the key is scoped to another channel",
    404: "no such object (or not one this key may see)",
    409: "the object's state forbids it, or an Idempotency-Key is in use",
    413: "the request body is larger than this endpoint takes",
    422: "a field failed validation; the problem names it",
    429: "rate limited: retry after the seconds given in Retry-After",
    503: "the database was busy (``database_busy``): nothing was written; send the same "
    "request again after the seconds given in Retry-After",
}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds to wait",
        "required": True,
        "schema": {"type": "integer"},
    }
}
_UNAUTHENTICATED = {"/v1/health"}  # never limited, never refused
_WRITES = {"post", "put", "patch", "delete"}
_FASTAPI_VALIDATION = "#/components/schemas/HTTPValidationError"


def install(app: FastAPI) -> None:
    """Have ``app.openapi()`` (and ``/v1/openapi.json``) serve the corrected document."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = declare_problems(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def declare_problems(document: dict[str, Any]) -> dict[str, Any]:
    """Declare on every operation the problem answers it can give (in place; returned)."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas["ProblemField"] = PROBLEM_FIELD_SCHEMA
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in _statuses(path, method):
                responses.setdefault(str(status), _declared(status))
            for status, response in responses.items():
                if status.isdigit() and int(status) >= 400:
                    _problem_body(response)
                if status == "429":
                    response.setdefault("headers", _RETRY_AFTER)
    for unused in ("HTTPValidationError", "ValidationError"):
        if unused in schemas and f"#/components/schemas/{unused}" not in repr(document["paths"]):
            del schemas[unused]
    return document


def _declared(status: int) -> dict[str, Any]:
    """The response this module declares for ``status`` where the route declared none; the
    busy database's 503 says when to send the request again (a route's own 503 keeps its
    own headers)."""
    if status == 503:
        return {"description": _DESCRIPTIONS[status], "headers": _RETRY_AFTER}
    return {"description": _DESCRIPTIONS[status]}


def _statuses(path: str, method: str) -> list[int]:
    if path in _UNAUTHENTICATED or not path.startswith("/v1/"):
        return []
    found = [400, 404, 422, 429]
    if not SIGNED.match(path):
        found += [401, 403]  # signed routes declare their own 401 (a bad signature)
    if method in _WRITES:
        found += [409, 413, 503]  # 503: contention alone, rolled back (problems.py)
    return sorted(found)


def _problem_body(response: dict[str, Any]) -> None:
    """A problem document where the route declared no body, or FastAPI's validation error."""
    content = response.get("content")
    if not content:
        response["content"] = {PROBLEM_JSON: {"schema": PROBLEM_REF}}
        return
    json_body = content.get("application/json")
    if json_body is not None and json_body.get("schema", {}).get("$ref") == _FASTAPI_VALIDATION:
        del content["application/json"]
        content[PROBLEM_JSON] = {"schema": PROBLEM_REF}
        response["description"] = _DESCRIPTIONS[422]
