"""Orders that cannot be normalized wait whole in quarantine and become orders on replay."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import httpx
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from orderhub.bootstrap import Container
from orderhub.channels import native
from orderhub.services import ingest
from orderhub.services.ingest import Incoming, Outcome
from orderhub.store.migrate import alembic_config
from orderhub.store.tables import quarantine
from tests.conftest import native_order

PARALLEL = 10


def _unknown_sku_order(external_id: str = "Q-1") -> dict[str, object]:
    body = native_order(external_id)
    body["lines"] = [
        {"channel_sku": "WEB-MUG", "quantity": 1, "unit_price": "12.00"},
        {"sku": "SKU-1", "quantity": 1, "unit_price": "3.00"},
    ]
    return body


def test_an_unknown_sku_is_kept_in_quarantine_and_writes_no_order(
    client: TestClient, admin: dict[str, str]
) -> None:
    response = client.post("/v1/orders", json=_unknown_sku_order(), headers=admin)
    assert response.status_code == 202
    held = response.json()
    assert held["status"] == "quarantined"
    assert held["errors"] == [
        {"field": "lines.0.channel_sku", "message": "unknown SKU 'WEB-MUG'", "code": "unknown_sku"}
    ]
    assert client.get("/v1/orders", headers=admin).json()["items"] == []
    listed = client.get("/v1/quarantine", headers=admin).json()["items"]
    assert [entry["id"] for entry in listed] == [held["quarantine_id"]]
    assert listed[0]["external_id"] == "Q-1"
    assert '"WEB-MUG"' in listed[0]["payload"]


def test_a_repeat_of_a_quarantined_order_updates_the_entry_instead_of_adding_one(
    client: TestClient, admin: dict[str, str]
) -> None:
    first = client.post("/v1/orders", json=_unknown_sku_order(), headers=admin).json()
    second = client.post("/v1/orders", json=_unknown_sku_order(), headers=admin).json()
    assert first["quarantine_id"] == second["quarantine_id"]
    entry = client.get(f"/v1/quarantine/{first['quarantine_id']}", headers=admin).json()
    assert entry["attempts"] == 2


def _race(url: str, headers: dict[str, str], body: dict[str, object]) -> list[httpx.Response]:
    """PARALLEL posts of ``body`` released at once, then one more after them."""
    barrier = threading.Barrier(PARALLEL)
    answers: list[httpx.Response] = []

    def post() -> None:
        with httpx.Client(base_url=url, timeout=30) as http:
            barrier.wait()
            answers.append(http.post("/v1/orders", json=body, headers=headers))

    threads = [threading.Thread(target=post) for _ in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with httpx.Client(base_url=url, timeout=30) as http:
        answers.append(http.post("/v1/orders", json=body, headers=headers))
    return answers


def test_concurrent_first_posts_of_one_order_make_one_entry_and_answer_alike(
    live_server: str, admin: dict[str, str], seeded: Container
) -> None:
    orders = ["Q-1", "Q-2", "Q-3"]  # three races: one alone is lost only most of the time
    for external_id in orders:
        answers = _race(live_server, admin, _unknown_sku_order(external_id))
        assert [r.status_code for r in answers] == [202] * (PARALLEL + 1), [r.text for r in answers]
        assert len({r.json()["quarantine_id"] for r in answers}) == 1
    with seeded.uow(read_only=True) as uow:
        entries = uow.conn.execute(
            select(quarantine.c.external_id, quarantine.c.attempts).order_by(
                quarantine.c.external_id
            )
        ).all()
    assert [tuple(e) for e in entries] == [(o, PARALLEL + 1) for o in orders]


def test_the_migration_merges_twin_entries_keeping_the_replayed_one(seeded: Container) -> None:
    config = alembic_config()
    with seeded.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0015")
    now = datetime.now(UTC)
    twin = {"channel_code": "web", "source": "native", "payload": "{}", "reason": "unknown SKU",
            "errors": [], "created_at": now, "updated_at": now}  # fmt: skip
    with seeded.engine.begin() as connection:
        connection.execute(
            quarantine.insert(),
            [
                {**twin, "id": "a", "external_id": "Q-1", "status": "open", "attempts": 2},
                {**twin, "id": "b", "external_id": "Q-1", "status": "replayed", "attempts": 1,
                 "order_id": "o-1"},
                {**twin, "id": "c", "external_id": "Q-1", "status": "open", "attempts": 3},
                {**twin, "id": "d", "external_id": "Q-2", "status": "open", "attempts": 1},
                {**twin, "id": "e", "external_id": None, "status": "open", "attempts": 1},
                {**twin, "id": "f", "external_id": None, "status": "open", "attempts": 1},
            ],
        )  # fmt: skip
    with seeded.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    with seeded.engine.connect() as connection:
        kept = connection.execute(
            select(quarantine.c.id, quarantine.c.attempts).order_by(quarantine.c.id)
        ).all()
        assert [tuple(r) for r in kept] == [("b", 6), ("d", 1), ("e", 1), ("f", 1)]
        assert connection.execute(select(func.count()).select_from(quarantine)).scalar() == 4


def test_replay_after_mapping_the_channel_sku_creates_the_order_once(
    client: TestClient, admin: dict[str, str]
) -> None:
    held = client.post("/v1/orders", json=_unknown_sku_order(), headers=admin).json()
    entry_id = held["quarantine_id"]
    still = client.post(f"/v1/quarantine/{entry_id}/replay", headers=admin).json()
    assert still["outcome"] == "quarantined"
    assert still["quarantine"]["attempts"] == 2

    mapped = client.post(
        "/v1/channels/web/sku-map",
        json={"mappings": [{"channel_sku": "WEB-MUG", "sku": "SKU-3"}]},
        headers=admin,
    )
    assert mapped.status_code == 200
    replayed = client.post(f"/v1/quarantine/{entry_id}/replay", headers=admin).json()
    assert replayed["outcome"] == "created"
    assert replayed["quarantine"]["status"] == "replayed"
    order = client.get(f"/v1/orders/{replayed['order_id']}", headers=admin).json()
    assert [(line["sku"], line["channel_sku"]) for line in order["lines"]] == [
        ("SKU-3", "WEB-MUG"),
        ("SKU-1", None),
    ]
    assert order["totals"]["subtotal"] == "15.00"
    again = client.post(f"/v1/quarantine/{entry_id}/replay", headers=admin).json()
    assert (again["outcome"], again["order_id"]) == ("existing", replayed["order_id"])
    assert client.get("/v1/quarantine", headers=admin).json()["items"] == []
    assert len(client.get("/v1/orders", headers=admin).json()["items"]) == 1


def test_replay_after_adding_the_product(client: TestClient, admin: dict[str, str]) -> None:
    body = native_order("Q-2")
    body["lines"] = [{"sku": "NEW-SKU", "quantity": 2, "unit_price": "1.00"}]
    held = client.post("/v1/orders", json=body, headers=admin).json()
    product = {"sku": "NEW-SKU", "name": "New", "weight_grams": 100}
    assert client.post("/v1/products", json=product, headers=admin).status_code == 201
    replayed = client.post(f"/v1/quarantine/{held['quarantine_id']}/replay", headers=admin)
    assert replayed.json()["outcome"] == "created"


def test_mapping_to_an_unknown_master_sku_is_refused(
    client: TestClient, admin: dict[str, str]
) -> None:
    response = client.post(
        "/v1/channels/web/sku-map",
        json={
            "mappings": [{"channel_sku": "A", "sku": "SKU-1"}, {"channel_sku": "B", "sku": "NOPE"}]
        },
        headers=admin,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "mappings.1.sku"


def test_a_batch_closes_the_entries_of_the_orders_that_arrive_fixed_and_no_other(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    """The orders of a batch close their own keys' open entries — not an entry whose channel
    and external id each occur in the batch, but not together. The open entries are read with
    the existing orders, in one statement at the transaction's start."""
    held = {
        external: client.post(
            "/v1/orders", json=_unknown_sku_order(external), headers=admin
        ).json()["quarantine_id"]
        for external in ("Q-1", "Q-2")
    }
    fixed = [
        native.NativeOrder.model_validate(native_order(external, channel=channel))
        for channel, external in (("web", "Q-1"), ("app", "Q-2"))
    ]
    statements: list[str] = []

    def record(_c: object, _cur: object, statement: str, *_args: object) -> None:
        statements.append(" ".join(statement.split()))

    event.listen(seeded.engine, "before_cursor_execute", record)
    try:
        with seeded.uow() as uow:
            results = ingest.ingest_batch(
                uow, [Incoming(o.to_draft(), native.SOURCE, o.model_dump_json()) for o in fixed]
            )
    finally:
        event.remove(seeded.engine, "before_cursor_execute", record)
    assert [r.outcome for r in results] == [Outcome.CREATED, Outcome.CREATED]
    with seeded.uow(read_only=True) as uow:
        entries = {
            row.id: (row.status, row.order_id)
            for row in uow.conn.execute(
                select(quarantine.c.id, quarantine.c.status, quarantine.c.order_id)
            )
        }
    assert entries == {held["Q-1"]: ("replayed", results[0].order_id), held["Q-2"]: ("open", None)}
    reads = [s for s in statements if s.startswith("SELECT") and "FROM quarantine" in s]
    assert len(reads) == 1
    assert "FROM orders" in reads[0]
