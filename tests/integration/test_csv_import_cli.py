"""``orderhub import FILE.csv --channel CODE``, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from orderhub.bootstrap import Container
from orderhub.channels.registry import PAYLOAD_PARSERS
from orderhub.cli import app
from orderhub.services.ingest import Outcome, replay_quarantined
from orderhub.store.tables import orders, quarantine
from tests.support.channels import FIXTURES, seed_channels

CSV = str(FIXTURES / "csv" / "partner_orders.csv")


@pytest.fixture
def partner(seeded: Container, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Container:
    seed_channels(seeded)
    monkeypatch.setenv("ORDERHUB_DATABASE_URL", database_url)
    return seeded


def rows(container: Container, table: object) -> list[dict[str, object]]:
    with container.uow(read_only=True) as uow:
        return [dict(r._mapping) for r in uow.conn.execute(select(table))]  # type: ignore[call-overload]


def test_import_creates_good_orders_and_quarantines_bad_rows(partner: Container) -> None:
    result = CliRunner().invoke(app, ["import", CSV, "--channel", "partner"])
    assert result.exit_code == 0, result.output
    assert "2 created, 2 quarantined" in result.output
    created = {r["external_id"]: r for r in rows(partner, orders)}
    assert set(created) == {"D-1001", "D-1002"}
    assert created["D-1001"]["total_minor"] == 9397
    held = {r["external_id"]: r for r in rows(partner, quarantine)}
    assert set(held) == {"D-1003", "D-1004"}
    assert held["D-1003"]["errors"][0]["code"] == "unknown_sku"
    assert {e["field"] for e in held["D-1004"]["errors"]} == {
        "rows.6.quantity",
        "rows.7.unit_price",
    }
    assert {r["source"] for r in held.values()} == {"csv"}


def test_running_the_same_file_again_changes_nothing(partner: Container) -> None:
    runner = CliRunner()
    runner.invoke(app, ["import", CSV, "--channel", "partner"])
    before = (rows(partner, orders), rows(partner, quarantine))
    again = runner.invoke(app, ["import", CSV, "--channel", "partner"])
    assert again.exit_code == 0, again.output
    assert "2 quarantined, 2 unchanged" in again.output
    after_orders, after_quarantine = rows(partner, orders), rows(partner, quarantine)
    assert [r["id"] for r in after_orders] == [r["id"] for r in before[0]]
    assert [r["id"] for r in after_quarantine] == [r["id"] for r in before[1]]
    assert {r["attempts"] for r in after_quarantine} == {2}


def test_a_quarantined_csv_order_replays_after_its_sku_is_mapped(partner: Container) -> None:
    CliRunner().invoke(app, ["import", CSV, "--channel", "partner"])
    [entry] = [r for r in rows(partner, quarantine) if r["external_id"] == "D-1003"]
    with partner.uow(actor="test") as uow:
        uow.catalog.map_sku("partner", "UNKNOWN-9", "CAP-NAVY")
        uow.commit()
    with partner.uow(actor="test") as uow:
        result = replay_quarantined(uow, entry_id=str(entry["id"]), parsers=PAYLOAD_PARSERS)
    assert result.outcome == Outcome.CREATED


def test_an_unknown_channel_is_refused(partner: Container) -> None:
    result = CliRunner().invoke(app, ["import", CSV, "--channel", "nope"])
    assert result.exit_code == 2
