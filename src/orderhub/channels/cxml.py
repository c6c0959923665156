"""cXML: an OrderRequest becomes an :class:`~orderhub.domain.orders.OrderDraft`.

Parsing goes through defusedxml: entity declarations (billion laughs, XXE) are refused, and a
DOCTYPE naming the cXML DTD is allowed but never fetched. Quantities and money are decimal strings
(``"2.0000"``, ``"29.5000"``); unit prices finer than the currency follow the EDI rule (see
:func:`orderhub.channels.edi_x12.reader_850.price_line`). ShipTo, Shipping and Tax may repeat on
each ItemOut: a line's Tax is the line's tax, line Shipping adds up to the order's shipping when
the header has none, and header tax not attributed to a line is kept as shipping tax so that the
order's total stays the buyer's.

Outbound builders (ConfirmationRequest, ShipNoticeRequest) live in :mod:`.cxml_out`.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from orderhub.channels.edi_x12.reader_850 import price_line
from orderhub.domain.limits import MAX_DOCUMENT_LINES
from orderhub.domain.money import Money, is_currency
from orderhub.domain.orders import (
    Address,
    Contact,
    Customer,
    LineDraft,
    OrderDraft,
    PaymentTerms,
    PurchaseOrder,
    Shipping,
)

SOURCE = "cxml"


class BadCxml(ValueError):
    """The document is not a usable OrderRequest (answered with status 400)."""


@dataclass(frozen=True)
class OrderRequestEnvelope:
    payload_id: str
    sender_identity: str
    shared_secret: str
    root: Element


_SHARED_SECRET = re.compile(
    rb"<(?:[\w.-]+:)?SharedSecret\b[^>]{0,200}>(.{0,2048}?)</(?:[\w.-]+:)?SharedSecret\s*>", re.S
)
_CDATA = re.compile(r"^<!\[CDATA\[(.*)\]\]>$", re.S)
SECRET_HEAD = 64 * 1024
"""The Header, and so the sender's SharedSecret, comes first: it is looked for in this many
bytes."""


def claimed_secrets(body: bytes, *, at_most: int = 4) -> list[str]:
    """The SharedSecret values a document claims, found without parsing it (a bounded scan of its
    head), so that a sender without the secret is refused before its XML is parsed. The parsed
    ``read_envelope(...).shared_secret`` stays the one that counts."""
    found = []
    for match in _SHARED_SECRET.finditer(body, 0, SECRET_HEAD):
        text = match.group(1).decode("utf-8", errors="replace").strip()
        cdata = _CDATA.match(text)
        found.append(cdata.group(1).strip() if cdata else html.unescape(text))
        if len(found) == at_most:
            break
    return found


def read_envelope(body: bytes | str) -> OrderRequestEnvelope:
    """Parse safely and pick out what authentication and de-duplication need."""
    try:
        root = fromstring(body, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException) as error:
        raise BadCxml(f"not well-formed or unsafe XML: {error}") from None
    if root.tag != "cXML":
        raise BadCxml("the root element must be cXML")
    payload_id = root.get("payloadID", "").strip()
    if not payload_id:
        raise BadCxml("cXML@payloadID is required")
    sender = root.find("Header/Sender/Credential")
    return OrderRequestEnvelope(
        payload_id=payload_id,
        sender_identity=_text(sender, "Identity") or "",
        shared_secret=_text(sender, "SharedSecret") or "",
        root=root,
    )


def _text(element: Element | None, path: str) -> str | None:
    if element is None:
        return None
    found = element.find(path)
    if found is None:
        return None
    text = "".join(found.itertext()).strip()
    return text or None


def _decimal(value: str | None, where: str) -> Decimal:
    try:
        result = Decimal((value or "").strip())
    except InvalidOperation:
        raise BadCxml(f"{where}: {value!r} is not a decimal number") from None
    if not result.is_finite():
        raise BadCxml(f"{where}: must be finite")
    return result


def _datetime(value: str | None, where: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise BadCxml(f"{where}: {value!r} is not an ISO 8601 date") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _money(parent: Element | None, path: str, currency: str, where: str) -> Decimal | None:
    money = parent.find(path) if parent is not None else None
    if money is None:
        return None
    if money.get("currency", currency) != currency:
        raise BadCxml(f"{where}: currency {money.get('currency')!r} differs from {currency}")
    amount = _decimal(money.text, where)
    if amount < 0:
        raise BadCxml(f"{where}: {money.text!r} must not be negative")
    return amount


def _address(container: Element | None) -> Address | None:
    address = container.find("Address") if container is not None else None
    if address is None:
        return None
    postal = address.find("PostalAddress")
    streets = [s.text.strip() for s in (postal.findall("Street") if postal is not None else [])
               if s.text and s.text.strip()]  # fmt: skip
    country = postal.find("Country") if postal is not None else None
    code = (country.get("isoCountryCode") or country.text or "") if country is not None else ""
    return Address(
        country=code.strip().upper() or "US",
        name=_text(postal, "DeliverTo"),
        company=_text(address, "Name"),
        line1=streets[0] if streets else None,
        line2=", ".join(streets[1:]) or None,
        city=_text(postal, "City"),
        region=_text(postal, "State"),
        postal_code=_text(postal, "PostalCode"),
        phone=_text(address, "Phone/TelephoneNumber/Number"),
    )


def to_draft(envelope: OrderRequestEnvelope, *, channel: str) -> OrderDraft:
    """The OrderRequest as the hub's draft; :class:`BadCxml` says what is wrong."""
    request = envelope.root.find("Request/OrderRequest")
    header = request.find("OrderRequestHeader") if request is not None else None
    if request is None or header is None:
        raise BadCxml("Request/OrderRequest/OrderRequestHeader is required")
    if header.get("type", "new") != "new":
        raise BadCxml(f"OrderRequestHeader@type {header.get('type')!r}: only new orders are taken")
    order_id = (header.get("orderID") or "").strip()
    placed = _datetime(header.get("orderDate"), "OrderRequestHeader@orderDate")
    if not order_id or placed is None:
        raise BadCxml("OrderRequestHeader@orderID and @orderDate are required")
    total_money = header.find("Total/Money")
    currency = total_money.get("currency", "") if total_money is not None else ""
    if not is_currency(currency):
        raise BadCxml(f"Total/Money@currency {currency!r} is no ISO 4217 currency")
    items = request.findall("ItemOut")
    if not items:
        raise BadCxml("an OrderRequest needs at least one ItemOut")
    if len(items) > MAX_DOCUMENT_LINES:
        raise BadCxml(f"an OrderRequest takes at most {MAX_DOCUMENT_LINES} ItemOut")
    lines, line_meta = zip(*(_line(item, i, currency) for i, item in enumerate(items)), strict=True)
    draft = _assemble(envelope, header, order_id, placed, currency, list(lines), list(line_meta))
    return replace(draft, channel=channel)


