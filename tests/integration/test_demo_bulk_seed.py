"""``orderhub demo seed``: bulk-written order history the API reads and the audit verifies."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from orderhub.api.app import create_app
from orderhub.bootstrap import Container
from orderhub.cli import app
from orderhub.demo import hub
from orderhub.domain import events as ev
from orderhub.domain.access import Role
from orderhub.store import tables as t
from tests.conftest import bearer, make_key

runner = CliRunner()
ORDERS = 240


@pytest.fixture
def seeded_hub(
    database_url: str, container: Container, monkeypatch: pytest.MonkeyPatch
) -> Container:
    monkeypatch.setenv("ORDERHUB_DATABASE_URL", database_url)
    result = runner.invoke(app, ["demo", "seed", "--orders", str(ORDERS), "--batch", "100"])
    assert result.exit_code == 0, result.output
    assert f"seeded {ORDERS} orders" in result.output
    return container


@pytest.fixture
def api(seeded_hub: Container) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with TestClient(create_app(seeded_hub)) as client:
        yield client, bearer(make_key(seeded_hub, Role.ADMIN))


def _count(container: Container, table: Any) -> int:
    with container.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_seed_writes_orders_with_what_they_need(seeded_hub: Container) -> None:
    assert _count(seeded_hub, t.orders) == ORDERS
    assert _count(seeded_hub, t.order_chain_heads) == ORDERS
    with seeded_hub.engine.connect() as conn:
        statuses = Counter(conn.execute(select(t.orders.c.status)).scalars())
        lines = conn.execute(select(func.count()).select_from(t.order_lines)).scalar_one()
        orphans = conn.execute(
            select(func.count())
            .select_from(t.orders)
            .where(~t.orders.c.id.in_(select(t.order_lines.c.order_id)))
        ).scalar_one()
        shipped = statuses["shipped"] + statuses["delivered"]
        shipments = conn.execute(select(func.count()).select_from(t.shipments)).scalar_one()
    assert orphans == 0
    assert lines >= ORDERS
    assert shipments == shipped > ORDERS / 2  # six weeks: most orders have shipped
    assert set(statuses) >= {"delivered", "shipped"}


def test_seeded_history_and_stock_verify(seeded_hub: Container) -> None:
    verified = runner.invoke(app, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    events = _count(seeded_hub, t.order_events)
    assert f"{events} events verified" in verified.output
    assert events > 3 * ORDERS
    checked = runner.invoke(app, ["inventory", "check"])
    assert checked.exit_code == 0, checked.output


def test_seeded_event_data_is_what_the_event_classes_give(seeded_hub: Container) -> None:
    classes = {c.type: c for c in _subclasses(ev.OrderEvent)}
    with seeded_hub.engine.connect() as conn:
        rows = conn.execute(select(t.order_events.c.type, t.order_events.c.data)).all()
    assert {row.type for row in rows} >= {"order.received", "order.allocated", "shipment.created"}
    for row in rows:
        data = json.loads(row.data)
        cls = classes[row.type]
        if row.type == "shipment.created":
            data = data | {"shipped_at": datetime.fromisoformat(data["shipped_at"])}
        assert cls(**data).data() == json.loads(row.data), row.type


def _subclasses(cls: type[ev.OrderEvent]) -> Iterator[type[ev.OrderEvent]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_seeded_orders_read_through_the_api_newest_first(
    api: tuple[TestClient, dict[str, str]],
) -> None:
    client, headers = api
    first = client.get("/v1/orders", params={"limit": 100}, headers=headers).json()
    second = client.get(
        "/v1/orders", params={"limit": 100, "cursor": first["next_cursor"]}, headers=headers
    ).json()
    items = first["items"] + second["items"]
    assert len(items) == 200
    placed = [datetime.fromisoformat(item["placed_at"]) for item in items]
    assert placed == sorted(placed, reverse=True)  # the ids follow the dates
    assert placed[0] - placed[-1] > timedelta(days=7)

    delivered = client.get(
        "/v1/orders", params={"status": "delivered", "channel": "web"}, headers=headers
    ).json()["items"]
    assert delivered
    assert {(o["status"], o["channel"]) for o in delivered} == {("delivered", "web")}
    one = client.get(f"/v1/orders/{delivered[0]['id']}", headers=headers)
    assert one.status_code == 200
    order = one.json()
    assert order["shipments"], order
    assert order["allocations"]
    history = client.get(f"/v1/orders/{order['id']}/events", headers=headers).json()
    assert next(e["type"] for e in history) == "order.received"
    assert history[-1]["type"] == "order.status_changed"
    assert history[-1]["data"]["to_status"] == "delivered"


def test_demo_without_a_command_still_starts_the_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[dict[str, Any]] = []
    monkeypatch.setattr(hub, "run_demo", lambda **kwargs: started.append(kwargs))
    monkeypatch.setattr(hub, "claim_port", lambda port: None)
    result = runner.invoke(app, ["demo", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert started
    assert started[0]["port"] == 8123
