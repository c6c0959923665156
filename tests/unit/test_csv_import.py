from decimal import Decimal

import pytest

from orderhub.channels import csv_import
from orderhub.domain.errors import NotNormalizable
from orderhub.domain.money import Money
from tests.support.channels import fixture_text, totals_of


def usd(value: str) -> Money:
    return Money(Decimal(value), "USD")


def orders() -> list[csv_import.ChannelOrder]:
    return list(csv_import.read_orders("partner", fixture_text("csv/partner_orders.csv")))


def test_rows_are_grouped_into_orders_by_order_id() -> None:
    assert [o.external_id for o in orders()] == ["D-1001", "D-1002", "D-1003", "D-1004"]


def test_a_two_row_order_totals_exactly_with_order_level_fields_from_its_first_row() -> None:
    draft = orders()[0].draft
    assert draft is not None
    assert [(ln.channel_sku, ln.quantity) for ln in draft.lines] == [
        ("DIST-0001", 3), ("MUG-LOGO", 2),
    ]  # fmt: skip
    totals = totals_of(draft)
    assert totals.subtotal == usd("84.70")  # 3 × 19.90 + 2 × 12.50
    assert totals.discount == usd("5.00")
    assert totals.shipping == usd("7.50")
    assert totals.tax == usd("6.77")
    assert totals.total == usd("93.97")
    assert draft.metadata["extra"] == {"po_number": "PO-77"}
    assert draft.shipping.method == "ground"


def test_a_date_without_offset_is_utc() -> None:
    draft = orders()[1].draft
    assert draft is not None
    assert draft.placed_at.isoformat() == "2026-11-23T09:00:00+00:00"


def test_row_errors_name_the_row_and_column_and_keep_the_order_whole() -> None:
    bad = orders()[3]
    assert bad.draft is None
    assert bad.problem is not None
    assert {e.field for e in bad.problem.fields} == {"rows.6.quantity", "rows.7.unit_price"}
    assert "MUG-LOGO" in bad.payload
    assert "CAP-NAVY" in bad.payload


def test_the_replay_parser_reads_the_rows_back() -> None:
    first = orders()[0]
    assert csv_import.parse(first.payload) == first.draft
    with pytest.raises(NotNormalizable):
        csv_import.parse(orders()[3].payload)


def test_a_file_without_required_columns_is_refused_whole() -> None:
    with pytest.raises(NotNormalizable) as caught:
        list(csv_import.read_orders("partner", "order_id,sku\nA,B\n"))
    assert {f.field for f in caught.value.problem.fields} == {
        "header.placed_at", "header.currency", "header.quantity", "header.unit_price",
    }  # fmt: skip


def test_a_file_over_the_row_limit_is_refused_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    text = fixture_text("csv/partner_orders.csv")
    rows = len(csv_import.read_rows(text))
    monkeypatch.setattr(csv_import, "MAX_CSV_ROWS", rows - 1)
    with pytest.raises(NotNormalizable, match=f"more than {rows - 1} rows"):
        csv_import.read_rows(text)
    monkeypatch.setattr(csv_import, "MAX_CSV_ROWS", rows)
    assert len(csv_import.read_rows(text)) == rows
