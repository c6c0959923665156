"""Routing rules API (versions, rollback) and the dry-run, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from orderhub.api.routes.routing import stock_view
from orderhub.bootstrap import Container
from orderhub.domain.access import Role
from orderhub.domain.locations import Location, LocationAddress, LocationKind
from orderhub.services.routing import StaticStock
from orderhub.store import tables as t
from tests.conftest import bearer, make_key, native_order


def _rules(east: str = "5.00", west: str = "7.00", **extra: Any) -> dict[str, Any]:
    return {
        "zones": [{"destinations": ["*"], "zone": "A"}],
        "rate_cards": [
            {"origin": "EAST", "zone": "A", "bands": [{"price": east}]},
            {"origin": "WEST", "zone": "A", "bands": [{"price": west}]},
        ],
        **extra,
    }


def _location(code: str) -> Location:
    return Location(code, code, LocationKind.WAREHOUSE, LocationAddress(country="US"))


@pytest.fixture
def stock(client: TestClient) -> StaticStock:
    view = StaticStock(
        locs=[_location("EAST"), _location("WEST")],
        stock={("SKU-1", "EAST"): 5, ("SKU-1", "WEST"): 5, ("SKU-2", "WEST"): 5},
    )
    client.app.dependency_overrides[stock_view] = lambda: view  # type: ignore[attr-defined]
    return view


def _put(client: TestClient, headers: dict[str, str], rules: dict[str, Any], comment: str) -> Any:
    response = client.put(
        "/v1/routing/rules", json={"rules": rules, "comment": comment}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_rules_are_the_builtin_defaults_before_the_first_put(
    client: TestClient, admin: dict[str, str]
) -> None:
    body = client.get("/v1/routing/rules", headers=admin).json()
    assert body["version"] == 0
    assert body["rules"]["max_splits"] == 3


def test_each_put_makes_a_new_active_version_and_rollback_reactivates_an_old_one(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    first = _put(client, admin, _rules(), "initial cards")
    second = _put(client, admin, _rules(east="9.00"), "east got dearer")
    assert (first["version"], second["version"]) == (1, 2)
    assert first["author"]
    assert first["comment"] == "initial cards"
    current = client.get("/v1/routing/rules", headers=admin).json()
    assert current["version"] == 2
    assert current["rules"]["rate_cards"][0]["bands"][0]["price"] == "9.00"
    history = client.get("/v1/routing/rules/versions", headers=admin).json()
    assert [(v["version"], v["active"]) for v in history] == [(2, True), (1, False)]
    rolled = client.post("/v1/routing/rules/versions/1/activate", headers=admin)
    assert rolled.status_code == 200, rolled.text
    assert client.get("/v1/routing/rules", headers=admin).json()["version"] == 1
    history = client.get("/v1/routing/rules/versions", headers=admin).json()
    assert [(v["version"], v["active"]) for v in history] == [(2, False), (1, True)]
    with seeded.uow(read_only=True) as uow:
        types = uow.conn.execute(
            select(t.outbox.c.type).where(t.outbox.c.type == "routing.rules_activated")
        ).all()
    assert len(types) == 3


def test_invalid_rules_are_a_problem_naming_the_field(
    client: TestClient, admin: dict[str, str]
) -> None:
    bad = _rules()
    bad["rate_cards"][0]["bands"] = [{"price": "1.00"}, {"max_grams": 500, "price": "2.00"}]
    bad["max_splits"] = 0
    response = client.put("/v1/routing/rules", json={"rules": bad}, headers=admin)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"rules.rate_cards.0.bands", "rules.max_splits"} <= fields
    assert client.get("/v1/routing/rules/versions", headers=admin).json() == []


def test_activating_an_unknown_version_is_not_found(
    client: TestClient, admin: dict[str, str]
) -> None:
    response = client.post("/v1/routing/rules/versions/42/activate", headers=admin)
    assert response.status_code == 404


def test_support_may_read_but_not_change_the_rules(client: TestClient, seeded: Container) -> None:
    support = bearer(make_key(seeded, Role.SUPPORT))
    assert client.get("/v1/routing/rules", headers=support).status_code == 200
    response = client.put("/v1/routing/rules", json={"rules": _rules()}, headers=support)
    assert response.status_code == 403


def test_simulate_one_order_returns_the_plan_and_its_explanation_without_touching_stock(
    client: TestClient, admin: dict[str, str], seeded: Container, stock: StaticStock
) -> None:
    _put(client, admin, _rules(), "cards")
    before = dict(stock.stock)
    with seeded.uow(read_only=True) as uow:
        outbox_before = uow.conn.execute(select(func.count()).select_from(t.outbox)).scalar()
    order = {
        "channel": "web",
        "destination": {"country": "US", "region": "NY"},
        "lines": [{"sku": "SKU-1", "quantity": 2}],
    }
    response = client.post("/v1/routing/simulate", json={"order": order}, headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    plan = body["plans"][0]["active"]
    assert body["active_version"] == 1
    assert plan["picks"] == [
        {"line_id": "line-1", "sku": "SKU-1", "location": "EAST", "quantity": 2}
    ]
    assert plan["explanation"]["chosen"]["total"] == "5.00"
    assert body["summary"]["active"]["cost"] == "5.00"
    assert stock.stock == before
    with seeded.uow(read_only=True) as uow:
        outbox_after = uow.conn.execute(select(func.count()).select_from(t.outbox)).scalar()
    assert outbox_after == outbox_before


def test_simulate_compares_a_draft_with_the_active_rules_on_past_orders(
    client: TestClient, admin: dict[str, str], stock: StaticStock
) -> None:
    _put(client, admin, _rules(), "cards")
    ids = []
    for n in range(2):
        body = native_order(f"9{n}")
        body["lines"] = [{"sku": "SKU-1", "quantity": 1, "unit_price": "10.00"}]
        created = client.post("/v1/orders", json=body, headers=admin)
        ids.append(created.json()["id"])
    draft = _rules(east="12.00")  # EAST dearer: WEST (7.00) wins under the draft
    response = client.post(
        "/v1/routing/simulate", json={"rules": draft, "orders": {"ids": ids}}, headers=admin
    )
    assert response.status_code == 200, response.text
    summary = response.json()["summary"]
    assert summary["active"]["cost"] == "10.00"
    assert summary["draft"]["cost"] == "14.00"
    assert summary["difference"]["cost"] == "4.00"
    plans = response.json()["plans"]
    assert {p["draft"]["picks"][0]["location"] for p in plans} == {"WEST"}
    by_range = client.post(
        "/v1/routing/simulate",
        json={
            "rules": draft,
            "orders": {"placed_from": "2026-11-20T00:00:00Z", "placed_to": "2026-11-21T00:00:00Z"},
        },
        headers=admin,
    ).json()
    assert by_range["summary"]["draft"]["orders"] == 2


def test_simulate_counts_splits_when_no_location_holds_the_whole_order(
    client: TestClient, admin: dict[str, str], stock: StaticStock
) -> None:
    stock.stock = {("SKU-1", "EAST"): 5, ("SKU-2", "WEST"): 5}
    order = {
        "channel": "web",
        "destination": {"country": "US"},
        "lines": [{"sku": "SKU-1", "quantity": 1}, {"sku": "SKU-2", "quantity": 1}],
    }
    body = client.post(
        "/v1/routing/simulate", json={"order": order, "rules": _rules()}, headers=admin
    ).json()
    assert body["summary"]["draft"]["split_orders"] == 1
    assert body["plans"][0]["draft"]["explanation"]["chosen"]["split"] is True


def test_simulate_refuses_unknown_skus_and_ambiguous_requests(
    client: TestClient, admin: dict[str, str], stock: StaticStock
) -> None:
    order = {
        "channel": "web",
        "destination": {"country": "US"},
        "lines": [{"sku": "NOPE", "quantity": 1}],
    }
    response = client.post("/v1/routing/simulate", json={"order": order}, headers=admin)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "order.lines.0.sku"
    neither = client.post("/v1/routing/simulate", json={}, headers=admin)
    assert neither.status_code == 422