def _line(item: Element, index: int, currency: str) -> tuple[LineDraft, dict[str, Any]]:
    where = f"ItemOut[{index + 1}]"
    quantity = _decimal(item.get("quantity"), f"{where}@quantity")
    if quantity != quantity.to_integral_value() or quantity <= 0:
        raise BadCxml(f"{where}@quantity {item.get('quantity')!r}: must be whole and positive")
    detail = item.find("ItemDetail")
    unit = _money(detail, "UnitPrice/Money", currency, f"{where}/UnitPrice")
    if unit is None:
        raise BadCxml(f"{where}/ItemDetail/UnitPrice/Money is required")
    tax = _money(item, "Tax/Money", currency, f"{where}/Tax") or Decimal(0)
    shipping = _money(item, "Shipping/Money", currency, f"{where}/Shipping") or Decimal(0)
    unit_price, rounding = price_line(unit, int(quantity), currency)
    part = _text(item, "ItemID/SupplierPartID")
    aux = _text(item, "ItemID/SupplierPartAuxiliaryID")
    line_number = item.get("lineNumber") or str(index + 1)
    meta = {
        "line_number": line_number,
        "supplier_part_id": part,
        "supplier_part_auxiliary_id": aux,
        "unit_price": f"{unit:f}",
        "unit_of_measure": _text(detail, "UnitOfMeasure"),
        "requested_delivery_date": item.get("requestedDeliveryDate"),
        "requested_shipment_date": item.get("requestedShipmentDate"),
        "shipping": f"{shipping:f}",
        "ship_to": _text(item, "ShipTo/Address/Name"),
        "extrinsics": {e.get("name", ""): "".join(e.itertext()).strip()
                       for e in (detail.findall("Extrinsic") if detail is not None else [])},
    }  # fmt: skip
    line = LineDraft(
        sku=None,
        channel_sku=part,
        channel_line_id=line_number,
        name=_text(detail, "Description"),
        quantity=int(quantity),
        unit_price=unit_price,
        discount=rounding,
        tax=Money.rounded(tax, currency),
    )
    return line, meta


