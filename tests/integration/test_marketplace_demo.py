"""The demo's marketplaces pull one order each through the real sync path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select

from orderhub.bootstrap import Container
from orderhub.channels.api_client import forget_shared_state
from orderhub.channels.marketplace_demo import seed_marketplaces
from orderhub.demo.hub import DEMO_PRODUCTS, demo_jobs
from orderhub.store import tables
from tests.marketplace_fixtures import order_by_external


def test_the_demo_marketplaces_each_yield_an_order_with_exact_totals(container: Container) -> None:
    forget_shared_state()
    with container.uow(actor="test") as uow:
        for product in DEMO_PRODUCTS:
            uow.catalog.upsert(product)
        uow.commit()
    counts = seed_marketplaces(lambda: container.uow(actor="test"))
    assert counts == {
        code: {"created": 1} for code in ("amazon", "ebay", "walmart", "etsy", "tiktok")
    }
    totals = {
        code: str(order_by_external(container, code, external_id).totals.total)
        for code, external_id in [
            ("amazon", "113-0000001-0000001"),
            ("ebay", "12-00001-00001"),
            ("walmart", "1800000000001"),
            ("etsy", "3000000001"),
            ("tiktok", "576400000000000001"),
        ]
    }
    assert totals == {
        "amazon": "44.79",
        "ebay": "30.00",
        "walmart": "16.20",
        "etsy": "21.00",
        "tiktok": "22.00",
    }
    forget_shared_state()


def test_the_demo_workers_later_polls_ask_the_simulated_apis_and_fail_nowhere(
    container: Container,
) -> None:
    """Five minutes on, the demo's poll finds the same orders again: no error, no duplicate."""
    forget_shared_state()
    with container.uow(actor="test") as uow:
        for product in DEMO_PRODUCTS:
            uow.catalog.upsert(product)
        uow.commit()
    seed_marketplaces(lambda: container.uow(actor="test"))
    poll = next(job for job in demo_jobs(container) if job.name == "marketplaces.poll")
    later = datetime.now(UTC) + timedelta(minutes=10)  # every channel's interval has passed
    results = poll.run(container, lambda: httpx.MockTransport(_refuse), later)
    assert sorted(results) == ["amazon", "ebay", "etsy", "tiktok", "walmart"]
    assert all(not isinstance(report, str) for report in results.values()), results
    with container.uow(read_only=True) as uow:
        assert not any(uow.marketplace_sync.get(code).last_error for code in results)
        assert uow.conn.execute(select(func.count()).select_from(tables.orders)).scalar() == 5
    forget_shared_state()


def _refuse(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"the demo poll reached the real {request.url.host}")
