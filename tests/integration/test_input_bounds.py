"""Values no column can hold, or that a lax reading would twist, are 422 problems naming the
field, with nothing written — never a 500 (issue #15), on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from orderhub.bootstrap import Container
from orderhub.domain.limits import MAX_QUANTITY
from tests.conftest import native_order
from tests.integration.dashboard_support import log_in
from tests.integration.input_support import fields_of, row_counts
from tests.integration.inventory_helpers import add_locations


def _post_raw(client: TestClient, path: str, text: str, headers: dict[str, str]) -> Any:
    """POST a body as written: JSON with NaN or a lone surrogate cannot come from ``json=``."""
    return client.post(
        path, content=text.encode("utf-8", "surrogatepass"),
        headers={**headers, "Content-Type": "application/json"},
    )  # fmt: skip


@pytest.mark.parametrize("placed_at", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+14:00"])
def test_times_at_the_ends_of_the_calendar_are_refused(
    client: TestClient, admin: dict[str, str], seeded: Container, placed_at: str
) -> None:
    before = row_counts(seeded)
    response = client.post("/v1/orders", json=native_order(placed_at=placed_at), headers=admin)
    assert fields_of(response) == {"placed_at"}
    assert row_counts(seeded) == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("unit_price", "1E+30"),
        ("unit_price", 10**17),
        ("unit_price", "99999999999999999.99"),
        ("tax", "1e400"),
        ("discount", "NaN"),
    ],
)
def test_amounts_past_the_bound_are_refused(
    client: TestClient, admin: dict[str, str], seeded: Container, field: str, value: object
) -> None:
    body = native_order()
    body["lines"][0][field] = value  # type: ignore[index]
    before = row_counts(seeded)
    assert fields_of(client.post("/v1/orders", json=body, headers=admin)) == {f"lines.0.{field}"}
    assert row_counts(seeded) == before


def test_quantity_times_price_past_the_bound_is_refused_naming_the_quantity(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    body = native_order()
    body["lines"] = [{"sku": "SKU-1", "quantity": MAX_QUANTITY, "unit_price": "999999999"}]
    before = row_counts(seeded)
    assert fields_of(client.post("/v1/orders", json=body, headers=admin)) == {"lines.0.quantity"}
    assert row_counts(seeded) == before


def test_a_quantity_over_a_million_is_refused(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    body = native_order()
    body["lines"][0]["quantity"] = MAX_QUANTITY + 1  # type: ignore[index]
    assert fields_of(client.post("/v1/orders", json=body, headers=admin)) == {"lines.0.quantity"}


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('{"k": NaN}', "metadata.k"),
        ('{"k": Infinity}', "metadata.k"),
        ('{"k": 1e400}', "metadata.k"),
        ('{"k": "a\\u0000b"}', "metadata.k"),
        ('{"k": ["ok", "\\ud800"]}', "metadata.k.1"),
        ('{"deep": {"\\udfff": 1}}', "metadata.deep.'\\udfff'"),
    ],
)
def test_metadata_that_no_database_can_store_is_refused(
    client: TestClient, admin: dict[str, str], seeded: Container, text: str, field: str
) -> None:
    body = json.dumps(native_order()).replace('"shipping":', f'"metadata": {text}, "shipping":')
    before = row_counts(seeded)
    assert fields_of(_post_raw(client, "/v1/orders", body, admin)) == {field}
    assert row_counts(seeded) == before


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16-le", "utf-32"])
def test_a_lone_surrogate_sent_unescaped_is_refused(
    client: TestClient, admin: dict[str, str], seeded: Container, encoding: str
) -> None:
    """Not only a ``\\udfff`` escape: the raw code point in UTF-8 (bytes ED BF BF), or in a body
    JSON detects as UTF-16/32, parses to the same lone surrogate (the guard's fast path must
    not skip these bodies)."""
    order = native_order(metadata={"note": "Ann\udfff"})
    body = json.dumps(order, ensure_ascii=False)
    before = row_counts(seeded)
    answer = client.post(
        "/v1/orders",
        content=body.encode(encoding, "surrogatepass"),
        headers={**admin, "Content-Type": "application/json"},
    )
    assert fields_of(answer) == {"metadata.note"}
    assert row_counts(seeded) == before


def test_a_nul_in_any_string_is_refused(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    body = native_order(customer={"email": "a@example.com", "name": "Ann\x00"})
    before = row_counts(seeded)
    assert fields_of(client.post("/v1/orders", json=body, headers=admin)) == {"customer.name"}
    assert row_counts(seeded) == before


def _get_parameters(client: TestClient, *formats: str) -> list[tuple[str, str, str]]:
    """(path, query parameter) of every GET list in the route table taking such a parameter
    (``cursor`` for paginated lists; ``date``/``date-time`` for filters and report ranges)."""
    found = []
    for path, methods in client.app.openapi()["paths"].items():  # type: ignore[attr-defined]
        for parameter in methods.get("get", {}).get("parameters", []):
            schema = parameter.get("schema", {})
            kinds = {s.get("format") for s in schema.get("anyOf", [schema])}
            named = parameter["name"] in formats
            if parameter["in"] == "query" and "{" not in path and (named or kinds & {*formats}):
                found.append((path, parameter["name"], "date-time" if "date-time" in kinds else ""))
    return found


@pytest.mark.parametrize(
    "cursor",
    [
        base64.urlsafe_b64encode(b"\x00").decode(),
        base64.urlsafe_b64encode(b"x' OR 1=1").decode(),
        "not a cursor!",
        "é",
        "A" * 5000,
    ],
)
def test_a_malformed_cursor_is_refused_on_every_paginated_list(
    client: TestClient, admin: dict[str, str], cursor: str
) -> None:
    lists = _get_parameters(client, "cursor")
    assert {"/v1/orders", "/v1/deliveries"} <= {path for path, _name, _kind in lists}
    for path, name, _kind in lists:
        response = client.get(path, params={name: cursor}, headers=admin)
        assert fields_of(response) == {"query.cursor"}, path


@pytest.mark.parametrize(
    ("day", "moment"),
    [("9999-12-31", "9999-12-31T23:59:59-23:59"), ("0001-01-01", "0001-01-01T00:00:00+14:00")],
)
def test_every_date_filter_refuses_the_ends_of_the_calendar(
    client: TestClient, admin: dict[str, str], day: str, moment: str
) -> None:
    """Report ranges and filters 500ed once a day or time was past what ``datetime`` holds."""
    filters = _get_parameters(client, "date", "date-time")
    assert len(filters) >= 8
    for path, name, kind in filters:
        value = moment if kind == "date-time" else day
        response = client.get(path, params={name: value}, headers=admin)
        assert fields_of(response) == {f"query.{name}"}, path


def test_a_cursor_from_the_api_still_pages(client: TestClient, admin: dict[str, str]) -> None:
    for n in range(3):
        client.post("/v1/orders", json=native_order(f"C-{n}"), headers=admin)
    first = client.get("/v1/orders", params={"limit": 2}, headers=admin).json()
    rest = client.get("/v1/orders", params={"cursor": first["next_cursor"]}, headers=admin)
    assert rest.status_code == 200
    assert len(rest.json()["items"]) == 1


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/v1/orders/%00", "path"),
        ("/v1/orders/abc%00def/events", "path"),
        ("/v1/orders?email=a%00b", "query.email"),
        ("/v1/orders?external_id=%00", "query.external_id"),
        ("/v1/inventory/SKU%00", "path"),
    ],
)
def test_a_nul_in_a_path_or_query_parameter_is_refused(
    client: TestClient, admin: dict[str, str], url: str, field: str
) -> None:
    assert fields_of(client.get(url, headers=admin)) == {field}


def test_stock_past_what_a_location_can_hold_is_refused(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    add_locations(seeded, ("WH1", 1))
    item = {"sku": "SKU-1", "location": "WH1", "delta": 1_000_000_000, "reason": "receipt"}
    before = row_counts(seeded)
    response = client.post(
        "/v1/inventory/adjustments", json={"items": [item, item, item]}, headers=admin
    )
    assert "items.1.delta" in fields_of(response)
    assert row_counts(seeded) == before


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("lines", 0, "quantity"), True, "lines.0.quantity"),
        (("lines", 0, "quantity"), "2", "lines.0.quantity"),
        (("lines", 0, "unit_price"), True, "lines.0.unit_price"),
        (("placed_at",), 12345, "placed_at"),
        (("placed_at",), "2026-11-20T14:30:00", "placed_at"),
        (("prices_include_tax",), 1, "prices_include_tax"),
        (("prices_include_tax",), "yes", "prices_include_tax"),
    ],
)
def test_loose_types_are_refused_instead_of_coerced(
    client: TestClient,
    admin: dict[str, str],
    seeded: Container,
    path: tuple[str | int, ...],
    value: object,
    field: str,
) -> None:
    body: Any = native_order()
    target = body
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    before = row_counts(seeded)
    assert fields_of(client.post("/v1/orders", json=body, headers=admin)) == {field}
    assert row_counts(seeded) == before


@pytest.mark.parametrize("flag", ["skip_allocation", "channel_total_matches"])
def test_a_client_cannot_set_the_hubs_internal_flags(
    client: TestClient, admin: dict[str, str], seeded: Container, flag: str
) -> None:
    """``skip_allocation`` in a client's metadata kept its order out of allocation (#18)."""
    before = row_counts(seeded)
    body = native_order(metadata={flag: True, "gift_note": "hi"})
    assert fields_of(client.post("/v1/orders", json=body, headers=admin)) == {f"metadata.{flag}"}
    assert row_counts(seeded) == before
    kept = client.post("/v1/orders", json=native_order(metadata={"gift_note": "hi"}), headers=admin)
    assert kept.status_code == 201
    assert kept.json()["metadata"] == {"gift_note": "hi"}


def test_a_nul_in_a_dashboard_form_is_refused(client: TestClient, seeded: Container) -> None:
    """The sign-in form looked the name up as given: PostgreSQL refuses NUL with a 500."""
    before = row_counts(seeded)
    response = log_in(client, "ops\x00")
    assert fields_of(response) == {"form.username"}
    assert row_counts(seeded) == before
