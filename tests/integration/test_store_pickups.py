"""Pick-up in store: the lifecycle through the API and the worker, the code, expiry on the
worker's schedule with a fake clock, and the store never swapped for another location."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from standardwebhooks import Webhook

from orderhub.api.app import create_app
from orderhub.bootstrap import Container, bootstrap
from orderhub.config import Settings
from orderhub.demo.history import HISTORY_DAYS
from orderhub.demo.hub import seed
from orderhub.demo.stores import seed_pickups
from orderhub.domain.access import Role
from orderhub.domain.catalog import Product
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.domain.pickups import MAX_CODE_FAILURES, code_matches, hash_code
from orderhub.domain.redaction import redact
from orderhub.services import stores
from orderhub.services.orders import release_hold
from orderhub.store import history
from orderhub.store import tables as t
from orderhub.store.migrate import upgrade
from orderhub.workers.schedules import Scheduler
from tests.conftest import bearer, make_key, native_order
from tests.integration.dashboard_support import signed_in, submit
from tests.integration.delivery_support import Receiver, receiver
from tests.integration.store_support import add_locations, drain, pickup_order, receive
from tests.support.clock import FakeClock


@pytest.fixture
def hooks() -> Iterator[Receiver]:
    with receiver() as r:
        yield r


@pytest.fixture
def hub(database_url: str) -> Iterator[tuple[Container, FakeClock]]:
    """A hub whose every "now" is a fake clock, that may call webhooks on loopback."""
    container = bootstrap(Settings(database_url=database_url, outbound_allowed_hosts=["127.0.0.1"]))
    clock = FakeClock()
    container.clock = clock
    with container.uow(actor="test") as uow:
        uow.channels.add(Channel(code="web", name="Web store", kind=ChannelKind.NATIVE))
        for sku in ("SKU-1", "SKU-2"):
            uow.catalog.upsert(Product(sku, sku, 250))
        uow.commit()
    yield container, clock
    container.close()


def types_of(container: Container, order_id: str) -> list[str]:
    with container.uow(read_only=True) as uow:
        return [e.type for e in history.events_of(uow.conn, order_id)]


def level(container: Container, sku: str, location: str) -> tuple[int, int]:
    with container.uow(read_only=True) as uow:
        row = uow.conn.execute(
            select(t.stock_levels.c.on_hand, t.stock_levels.c.reserved).where(
                t.stock_levels.c.sku == sku, t.stock_levels.c.location == location
            )
        ).one()
    return row.on_hand, row.reserved


def staff_keys(container: Container) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Headers of an admin, a warehouse clerk and the ``web`` channel's own key."""
    return (
        bearer(make_key(container, Role.ADMIN)),
        bearer(make_key(container, Role.WAREHOUSE)),
        bearer(make_key(container, Role.CHANNEL, channel="web")),
    )


