"""Own warehouse: staff pick, pack and ship in the hub; nothing leaves the building by API.

Dispatch is acceptance (the location is ours); staff work from the pick list and packing slip
built here, and report parcels through ``POST /v1/fulfillments/{id}/ship``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from orderhub.domain.fulfilment import FulfilmentOrder
from orderhub.domain.orders import Order
from orderhub.fulfilment.base import (
    Callback,
    DispatchRequest,
    DispatchResult,
    InvalidCallback,
    ProviderUpdate,
)


class WarehouseProvider:
    polled = False

    def __init__(self, code: str = "warehouse") -> None:
        self.code = code

    def dispatch(self, request: DispatchRequest) -> DispatchResult:
        return DispatchResult(external_ref=request.fulfilment_id, accepted=True)

    def cancel(self, fulfilment: FulfilmentOrder) -> None:
        """Nothing to call: the pick list simply stops listing it."""

    def update(self, fulfilment: FulfilmentOrder, request: DispatchRequest) -> None:
        """Nothing to call: the packing slip is printed from the order as it is now."""

    def handle_callback(self, callback: Callback) -> list[ProviderUpdate]:
        raise InvalidCallback(
            "the own warehouse reports through POST /v1/fulfillments/{id}/ship", unauthorized=False
        )

    def poll(
        self, open_fulfilments: Sequence[FulfilmentOrder], now: datetime
    ) -> list[ProviderUpdate]:
        return []


def pick_list(fulfilments: Sequence[FulfilmentOrder]) -> list[dict[str, Any]]:
    """Units still to pick, summed per SKU over these fulfilment orders, SKU order (a walk)."""
    per_sku: dict[str, dict[str, Any]] = {}
    for fulfilment in fulfilments:
        remaining = fulfilment.remaining_units()
        for line in fulfilment.lines:
            units = remaining[line.line_id]
            if not units:
                continue
            entry = per_sku.setdefault(line.sku, {"sku": line.sku, "quantity": 0, "picks": []})
            entry["quantity"] += units
            entry["picks"].append(
                {"fulfilment_id": fulfilment.id, "line_id": line.line_id, "quantity": units}
            )
    return [per_sku[sku] for sku in sorted(per_sku)]


def packing_slip(fulfilment: FulfilmentOrder, order: Order) -> dict[str, Any]:
    """What goes in the box: order number, ship-to and the lines this location sends."""
    names = {line.id: line.name for line in order.lines}
    address = order.shipping_address
    return {
        "fulfilment_id": fulfilment.id,
        "order_id": order.id,
        "order_number": order.external_id,
        "channel": order.channel,
        "placed_at": order.placed_at.isoformat(),
        "ship_to": {
            k: v for k, v in (address.__dict__ if address else {}).items() if v is not None
        },
        "customer": {"name": order.customer.name, "email": order.customer.email},
        "shipping_method": order.shipping.method,
        "lines": [
            {
                "line_id": line.line_id,
                "sku": line.sku,
                "name": names.get(line.line_id),
                "quantity": line.quantity,
            }
            for line in fulfilment.lines
        ],
    }
