"""A purchase order's B2B terms as the JSON kept in ``orders.purchase_order``."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from orderhub.domain.orders import Contact, PaymentTerms, PurchaseOrder


def payment_terms_json(terms: PaymentTerms | None) -> dict[str, Any] | None:
    """The terms as JSON: the percentage as exact decimal text (stored, and answered)."""
    if terms is None:
        return None
    return {
        "net_days": terms.net_days,
        "discount_percent": None
        if terms.discount_percent is None
        else f"{terms.discount_percent:f}",
        "discount_days": terms.discount_days,
        "description": terms.description,
    }


def purchase_order_json(po: PurchaseOrder | None) -> dict[str, Any] | None:
    if po is None:
        return None
    return {
        "number": po.number,
        "order_date": _iso(po.order_date),
        "payment_terms": payment_terms_json(po.payment_terms),
        "requested_ship_date": _iso(po.requested_ship_date),
        "requested_delivery_date": _iso(po.requested_delivery_date),
        "contacts": [
            {"role": c.role, "name": c.name, "email": c.email, "phone": c.phone}
            for c in po.contacts
        ],
        "buyer_name": po.buyer_name,
    }


def purchase_order_from_json(data: dict[str, Any] | None) -> PurchaseOrder | None:
    if not data:
        return None
    terms = data.get("payment_terms")
    return PurchaseOrder(
        number=data["number"],
        order_date=_date(data.get("order_date")),
        payment_terms=None
        if terms is None
        else PaymentTerms(
            net_days=terms.get("net_days"),
            discount_percent=None
            if terms.get("discount_percent") is None
            else Decimal(terms["discount_percent"]),
            discount_days=terms.get("discount_days"),
            description=terms.get("description"),
        ),
        requested_ship_date=_date(data.get("requested_ship_date")),
        requested_delivery_date=_date(data.get("requested_delivery_date")),
        contacts=tuple(Contact(**c) for c in data.get("contacts", [])),
        buyer_name=data.get("buyer_name"),
    )


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None
