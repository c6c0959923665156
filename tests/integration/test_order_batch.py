"""POST /v1/orders:batch — many orders, one transaction, a result each, on both databases."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from orderhub.bootstrap import Container
from orderhub.channels import native
from orderhub.domain.access import Role
from orderhub.services.ingest import Incoming, Outcome, ingest_batch
from orderhub.store import tables
from orderhub.store.repositories import OrderRepository
from tests.conftest import bearer, make_key, native_order


def _mixed() -> list[dict[str, Any]]:
    """New, its repeat, one that exists already, one invalid (index 3), one unknown SKU."""
    invalid = native_order("B-4")
    invalid["lines"] = [{"sku": "SKU-1", "quantity": 0, "unit_price": "1.00"}]
    unknown = native_order("B-5")
    unknown["lines"] = [{"sku": "NOPE", "quantity": 1, "unit_price": "1.00"}]
    return [native_order("B-1"), native_order("B-1"), native_order("B-0"), invalid, unknown]


def _count(container: Container, table: Any) -> int:
    with container.uow(read_only=True) as uow:
        return int(uow.conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_mixed_batch_answers_each_order_on_its_own(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    earlier = client.post("/v1/orders", json=native_order("B-0"), headers=admin).json()

    response = client.post("/v1/orders:batch", json={"orders": _mixed()}, headers=admin)

    assert response.status_code == 200, response.text
    body = response.json()
    results = body["results"]
    assert [r["outcome"] for r in results] == [
        "created", "existing", "existing", "error", "quarantined",
    ]  # fmt: skip
    assert [r["index"] for r in results] == [0, 1, 2, 3, 4]
    assert body["counts"] == {"created": 1, "existing": 2, "error": 1, "quarantined": 1}
    assert results[1]["order_id"] == results[0]["order_id"]  # the repeat within the batch
    assert results[2]["order_id"] == earlier["id"]
    problem = results[3]["problem"]
    assert problem["status"] == 422
    assert problem["type"].endswith("/validation_failed")
    assert [e["field"] for e in problem["errors"]] == ["orders.3.lines.0.quantity"]
    assert results[4]["quarantine_id"]
    assert results[4]["errors"][0]["code"] == "unknown_sku"
    created = client.get(f"/v1/orders/{results[0]['order_id']}", headers=admin).json()
    assert created["external_id"] == "B-1"
    assert created["totals"]["total"] == "31.59"
    events = client.get(f"/v1/orders/{created['id']}/events", headers=admin).json()
    assert [e["type"] for e in events] == ["order.received"]
    assert _count(seeded, tables.orders) == 2
    assert _count(seeded, tables.quarantine) == 1


def test_a_batch_is_one_transaction(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    commits: list[int] = []

    def count(_conn: object) -> None:
        commits.append(1)

    orders = [native_order(f"T-{n}") for n in range(40)]
    event.listen(seeded.engine, "commit", count)
    try:
        response = client.post("/v1/orders:batch", json={"orders": orders}, headers=admin)
    finally:
        event.remove(seeded.engine, "commit", count)
    assert response.json()["counts"] == {"created": 40}
    assert len(commits) == 1
    assert _count(seeded, tables.order_lines) == 80
    assert _count(seeded, tables.order_events) == 40
    assert _count(seeded, tables.outbox) == 40


def test_a_repeated_batch_creates_nothing_and_a_repeated_key_replays_the_answer(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    batch = {"orders": _mixed()}
    keyed = admin | {"Idempotency-Key": "batch-1"}
    first = client.post("/v1/orders:batch", json=batch, headers=keyed)
    replayed = client.post("/v1/orders:batch", json=batch, headers=keyed)
    assert replayed.headers.get("idempotent-replayed") == "true"
    assert replayed.json() == first.json()

    again = client.post("/v1/orders:batch", json=batch, headers=admin).json()
    outcomes = [r["outcome"] for r in again["results"]]
    assert outcomes == ["existing", "existing", "existing", "error", "quarantined"]
    assert [r["order_id"] for r in again["results"][:3]] == [
        r["order_id"] for r in first.json()["results"][:3]
    ]
    assert again["results"][4]["quarantine_id"] == first.json()["results"][4]["quarantine_id"]
    assert _count(seeded, tables.orders) == 2
    assert _count(seeded, tables.order_events) == 2


def test_more_than_a_thousand_orders_is_a_problem(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    orders = [native_order(f"L-{n}") for n in range(1001)]
    response = client.post("/v1/orders:batch", json={"orders": orders}, headers=admin)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["orders"]
    assert _count(seeded, tables.orders) == 0


def test_a_channel_key_gets_an_error_for_another_channels_order(
    client: TestClient, seeded: Container
) -> None:
    web_key = bearer(make_key(seeded, Role.CHANNEL, channel="web"))
    orders = [native_order("C-1"), native_order("C-2", channel="app")]
    response = client.post("/v1/orders:batch", json={"orders": orders}, headers=web_key)
    results = response.json()["results"]
    assert [r["outcome"] for r in results] == ["created", "error"]
    assert results[1]["problem"]["status"] == 403


def test_a_batch_the_database_refuses_is_retried_order_by_order(
    seeded: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = OrderRepository.add_new
    calls: list[int] = []

    def refuse_the_first(self: OrderRepository, orders: Any, **kwargs: Any) -> set[str]:
        calls.append(len(orders))
        if len(calls) == 1:
            raise IntegrityError("INSERT", {}, Exception("a row no check foresaw"))
        return real(self, orders, **kwargs)

    monkeypatch.setattr(OrderRepository, "add_new", refuse_the_first)
    items = [
        Incoming(
            native.NativeOrder.model_validate(native_order(f"R-{n}")).to_draft(), "native", "{}"
        )
        for n in range(3)
    ]
    with seeded.uow() as uow:
        results = ingest_batch(uow, items)
    assert [r.outcome for r in results] == [Outcome.CREATED] * 3
    assert calls == [3, 1, 1, 1]
    assert _count(seeded, tables.orders) == 3


def test_a_served_app_freezes_its_start_up_heap_and_thaws_it_at_shutdown(
    seeded: Container,
) -> None:
    """``orderhub serve`` builds its app with ``freeze_heap``: full collections then skip the
    start-up objects (they cost up to half the CPU of a batched order, docs/performance.md)."""
    import gc

    from orderhub.api.app import create_app
    from orderhub.heap import YOUNG_COLLECTION_THRESHOLD

    threshold = gc.get_threshold()
    with TestClient(create_app(seeded)) as test_client:  # tests build many apps: left alone
        assert gc.get_freeze_count() == 0
        assert test_client.get("/v1/health").status_code == 200
    with TestClient(create_app(seeded, freeze_heap=True)) as test_client:
        assert gc.get_freeze_count() > 10_000
        assert gc.get_threshold() == (YOUNG_COLLECTION_THRESHOLD, *threshold[1:])
        orders = [native_order(f"F-{n}") for n in range(3)]
        answer = test_client.post(
            "/v1/orders:batch",
            json={"orders": orders},
            headers=bearer(make_key(seeded, Role.ADMIN)),
        )
        assert answer.json()["counts"] == {"created": 3}
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == threshold


def test_a_quarantined_order_of_a_batch_keeps_the_text_its_validated_model_serializes_to(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    """The route drops each model once drafted and serializes the order again for a hold:
    the stored text is the one the validated model gave (stripped strings, defaults filled in,
    amounts as sent)."""
    unknown = native_order("Q-1", metadata={"note": "x"})
    unknown["lines"] = [{"sku": "NOPE", "quantity": 1, "unit_price": "1.5", "name": "  Mug  "}]

    response = client.post(
        "/v1/orders:batch", json={"orders": [native_order("Q-0"), unknown]}, headers=admin
    )

    assert [r["outcome"] for r in response.json()["results"]] == ["created", "quarantined"]
    with seeded.uow(read_only=True) as uow:
        stored = uow.conn.execute(select(tables.quarantine.c.payload)).scalar_one()
    assert stored == native.NativeOrder.model_validate(unknown).model_dump_json()
    assert '"name":"Mug"' in stored
    assert '"unit_price":"1.5"' in stored
