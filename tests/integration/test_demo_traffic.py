"""The living demo's traffic goes through the real ingest paths and stays on loopback; its
credential-less marketplaces take orders in and leave no dead letters."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from orderhub.api.app import create_app
from orderhub.bootstrap import Container
from orderhub.channels.api_client import forget_shared_state
from orderhub.channels.marketplace_demo import DEMO_MARKETPLACES
from orderhub.clock import utc_now
from orderhub.demo.hub import _PEOPLE, _PRICES, seed
from orderhub.demo.stores import seed_pickups
from orderhub.demo.traffic import TrafficSimulator
from orderhub.services import fulfilment_wiring
from orderhub.store import tables as t
from orderhub.workers.relay import Worker, make_worker


def channels_of_orders(container: Container) -> Counter[str]:
    with container.uow(read_only=True) as uow:
        return Counter(uow.conn.execute(select(t.orders.c.channel_code)).scalars())


def test_a_few_rounds_bring_orders_in_every_channels_format_receipts_and_a_cancellation(
    container: Container,
) -> None:
    key = seed(container, orders=0)
    before = channels_of_orders(container)
    with TestClient(create_app(container)) as client:
        simulator = TrafficSimulator(
            container, base_url="http://127.0.0.1", api_key=key, prices=_PRICES,
            people=[p[1] for p in _PEOPLE], transport=client._transport,
        )  # fmt: skip
        for round_ in range(7):
            simulator.round(round_)
        worker = make_worker(container, worker_id="test")
        while worker.run_once():  # order.allocated → fulfilment orders, dispatched and accepted
            pass
        worker.close()
        simulator.ship_oldest(older_than=0)
    gained = channels_of_orders(container) - before
    assert {"shopify", "woo", "magento", "partner"} <= set(gained)
    assert gained["web"] + gained["app"] == 2
    assert simulator.sent["receipts"] == 1
    with container.uow(read_only=True) as uow:
        receipts = (
            uow.conn.execute(
                select(t.stock_movements.c.reference).where(t.stock_movements.c.kind == "receipt")
            )
            .scalars()
            .all()
        )
        cancelled = uow.conn.execute(
            select(t.orders.c.id).where(t.orders.c.status == "cancelled")
        ).all()
    assert any(r.startswith("PO-DEMO-") for r in receipts)
    assert len(cancelled) == simulator.sent.get("cancellations", 0) == 1
    assert simulator.sent["shipments"] == 1
    with container.uow(read_only=True) as uow:
        tracking = uow.conn.execute(select(t.shipments.c.tracking_number)).scalars().all()
    assert len(tracking) == 1
    assert tracking[0].startswith("1Z")


@pytest.mark.parametrize("url", ["http://10.0.0.1:8000", "https://example.com"])
def test_the_traffic_refuses_to_go_anywhere_but_loopback(container: Container, url: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        TrafficSimulator(container, base_url=url, api_key="k", prices={}, people=[])


def run_until_idle(worker: Worker) -> None:
    while worker.run_once():
        pass


def test_the_demo_marketplaces_take_orders_in_ship_and_leave_no_dead_letter(
    container: Container,
) -> None:
    forget_shared_state()
    key = seed(container, orders=0)
    marketplaces = [c.code for c in DEMO_MARKETPLACES]
    worker = make_worker(container, worker_id="test")
    try:
        run_until_idle(worker)  # allocation, dispatch: Walmart's acknowledgement was due here
        with container.uow(read_only=True) as uow:
            orders = (
                uow.conn.execute(
                    select(t.orders.c.id).where(t.orders.c.channel_code.in_(marketplaces))
                )
                .scalars()
                .all()
            )
            accepted = [
                f
                for order_id in orders
                for f in uow.fulfilment.for_order(order_id)
                if f.status.value == "accepted" and f.provider == "warehouse"
            ]
        assert len(orders) == len(marketplaces)
        with TestClient(create_app(container)) as client:  # the own warehouses ship theirs
            for f in accepted:
                lines = [{"line_id": x.line_id, "quantity": x.quantity} for x in f.lines]
                shipped = client.post(
                    f"/v1/fulfillments/{f.id}/ship",
                    headers={"Authorization": f"Bearer {key}"},
                    json={"lines": lines, "carrier": "ups", "tracking_number": f"1Z{f.id[-8:]}"},
                )
                assert shipped.status_code < 300, shipped.text
        with container.uow(actor="test") as uow:  # the simulated 3PL ships its own
            fulfilment_wiring.tick(uow, now=utc_now() + timedelta(hours=1))
        run_until_idle(worker)
    finally:
        worker.close()
        forget_shared_state()
    with container.engine.connect() as conn:
        shipments = conn.execute(
            select(t.shipments.c.id).where(t.shipments.c.order_id.in_(orders))
        ).all()
        rows = conn.execute(
            select(t.deliveries.c.consumer, t.deliveries.c.stream, t.deliveries.c.last_error).where(
                t.deliveries.c.status == "dead"
            )
        ).all()
        to_marketplaces = conn.execute(
            select(t.deliveries.c.consumer).where(
                t.deliveries.c.consumer.startswith("channels."),
                t.deliveries.c.stream.in_([f"order:{o}" for o in orders]),
            )
        ).all()
    assert shipments, "no marketplace order shipped: channels.ship was never put to the test"
    assert rows == []
    assert to_marketplaces == []


def test_the_warehouse_staff_leave_pick_ups_to_the_store_counter(
    container: Container, caplog: pytest.LogCaptureFixture
) -> None:
    """A pick-up's fulfilment is accepted at the store's own warehouse provider, but the
    customer collects it with a code: the demo's staff must not report it shipped (the API
    refuses it with 409, once a traffic round for as long as the demo ran)."""
    key = seed(container, orders=0)
    seed_pickups(container)
    with container.uow(read_only=True) as uow:
        accepted = [f.id for f in uow.fulfilment.search(status="accepted", limit=200)]
        assert any(uow.pickups.is_pickup(f) for f in accepted)  # the case under test
    with TestClient(create_app(container)) as client:
        simulator = TrafficSimulator(
            container, base_url="http://127.0.0.1", api_key=key, prices=_PRICES,
            people=[p[1] for p in _PEOPLE], transport=client._transport,
        )  # fmt: skip
        with caplog.at_level(logging.WARNING, logger="orderhub.demo.traffic"):
            simulator.ship_oldest(older_than=0)
    assert "demo shipment answered" not in caplog.text
    with container.uow(read_only=True) as uow:
        still = {f.id for f in uow.fulfilment.search(status="accepted", limit=200)}
        pickups = {f for f in accepted if uow.pickups.is_pickup(f)}
    assert pickups <= still  # none reported shipped
