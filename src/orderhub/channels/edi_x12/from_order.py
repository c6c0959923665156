"""An order that came in as an 850 gives the facts of its 855, 856 and 810.

Line numbers, product ids, units and the exact unit price come from what the buyer sent
(``metadata["edi"]["lines"]``), so the partner can match every line to its PO1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

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
from orderhub.domain.orders import Address, Order, OrderLine


@dataclass(frozen=True)
class BuyerLine:
    """What the buyer's PO1 said about one of our order lines."""

    line_number: str
    product_ids: tuple[tuple[str, str], ...]
    unit: str
    unit_price: Decimal


def buyer_lines(order: Order) -> dict[str, BuyerLine]:
    """Order line id → the buyer's view of it (falls back to our own facts)."""
    sent: list[dict[str, Any]] = order.metadata.get("edi", {}).get("lines", [])
    by_number = {str(item["line_number"]): item for item in sent}
    result: dict[str, BuyerLine] = {}
    for line in order.lines:
        item = by_number.get(line.channel_line_id or "", {})
        ids = item.get("product_ids") or [["VP", line.sku]]
        price = item.get("unit_price")
        result[line.id] = BuyerLine(
            line_number=line.channel_line_id or str(len(result) + 1),
            product_ids=tuple((str(k), str(v)) for k, v in ids),
            unit=str(item.get("unit", "EA")),
            unit_price=Decimal(price) if price is not None else line.unit_price.amount,
        )
    return result


def _po(order: Order) -> tuple[str, date | None]:
    po = order.purchase_order
    return (po.number, po.order_date) if po else (order.external_id, order.placed_at.date())


def acknowledgement(
    order: Order, *, backordered: Mapping[str, int], today: date
) -> PurchaseOrderAck:
    """855 facts: each line accepted, less what is backordered (by order line id)."""
    buyer = buyer_lines(order)
    number, po_date = _po(order)
    lines = []
    for line in order.lines:
        b = buyer[line.id]
        waiting = min(backordered.get(line.id, 0), line.quantity)
        lines.append(
            AckLine(
                b.line_number,
                line.quantity,
                b.unit,
                b.unit_price,
                b.product_ids,
                quantity_accepted=line.quantity - waiting,
                quantity_backordered=waiting,
            )
        )
    return PurchaseOrderAck(number, po_date or today, today, order.currency, tuple(lines))


@dataclass(frozen=True)
class Shipment:
    shipment_id: str
    shipped_at: datetime
    carrier_scac: str
    tracking_number: str
    quantities: Mapping[str, int]  # order line id → quantity in this shipment
    ship_from: Address | None = None


def _party(role: str, address: Address | None) -> PartyAddress | None:
    if address is None:
        return None
    return PartyAddress(
        role,
        address.company or address.name or "",
        address.line1,
        address.city,
        address.region,
        address.postal_code,
        address.country,
    )


def ship_notice(order: Order, shipment: Shipment) -> AdvanceShipNotice:
    """856 facts: one order, one pack marked with the tracking number, the shipped lines."""
    buyer = buyer_lines(order)
    number, po_date = _po(order)
    items = tuple(
        ShippedItem(
            buyer[line.id].line_number, buyer[line.id].product_ids, quantity, buyer[line.id].unit
        )
        for line in order.lines
        if (quantity := shipment.quantities.get(line.id, 0)) > 0
    )
    return AdvanceShipNotice(
        shipment_id=shipment.shipment_id,
        shipped_at=shipment.shipped_at,
        carrier_scac=shipment.carrier_scac,
        tracking_number=shipment.tracking_number,
        orders=(ShippedOrder(number, po_date, (Pack(shipment.tracking_number, items),)),),
        ship_from=_party("SF", shipment.ship_from),
        ship_to=_party("ST", order.shipping_address),
    )


def invoice(order: Order, *, invoice_number: str, today: date) -> Invoice:
    """810 facts: every line not cancelled, at the buyer's exact unit price."""
    buyer = buyer_lines(order)
    number, po_date = _po(order)
    billable: list[OrderLine] = [line for line in order.lines if line.status != "cancelled"]
    terms = order.purchase_order.payment_terms if order.purchase_order else None
    tax = sum((line.tax.amount for line in billable), order.shipping.tax.amount)
    return Invoice(
        invoice_number=invoice_number,
        invoice_date=today,
        po_number=number,
        po_date=po_date,
        currency=order.currency,
        lines=tuple(
            InvoiceLine(
                buyer[line.id].line_number,
                line.quantity,
                buyer[line.id].unit,
                buyer[line.id].unit_price,
                buyer[line.id].product_ids,
            )
            for line in billable
        ),
        freight=order.shipping.price.amount,
        tax=tax,
        net_days=terms.net_days if terms else None,
        discount_percent=terms.discount_percent if terms else None,
        discount_days=terms.discount_days if terms else None,
    )
