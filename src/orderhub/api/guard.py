"""What every request must satisfy before a route reads its body, as pure ASGI middleware.

In order, each step cheaper than the next:

1. **Path and query** hold no NUL (no column can store one): 422 naming ``path`` or
   ``query.<name>``.
2. **Body size**: each route has a limit (``BODY_LIMITS``, documented in docs/api.md). A declared
   ``Content-Length`` over it is refused before a byte is read; a streamed body is counted as it
   arrives and cut off at the limit. Both answer a 413 problem.
3. **Authentication first**: a ``/v1`` write authenticated by API key must carry a valid key
   before its body is read (401 otherwise), so an anonymous client cannot make the server read,
   buffer or parse anything. The routes that authenticate by the sender's own signature
   (``SIGNED``) read their body, bounded, and verify it before parsing it.
4. **Bodies that nothing can store**: in JSON, NaN and infinities, NUL characters, lone UTF-16
   surrogates (in keys too) and nesting deeper than ``MAX_JSON_DEPTH``; in a form, NUL. They
   answer a 422 naming the field, so no route, present or future, hands them to the database.
   (Not on the ``SIGNED`` routes: nothing of theirs is parsed before the signature is checked.)
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderhub.api.deps import PrincipalCache, bearer_token, key_holder
from orderhub.api.problems import problem
from orderhub.bootstrap import Container
from orderhub.store.access import Principal

MiB = 1024 * 1024
DEFAULT_BODY_LIMIT = 1 * MiB
BODY_LIMITS: list[tuple[re.Pattern[str], int]] = [
    (re.compile(r"^/v1/inventory/adjustments$"), 4 * MiB),  # up to 10,000 adjustments
    (re.compile(r"^/v1/channels/[^/]+/edi$"), 4 * MiB),  # an X12 interchange of several POs
    (re.compile(r"^/v1/channels/[^/]+/cxml$"), 2 * MiB),  # one OrderRequest
]
"""Per-route body limits in bytes; every other route takes ``DEFAULT_BODY_LIMIT``."""

SIGNED = re.compile(r"^/v1/(channels/[^/]+/(webhooks|cxml)|providers/[^/]+/callbacks)$")
"""Writes authenticated by the sender's signature or shared secret instead of an API key."""

MAX_JSON_DEPTH = 32
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def body_limit(path: str) -> int:
    """The most bytes ``path`` accepts in a request body."""
    return next(
        (limit for pattern, limit in BODY_LIMITS if pattern.match(path)), DEFAULT_BODY_LIMIT
    )


class BodyTooLarge(Exception):
    """Raised from ``receive`` once a streamed body passes its route's limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body exceeds {limit} bytes")
        self.limit = limit


class RequestGuard:
    def __init__(self, app: ASGIApp, container: Container) -> None:
        self.app = app
        self.container = container

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused = _unstorable_parameter(scope)
        if refused is None and scope["method"] in _WRITES:
            # What the checks of a write share, found once: its headers, its limit, its kind.
            path: str = scope["path"]
            headers = dict(scope["headers"])
            limit = body_limit(path)
            signed = SIGNED.match(path) is not None
            refused = await self._check_write(scope, headers, limit, signed)
        if refused is not None:
            await refused(scope, receive, send)
            return
        if scope["method"] not in _WRITES:
            await self.app(scope, receive, send)
            return
        try:
            body = await _read_bounded(receive, limit)
        except BodyTooLarge as error:
            await _too_large(error.limit)(scope, receive, send)
            return
        # A signed route verifies the sender before it parses anything: so no parsing here.
        refused = None if signed else _unstorable_body(headers, body)
        if refused is not None:
            await refused(scope, receive, send)
            return
        await self.app(scope, _replay(body), send)

    async def _check_write(
        self, scope: Scope, headers: dict[bytes, bytes], limit: int, signed: bool
    ) -> JSONResponse | None:
        """Refuse a write by its headers alone: too large, or not authenticated."""
        declared = headers.get(b"content-length", b"").strip()
        if declared.isdigit() and int(declared) > limit:
            return _too_large(limit)
        if signed or not scope["path"].startswith("/v1/"):
            return None
        authorization = headers.get(b"authorization", b"")
        principals: PrincipalCache = scope["app"].state.principals
        principal = _cached(authorization, principals)  # no thread-pool trip for a cached key
        if principal is None:
            principal = await run_in_threadpool(self._principal, authorization, principals)
        if principal is None:
            return problem(
                401,
                "Missing or invalid API key",
                code="401",
                headers={"WWW-Authenticate": "Bearer"},
            )
        scope.setdefault("state", {})["principal"] = principal
        return None

    def _principal(self, authorization: bytes, cache: PrincipalCache) -> Principal | None:
        secret = bearer_token(authorization)
        return key_holder(self.container, secret, cache) if secret else None


def _cached(authorization: bytes, cache: PrincipalCache) -> Principal | None:
    """The principal of a key the cache holds fresh, without looking it up."""
    secret = bearer_token(authorization)
    return cache.fresh(secret) if secret else None


async def _read_bounded(receive: Receive, limit: int) -> bytes:
    """The whole body, reading no more than ``limit`` + one chunk of it."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        parts.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(parts)


