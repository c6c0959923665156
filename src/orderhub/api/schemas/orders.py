"""The order as the API returns it (see DESIGN.md): money as decimal strings."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from orderhub.domain.fulfilment import FulfilmentOrder, Shipment
from orderhub.domain.orders import Address, Order


class CustomerOut(BaseModel):
    id: str | None
    email: str | None
    name: str | None
    phone: str | None = None


class AddressOut(BaseModel):
    country: str
    name: str | None = None
    company: str | None = None
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    phone: str | None = None


class LineOut(BaseModel):
    id: str
    sku: str
    channel_sku: str | None
    channel_line_id: str | None
    name: str | None
    quantity: int
    cancelled_quantity: int
    unit_price: str
    discount: str
    tax: str
    status: str


class ShippingOut(BaseModel):
    price: str
    discount: str
    tax: str
    method: str | None


class ContactOut(BaseModel):
    role: str
    name: str | None
    email: str | None
    phone: str | None


class PaymentTermsOut(BaseModel):
    net_days: int | None
    discount_percent: str | None
    discount_days: int | None
    description: str | None


class PurchaseOrderOut(BaseModel):
    """The B2B purchase order behind the order (EDI 850, cXML OrderRequest)."""

    number: str
    order_date: date | None
    payment_terms: PaymentTermsOut | None
    requested_ship_date: date | None
    requested_delivery_date: date | None
    bill_to_differs: bool
    buyer_name: str | None
    contacts: list[ContactOut]

    @classmethod
    def of(cls, order: Order) -> PurchaseOrderOut | None:
        po = order.purchase_order
        if po is None:
            return None
        terms = po.payment_terms
        return cls(
            number=po.number,
            order_date=po.order_date,
            payment_terms=None
            if terms is None
            else PaymentTermsOut(
                net_days=terms.net_days,
                discount_percent=None
                if terms.discount_percent is None
                else f"{terms.discount_percent:f}",
                discount_days=terms.discount_days,
                description=terms.description,
            ),
            requested_ship_date=po.requested_ship_date,
            requested_delivery_date=po.requested_delivery_date,
            bill_to_differs=order.bill_to_differs,
            buyer_name=po.buyer_name,
            contacts=[ContactOut(**dataclasses.asdict(c)) for c in po.contacts],
        )


class ShipmentOut(BaseModel):
    """One parcel: who carries it, how to follow it, which units of which lines it holds."""

    id: str
    fulfilment_id: str
    location: str
    carrier: str
    service: str | None
    tracking_number: str | None
    tracking_url: str | None
    lines: dict[str, int]  # order line id → units in this parcel
    shipped_at: datetime
    status: str
    status_at: datetime | None

    @classmethod
    def of(cls, shipment: Shipment, fulfilment: FulfilmentOrder) -> ShipmentOut:
        return cls(
            id=shipment.id,
            fulfilment_id=fulfilment.id,
            location=fulfilment.location,
            carrier=shipment.carrier,
            service=shipment.service,
            tracking_number=shipment.tracking_number,
            tracking_url=shipment.tracking_url,
            lines=shipment.lines,
            shipped_at=shipment.shipped_at,
            status=shipment.status.value,
            status_at=shipment.status_at,
        )


def shipments_out(fulfilments: list[FulfilmentOrder]) -> list[ShipmentOut]:
    """Every parcel of these fulfilment orders, in the order they left."""
    found = [ShipmentOut.of(s, f) for f in fulfilments for s in f.shipments]
    return sorted(found, key=lambda s: (s.shipped_at, s.id))


class TotalsOut(BaseModel):
    subtotal: str
    discount: str
    shipping: str
    tax: str
    total: str


class DeliveryOut(BaseModel):
    type: str  # "ship" or "pickup"
    location: str | None  # pick-up: the store


class OrderOut(BaseModel):
    id: str
    channel: str
    external_id: str
    status: str
    hold_reason: str | None
    currency: str
    placed_at: datetime
    customer: CustomerOut
    shipping_address: AddressOut | None
    billing_address: AddressOut | None
    lines: list[LineOut]
    shipping: ShippingOut
    prices_include_tax: bool
    totals: TotalsOut
    metadata: dict[str, Any]
    purchase_order: PurchaseOrderOut | None = None
    delivery: DeliveryOut = DeliveryOut(type="ship", location=None)
    allocations: list[dict[str, Any]]
    shipments: list[ShipmentOut]

    @classmethod
    def of(
        cls,
        order: Order,
        *,
        allocations: list[dict[str, Any]],
        fulfilments: list[FulfilmentOrder],
    ) -> OrderOut:
        """``allocations``: where the order's stock is held (see ``StockRepository.views``);
        ``fulfilments``: the order's fulfilment orders, whose parcels are its shipments."""
        totals = order.totals
        return cls(
            id=order.id,
            channel=order.channel,
            external_id=order.external_id,
            status=order.status.value,
            hold_reason=order.hold_reason,
            currency=order.currency,
            placed_at=order.placed_at,
            customer=CustomerOut(
                id=order.customer.id,
                email=order.customer.email,
                name=order.customer.name,
                phone=order.customer.phone,
            ),
            shipping_address=_address(order.shipping_address),
            billing_address=_address(order.billing_address),
            lines=[
                LineOut(
                    id=line.id,
                    sku=line.sku,
                    channel_sku=line.channel_sku,
                    channel_line_id=line.channel_line_id,
                    name=line.name,
                    quantity=line.quantity,
                    cancelled_quantity=line.cancelled_quantity,
                    unit_price=str(line.unit_price),
                    discount=str(line.discount),
                    tax=str(line.tax),
                    status=line.status.value,
                )
                for line in order.lines
            ],
            shipping=ShippingOut(
                price=str(order.shipping.price),
                discount=str(order.shipping.discount),
                tax=str(order.shipping.tax),
                method=order.shipping.method,
            ),
            prices_include_tax=order.prices_include_tax,
            totals=TotalsOut(
                subtotal=str(totals.subtotal),
                discount=str(totals.discount),
                shipping=str(totals.shipping),
                tax=str(totals.tax),
                total=str(totals.total),
            ),
            metadata=order.metadata,
            purchase_order=PurchaseOrderOut.of(order),
            delivery=DeliveryOut(
                type=order.delivery.type.value if order.delivery else "ship",
                location=order.delivery.location if order.delivery else None,
            ),
            allocations=allocations,
            shipments=shipments_out(fulfilments),
        )


def _address(address: Address | None) -> AddressOut | None:
    return AddressOut(**dataclasses.asdict(address)) if address else None


class OrderPage(BaseModel):
    items: list[OrderOut]
    next_cursor: str | None


class EventOut(BaseModel):
    id: str
    seq: int
    type: str
    data: dict[str, Any]
    actor: str
    occurred_at: datetime
    hash: str


class QuarantinedOut(BaseModel):
    status: str = "quarantined"
    quarantine_id: str
    reason: str
    errors: list[dict[str, Any]]