def test_a_pickup_is_picked_made_ready_and_handed_over_only_on_its_code(
    hub: tuple[Container, FakeClock], hooks: Receiver
) -> None:
    container, clock = hub
    admin, clerk, shop = staff_keys(container)
    with TestClient(create_app(container)) as api:
        sub = api.post(
            "/v1/webhooks",
            json={"url": hooks.url, "event_types": ["order.ready_for_pickup", "order.picked_up"]},
            headers=admin,
        ).json()
        add_locations(api, admin)
        receive(api, admin, "SKU-1", "soho", 5)
        receive(api, admin, "SKU-1", "dc", 50)
        created = api.post("/v1/orders", json=pickup_order("P1", SKU_1=2), headers=shop)
        assert created.status_code == 201, created.text
        order_id = created.json()["id"]
        assert created.json()["delivery"] == {"type": "pickup", "location": "soho"}
        drain(container, clock)  # allocation, fulfilment, the pick-up
        order = api.get(f"/v1/orders/{order_id}", headers=admin).json()
        assert {a["location"] for a in order["allocations"]} == {"soho"}
        explanation = order["allocations"][0]["explanation"]
        assert explanation["planner"] == "pickup"
        assert "ship_from_store" not in explanation
        (pickup,) = api.get("/v1/pickups?location=soho&open=true", headers=clerk).json()["items"]
        assert (pickup["order_id"], pickup["status"]) == (order_id, "picking")
        pid = pickup["id"]

        code = api.post(f"/v1/pickups/{pid}/code", headers=shop).json()["pickup_code"]
        ready = api.post(f"/v1/pickups/{pid}/ready", headers=clerk).json()
        assert ready["status"] == "ready_for_pickup"
        assert ready["expires_at"].startswith((clock.now + timedelta(days=3)).date().isoformat())
        wrong = api.post(f"/v1/pickups/{pid}/picked_up", json={"code": "WRONG123"}, headers=clerk)
        assert wrong.status_code == 422
        assert wrong.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in wrong.json()["errors"]] == ["code"]
        assert api.get(f"/v1/pickups/{pid}", headers=clerk).json()["status"] == "ready_for_pickup"
        assert level(container, "SKU-1", "soho") == (5, 2)  # nothing moved on a wrong code
        ship = api.post(
            f"/v1/fulfillments/{pid}/ship",
            json={"lines": [{"line_id": order["lines"][0]["id"], "quantity": 2}], "carrier": "x"},
            headers=clerk,
        )
        assert ship.status_code == 409  # a pick-up is never "shipped" without its code

        spaced = f" {code[:4].lower()}-{code[4:]} "
        done = api.post(f"/v1/pickups/{pid}/picked_up", json={"code": spaced}, headers=clerk)
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "picked_up"
        again = api.post(f"/v1/pickups/{pid}/picked_up", json={"code": code}, headers=clerk)
        assert again.status_code == 409
        order = api.get(f"/v1/orders/{order_id}", headers=admin).json()
    assert order["status"] == "completed"
    assert [s["carrier"] for s in order["shipments"]] == ["pickup"]
    assert level(container, "SKU-1", "soho") == (3, 0)  # consumed
    types = types_of(container, order_id)
    assert types.index("order.ready_for_pickup") < types.index("order.picked_up")
    drain(container, clock)  # the webhooks
    verifier = Webhook(sub["secret"])
    bodies = [verifier.verify(r.body, r.headers) for r in hooks.received]
    assert [b["type"] for b in bodies] == ["order.ready_for_pickup", "order.picked_up"]
    assert bodies[0]["data"]["location"] == "soho"
    assert all(code not in r.body.decode() for r in hooks.received)
    with container.uow(read_only=True) as uow:
        stored = uow.conn.execute(select(t.pickups.c.code_hash)).scalar_one()
        outbox = " ".join(str(r) for r in uow.conn.execute(select(t.outbox)))
    assert code not in stored
    assert code not in outbox


def test_five_wrong_codes_lock_the_pickup_until_a_fresh_code_is_issued(
    hub: tuple[Container, FakeClock],
) -> None:
    container, clock = hub
    admin, clerk, shop = staff_keys(container)
    with TestClient(create_app(container)) as api:
        add_locations(api, admin)
        receive(api, admin, "SKU-1", "soho", 5)
        created = api.post("/v1/orders", json=pickup_order("P9", SKU_1=1), headers=shop)
        drain(container, clock)
        (pickup,) = api.get("/v1/pickups?location=soho&open=true", headers=clerk).json()["items"]
        pid = pickup["id"]
        code = api.post(f"/v1/pickups/{pid}/code", headers=shop).json()["pickup_code"]
        api.post(f"/v1/pickups/{pid}/ready", headers=clerk)

        def hand_over(shown: str) -> tuple[int, str]:
            answer = api.post(f"/v1/pickups/{pid}/picked_up", json={"code": shown}, headers=clerk)
            return answer.status_code, answer.json()["type"].rsplit("/", 1)[-1]

        for n in range(MAX_CODE_FAILURES):
            assert hand_over(f"WRONG{n:03d}") == (422, "validation_failed"), n
            shown = api.get(f"/v1/pickups/{pid}", headers=clerk).json()
            assert shown["code_locked"] is (n + 1 == MAX_CODE_FAILURES)
        # Locked: the right code is refused too, and refusing it counts nothing more.
        assert hand_over(code) == (409, "pickup_code_locked")
        assert api.get(f"/v1/pickups/{pid}", headers=clerk).json()["status"] == "ready_for_pickup"
        assert level(container, "SKU-1", "soho") == (5, 1)

        fresh = api.post(f"/v1/pickups/{pid}/code", headers=shop).json()["pickup_code"]
        assert api.get(f"/v1/pickups/{pid}", headers=clerk).json()["code_locked"] is False
        assert hand_over(code) == (422, "validation_failed")  # the old code stopped working
        done = api.post(f"/v1/pickups/{pid}/picked_up", json={"code": fresh}, headers=clerk)
        assert done.status_code == 200, done.text
    assert created.status_code == 201
    assert level(container, "SKU-1", "soho") == (4, 0)


