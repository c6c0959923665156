"""The defects the model found (or was built to find), each as its shortest sequence of model
steps: an xfail while the switch in tests/model/invariants.py says the defect is still there,
a plain regression test once the lead flips it (strict: a fix without the flip fails here)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from orderhub.store import tables as t
from tests.conftest import DatabaseFactory
from tests.model import invariants
from tests.model.machine import HubModel, hub_model
from tests.model.test_hub_model import on_postgres


@pytest.fixture
def model(request: pytest.FixtureRequest, fresh_databases: DatabaseFactory) -> Iterator[HubModel]:
    machine = hub_model(fresh_databases, postgres=on_postgres(request), via_http=False)()
    yield machine
    machine.teardown()


@pytest.mark.xfail(
    not invariants.WAKE_BACKORDERS_FIXED,
    reason="issue #15: cancelling a dispatched order does not wake backorders",
    raises=AssertionError,
    strict=True,
)
def test_cancelling_a_dispatched_order_wakes_the_backorder_waiting_for_its_units(
    model: HubModel,
) -> None:
    model.stock(kind="receive", sku="SKU-1", location="east", units=2, channel="web")
    model.ingest(channel="web", lines=[("SKU-1", 2)], unknown=False, again="no", pick=0)
    model.run_worker(cycles=None)  # allocated, dispatched to the warehouse
    model.ingest(channel="app", lines=[("SKU-1", 2)], unknown=False, again="no", pick=0)
    model.run_worker(cycles=None)  # waits: backordered
    model.cancel(pick=0, whole=True, line=0, units=1)  # the first order gives its 2 units back
    model.run_worker(cycles=None)
    with model.container.uow(read_only=True) as uow:
        invariants.check_backorders_woken(uow, model.rejected_at)


@pytest.mark.xfail(
    not invariants.LINE_CANCEL_ALLOCATES_FIXED,
    reason="found by the model: cancelling the short units of a backorder leaves it waiting",
    raises=AssertionError,
    strict=True,
)
def test_cancelling_the_short_units_of_a_backordered_order_allocates_the_rest(
    model: HubModel,
) -> None:
    model.stock(kind="receive", sku="SKU-3", location="east", units=5, channel="web")
    model.ingest(
        channel="app", lines=[("SKU-3", 2), ("SKU-2", 4)], unknown=False, again="no", pick=0
    )
    model.run_worker(cycles=None)  # waits for SKU-2, of which there is none
    model.cancel(pick=0, whole=False, line=1, units=4)  # the buyer drops the SKU-2 units
    model.run_worker(cycles=None)
    with model.container.uow(read_only=True) as uow:
        invariants.check_backorders_woken(uow, model.rejected_at)


@pytest.mark.xfail(
    not invariants.REFUSED_EXCHANGE_FIXED,
    reason="issue #15: a refused exchange still creates the replacement order",
    raises=AssertionError,
    strict=True,
)
def test_a_refused_exchange_writes_nothing(model: HubModel) -> None:
    model.stock(kind="receive", sku="SKU-1", location="east", units=5, channel="web")
    model.ingest(channel="web", lines=[("SKU-1", 3)], unknown=False, again="no", pick=0)
    model.run_worker(cycles=None)
    model.ship(pick=0, everything=True)
    model.after_sale(kind="refund", pick=0, line=0, units=3, swap="SKU-2")  # all 3 refunded
    model.after_sale(kind="exchange", pick=0, line=0, units=1, swap="SKU-2")  # refused: 422
    with model.container.uow(read_only=True) as uow:
        orders = uow.conn.execute(select(t.orders.c.external_id)).scalars().all()
    assert orders == ["M-1"], f"the refused exchange left {orders}"


def test_a_dispatch_retried_after_a_provider_outage_reaches_the_provider(model: HubModel) -> None:
    model.stock(kind="receive", sku="SKU-1", location="east", units=5, channel="web")
    model.inject_fault(kind="provider_fail", calls=1)  # the warehouse system is down once
    model.ingest(channel="web", lines=[("SKU-1", 3)], unknown=False, again="no", pick=0)
    model.run_worker(cycles=None)  # allocated; the dispatch fails, is retried, and resumes
    with model.container.uow(read_only=True) as uow:
        statuses = [f.status.value for f in uow.fulfilment.for_order(model.order_ids[0])]
    assert statuses == ["accepted"], f"fulfilment orders: {statuses}"
