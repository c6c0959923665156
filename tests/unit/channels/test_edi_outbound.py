"""855, 856 and 810 documents parse back to the same facts, with valid envelopes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from orderhub.channels.edi_x12.documents import (
    AckLine,
    AdvanceShipNotice,
    Invoice,
    InvoiceLine,
    Pack,
    PartyAddress,
    PurchaseOrderAck,
    ShippedItem,
    ShippedOrder,
)
from orderhub.channels.edi_x12.inbound_docs import read_810, read_855, read_856
from orderhub.channels.edi_x12.outbound import build_810, build_855, build_856
from orderhub.channels.edi_x12.parser import Delimiters, Interchange, parse_interchange
from orderhub.channels.edi_x12.writer import Partner

PARTNER = Partner("ZZ", "MERCHANT", "ZZ", "ACMEHARDWARE")
AT = datetime(2026, 11, 27, 10, 5, tzinfo=UTC)
UPC = (("UP", "012345678905"),)


def only_set(text: str, control: int) -> Interchange:
    ix = parse_interchange(text)
    assert ix.errors == []
    [group] = ix.groups
    assert group.errors == []
    [tx] = group.transactions
    assert tx.accepted
    assert (ix.control, group.control) == (f"{control:09d}", str(control))
    assert (ix.sender_id, ix.receiver_id) == ("MERCHANT", "ACMEHARDWARE")
    return ix


def ack(*lines: AckLine) -> PurchaseOrderAck:
    return PurchaseOrderAck("PO-7001", date(2026, 11, 20), date(2026, 11, 27), "USD", lines)


def test_855_with_a_backorder_is_accepted_with_changes_and_round_trips() -> None:
    document = ack(
        AckLine("1", 3, "EA", Decimal("1.2345"), UPC, 3, expected_ship_date=date(2026, 12, 1)),
        AckLine("2", 10, "EA", Decimal("4.5"), (("UP", "036000291452"), ("BP", "ACME-778")), 6, 4),
    )
    text = build_855(document, PARTNER, control=41, at=AT)
    ix = only_set(text, 41)
    tx = ix.transactions[0][1]
    assert document.acknowledgement_type == "AC"
    assert [s.id for s in tx.body if s.id == "ACK"] == ["ACK", "ACK", "ACK"]
    assert read_855(tx) == document


@pytest.mark.parametrize(
    ("accepted", "expected"), [((3, 10), "AD"), ((0, 0), "RJ"), ((3, 0), "AC")]
)
def test_855_acknowledgement_type_follows_the_lines(
    accepted: tuple[int, int], expected: str
) -> None:
    document = ack(
        AckLine("1", 3, "EA", Decimal("1.00"), UPC, accepted[0], 0, 3 - accepted[0]),
        AckLine("2", 10, "EA", Decimal("2.00"), UPC, accepted[1], 0, 10 - accepted[1]),
    )
    tx = only_set(build_855(document, PARTNER, control=5, at=AT), 5).transactions[0][1]
    assert next(s for s in tx.body if s.id == "BAK")[2] == expected
    assert read_855(tx) == document


def test_856_keeps_shipment_order_pack_item_levels_and_tracking() -> None:
    asn = AdvanceShipNotice(
        shipment_id="SHP-900",
        shipped_at=datetime(2026, 11, 28, 16, 45, tzinfo=UTC),
        carrier_scac="UPSN",
        tracking_number="1Z999AA10123456784",
        ship_from=PartyAddress("SF", "MERCHANT DC", "1 DEPOT WAY", "DAYTON", "OH", "45402", "US"),
        ship_to=PartyAddress("ST", "ACME STORE 12", "100 MAIN ST", "SPRINGFIELD", "IL", "62701"),
        orders=(
            ShippedOrder(
                "PO-7001",
                date(2026, 11, 20),
                (
                    Pack("00000123450000000018", (ShippedItem("1", UPC, 3),)),
                    Pack("00000123450000000025", (ShippedItem("2", UPC, 6, "CA"),)),
                ),
            ),
            ShippedOrder(
                "PO-7002", None, (Pack("1Z999AA10123456784", (ShippedItem("1", UPC, 1),)),)
            ),
        ),
    )
    text = build_856(asn, PARTNER, control=42, at=AT)
    tx = only_set(text, 42).transactions[0][1]
    levels = [(s[1], s[2], s[3]) for s in tx.body if s.id == "HL"]
    assert levels == [
        ("1", "", "S"), ("2", "1", "O"), ("3", "2", "P"), ("4", "3", "I"), ("5", "2", "P"),
        ("6", "5", "I"), ("7", "1", "O"), ("8", "7", "P"), ("9", "8", "I"),
    ]  # fmt: skip
    assert next(s for s in tx.body if s.id == "CTT")[1] == "9"
    assert read_856(tx) == asn


def test_810_totals_use_the_exact_unit_price_and_round_trip() -> None:
    invoice = Invoice(
        invoice_number="INV-1001",
        invoice_date=date(2026, 11, 29),
        po_number="PO-7001",
        po_date=date(2026, 11, 20),
        currency="USD",
        lines=(
            InvoiceLine("1", 3, "EA", Decimal("1.2345"), UPC),
            InvoiceLine("2", 10, "EA", Decimal("4.5"), (("UP", "036000291452"),)),
        ),
        freight=Decimal("12.50"),
        tax=Decimal("3.10"),
        net_days=30,
        discount_percent=Decimal(2),
        discount_days=10,
    )
    assert invoice.total == Decimal("3.70") + Decimal("45.00") + Decimal("15.60")
    tx = only_set(build_810(invoice, PARTNER, control=43, at=AT), 43).transactions[0][1]
    assert next(s for s in tx.body if s.id == "TDS")[1] == "6430"
    assert read_810(tx) == invoice


def test_outbound_documents_honour_the_partners_delimiters() -> None:
    partner = Partner(
        "ZZ", "MERCHANT", "ZZ", "ACMEHARDWARE", delimiters=Delimiters("|", ":", "\n", None)
    )
    document = ack(AckLine("1", 3, "EA", Decimal("1.00"), UPC, 3))
    text = build_855(document, partner, control=77, at=AT)
    assert text.startswith("ISA|00|")
    ix = parse_interchange(text)
    assert ix.delimiters == Delimiters("|", ":", "\n", None)
    assert read_855(ix.transactions[0][1]) == document


def test_values_containing_a_delimiter_are_refused() -> None:
    document = PurchaseOrderAck(
        "PO*1", date(2026, 11, 20), date(2026, 11, 27), "USD",
        (AckLine("1", 1, "EA", Decimal(1), UPC, 1),),
    )  # fmt: skip
    with pytest.raises(ValueError, match="delimiter"):
        build_855(document, PARTNER, control=1, at=AT)
