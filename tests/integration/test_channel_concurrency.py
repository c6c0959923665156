"""The same webhook delivered several times at once still makes exactly one order."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from orderhub.bootstrap import Container
from orderhub.channels import shopify
from orderhub.services.channel_orders import ChannelResult, receive_channel_order
from orderhub.store.tables import order_events, orders
from tests.support.channels import fixture_text, seed_channels

THREADS = 6


def test_concurrent_duplicate_deliveries_create_one_order(seeded: Container) -> None:
    seed_channels(seeded)
    body = fixture_text("shopify/orders_create_tax_included_presentment.json").encode()
    [item] = shopify.read_webhook("shop", body, {"x-shopify-topic": "orders/create"})
    barrier = threading.Barrier(THREADS)
    results: list[ChannelResult] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            barrier.wait()
            with seeded.uow(actor="test") as uow:
                results.append(receive_channel_order(uow, item=item))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=deliver) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(r.outcome.value for r in results) == ["created"] + ["unchanged"] * (THREADS - 1)
    assert len({r.order_id for r in results}) == 1
    with seeded.uow(read_only=True) as uow:
        assert uow.conn.execute(select(func.count()).select_from(orders)).scalar_one() == 1
        events = uow.conn.execute(select(order_events.c.type)).scalars().all()
    assert events == ["order.received"]
