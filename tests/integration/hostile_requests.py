"""Hostile requests for every write endpoint, read from the app's own route table.

``write_operations(app)`` walks the OpenAPI document FastAPI builds from the routes, so a new
write endpoint is covered without touching the tests. For each operation it builds a plausible
base request (the documented example, or one sampled from the schema) and lists its *slots*:
every body field, path parameter and query parameter, each with the kind of value it holds.
``HOSTILE[kind]`` are the values that kind must refuse: things no column stores (NUL, a lone
surrogate, NaN, 1e400), numbers past every bound, and what a lax reading would coerce (``true``
as a quantity, ``12345`` as a date).
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI

Loc = tuple[str | int, ...]
WRITES = ("post", "put", "patch", "delete")

UNSTORABLE: list[Any] = ["a\x00b", "x\ud800y", math.nan, math.inf, -math.inf]
"""What no column stores, whatever the field: NUL, a lone surrogate, NaN and the infinities."""

SPECIFIC: dict[str, list[Any]] = {
    "free": [],  # a value the schema leaves open (metadata, settings): only UNSTORABLE
    "string": [True, 10**17],
    "integer": [True, False, 10**17, 2**63, -(2**63) - 1, "1E+30"],
    "number": [True, 10**30],
    "boolean": [1, 0, "yes"],
    "amount": [True, "1E+30", 10**17, "99999999999999999.99", "NaN", "-Infinity"],
    "datetime": [
        True,
        12345,
        "9999-12-31T23:59:59-23:59",
        "0001-01-01T00:00:00+14:00",
        "2026-11-20T14:30:00",
    ],
    "date": [True, 12345, "0001-01-01", "9999-12-31"],
    "key": ["x\udfffy"],  # a key of an open object
    "param": [],  # a path or query parameter
}
"""What a field of each kind must refuse besides UNSTORABLE: past its bounds, or lax coercions."""

HOSTILE: dict[str, list[Any]] = {
    kind: [*UNSTORABLE[: 1 if kind in ("key", "param") else None], *values]
    for kind, values in SPECIFIC.items()
}


@dataclass(frozen=True)
class Slot:
    """Where a hostile value goes: ``where`` is body, path, query or key; ``name`` its path."""

    where: str
    loc: Loc
    kind: str

    @property
    def field(self) -> str:
        """The field path the 422 problem must name."""
        if self.where == "path":
            return "path"
        if self.where == "query":
            return f"query.{self.loc[0]}"
        return ".".join(str(part) for part in self.loc) or "body"


@dataclass(repr=False)
class Operation:
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    slots: list[Slot] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"

    def __repr__(self) -> str:
        """Short: Hypothesis prints the fixture in its reports (a long repr is an error)."""
        return f"<{self} ({len(self.slots)} slots)>"

    def request(self, hostile: list[tuple[Slot, Any]]) -> tuple[str, dict[str, str], bytes | None]:
        """(url, query, body bytes): each value at its slot, the base request elsewhere."""
        params, query, body = dict(self.params), dict(self.query), copy.deepcopy(self.body)
        for slot, value in hostile:
            if slot.where == "path":
                params[str(slot.loc[0])] = value
            elif slot.where == "query":
                query[str(slot.loc[0])] = value
            elif slot.where == "key":
                _at(body, slot.loc)[value] = 1
            else:
                body = _put(body, slot.loc, value)
        url = self.path.format(**{k: _quote(v) for k, v in params.items()})
        raw = None if body is None else _dumps(body)
        return url, query, raw


def write_operations(app: FastAPI) -> list[Operation]:
    """Every POST, PUT, PATCH and DELETE of ``app``, with a base request and its slots."""
    spec = app.openapi()
    schemas: dict[str, Any] = spec.get("components", {}).get("schemas", {})
    operations: list[Operation] = []
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            if method not in WRITES:
                continue
            operations.append(_operation(method, path, op, _Walker(schemas)))
    return operations


def _operation(method: str, path: str, op: dict[str, Any], walker: _Walker) -> Operation:
    params: dict[str, str] = {}
    query: dict[str, str] = {}
    slots: list[Slot] = []
    for parameter in op.get("parameters", []):
        name, where = parameter["name"], parameter["in"]
        if where not in ("path", "query"):
            continue
        value = str(walker.sample(parameter.get("schema", {}), (), "param")[0])
        (params if where == "path" else query)[name] = value
        slots.append(Slot(where, (name,), "param"))
    body: Any = None
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    if content is not None:
        examples = content.get("examples") or {}
        example = next(iter(examples.values()), {}).get("value") if examples else None
        body, body_slots = walker.sample(content.get("schema", {}), (), "body", example)
        slots.extend(body_slots)
    return Operation(method, path, params, query, body, slots)


class _Walker:
    """Samples a value for a JSON schema and lists the slots inside it."""

    def __init__(self, schemas: dict[str, Any]) -> None:
        self.schemas = schemas

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.schemas[schema["$ref"].rsplit("/", 1)[1]]
        for combinator in ("anyOf", "oneOf", "allOf"):
            if combinator in schema:
                variants = [self.resolve(v) for v in schema[combinator]]
                usable = [v for v in variants if v.get("type") != "null"]
                return usable[0] if usable else {}
        return schema

    def sample(
        self, schema: dict[str, Any], loc: Loc, where: str, example: Any = None, depth: int = 0
    ) -> tuple[Any, list[Slot]]:
        schema = self.resolve(schema)
        if example is not None:
            return self._from_example(schema, loc, where, example, depth)
        kind = _kind(schema)
        if "enum" in schema or "const" in schema:
            value = schema["enum"][0] if "enum" in schema else schema["const"]
            return value, [Slot(where, loc, "string")]
        if kind == "object" and depth < 6:
            value: dict[str, Any] = {}
            slots: list[Slot] = []
            for name, sub in schema.get("properties", {}).items():
                value[name], inner = self.sample(sub, (*loc, name), where, None, depth + 1)
                slots.extend(inner)
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict) and extra:
                value["k"], inner = self.sample(extra, (*loc, "k"), where, None, depth + 1)
                slots.extend(inner)
            if extra is not False and not schema.get("properties"):
                value.setdefault("k", "v")
                slots += [Slot(where, (*loc, "k"), "free"), Slot("key", loc, "key")]
            return value, slots
        if kind == "array" and depth < 6:
            item, slots = self.sample(schema.get("items", {}), (*loc, 0), where, None, depth + 1)
            return [item], slots
        return _scalar(schema, kind), [Slot(where, loc, kind if kind != "object" else "free")]

    def _from_example(
        self, schema: dict[str, Any], loc: Loc, where: str, example: Any, depth: int
    ) -> tuple[Any, list[Slot]]:
        """Slots for every leaf of a documented example (its schema may be an open object)."""
        if isinstance(example, dict):
            slots: list[Slot] = []
            for name, item in example.items():
                sub = schema.get("properties", {}).get(name, {})
                slots.extend(self._from_example(self.resolve(sub), (*loc, name), where, item, 0)[1])
            return example, slots
        if isinstance(example, list) and example:
            sub = self.resolve(schema.get("items", {}))
            return example, self._from_example(sub, (*loc, 0), where, example[0], depth)[1]
        kind = _kind(schema) if schema else _kind_of(example)
        return example, [Slot(where, loc, kind)]


def _kind(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if kind == "string":
        if schema.get("format") == "date-time":
            return "datetime"
        if schema.get("format") == "date":
            return "date"
        if schema.get("examples") == ["12.50"]:
            return "amount"
        return "string"
    if kind in ("integer", "number", "boolean", "array", "object"):
        return str(kind)
    return "free" if not schema.get("properties") else "object"


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, str) and len(value) >= 16 and value[4:5] == "-" and "T" in value:
        return "datetime"
    return "string"


def _scalar(schema: dict[str, Any], kind: str) -> Any:
    if schema.get("examples"):
        return schema["examples"][0]
    return {
        "datetime": "2026-11-20T14:30:00Z",
        "date": "2026-11-20",
        "amount": "1.00",
        "integer": max(int(schema.get("minimum", 1)), 1),
        "number": 1,
        "boolean": True,
    }.get(kind, "x")


def _at(body: Any, loc: Loc) -> Any:
    for part in loc:
        body = body[part]
    return body


def _put(body: Any, loc: Loc, value: Any) -> Any:
    if not loc:
        return value
    _at(body, loc[:-1])[loc[-1]] = value
    return body


def _quote(value: str) -> str:
    return "".join(f"%{b:02X}" if b < 0x21 or b in b"%/?#" else chr(b) for b in value.encode())


def _dumps(body: Any) -> bytes:
    """JSON as a hostile client writes it: NaN, Infinity and lone surrogates included."""
    return json.dumps(body, allow_nan=True).encode("utf-8", "surrogatepass")
