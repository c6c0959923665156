"""cXML OrderRequests normalize exactly; parsing is XXE-safe; outbound documents read back."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from defusedxml.ElementTree import fromstring

from orderhub.channels import cxml
from orderhub.channels.cxml_out import (
    Confirmation,
    ConfirmedLine,
    Identity,
    Parties,
    ShipNotice,
    ShippedLine,
    build_confirmation,
    build_response,
    build_ship_notice,
)
from orderhub.domain.money import Money
from orderhub.domain.orders import Address, Contact, LineDraft, PaymentTerms
from tests.unit.channels.edi_fixtures import cxml as fixture

AT = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def test_retail_order_request_normalizes_exactly() -> None:
    envelope = cxml.read_envelope(fixture("retail_gbp_single_line.xml"))
    assert (envelope.sender_identity, envelope.shared_secret) == ("30527", "tesco-shared-secret")
    draft = cxml.to_draft(envelope, channel="tesco")
    assert (draft.channel, draft.external_id, draft.currency) == ("tesco", "TES-443-0001", "GBP")
    assert draft.placed_at == datetime(2021, 7, 1, 0, 34, 38, 487000, tzinfo=UTC)
    [line] = draft.lines
    gbp = Money.of
    assert (line.channel_sku, line.channel_line_id, line.quantity) == ("596394", "1", 2)
    assert (line.unit_price, line.discount, line.tax) == (
        gbp("29.50", "GBP"),
        gbp("0", "GBP"),
        gbp("0", "GBP"),
    )
    assert line.name == "AEROFOIL BUBBLE CLIP PK50"
    assert draft.shipping_address == Address(
        country="GB", name="REDACTED", company="Cheshunt Metro", line1="64-66 Turners Hill",
        line2="Cheshunt", city="Waltham Cross", region="Other", postal_code="EN8 8LQ",
    )  # fmt: skip
    assert draft.billing_address is not None
    assert draft.billing_address.company == "UK"
    assert draft.customer.email == "redacted@example.com"
    po = draft.purchase_order
    assert po is not None
    assert (po.number, po.order_date, po.requested_delivery_date) == (
        "TES-443-0001",
        date(2021, 7, 1),
        date(2021, 7, 11),
    )
    assert po.payment_terms == PaymentTerms(net_days=30)
    assert draft.metadata["cxml"]["lines"][0]["extrinsics"] == {
        "PR No.": "REQUK00000000443", "IsCatalog": "false"
    }  # fmt: skip


def amounts(line: LineDraft) -> tuple[Money, Money, Money]:
    return (line.unit_price, line.discount, line.tax)


def test_procurement_order_request_with_per_line_tax_and_fine_prices() -> None:
    draft = cxml.to_draft(
        cxml.read_envelope(fixture("procurement_usd_multi_line.xml")), channel="globex"
    )
    usd = lambda v: Money.of(v, "USD")  # noqa: E731
    facts = [
        (line.channel_line_id, line.channel_sku, line.quantity, *amounts(line))
        for line in draft.lines
    ]
    assert facts == [
        ("10", "GLV-NITRILE-L", 2, usd("25.00"), usd("0.01"), usd("4.00")),
        ("20", "SAFETY-GLASS-CLR", 3, usd("25.08"), usd("0"), usd("3.50")),
    ]  # fmt: skip
    # Header tax 9.00 of which 7.50 sits on lines: 1.50 is kept as shipping tax.
    assert (draft.shipping.price, draft.shipping.tax) == (usd("12.50"), usd("1.50"))
    assert draft.shipping.method == "FedEx Ground"
    assert draft.placed_at == datetime(2026, 11, 25, 17, 14, 2, tzinfo=UTC)
    assert draft.shipping_address is not None
    assert (draft.shipping_address.name, draft.shipping_address.phone) == (
        "Receiving — Bay 2",
        "5550199",
    )
    assert draft.billing_address is not None
    assert draft.billing_address.company == "Globex Corporation Accounts Payable"
    po = draft.purchase_order
    assert po is not None
    assert po.payment_terms == PaymentTerms(net_days=45, discount_percent=Decimal("1.5"))
    assert (po.requested_ship_date, po.requested_delivery_date) == (
        date(2026, 12, 1),
        date(2026, 12, 3),
    )
    assert po.contacts == (Contact("buyer", "Pat Procurer", "Pat.Procurer@Globex.example"),)
    assert draft.customer.email == "pat.procurer@globex.example"
    assert draft.metadata["cxml"]["lines"][0]["unit_price"] == "24.9950"


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE cXML [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<cXML payloadID="x"><Header/><Request><OrderRequest>&xxe;</OrderRequest></Request></cXML>"""
LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE cXML [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>
<cXML payloadID="x">&b;</cXML>"""


@pytest.mark.parametrize("body", [XXE, LAUGHS, b"<cXML", b"<Order/>", b'<cXML payloadID=""/>'])
def test_unsafe_or_unusable_xml_is_refused(body: bytes) -> None:
    with pytest.raises(cxml.BadCxml):
        cxml.read_envelope(body)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('quantity="2.0000"', 'quantity="2.5000"', "whole"),
        ("<Money currency=\"GBP\">29.5000</Money>", "<Money currency=\"EUR\">29.5</Money>",
         "currency"),
        ('type="new"', 'type="update"', "only new orders"),
        ("<Money currency=\"GBP\">29.5000</Money>", "<Money currency=\"GBP\">-29.50</Money>",
         "negative"),
        ('orderID="TES-443-0001"', 'orderID=""', "orderID"),
    ],
)  # fmt: skip
def test_order_requests_the_hub_cannot_take_say_why(old: str, new: str, message: str) -> None:
    body = fixture("retail_gbp_single_line.xml").decode()
    assert old in body
    envelope = cxml.read_envelope(body.replace(old, new, 1))
    with pytest.raises(cxml.BadCxml, match=message):
        cxml.to_draft(envelope, channel="tesco")


PARTIES = Parties(Identity("DUNS", "123456789"), Identity("NetworkID", "AN01"), "our-secret")


def test_response_carries_the_status_code() -> None:
    root = fromstring(build_response(409, message="payloadID seen", at=AT).split("\n", 2)[2])
    status = root.find("Response/Status")
    assert status is not None
    assert (status.get("code"), status.get("text"), status.text) == (
        "409",
        "Conflict",
        "payloadID seen",
    )


def test_confirmation_request_states_each_line_and_reads_back() -> None:
    confirmation = Confirmation(
        order_id="4500012345",
        order_payload_id="1732700000.4711.abc@buyer.example.com",
        confirm_id="C-1",
        currency="USD",
        lines=(
            ConfirmedLine("10", 2, "accept", "BX", Decimal("24.9950")),
            ConfirmedLine("20", 3, "backordered", "EA", Decimal("25.08"), ship_date=AT),
        ),
    )
    xml = build_confirmation(confirmation, PARTIES, at=AT)
    root = cxml.read_envelope(xml).root  # our own output passes our own safe parser
    header = root.find("Request/ConfirmationRequest/ConfirmationHeader")
    assert header is not None
    assert (header.get("type"), header.get("confirmID")) == ("detail", "C-1")
    items = root.findall("Request/ConfirmationRequest/ConfirmationItem")
    statuses = [
        (i.get("lineNumber"), i.get("quantity"), i.findtext("ConfirmationStatus/UnitOfMeasure"))
        for i in items
    ]
    assert statuses == [("10", "2.0000", "BX"), ("20", "3.0000", "EA")]
    kinds = [s.get("type") for s in root.iter("ConfirmationStatus")]
    assert kinds == ["accept", "backordered"]
    price = items[0].find("ConfirmationStatus/ItemIn/ItemDetail/UnitPrice/Money")
    assert price is not None
    assert (price.text, price.get("currency")) == ("24.9950", "USD")
    assert root.findtext("Header/Sender/Credential/SharedSecret") == "our-secret"


def test_ship_notice_request_carries_carrier_tracking_and_lines() -> None:
    notice = ShipNotice(
        shipment_id="SHP-900",
        order_id="4500012345",
        order_date=datetime(2026, 11, 25, 17, 14, 2, tzinfo=UTC),
        shipped_at=AT,
        carrier="FDEG",
        tracking_number="7489 0000 1111",
        lines=(ShippedLine("10", 2, "GLV-NITRILE-L", "BX"), ShippedLine("20", 1)),
    )
    root = cxml.read_envelope(build_ship_notice(notice, PARTIES, at=AT)).root
    request = root.find("Request/ShipNoticeRequest")
    assert request is not None
    assert request.findtext("ShipControl/CarrierIdentifier") == "FDEG"
    assert request.findtext("ShipControl/ShipmentIdentifier") == "7489 0000 1111"
    reference = request.find("ShipNoticePortion/OrderReference")
    assert reference is not None
    assert reference.get("orderID") == "4500012345"
    items = [
        (i.get("lineNumber"), i.get("quantity"), i.findtext("ItemID/SupplierPartID"))
        for i in request.findall("ShipNoticePortion/ShipNoticeItem")
    ]
    assert items == [("10", "2.0000", "GLV-NITRILE-L"), ("20", "1.0000", None)]


def test_zero_decimal_currency_with_per_line_shipping_and_no_header_totals() -> None:
    draft = cxml.to_draft(
        cxml.read_envelope(fixture("marketplace_jpy_line_shipping.xml")), channel="coupa"
    )
    jpy = lambda v: Money.of(v, "JPY")  # noqa: E731
    facts = [(line.channel_sku, line.quantity, *amounts(line)) for line in draft.lines]
    # 4 × 1250.5 = 5002 exactly: the unit rounds up to 1251 and 2 yen of rounding come off.
    assert facts == [
        ("PEN-BLK", 4, jpy(1251), jpy(2), jpy(0)),
        ("NOTE-A5", 1, jpy(1500), jpy(0), jpy(0)),
    ]
    assert (draft.shipping.price, draft.shipping.tax) == (jpy(500), jpy(0))
    assert draft.placed_at == datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
    assert draft.shipping_address == Address(
        country="JP", company="Osaka Office", line1="1-1 Umeda", city="Osaka",
        postal_code="530-0001",
    )  # fmt: skip
    assert draft.purchase_order is not None
    assert draft.purchase_order.payment_terms is None
