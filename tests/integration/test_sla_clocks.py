"""SLA clocks in the database: ship_by at ingest, the ?sla= filter, events fired once each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from orderhub.bootstrap import Container
from orderhub.demo.hub import seed
from orderhub.services.sla import check_sla
from orderhub.store import history
from orderhub.store import tables as t
from tests.conftest import native_order

EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
POLICY = {
    "ship_within_days": 1,
    "cutoff": "14:00",
    "timezone": "Europe/Berlin",
    "deliver_within_days": 2,
}


def with_policy(
    client: TestClient, admin: dict[str, str], policy: dict[str, object] = POLICY
) -> None:
    assert client.patch("/v1/channels/web", headers=admin, json={"sla": policy}).status_code == 200


def create(client: TestClient, admin: dict[str, str], external_id: str, placed_at: datetime) -> str:
    response = client.post(
        "/v1/orders", headers=admin, json=native_order(external_id, placed_at=placed_at.isoformat())
    )
    assert response.status_code == 201, response.text
    order_id: str = response.json()["id"]
    return order_id


def test_ingest_stamps_ship_by_and_deliver_by_from_the_channel_policy(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    with_policy(client, admin)
    # Friday 2026-11-20 14:30 Berlin: after the cut-off → clock starts Monday → ship by Tuesday.
    order_id = create(client, admin, "A1", datetime.fromisoformat("2026-11-20T14:30:00+01:00"))
    with seeded.uow(read_only=True) as uow:
        ship_by, deliver_by = uow.fulfilment.sla_dates(order_id)
    assert ship_by == datetime.fromisoformat("2026-11-24T23:59:00+01:00")
    assert deliver_by == datetime.fromisoformat("2026-11-26T23:59:00+01:00")


def test_a_channel_without_a_policy_gives_no_dates(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    order_id = create(client, admin, "A2", datetime.now(UTC))
    with seeded.uow(read_only=True) as uow:
        assert uow.fulfilment.sla_dates(order_id) == (None, None)


def test_orders_filter_by_breached_and_at_risk(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    with_policy(client, admin, {"ship_within_hours": 2, "business_hours": ["00:00", "23:59"],
                                "working_days": EVERY_DAY})  # fmt: skip
    now = datetime.now(UTC).replace(microsecond=0)
    late = create(client, admin, "late", now - timedelta(hours=3))
    due = create(client, admin, "due", now - timedelta(minutes=30))
    fresh = create(client, admin, "fresh", now + timedelta(hours=10))

    def ids(sla: str) -> set[str]:
        return {
            o["id"]
            for o in client.get("/v1/orders", params={"sla": sla}, headers=admin).json()["items"]
        }

    assert ids("breached") == {late}
    assert ids("at_risk") == {due}
    assert fresh not in ids("at_risk") | ids("breached")
    bad = client.get("/v1/orders", params={"sla": "soon"}, headers=admin)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "query.sla"


def test_check_sla_fires_at_risk_and_breached_once_each(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    with_policy(client, admin, {"ship_within_days": 0, "timezone": "UTC", "at_risk_hours": 4,
                                "working_days": EVERY_DAY})  # fmt: skip
    placed = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    order_id = create(client, admin, "S1", placed)  # ship by 2026-11-24 23:59 UTC
    at_risk_time = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)
    with seeded.uow() as uow:
        assert check_sla(uow, now=datetime(2026, 11, 24, 12, 0, tzinfo=UTC)) == {
            "at_risk": 0,
            "breached": 0,
        }
        assert check_sla(uow, now=at_risk_time) == {"at_risk": 1, "breached": 0}
        assert check_sla(uow, now=at_risk_time) == {"at_risk": 0, "breached": 0}
        after = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
        assert check_sla(uow, now=after) == {"at_risk": 0, "breached": 1}
        assert check_sla(uow, now=after + timedelta(hours=1)) == {"at_risk": 0, "breached": 0}
    with seeded.uow(read_only=True) as uow:
        types = [e.type for e in history.events_of(uow.conn, order_id)]
    assert types.count("order.sla_at_risk") == 1
    assert types.count("order.sla_breached") == 1


def test_a_breach_found_late_fires_at_risk_then_breached_in_one_run(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    with_policy(client, admin, {"ship_within_days": 0, "timezone": "UTC",
                                "working_days": EVERY_DAY})  # fmt: skip
    create(client, admin, "S2", datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    with seeded.uow() as uow:
        assert check_sla(uow, now=datetime(2026, 11, 26, tzinfo=UTC)) == {
            "at_risk": 1,
            "breached": 1,
        }


def test_an_orders_sla_shows_its_dates_and_state(client: TestClient, admin: dict[str, str]) -> None:
    with_policy(client, admin)
    order_id = create(client, admin, "V1", datetime.fromisoformat("2026-11-20T14:30:00+01:00"))
    got = client.get(f"/v1/orders/{order_id}/sla", headers=admin).json()
    assert got["ship_by"].startswith("2026-11-24T22:59:00")
    assert got["state"] == "breached"  # long past, still unshipped
    assert client.get("/v1/orders/nope/sla", headers=admin).status_code == 404


def test_the_channels_api_refuses_an_invalid_sla_policy_with_its_fields(
    client: TestClient, admin: dict[str, str]
) -> None:
    response = client.patch(
        "/v1/channels/web", headers=admin, json={"sla": {"timezone": "Nowhere/Land", "cutoff": "x"}}
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"sla.timezone", "sla.cutoff"}


def test_the_demo_seed_gives_orders_ship_by_and_a_simulated_3pl(container: Container) -> None:
    seed(container, orders=3)
    with container.uow(read_only=True) as uow:
        providers = [p.code for p in uow.fulfilment.providers()]
        native = select(t.orders.c.id).where(t.orders.c.channel_code.in_(["web", "app"]))
        ids = [r.id for r in uow.conn.execute(native)]
        dates = [uow.fulfilment.sla_dates(order_id)[0] for order_id in ids]
    assert providers == ["sim-3pl"]
    assert len(ids) == 3
    assert all(d is not None for d in dates)
