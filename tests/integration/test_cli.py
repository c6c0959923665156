"""The orderhub command line against a real database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from orderhub.bootstrap import Container
from orderhub.cli import app
from tests.conftest import bearer, native_order

runner = CliRunner()


@pytest.fixture
def env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("ORDERHUB_DATABASE_URL", database_url)
    return database_url


def test_apikey_create_prints_the_secret_alone_on_the_last_line(
    env: str, client: TestClient
) -> None:
    result = runner.invoke(app, ["apikey", "create", "--role", "operator"])
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip().splitlines()[-1]
    assert secret.startswith("ohk_")
    assert " " not in secret
    assert client.get("/v1/orders", headers=bearer(secret)).status_code == 200


def test_apikey_for_an_unknown_channel_is_refused(env: str, seeded: Container) -> None:
    result = runner.invoke(app, ["apikey", "create", "--role", "channel", "--channel", "nope"])
    assert result.exit_code == 2


def test_db_upgrade_is_idempotent(env: str) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0


def test_audit_verify_passes_then_fails_naming_the_bad_event(
    env: str, client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    order = client.post("/v1/orders", json=native_order(), headers=admin).json()
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "1 events verified" in ok.output
    with seeded.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE order_events DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER order_events_no_update"))
        conn.execute(text("UPDATE order_events SET actor = 'mallory'"))
    bad = runner.invoke(app, ["audit", "verify"])
    assert bad.exit_code == 1
    assert order["id"] in bad.output


def test_audit_checkpoint_then_verify_names_a_cut_off_tail(
    env: str, client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    order = client.post("/v1/orders", json=native_order(), headers=admin).json()
    client.post(f"/v1/orders/{order['id']}/cancel", json={"reason": "other"}, headers=admin)
    taken = runner.invoke(app, ["audit", "checkpoint"])
    assert taken.exit_code == 0, taken.output
    assert len(taken.stdout.strip().splitlines()[-1]) == 64  # the digest, alone on its line
    with seeded.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE order_events DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER order_events_no_delete"))
        conn.execute(text("DELETE FROM order_events WHERE order_seq > 1"))
    bad = runner.invoke(app, ["audit", "verify"])
    assert bad.exit_code == 1
    assert f"in order {order['id']} at seq 2" in bad.output
    assert "truncated" in bad.output
    assert "event(s) missing after seq 1" in bad.output
    assert "across all chains" in bad.output  # the checkpoint no longer adds up either


def test_import_native_json_lines_is_safe_to_rerun(
    env: str, seeded: Container, tmp_path: Path, client: TestClient, admin: dict[str, str]
) -> None:
    file = tmp_path / "orders.jsonl"
    records = [native_order(f"IMP-{n}") for n in range(3)]
    records[2]["lines"] = [{"sku": "UNKNOWN", "quantity": 1, "unit_price": "1.00"}]
    for record in records:
        del record["channel"]
    file.write_text("\n".join(json.dumps(r) for r in records))
    first = runner.invoke(app, ["import", str(file), "--channel", "web"])
    assert first.exit_code == 0, first.output
    assert "2 created" in first.output
    assert "1 quarantined" in first.output
    second = runner.invoke(app, ["import", str(file), "--channel", "web"])
    assert "2 unchanged" in second.output  # the words a CSV re-run answers with too
    assert len(client.get("/v1/orders", headers=admin).json()["items"]) == 2
    assert len(client.get("/v1/quarantine", headers=admin).json()["items"]) == 1


def test_user_create_stores_an_argon2_hash(env: str, seeded: Container) -> None:
    result = runner.invoke(
        app, ["user", "create", "ops", "--role", "operator"], input="correct horse\ncorrect horse\n"
    )
    assert result.exit_code == 0, result.output
    with seeded.uow() as uow:
        stored = uow.conn.execute(text("SELECT password_hash FROM users")).scalar_one()
        assert stored.startswith("$argon2id$")
        assert uow.users.authenticate("ops", "correct horse") is not None
        assert uow.users.authenticate("ops", "wrong") is None


def test_the_worker_delivers_with_its_start_up_heap_frozen(
    env: str, seeded: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``orderhub worker`` runs as ``serve`` does: start-up objects out of the collector's work
    (orderhub.heap), restored when it stops."""
    import gc

    import orderhub.workers.relay as relay_module
    from orderhub.heap import YOUNG_COLLECTION_THRESHOLD

    threshold = gc.get_threshold()
    seen: list[tuple[int, tuple[int, int, int]]] = []
    real = relay_module.make_worker(seeded)

    class Relay:
        id = "frozen"

        def run(self, stop: object) -> None:
            seen.append((gc.get_freeze_count(), gc.get_threshold()))

        def close(self) -> None:
            real.close()

    monkeypatch.setattr(relay_module, "make_worker", lambda *_, **__: Relay())
    result = runner.invoke(app, ["worker"])
    assert result.exit_code == 0, result.output
    [(frozen, during)] = seen
    assert frozen > 10_000
    assert during == (YOUNG_COLLECTION_THRESHOLD, *threshold[1:])
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == threshold
