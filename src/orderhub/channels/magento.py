"""Adobe Commerce (Magento 2): orders pulled through REST search on ``updated_at``.

``GET /V1/orders`` with a ``gteq`` filter on ``updated_at``, sorted ascending, page by page.
Money arrives as JSON numbers and is read from the text as ``Decimal``. Amounts are taken in the
order currency (``order_currency_code``, the non-``base_`` fields); base amounts stay in
metadata. Configurable products give a parent row (price, ordered SKU) and a child row: the
child is skipped. Bundles keep their priced rows. Dates have no zone and are UTC.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from orderhub.channels import base
from orderhub.channels.base import ChannelOrder, OutboundRequest, Tracking
from orderhub.domain.errors import FieldError, NormalizationProblem, NotNormalizable
from orderhub.domain.orders import Address, Customer, LineDraft, OrderDraft, Shipping

SOURCE = "magento"
PAGE_SIZE = 50
CANCELLED_STATES = frozenset({"canceled"})


def search_params(
    since: datetime | None, *, page: int, page_size: int = PAGE_SIZE
) -> dict[str, str]:
    """The documented searchCriteria query for orders updated at or after ``since``."""
    prefix = "searchCriteria[filter_groups][0][filters][0]"
    params = {
        "searchCriteria[sortOrders][0][field]": "updated_at",
        "searchCriteria[sortOrders][0][direction]": "ASC",
        "searchCriteria[pageSize]": str(page_size),
        "searchCriteria[currentPage]": str(page),
    }
    if since is not None:
        params |= {
            f"{prefix}[field]": "updated_at",
            f"{prefix}[value]": since.strftime("%Y-%m-%d %H:%M:%S"),
            f"{prefix}[condition_type]": "gteq",
        }
    return params


def fetch_updated(
    client: httpx.Client, since: datetime | None, *, page_size: int = PAGE_SIZE
) -> Iterator[str]:
    """Each order updated since ``since`` as JSON text (amounts as exact decimal strings).

    Magento answers a page past the end with the last page again, so paging stops on
    ``total_count``, not on an empty page.
    """
    page = 1
    while True:
        response = client.get(
            "/V1/orders", params=search_params(since, page=page, page_size=page_size)
        )
        response.raise_for_status()
        data = base.loads(response.text)
        items = data.get("items") or []
        for item in items:
            yield json.dumps(item, default=_decimal_text, sort_keys=True)
        if not items or page * page_size >= int(data.get("total_count") or 0):
            return
        page += 1


def _decimal_text(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{value:f}"
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def read_order(channel: str, raw: str) -> ChannelOrder:
    payload = base.envelope(channel, order=raw)
    external_id = None
    try:
        data = base.loads(raw)
        external_id = base.text(data.get("entity_id"))
        draft = to_draft(channel, data)
    except (NotNormalizable, KeyError, TypeError, ValueError, AttributeError) as error:
        return ChannelOrder(
            channel, SOURCE, external_id, payload, problem=base.problem_of(error, external_id)
        )
    cancelled = data.get("state") in CANCELLED_STATES
    return ChannelOrder(
        channel, SOURCE, external_id, payload, draft=draft, cancelled=cancelled,
        cancel_reason="cancelled on Adobe Commerce",
    )  # fmt: skip


def updated_at(item: ChannelOrder) -> datetime | None:
    """When the channel last changed the order (the sync cursor's unit)."""
    _channel, parts = base.open_envelope(item.payload)
    value = base.loads(parts["order"]).get("updated_at")
    return base.parse_iso(value) if value else None


def parse(payload: str) -> OrderDraft:
    channel, parts = base.open_envelope(payload)
    return to_draft(channel, base.loads(parts["order"]))


def to_draft(channel: str, data: dict[str, Any]) -> OrderDraft:
    currency = str(data.get("order_currency_code") or data["base_currency_code"])
    items = data.get("items") or []
    by_id = {item.get("item_id"): item for item in items}
    lines = tuple(
        _line(item, currency, i)
        for i, item in enumerate(items)
        if not _is_priced_elsewhere(item, by_id)
    )
    if not lines:
        raise NotNormalizable(NormalizationProblem("no items", [FieldError(("items",), "empty")]))
    billing = data.get("billing_address") or {}
    return base.checked(
        OrderDraft(
            channel=channel,
            external_id=str(data["entity_id"]),
            currency=currency,
            placed_at=base.parse_iso(data["created_at"]),
            customer=Customer(
                email=base.text(data.get("customer_email")),
                name=base.full_name(data.get("customer_firstname"), data.get("customer_lastname")),
                phone=base.text(billing.get("telephone")),
            ),
            shipping_address=_address(_shipping_address(data)),
            billing_address=_address(billing),
            lines=lines,
            shipping=Shipping(
                price=base.money(data.get("shipping_amount"), currency, field="shipping_amount"),
                tax=base.money(
                    data.get("shipping_tax_amount"), currency, field="shipping_tax_amount"
                ),
                discount=base.money(
                    data.get("shipping_discount_amount"), currency, field="shipping_discount_amount"
                ),
                method=base.text(data.get("shipping_description")),
            ),
            prices_include_tax=False,
            metadata={
                "source": SOURCE,
                "increment_id": data.get("increment_id"),
                "state": data.get("state"),
                "status": data.get("status"),
                "updated_at": data.get("updated_at"),
                "store_id": data.get("store_id"),
                "base_currency": data.get("base_currency_code"),
                "base_grand_total": str(data.get("base_grand_total")),
                "channel_total": str(
                    base.money(data.get("grand_total"), currency, field="grand_total")
                ),
                "customer_is_guest": bool(data.get("customer_is_guest")),
            },
        )
    )


def _is_priced_elsewhere(item: dict[str, Any], by_id: dict[Any, dict[str, Any]]) -> bool:
    """A configurable product's child row: the parent row carries price and SKU."""
    parent = by_id.get(item.get("parent_item_id")) or item.get("parent_item") or {}
    return bool(parent.get("product_type") == "configurable")


def _line(item: dict[str, Any], currency: str, index: int) -> LineDraft:
    field = f"items.{index}"
    return LineDraft(
        sku=None,
        channel_sku=base.text(item.get("sku")),
        channel_line_id=base.text(item.get("item_id")),
        name=base.text(item.get("name")),
        quantity=base.quantity(item.get("qty_ordered"), field=f"{field}.qty_ordered"),
        unit_price=base.money(item.get("price"), currency, field=f"{field}.price"),
        discount=base.money(
            item.get("discount_amount"), currency, field=f"{field}.discount_amount"
        ),
        tax=base.money(item.get("tax_amount"), currency, field=f"{field}.tax_amount"),
    )


def _shipping_address(data: dict[str, Any]) -> dict[str, Any]:
    """The shipping address lives in ``extension_attributes.shipping_assignments``."""
    for assignment in (data.get("extension_attributes") or {}).get("shipping_assignments") or []:
        found = (assignment.get("shipping") or {}).get("address")
        if found:
            return dict(found)
    return dict(data.get("billing_address") or {})


def _address(data: Mapping[str, Any]) -> Address | None:
    street = list(data.get("street") or [])
    return base.address(
        country=data.get("country_id"),
        name=base.full_name(data.get("firstname"), data.get("lastname")),
        company=data.get("company"),
        line1=street[0] if street else None,
        line2=", ".join(street[1:]) or None,
        city=data.get("city"),
        region=data.get("region_code") or data.get("region"),
        postal_code=data.get("postcode"),
        phone=data.get("telephone"),
    )


# --- outbound: pure request builders -------------------------------------------------------


def mark_shipped(
    order_id: str, *, items: Mapping[int, int], tracking: Tracking, notify: bool = True
) -> OutboundRequest:
    """``POST /V1/order/{orderId}/ship``: items are order item id → quantity."""
    return OutboundRequest(
        "POST",
        f"/V1/order/{order_id}/ship",
        {
            "items": [{"order_item_id": item, "qty": qty} for item, qty in items.items()],
            "notify": notify,
            "tracks": [
                {
                    "track_number": tracking.number,
                    "title": tracking.carrier,
                    "carrier_code": tracking.carrier.strip().lower(),
                }
            ],
        },
    )


def cancel(order_id: str) -> OutboundRequest:
    return OutboundRequest("POST", f"/V1/orders/{order_id}/cancel")


def refund(
    order_id: str,
    *,
    lines: list[tuple[str, int]],
    shipping: Decimal,
    fees: Decimal,
    reason: str,
    notify: bool = False,
) -> OutboundRequest:
    """``POST /V1/order/{orderId}/refund``: an offline credit memo for ``lines`` (order item
    id, quantity). ``shipping`` is the shipping refunded, ``fees`` (restocking, return
    shipping) the merchant keeps, sent as ``adjustment_negative``; amounts are JSON numbers."""
    return OutboundRequest(
        "POST",
        f"/V1/order/{order_id}/refund",
        {
            "items": [{"order_item_id": _numeric(item), "qty": qty} for item, qty in lines],
            "notify": notify,
            "appendComment": True,
            "comment": {"comment": reason, "is_visible_on_front": 0},
            "arguments": {
                "shipping_amount": _number(shipping),
                "adjustment_positive": 0,
                "adjustment_negative": _number(fees),
            },
        },
    )


def add_comment(order_id: str, comment: str) -> OutboundRequest:
    """``POST /V1/orders/{id}/comments``: a comment in the order's status history, not shown
    to the customer (an order edit made in the hub)."""
    return OutboundRequest(
        "POST",
        f"/V1/orders/{order_id}/comments",
        {
            "statusHistory": {
                "comment": comment,
                "is_customer_notified": 0,
                "is_visible_on_front": 0,
            }
        },
    )


def _numeric(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def _number(value: Decimal) -> float:
    """A two-decimal amount as the JSON number the API wants (its text stays exact)."""
    return float(value.quantize(Decimal("0.01")))


def set_source_items(levels: list[tuple[str, str, int]]) -> OutboundRequest:
    """``POST /V1/inventory/source-items`` (MSI): (SKU, source code, quantity) triples."""
    return OutboundRequest(
        "POST",
        "/V1/inventory/source-items",
        {
            "sourceItems": [
                {"sku": sku, "source_code": source, "quantity": max(qty, 0), "status": int(qty > 0)}
                for sku, source, qty in levels
            ]
        },
    )


def auth_headers(credentials: Mapping[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {credentials.get('access_token', '')}"}
