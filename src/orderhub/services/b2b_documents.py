"""Outbound B2B documents for an order: EDI 855/856/810 (numbered per partner) and cXML.

Each call reserves the next control number of the channel's trading partner and commits it,
so two documents never share a number even if one is never sent. Delivery (AS2, VAN, the
buyer's cXML URL) belongs to the outbox worker.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from orderhub.channels import cxml_from_order, cxml_out
from orderhub.channels.cxml_out import Parties
from orderhub.channels.edi_x12 import from_order, outbound
from orderhub.channels.edi_x12.stored import channel_partner
from orderhub.channels.edi_x12.writer import Partner
from orderhub.clock import Clock, utc_now
from orderhub.domain.channels import ChannelKind
from orderhub.domain.errors import FieldError, ValidationFailed
from orderhub.domain.ids import new_id
from orderhub.domain.orders import Order
from orderhub.store.unit_of_work import UnitOfWork


def _edi_order(uow: UnitOfWork, order_id: str) -> tuple[Order, Partner, int]:
    order = uow.orders.get(order_id)
    channel = uow.channels.get(order.channel)
    if channel.kind != ChannelKind.EDI_X12:
        raise ValidationFailed(
            "the order did not come through EDI",
            [FieldError(("order_id",), f"channel {channel.code!r} is {channel.kind.value}")],
        )
    partner = channel_partner(channel).partner
    control = uow.control_numbers.next(
        channel.code, f"{partner.their_qualifier}:{partner.their_id}"
    )
    return order, partner, control


def purchase_order_acknowledgement(
    uow: UnitOfWork, *, order_id: str, backordered: Mapping[str, int], now: Clock = utc_now
) -> str:
    """The 855: accepted, or accepted with changes when lines wait for stock."""
    order, partner, control = _edi_order(uow, order_id)
    at = now()
    ack = from_order.acknowledgement(order, backordered=backordered, today=at.date())
    text = outbound.build_855(ack, partner, control=control, at=at)
    uow.commit()
    return text


def advance_ship_notice(
    uow: UnitOfWork, *, order_id: str, shipment: from_order.Shipment, now: Clock = utc_now
) -> str:
    """The 856 for one shipment of the order."""
    order, partner, control = _edi_order(uow, order_id)
    text = outbound.build_856(
        from_order.ship_notice(order, shipment), partner, control=control, at=now()
    )
    uow.commit()
    return text


def invoice(uow: UnitOfWork, *, order_id: str, invoice_number: str, now: Clock = utc_now) -> str:
    """The 810 for the order's lines that were not cancelled."""
    order, partner, control = _edi_order(uow, order_id)
    at = now()
    document = from_order.invoice(order, invoice_number=invoice_number, today=at.date())
    text = outbound.build_810(document, partner, control=control, at=at)
    uow.commit()
    return text


def _cxml_order(uow: UnitOfWork, order_id: str) -> tuple[Order, Parties]:
    order = uow.orders.get(order_id)
    channel = uow.channels.get(order.channel)
    if channel.kind != ChannelKind.CXML:
        raise ValidationFailed(
            "the order did not come through cXML",
            [FieldError(("order_id",), f"channel {channel.code!r} is {channel.kind.value}")],
        )
    return order, cxml_from_order.parties(channel, order)


def cxml_confirmation(
    uow: UnitOfWork,
    *,
    order_id: str,
    backordered: Mapping[str, int],
    ship_date: datetime | None = None,
    now: Clock = utc_now,
) -> str:
    """The ConfirmationRequest: accept, or detail with backordered quantities."""
    order, parties = _cxml_order(uow, order_id)
    document = cxml_from_order.confirmation(
        order, backordered=backordered, confirm_id=new_id(), ship_date=ship_date
    )
    return cxml_out.build_confirmation(document, parties, at=now())


def cxml_ship_notice(
    uow: UnitOfWork,
    *,
    order_id: str,
    shipment: from_order.Shipment,
    now: Clock = utc_now,
) -> str:
    """The ShipNoticeRequest for one shipment of the order."""
    order, parties = _cxml_order(uow, order_id)
    document = cxml_from_order.ship_notice(
        order,
        shipment_id=shipment.shipment_id,
        shipped_at=shipment.shipped_at,
        carrier=shipment.carrier_scac,
        tracking_number=shipment.tracking_number,
        quantities=shipment.quantities,
    )
    return cxml_out.build_ship_notice(document, parties, at=now())
