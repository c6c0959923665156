"""The facts of the outbound EDI documents (855, 856, 810), independent of their X12 layout.

Builders (:mod:`.outbound`) write them, readers (:mod:`.inbound_docs`) read them back: a
document that round-trips to an equal value says the same thing on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal

ProductIds = tuple[tuple[str, str], ...]  # ((qualifier, id), …) in the buyer's order


@dataclass(frozen=True)
class PartyAddress:
    """An N1 loop: role (ST, SF, BT…), name, and the address lines of N3/N4."""

    role: str
    name: str
    line1: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class AckLine:
    line_number: str
    quantity_ordered: int
    unit: str
    unit_price: Decimal
    product_ids: ProductIds
    quantity_accepted: int
    quantity_backordered: int = 0
    quantity_rejected: int = 0
    expected_ship_date: date | None = None


@dataclass(frozen=True)
class PurchaseOrderAck:
    """855: what we will ship of a purchase order."""

    po_number: str
    po_date: date
    ack_date: date
    currency: str
    lines: tuple[AckLine, ...]

    @property
    def acknowledgement_type(self) -> str:
        """BAK02: AD accepted as ordered, AC accepted with changes (backorders included: a PO
        waiting whole for stock is accepted, not rejected), RJ nothing accepted or backordered."""
        if all(line.quantity_accepted == line.quantity_backordered == 0 for line in self.lines):
            return "RJ"
        if all(line.quantity_accepted == line.quantity_ordered for line in self.lines):
            return "AD"
        return "AC"


@dataclass(frozen=True)
class ShippedItem:
    line_number: str
    product_ids: ProductIds
    quantity: int
    unit: str = "EA"


@dataclass(frozen=True)
class Pack:
    marks: str  # MAN*GM: the carton's SSCC-18 or the parcel's tracking number
    items: tuple[ShippedItem, ...]


@dataclass(frozen=True)
class ShippedOrder:
    po_number: str
    po_date: date | None
    packs: tuple[Pack, ...]


@dataclass(frozen=True)
class AdvanceShipNotice:
    """856: shipment → order → pack → item, with carrier and tracking."""

    shipment_id: str
    shipped_at: datetime
    carrier_scac: str
    tracking_number: str
    orders: tuple[ShippedOrder, ...]
    ship_from: PartyAddress | None = None
    ship_to: PartyAddress | None = None


@dataclass(frozen=True)
class InvoiceLine:
    line_number: str
    quantity: int
    unit: str
    unit_price: Decimal
    product_ids: ProductIds


@dataclass(frozen=True)
class Invoice:
    """810: what the buyer owes for a purchase order."""

    invoice_number: str
    invoice_date: date
    po_number: str
    po_date: date | None
    currency: str
    lines: tuple[InvoiceLine, ...]
    freight: Decimal = Decimal(0)
    tax: Decimal = Decimal(0)
    net_days: int | None = None
    discount_percent: Decimal | None = None
    discount_days: int | None = None

    @property
    def total(self) -> Decimal:
        """Lines at their exact unit prices, rounded half-even to cents, plus freight and tax."""
        lines = sum((line.unit_price * line.quantity for line in self.lines), Decimal(0))
        rounded = lines.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
        return rounded + self.freight + self.tax
