"""cXML documents the hub sends: the Response to a request, ConfirmationRequest, ShipNoticeRequest.

Pure builders returning XML text; delivery to the buyer's URL goes through the outbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from xml.etree.ElementTree import Element, SubElement, tostring

from orderhub.domain.ids import new_id

DOCTYPE = '<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.014/cXML.dtd">'
STATUS_TEXT = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 409: "Conflict",
               500: "Internal Server Error"}  # fmt: skip


@dataclass(frozen=True)
class Identity:
    """One side's cXML credential: ``<Credential domain=…><Identity>…``."""

    domain: str
    identity: str


@dataclass(frozen=True)
class Parties:
    """From (us, the supplier), To (the buyer) and our shared secret for the Sender."""

    supplier: Identity
    buyer: Identity
    shared_secret: str
    user_agent: str = "OrderHub"


def _root(at: datetime, payload_id: str | None = None) -> Element:
    return Element(
        "cXML",
        {
            "payloadID": payload_id or f"{new_id()}@orderhub",
            "timestamp": at.astimezone(UTC).isoformat(timespec="seconds"),
            "xml:lang": "en-US",
        },
    )


def _serialize(root: Element) -> str:
    body = tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{DOCTYPE}\n{body}\n'


def build_response(status: int, *, message: str | None = None, at: datetime) -> str:
    """``<Response><Status code=… text=…>message</Status></Response>``."""
    root = _root(at)
    response = SubElement(root, "Response")
    status_el = SubElement(
        response, "Status", {"code": str(status), "text": STATUS_TEXT.get(status, "Error")}
    )
    if message:
        status_el.text = message
    return _serialize(root)


def _header(root: Element, parties: Parties) -> None:
    header = SubElement(root, "Header")
    for tag, who in (("From", parties.supplier), ("To", parties.buyer)):
        credential = SubElement(SubElement(header, tag), "Credential", {"domain": who.domain})
        SubElement(credential, "Identity").text = who.identity
    sender = SubElement(header, "Sender")
    credential = SubElement(sender, "Credential", {"domain": parties.supplier.domain})
    SubElement(credential, "Identity").text = parties.supplier.identity
    SubElement(credential, "SharedSecret").text = parties.shared_secret
    SubElement(sender, "UserAgent").text = parties.user_agent


def _quantity(value: int | Decimal) -> str:
    return f"{Decimal(value):.4f}"


@dataclass(frozen=True)
class ConfirmedLine:
    line_number: str
    quantity: int
    status: str  # accept, backordered, reject
    unit_of_measure: str = "EA"
    unit_price: Decimal | None = None
    supplier_part_id: str | None = None
    ship_date: datetime | None = None


@dataclass(frozen=True)
class Confirmation:
    order_id: str  # the buyer's orderID
    order_payload_id: str | None
    confirm_id: str
    lines: Sequence[ConfirmedLine]
    currency: str

    @property
    def kind(self) -> str:
        """ConfirmationHeader@type: accept when every line is accepted, else detail."""
        if all(line.status == "reject" for line in self.lines):
            return "reject"
        return "accept" if all(line.status == "accept" for line in self.lines) else "detail"


def build_confirmation(confirmation: Confirmation, parties: Parties, *, at: datetime) -> str:
    root = _root(at)
    _header(root, parties)
    request = SubElement(SubElement(root, "Request"), "ConfirmationRequest")
    SubElement(
        request,
        "ConfirmationHeader",
        {
            "type": confirmation.kind,
            "noticeDate": at.astimezone(UTC).isoformat(timespec="seconds"),
            "confirmID": confirmation.confirm_id,
            "operation": "new",
        },
    )
    reference = SubElement(request, "OrderReference", {"orderID": confirmation.order_id})
    SubElement(reference, "DocumentReference", {"payloadID": confirmation.order_payload_id or ""})
    for line in confirmation.lines:
        item = SubElement(
            request,
            "ConfirmationItem",
            {"lineNumber": line.line_number, "quantity": _quantity(line.quantity)},
        )
        SubElement(item, "UnitOfMeasure").text = line.unit_of_measure
        attrs = {"type": line.status, "quantity": _quantity(line.quantity)}
        if line.ship_date is not None:
            attrs["shipmentDate"] = line.ship_date.astimezone(UTC).isoformat(timespec="seconds")
        status = SubElement(item, "ConfirmationStatus", attrs)
        SubElement(status, "UnitOfMeasure").text = line.unit_of_measure
        if line.unit_price is not None and line.status != "reject":
            price = SubElement(SubElement(status, "ItemIn"), "ItemDetail")
            money = SubElement(
                SubElement(price, "UnitPrice"), "Money", {"currency": confirmation.currency}
            )
            money.text = f"{line.unit_price:f}"
    return _serialize(root)


@dataclass(frozen=True)
class ShippedLine:
    line_number: str
    quantity: int
    supplier_part_id: str | None = None
    unit_of_measure: str = "EA"


@dataclass(frozen=True)
class ShipNotice:
    shipment_id: str
    order_id: str
    order_date: datetime | None
    shipped_at: datetime
    carrier: str  # SCAC or name, e.g. "UPSN"
    tracking_number: str
    lines: Sequence[ShippedLine]
    delivery_date: datetime | None = None


def build_ship_notice(notice: ShipNotice, parties: Parties, *, at: datetime) -> str:
    root = _root(at)
    _header(root, parties)
    request = SubElement(SubElement(root, "Request"), "ShipNoticeRequest")
    attrs = {
        "shipmentID": notice.shipment_id,
        "operation": "new",
        "noticeDate": at.astimezone(UTC).isoformat(timespec="seconds"),
        "shipmentDate": notice.shipped_at.astimezone(UTC).isoformat(timespec="seconds"),
    }
    if notice.delivery_date is not None:
        attrs["deliveryDate"] = notice.delivery_date.astimezone(UTC).isoformat(timespec="seconds")
    SubElement(request, "ShipNoticeHeader", attrs)
    control = SubElement(request, "ShipControl")
    SubElement(control, "CarrierIdentifier", {"domain": "SCAC"}).text = notice.carrier
    SubElement(control, "ShipmentIdentifier").text = notice.tracking_number
    portion = SubElement(request, "ShipNoticePortion")
    reference_attrs = {"orderID": notice.order_id}
    if notice.order_date is not None:
        reference_attrs["orderDate"] = notice.order_date.astimezone(UTC).isoformat(
            timespec="seconds"
        )
    reference = SubElement(portion, "OrderReference", reference_attrs)
    SubElement(reference, "DocumentReference", {"payloadID": ""})
    for line in notice.lines:
        item = SubElement(
            portion,
            "ShipNoticeItem",
            {"lineNumber": line.line_number, "quantity": _quantity(line.quantity)},
        )
        if line.supplier_part_id:
            SubElement(SubElement(item, "ItemID"), "SupplierPartID").text = line.supplier_part_id
        SubElement(item, "UnitOfMeasure").text = line.unit_of_measure
    return _serialize(root)
