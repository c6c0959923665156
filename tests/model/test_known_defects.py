"""The defects the model found (or was built to find), each as its shortest sequence of model
steps: an xfail while the switch in tests/model/invariants.py says the defect is still there,
a plain regression test once the lead flips it (strict: a fix without the flip fails here)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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
