"""The living demo's traffic goes through the real ingest paths and stays on loopback."""

from __future__ import annotations

from collections import Counter

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from orderhub.api.app import create_app
from orderhub.bootstrap import Container
from orderhub.demo import _PEOPLE, _PRICES, seed
from orderhub.demo_traffic import TrafficSimulator
from orderhub.store import tables as t
from orderhub.workers.relay import make_worker


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
