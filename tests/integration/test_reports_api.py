"""``GET /v1/reports/orders-by-channel-day``: JSON and CSV, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient

from orderhub.bootstrap import Container
from orderhub.domain.access import Role
from tests.conftest import bearer, make_key, native_order

URL = "/v1/reports/orders-by-channel-day"
RANGE = {"from": "2026-11-19", "to": "2026-11-21"}


def place(client: TestClient, admin: dict[str, str], external_id: str, **fields: object) -> str:
    response = client.post("/v1/orders", json=native_order(external_id, **fields), headers=admin)
    assert response.status_code == 201, response.text
    order_id: str = response.json()["id"]
    return order_id


def seed_orders(client: TestClient, admin: dict[str, str]) -> None:
    """20 Nov: web 2 USD (one cancelled), web 1 EUR, app 1 USD; 21 Nov 00:30 Berlin = 20 Nov UTC."""
    place(client, admin, "A1", placed_at="2026-11-20T10:00:00Z")
    cancelled = place(client, admin, "A2", placed_at="2026-11-20T23:59:59Z")
    client.post(f"/v1/orders/{cancelled}/cancel", json={"reason": "other"}, headers=admin)
    place(client, admin, "A3", currency="EUR", placed_at="2026-11-21T00:30:00+01:00")
    place(client, admin, "B1", channel="app", placed_at="2026-11-21T08:00:00Z")
    place(client, admin, "OUT", placed_at="2026-11-22T00:00:00Z")  # after the range


def test_orders_and_revenue_per_channel_day_and_currency(
    client: TestClient, admin: dict[str, str]
) -> None:
    seed_orders(client, admin)
    response = client.get(URL, params=RANGE, headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["from"], body["to"]) == ("2026-11-19", "2026-11-21")
    rows = {(r["day"], r["channel"], r["currency"]): r for r in body["rows"]}
    assert set(rows) == {
        ("2026-11-20", "web", "USD"),
        ("2026-11-20", "web", "EUR"),
        ("2026-11-21", "app", "USD"),
    }
    web_usd = rows[("2026-11-20", "web", "USD")]
    assert (web_usd["orders"], web_usd["cancelled"], web_usd["revenue"]) == (2, 1, "31.59")
    assert rows[("2026-11-20", "web", "EUR")]["revenue"] == "31.59"
    assert rows[("2026-11-21", "app", "USD")]["orders"] == 1


def test_csv_by_query_parameter_or_accept_header(client: TestClient, admin: dict[str, str]) -> None:
    seed_orders(client, admin)
    by_param = client.get(URL, params={**RANGE, "format": "csv"}, headers=admin)
    by_accept = client.get(URL, params=RANGE, headers={**admin, "Accept": "text/csv"})
    for response in (by_param, by_accept):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(by_param.text)))
    assert rows[0] == ["day", "channel", "currency", "orders", "cancelled", "revenue"]
    assert ["2026-11-20", "web", "USD", "2", "1", "31.59"] in rows
    assert by_accept.text == by_param.text


def test_a_channel_key_sees_only_its_channel(
    client: TestClient, seeded: Container, admin: dict[str, str]
) -> None:
    seed_orders(client, admin)
    app_key = bearer(make_key(seeded, Role.CHANNEL, channel="app"))
    rows = client.get(URL, params={**RANGE, "channel": "web"}, headers=app_key).json()["rows"]
    assert {r["channel"] for r in rows} == {"app"}


def test_a_backwards_or_overlong_range_is_a_problem_naming_from(
    client: TestClient, admin: dict[str, str]
) -> None:
    for params in ({"from": "2026-11-21", "to": "2026-11-20"}, {"from": "2024-01-01"}):
        response = client.get(URL, params=params, headers=admin)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "query.from"


def test_reports_need_a_key(client: TestClient) -> None:
    assert client.get(URL).status_code == 401