def _replay(body: bytes) -> Receive:
    """A ``receive`` that hands the already-read body to the app, then waits for disconnect."""
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _too_large(limit: int) -> JSONResponse:
    return problem(
        413,
        "Request body too large",
        detail=f"this endpoint takes at most {limit:,} bytes",
        code="body_too_large",
        errors_=[{"field": "body", "message": f"at most {limit:,} bytes", "code": "too_large"}],
        limit=limit,
    )


def _invalid(field: str, message: str, code: str) -> JSONResponse:
    return problem(
        422,
        "Request validation failed",
        detail="1 field(s) failed validation",
        code="validation_failed",
        errors_=[{"field": field, "message": message, "code": code}],
    )


def _unstorable_parameter(scope: Scope) -> JSONResponse | None:
    """A NUL in the path or a query parameter: refused before any route sees it."""
    if "\x00" in scope["path"] or _has_lone_surrogate(scope["path"]):
        return _invalid("path", "must not contain NUL or invalid characters", "invalid_characters")
    raw_query: bytes = scope.get("query_string", b"")
    if not raw_query:  # most requests: nothing to parse
        return None
    query = raw_query.decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True, errors="surrogateescape"):
        if _unstorable_text(name) or _unstorable_text(value):
            return _invalid(
                f"query.{name.replace(chr(0), '')}",
                "must not contain NUL or invalid characters",
                "invalid_characters",
            )
    return None


def _unstorable_body(headers: dict[bytes, bytes], body: bytes) -> JSONResponse | None:
    """The first field of a JSON or form body that no database column could store, as a 422."""
    content_type = headers.get(b"content-type", b"").split(b";")[0].strip()
    if not body:
        return None
    if content_type == b"application/x-www-form-urlencoded":  # the dashboard's forms
        for name, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True):
            if _unstorable_text(name) or _unstorable_text(value):
                return _invalid(
                    f"form.{name.replace(chr(0), '')}",
                    "must not contain NUL or invalid characters",
                    "invalid_characters",
                )
        return None
    if not (content_type == b"application/json" or content_type.endswith(b"+json")):
        return None
    texts = _may_hold_unstorable_text(body)
    if not texts and _plainly_shaped(body):
        return None  # nothing to find: not parsed here (the route parses it)
    try:
        document = json.loads(body)
    except RecursionError:
        return _invalid("body", f"nested deeper than {MAX_JSON_DEPTH} levels", "too_deep")
    except ValueError:
        return None  # not JSON: the route answers its own json_invalid problem
    if not texts and _well_shaped(document):
        return None
    for path, message, code in _unstorable(document, texts=texts):
        return _invalid(path, message, code)
    return None