def test_a_ready_pickup_not_collected_expires_on_schedule_and_its_units_wake_a_backorder(
    hub: tuple[Container, FakeClock],
) -> None:
    container, clock = hub
    admin = bearer(make_key(container, Role.ADMIN))
    with TestClient(create_app(container)) as api:
        add_locations(api, admin)
        receive(api, admin, "SKU-1", "soho", 5)  # 3 sellable: the store keeps 2
        pickup_id = api.post("/v1/orders", json=pickup_order("P1", SKU_1=3), headers=admin)
        order_id = pickup_id.json()["id"]
        drain(container, clock)
        waiting = api.post(
            "/v1/orders",
            json=native_order("W1", lines=[{"sku": "SKU-1", "quantity": 3, "unit_price": "1.00"}]),
            headers=admin,
        ).json()["id"]
        drain(container, clock)
        assert api.get(f"/v1/orders/{waiting}", headers=admin).json()["status"] == "backordered"
        (pickup,) = api.get("/v1/pickups", headers=admin).json()["items"]
        api.post(f"/v1/pickups/{pickup['id']}/ready", headers=admin)
        scheduler = Scheduler(container, owner="w1", clock=clock)
        clock.advance(timedelta(days=3).total_seconds() - 60)
        scheduler.run_due()
        assert api.get(f"/v1/pickups/{pickup['id']}", headers=admin).json()["status"] == (
            "ready_for_pickup"
        )
        clock.advance(120)
        scheduler.run_due()
        assert api.get(f"/v1/pickups/{pickup['id']}", headers=admin).json()["status"] == "expired"
        assert api.get(f"/v1/orders/{order_id}", headers=admin).json()["status"] == "cancelled"
        woken = api.get(f"/v1/orders/{waiting}", headers=admin).json()
    assert woken["status"] == "allocated"
    assert {a["location"] for a in woken["allocations"]} == {"soho"}
    assert level(container, "SKU-1", "soho") == (5, 3)
    types = types_of(container, order_id)
    assert "order.pickup_expired" in types
    assert "order.cancelled" in types


def test_a_pickup_short_at_its_store_waits_on_hold_and_is_never_sent_from_elsewhere(
    hub: tuple[Container, FakeClock],
) -> None:
    container, clock = hub
    admin = bearer(make_key(container, Role.ADMIN))
    with TestClient(create_app(container)) as api:
        add_locations(api, admin)
        receive(api, admin, "SKU-1", "soho", 3)  # 1 sellable beyond the safety stock of 2
        receive(api, admin, "SKU-1", "dc", 100)
        order_id = api.post("/v1/orders", json=pickup_order("P1", SKU_1=2), headers=admin).json()[
            "id"
        ]
        drain(container, clock)
        order = api.get(f"/v1/orders/{order_id}", headers=admin).json()
        (exception,) = api.get("/v1/exceptions", headers=admin).json()["items"]
        assert order["status"] == "on_hold"
        assert order["hold_reason"] == "pickup_out_of_stock"
        assert order["allocations"] == []
        assert exception["type"] == "pickup_out_of_stock"
        assert "transfer" in exception["suggested_action"]
        assert "cancel" in exception["suggested_action"]
        assert "SKU-1 short by 1" in exception["detail"]
        receive(api, admin, "SKU-1", "soho", 1)  # the operator transfers a unit, releases
        with container.uow(actor="operator") as uow:
            release_hold(uow, order_id=order_id)
        order = api.get(f"/v1/orders/{order_id}", headers=admin).json()
    assert order["status"] == "allocated"
    assert {(a["location"], a["quantity"]) for a in order["allocations"]} == {("soho", 2)}


def test_a_pickup_must_name_an_active_store_taking_pickups(
    hub: tuple[Container, FakeClock],
) -> None:
    container, _ = hub
    admin = bearer(make_key(container, Role.ADMIN))
    with TestClient(create_app(container)) as api:
        add_locations(api, admin)
        for store, why in (("nowhere", "no location"), ("dc", "not an active store")):
            refused = api.post("/v1/orders", json=pickup_order("P1", store=store), headers=admin)
            assert refused.status_code == 422
            (error,) = refused.json()["errors"]
            assert error["field"] == "delivery.location"
            assert why in error["message"]
        no_store = native_order("P2", delivery={"type": "pickup"})
        assert api.post("/v1/orders", json=no_store, headers=admin).status_code == 422
        assert api.get("/v1/orders", headers=admin).json()["items"] == []