def _assemble(
    envelope: OrderRequestEnvelope,
    header: Element,
    order_id: str,
    placed: datetime,
    currency: str,
    lines: list[LineDraft],
    line_meta: list[dict[str, Any]],
) -> OrderDraft:
    line_tax = sum((line.tax.amount for line in lines), Decimal(0))
    header_tax = _money(header, "Tax/Money", currency, "OrderRequestHeader/Tax") or line_tax
    if header_tax < line_tax:
        raise BadCxml("OrderRequestHeader/Tax is less than the sum of the lines' Tax")
    header_shipping = _money(header, "Shipping/Money", currency, "OrderRequestHeader/Shipping")
    shipping = (
        header_shipping
        if header_shipping is not None
        else sum((Decimal(m["shipping"]) for m in line_meta), Decimal(0))
    )
    contacts = tuple(
        Contact(
            role=c.get("role", ""),
            name=_text(c, "Name"),
            email=_text(c, "Email"),
            phone=_text(c, "Phone/TelephoneNumber/Number"),
        )
        for c in header.findall("Contact")
    )
    ship_to, bill_to = _address(header.find("ShipTo")), _address(header.find("BillTo"))
    pay_days = header.find("PaymentTerm")
    delivery = [d for m in line_meta if (d := _datetime(m["requested_delivery_date"], "date"))]
    ship_dates = [d for m in line_meta if (d := _datetime(m["requested_shipment_date"], "date"))]
    buyer = next((c for c in contacts if c.role == "buyer"), contacts[0] if contacts else None)
    zero = Money.zero(currency)
    return OrderDraft(
        channel="",
        external_id=order_id,
        currency=currency,
        placed_at=placed.astimezone(UTC),
        customer=Customer(
            email=(buyer.email if buyer else None) or _text(header, "ShipTo/Address/Email"),
            name=(buyer.name if buyer else None) or (bill_to.company if bill_to else None),
        ),
        shipping_address=ship_to,
        billing_address=bill_to or ship_to,
        lines=tuple(lines),
        shipping=Shipping(
            price=Money.rounded(shipping, currency),
            tax=Money.rounded(header_tax - line_tax, currency),
            discount=zero,
            method=_tracking_domain(header),
        ),
        metadata={
            "cxml": {
                "payload_id": envelope.payload_id,
                "sender": envelope.sender_identity,
                "from": _text(envelope.root, "Header/From/Credential/Identity"),
                "to": _text(envelope.root, "Header/To/Credential/Identity"),
                "order_type": header.get("orderType"),
                "total": _text(header, "Total/Money"),
                "lines": line_meta,
            }
        },
        purchase_order=PurchaseOrder(
            number=order_id,
            order_date=placed.astimezone(UTC).date(),
            payment_terms=_terms(pay_days),
            requested_ship_date=min(ship_dates).date() if ship_dates else None,
            requested_delivery_date=_first_date(delivery),
            contacts=contacts,
            buyer_name=bill_to.company if bill_to else None,
        ),
    )


def _first_date(values: list[datetime]) -> date | None:
    return min(values).astimezone(UTC).date() if values else None


def _terms(term: Element | None) -> PaymentTerms | None:
    if term is None:
        return None
    days = term.get("payInNumberOfDays", "")
    discount = term.find("Discount/DiscountPercent")
    return PaymentTerms(
        net_days=int(days) if days.isdigit() else None,
        discount_percent=_decimal(discount.get("percent"), "DiscountPercent")
        if discount is not None
        else None,
    )


def _tracking_domain(header: Element) -> str | None:
    shipping = header.find("Shipping")
    return shipping.get("trackingDomain") if shipping is not None else None


def stored_payload(channel: str, body: str) -> str:
    return json.dumps({"channel": channel, "cxml": body})


def parse_stored(payload: str) -> OrderDraft:
    """Re-read a quarantined OrderRequest."""
    data = json.loads(payload)
    return to_draft(read_envelope(data["cxml"]), channel=data["channel"])