def _may_hold_unstorable_text(body: bytes) -> bool:
    """Whether a string of this JSON body could hold NUL or a lone surrogate once parsed.

    Only three ways lead there: a ``\\u`` escape; a UTF-8-encoded surrogate (``json.loads``
    decodes bytes with ``surrogatepass``: they begin with byte 0xED); or a body in UTF-16/32,
    which ``json.loads`` detects and which has NUL bytes (raw control characters inside a
    string are not JSON). A body with none of them — nearly every real one — needs no text
    checked (the largest entry in a profile of the batch route; see docs/performance.md).
    """
    return b"\\u" in body or b"\xed" in body or b"\x00" in body


_DIGITS_AS_ZERO = bytes.maketrans(b"123456789E", b"000000000e")
_LONG_DIGITS = b"0" * 300


def _plainly_shaped(body: bytes) -> bool:
    """Whether a JSON body is well shaped (:func:`_well_shaped`) by its bytes alone, without
    parsing it: a few substring searches cost half of what ``json.loads`` does on an order.

    Conservative, never wrong when it says yes: at most ``MAX_JSON_DEPTH`` brackets in all
    cannot nest deeper than ``MAX_JSON_DEPTH`` levels, and a number that is not finite once
    parsed is spelled ``NaN`` or ``[-]Infinity``, or overflows a float — which takes an
    exponent (JSON puts a digit right before the ``e``) or 300 digits in a row. A body with
    any of those, even inside a string, is parsed and walked as before. (One regular
    expression for all of it took longer than the parse.)
    """
    if (
        body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH
        or b"NaN" in body
        or b"Infinity" in body
    ):
        return False
    digits = body.translate(_DIGITS_AS_ZERO)  # every digit a 0, every E an e
    return b"0e" not in digits and _LONG_DIGITS not in digits


def _unstorable(document: Any, *, texts: bool = True) -> Iterator[tuple[str, str, str]]:
    """Every (field path, message, code) of ``document`` that cannot be stored; the strings
    and keys are checked only when ``texts``."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), document)]

    def path(loc: tuple[str | int, ...]) -> str:
        return ".".join(str(part) for part in loc) or "body"

    while stack:
        loc, value = stack.pop()
        if len(loc) > MAX_JSON_DEPTH:
            yield path(loc), f"nested deeper than {MAX_JSON_DEPTH} levels", "too_deep"
        elif isinstance(value, dict):
            for key, item in value.items():
                if texts and _unstorable_text(key):
                    yield (
                        path((*loc, ascii(key))),
                        "keys must not contain NUL or lone surrogate characters",
                        "invalid_characters",
                    )
                stack.append(((*loc, key), item))
        elif isinstance(value, list):
            stack.extend(((*loc, index), item) for index, item in enumerate(value))
        elif isinstance(value, str):
            if texts and _unstorable_text(value):
                yield (
                    path(loc),
                    "must not contain NUL or lone surrogate characters",
                    "invalid_characters",
                )
        elif isinstance(value, float) and not math.isfinite(value):
            yield path(loc), "must be a finite number (not NaN, Infinity or 1e400)", "finite_number"


def _well_shaped(document: Any) -> bool:
    """Whether ``document`` (as ``json.loads`` made it: plain dicts, lists, floats) is free of
    what :func:`_unstorable` finds with ``texts=False`` — nesting deeper than
    ``MAX_JSON_DEPTH``, numbers that are not finite. It looks at each scalar's type only and
    keeps no paths: the batch route's bodies hold tens of thousands of scalars. A body that
    fails is walked again by :func:`_unstorable` to name the field."""
    if type(document) is not dict and type(document) is not list:
        return not (type(document) is float and not math.isfinite(document))
    stack: list[tuple[int, Any]] = [(0, document)]
    while stack:
        depth, value = stack.pop()
        children = value.values() if type(value) is dict else value
        if depth == MAX_JSON_DEPTH:
            if children:
                return False  # every child is a level too deep
            continue
        for item in children:
            kind = type(item)
            if kind is dict or kind is list:
                stack.append((depth + 1, item))
            elif kind is float and not math.isfinite(item):
                return False
    return True


def _unstorable_text(text: str) -> bool:
    return "\x00" in text or _has_lone_surrogate(text)


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
