"""An order that came in as a cXML OrderRequest gives its ConfirmationRequest and ShipNotice.

Line numbers, supplier part ids, units and exact unit prices are the buyer's own
(``metadata["cxml"]["lines"]``); the parties come from the channel settings, falling back to the
identities of the OrderRequest (its To is us, its From is the buyer).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from orderhub.channels.cxml_out import (
    Confirmation,
    ConfirmedLine,
    Identity,
    Parties,
    ShipNotice,
    ShippedLine,
)
from orderhub.domain.channels import Channel
from orderhub.domain.orders import Order


def parties(channel: Channel, order: Order) -> Parties:
    """From ``settings["cxml"]`` (supplier_/buyer_ domain and identity); secret in credentials."""
    settings: dict[str, Any] = channel.settings.get("cxml", {}) if channel.settings else {}
    sent: dict[str, Any] = order.metadata.get("cxml", {})
    return Parties(
        supplier=Identity(
            str(settings.get("supplier_domain", "NetworkID")),
            str(settings.get("supplier_identity", sent.get("to") or "")),
        ),
        buyer=Identity(
            str(settings.get("buyer_domain", "NetworkID")),
            str(settings.get("buyer_identity", sent.get("from") or "")),
        ),
        shared_secret=str(channel.credentials.get("shared_secret", "")),
    )


def _buyer_lines(order: Order) -> dict[str, dict[str, Any]]:
    sent: list[dict[str, Any]] = order.metadata.get("cxml", {}).get("lines", [])
    by_number = {str(item["line_number"]): item for item in sent}
    return {line.id: by_number.get(line.channel_line_id or "", {}) for line in order.lines}


def confirmation(
    order: Order, *, backordered: Mapping[str, int], confirm_id: str, ship_date: datetime | None
) -> Confirmation:
    """Accept every line; what waits for stock is confirmed as backordered (split by line)."""
    buyer = _buyer_lines(order)
    lines: list[ConfirmedLine] = []
    for line in order.lines:
        item = buyer[line.id]
        number = line.channel_line_id or str(len(lines) + 1)
        unit = str(item.get("unit_of_measure") or "EA")
        price = Decimal(item["unit_price"]) if "unit_price" in item else line.unit_price.amount
        waiting = min(backordered.get(line.id, 0), line.quantity)
        if line.quantity - waiting:
            lines.append(
                ConfirmedLine(
                    number,
                    line.quantity - waiting,
                    "accept",
                    unit,
                    price,
                    item.get("supplier_part_id"),
                )
            )
        if waiting:
            lines.append(
                ConfirmedLine(
                    number,
                    waiting,
                    "backordered",
                    unit,
                    price,
                    item.get("supplier_part_id"),
                    ship_date,
                )
            )
    return Confirmation(
        order_id=order.external_id,
        order_payload_id=order.metadata.get("cxml", {}).get("payload_id"),
        confirm_id=confirm_id,
        lines=tuple(lines),
        currency=order.currency,
    )


def ship_notice(
    order: Order,
    *,
    shipment_id: str,
    shipped_at: datetime,
    carrier: str,
    tracking_number: str,
    quantities: Mapping[str, int],
) -> ShipNotice:
    buyer = _buyer_lines(order)
    return ShipNotice(
        shipment_id=shipment_id,
        order_id=order.external_id,
        order_date=order.placed_at.astimezone(UTC),
        shipped_at=shipped_at,
        carrier=carrier,
        tracking_number=tracking_number,
        lines=tuple(
            ShippedLine(
                line.channel_line_id or "",
                quantity,
                buyer[line.id].get("supplier_part_id"),
                str(buyer[line.id].get("unit_of_measure") or "EA"),
            )
            for line in order.lines
            if (quantity := quantities.get(line.id, 0)) > 0
        ),
    )
