"""An order that came in as an 850 gets its 855, 856 and 810; they read back to the PO's facts."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from orderhub.bootstrap import Container
from orderhub.channels.cxml import read_envelope
from orderhub.channels.edi_x12.from_order import Shipment
from orderhub.channels.edi_x12.inbound_docs import read_810, read_855, read_856
from orderhub.channels.edi_x12.parser import parse_interchange
from orderhub.channels.native import NativeOrder
from orderhub.domain.catalog import Product
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.domain.errors import ValidationFailed
from orderhub.services import b2b_documents
from orderhub.services.cxml import receive_order_request
from orderhub.services.edi import receive_interchange
from orderhub.services.ingest import ingest_order
from tests.conftest import native_order
from tests.unit.channels.edi_fixtures import cxml as cxml_fixture
from tests.unit.channels.edi_fixtures import edi

AT = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
SETTINGS = {"edi": {"our_qualifier": "ZZ", "our_id": "MERCHANT", "partner_qualifier": "ZZ",
                    "partner_id": "ACMEHARDWARE"}}  # fmt: skip


def _ingested(container: Container) -> str:
    with container.uow() as uow:
        uow.channels.add(Channel("acme", "Acme", ChannelKind.EDI_X12, settings=SETTINGS))
        for sku in ("BOLT-M8", "WASHER-10"):
            uow.catalog.upsert(Product(sku, sku, 10))
        uow.catalog.map_sku("acme", "012345678905", "BOLT-M8")
        uow.catalog.map_sku("acme", "036000291452", "WASHER-10")
        uow.commit()
        outcome = receive_interchange(
            uow, channel="acme", text=edi("distributor_pipe_two_groups_three_pos.edi")
        )
    assert outcome.control_number == 1
    order_id = outcome.purchase_orders[0].order_id
    assert order_id is not None
    return order_id


def test_855_856_810_carry_the_buyers_line_numbers_ids_and_exact_prices(
    container: Container,
) -> None:
    order_id = _ingested(container)
    with container.uow() as uow:
        order = uow.orders.get(order_id)
        bolts, washers = order.lines
        ack_text = b2b_documents.purchase_order_acknowledgement(
            uow, order_id=order_id, backordered={washers.id: 4}, now=lambda: AT
        )
        asn_text = b2b_documents.advance_ship_notice(
            uow,
            order_id=order_id,
            shipment=Shipment("SHP-1", AT, "UPSN", "1Z999", {bolts.id: 3, washers.id: 6}),
            now=lambda: AT,
        )
        invoice_text = b2b_documents.invoice(
            uow, order_id=order_id, invoice_number="INV-1", now=lambda: AT
        )
    texts = (ack_text, asn_text, invoice_text)
    parsed = [parse_interchange(text) for text in texts]
    assert [ix.control for ix in parsed] == ["000000002", "000000003", "000000004"]
    assert all(ix.receiver_id == "ACMEHARDWARE" for ix in parsed)
    ack = read_855(parsed[0].transactions[0][1])
    assert (ack.po_number, ack.acknowledgement_type) == ("PO-7001", "AC")
    assert [(line.line_number, line.product_ids, line.unit_price, line.quantity_accepted,
             line.quantity_backordered) for line in ack.lines] == [
        ("1", (("UP", "012345678905"),), Decimal("1.2345"), 3, 0),
        ("2", (("UP", "036000291452"), ("BP", "ACME-778")), Decimal("4.5"), 6, 4),
    ]  # fmt: skip
    asn = read_856(parsed[1].transactions[0][1])
    assert (asn.tracking_number, asn.carrier_scac) == ("1Z999", "UPSN")
    [shipped] = asn.orders
    assert shipped.po_number == "PO-7001"
    assert [(i.line_number, i.quantity) for i in shipped.packs[0].items] == [("1", 3), ("2", 6)]
    assert asn.ship_to is not None
    assert asn.ship_to.name == "ACME STORE 12"
    invoice = read_810(parsed[2].transactions[0][1])
    assert [(line.line_number, line.quantity, line.unit_price) for line in invoice.lines] == [
        ("1", 3, Decimal("1.2345")), ("2", 10, Decimal("4.5")),
    ]  # fmt: skip
    assert invoice.total == Decimal("48.70")  # the order's total: not a cent lost to rounding
    assert (invoice.net_days, invoice.discount_percent, invoice.discount_days) == (
        30,
        Decimal(2),
        10,
    )


def test_documents_are_only_for_orders_that_came_through_edi(seeded: Container) -> None:
    with seeded.uow() as uow:
        uow.channels.add(Channel("acme", "Acme", ChannelKind.EDI_X12))
        uow.commit()
    order_id = _native_order(seeded)
    with seeded.uow() as uow, pytest.raises(ValidationFailed):
        b2b_documents.invoice(uow, order_id=order_id, invoice_number="X")


def _native_order(container: Container) -> str:
    body = NativeOrder.model_validate(native_order())
    with container.uow() as uow:
        result = ingest_order(uow, draft=body.to_draft(), source="native", payload="{}")
    assert result.order_id is not None
    return result.order_id


def test_cxml_confirmation_and_ship_notice_echo_the_buyers_lines(container: Container) -> None:
    with container.uow() as uow:
        uow.channels.add(
            Channel(
                "globex", "Globex", ChannelKind.CXML, webhook_secret="procure-shared-secret",
                credentials={"shared_secret": "supplier-secret"},
                settings={"cxml": {"supplier_domain": "DUNS", "buyer_domain": "NetworkID"}},
            )
        )  # fmt: skip
        for sku in ("GLOVES-L", "GLASSES"):
            uow.catalog.upsert(Product(sku, sku, 10))
        uow.catalog.map_sku("globex", "GLV-NITRILE-L", "GLOVES-L")
        uow.catalog.map_sku("globex", "SAFETY-GLASS-CLR", "GLASSES")
        uow.commit()
        answer = receive_order_request(
            uow, channel="globex", body=cxml_fixture("procurement_usd_multi_line.xml")
        )
        assert answer.status == 200
        assert answer.order_id is not None
        gloves, glasses = uow.orders.get(answer.order_id).lines
        confirmation = b2b_documents.cxml_confirmation(
            uow, order_id=answer.order_id, backordered={glasses.id: 1}, now=lambda: AT
        )
        notice = b2b_documents.cxml_ship_notice(
            uow,
            order_id=answer.order_id,
            shipment=Shipment("SHP-2", AT, "FDEG", "7489", {gloves.id: 2, glasses.id: 2}),
            now=lambda: AT,
        )
    root = read_envelope(confirmation).root
    assert root.findtext("Header/From/Credential/Identity") == "123456789"
    assert root.findtext("Header/To/Credential/Identity") == "AN01000000001"
    assert root.findtext("Header/Sender/Credential/SharedSecret") == "supplier-secret"
    reference = root.find("Request/ConfirmationRequest/OrderReference")
    assert reference is not None
    assert reference.get("orderID") == "4500012345"
    items = [
        (i.get("lineNumber"), i.get("quantity"), s.get("type"),
         s.findtext("ItemIn/ItemDetail/UnitPrice/Money"))
        for i in root.iter("ConfirmationItem")
        for s in i.iter("ConfirmationStatus")
    ]  # fmt: skip
    assert items == [
        ("10", "2.0000", "accept", "24.9950"),
        ("20", "2.0000", "accept", "25.0800"),
        ("20", "1.0000", "backordered", "25.0800"),
    ]
    shipped = read_envelope(notice).root
    lines = [
        (i.get("lineNumber"), i.get("quantity"), i.findtext("ItemID/SupplierPartID"),
         i.findtext("UnitOfMeasure"))
        for i in shipped.iter("ShipNoticeItem")
    ]  # fmt: skip
    assert lines == [
        ("10", "2.0000", "GLV-NITRILE-L", "BX"),
        ("20", "2.0000", "SAFETY-GLASS-CLR", "EA"),
    ]
    assert shipped.findtext("Request/ShipNoticeRequest/ShipControl/ShipmentIdentifier") == "7489"