def test_pickup_codes_are_kept_as_salted_slow_hashes() -> None:
    first, second = hash_code("ABCD2345"), hash_code("ABCD2345")
    assert first != second  # salted
    assert first.startswith("pbkdf2_sha256$")
    assert code_matches("abcd-2345", first)
    assert not code_matches("ABCD2346", first)
    assert not code_matches("ABCD2345", None)
    # a stored idempotent answer of POST /v1/pickups/{id}/code keeps no code in clear
    assert redact('{"id": "f1", "pickup_code": "ABCD2345"}') == '{"id": "f1", "pickup_code": "***"}'


def test_the_store_view_lists_pickups_marks_ready_and_hands_over_on_the_code(
    hub: tuple[Container, FakeClock],
) -> None:
    container, clock = hub
    admin = bearer(make_key(container, Role.ADMIN))
    with TestClient(create_app(container)) as api:
        add_locations(api, admin)
        receive(api, admin, "SKU-1", "soho", 9)
        for number in ("P1", "P2"):
            api.post("/v1/orders", json=pickup_order(number), headers=admin)
        drain(container, clock)
        items = api.get("/v1/pickups", headers=admin).json()["items"]
        pid = {i["order_id"]: i["id"] for i in items}
        token = signed_in(api, container, Role.WAREHOUSE, name="clerk")
        page = api.get("/stores/soho")
        assert page.status_code == 200
        assert 'data-testid="pickup-P1"' in page.text
        assert "Mark ready" in page.text
        first = next(i["id"] for i in items)
        ready = submit(api, f"/stores/soho/pickups/{first}/ready", token)
        assert "Marked ready" in ready.text
        assert "Hand over" in ready.text
        code = api.post(f"/v1/pickups/{first}/code", headers=admin).json()["pickup_code"]
        wrong = submit(api, f"/stores/soho/pickups/{first}/picked_up", token, {"pickup_code": "X"})
        assert "does not match" in wrong.text
        assert api.get(f"/v1/pickups/{first}", headers=admin).json()["status"] == (
            "ready_for_pickup"
        )
        done = submit(api, f"/stores/soho/pickups/{first}/picked_up", token, {"pickup_code": code})
        assert "Handed over." in done.text
        order_page = api.get(f"/orders/{next(i['order_id'] for i in items if i['id'] == first)}")
        assert "Pick-up in store" in order_page.text
        assert api.get(f"/v1/pickups/{first}", headers=admin).json()["status"] == "picked_up"
        clock.advance(timedelta(days=1).total_seconds())
        other = next(i for i in pid.values() if i != first)
        submit(api, f"/stores/soho/pickups/{other}/ready", token)
        clock.advance(timedelta(days=4).total_seconds())  # past the 3 days: overdue
        overdue = api.get("/stores/soho").text
        assert overdue.index("Overdue") < overdue.index(f"/stores/soho/pickups/{other}/picked_up")
        assert overdue.index(f"/stores/soho/pickups/{other}/picked_up") < overdue.index(
            "Ready for pick-up"
        )
        support = TestClient(create_app(container))
        agent = signed_in(support, container, Role.SUPPORT, name="agent")
        refused = submit(support, f"/stores/soho/pickups/{other}/ready", agent)
        assert refused.status_code == 403
        assert "fulfilment:write" in refused.text
        assert "Stores" in support.get("/stores").text


def test_the_demo_shows_a_store_with_pickups_at_each_step(container: Container) -> None:
    upgrade(container.engine)
    seed(container, orders=0)
    codes = seed_pickups(container)
    with container.uow(read_only=True) as uow:
        found, _ = uow.pickups.page(location="lon", status=None, limit=10, cursor=None)
        orders = {p.order_id: uow.orders.get(p.order_id) for p in found}
    steps = sorted((orders[p.order_id].external_id, p.status.value) for p in found)
    assert steps == [
        ("WEB-PICKUP-1", "picked_up"),
        ("WEB-PICKUP-2", "ready_for_pickup"),
        ("WEB-PICKUP-3", "picking"),
    ]
    assert list(codes) == ["WEB-PICKUP-2"]
    ready = next(p for p in found if p.status.value == "ready_for_pickup")
    with container.uow(actor="test") as uow:
        stores.hand_over(uow, fulfilment_id=ready.fulfilment_id, code=codes["WEB-PICKUP-2"])


def test_the_demo_opens_its_pickups_after_weeks_of_history(container: Container) -> None:
    """`make demo` seeds the history first: its backordered orders' claims must not leave the
    store short of the pick-ups (the demo crashed on it)."""
    upgrade(container.engine)
    seed(container, history_days=HISTORY_DAYS)
    assert list(seed_pickups(container)) == ["WEB-PICKUP-2"]
