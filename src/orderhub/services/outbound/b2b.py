"""B2B documents to the buyer: EDI 855/856/810 and cXML ConfirmationRequest/ShipNoticeRequest.

- accepted (``order.allocated``): 855 ``AD`` / ConfirmationRequest ``accept``;
- backordered (``order.status_changed`` to ``backordered``): 855 ``AC`` / ConfirmationRequest
  ``detail`` with every open unit backordered;
- ``shipment.created``: 856 / ShipNoticeRequest for that parcel;
- fully shipped (``order.status_changed`` to ``shipped``): 810 for the order.

EDI documents are POSTed as ``application/edi-x12`` to the channel's ``settings.edi.outbound_url``
(an AS2 or VAN gateway's HTTP intake), cXML to ``settings.cxml.buyer_url``; without a URL the
document is not sent. :func:`prepare` builds the document in the delivery's read step and
:func:`post` sends it with no transaction open (see ``OutboundConsumer``). An EDI document's
control number is reserved per outbox event in that read step (committed before the call) and
released once the document was taken: every retry — after a refusal, a timeout or a crash
between the call and its record — re-sends it under the same number, which the partner's
duplicate check recognizes, and concurrent documents never share one. A document that is never
taken (dead letter) leaves a gap in the numbers.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from orderhub.channels import cxml_from_order, cxml_out
from orderhub.channels.edi_x12 import from_order, outbound
from orderhub.channels.edi_x12.stored import channel_partner
from orderhub.clock import utc_now
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.domain.ids import new_id
from orderhub.domain.orders import Order
from orderhub.http.outbound import outbound_client
from orderhub.services.outbound.calls import (
    ChannelBusy,
    TransportFactory,
    judge,
    refused,
    unreachable,
)
from orderhub.store.unit_of_work import UnitOfWork

log = logging.getLogger("orderhub.outbound")
KINDS = frozenset({ChannelKind.EDI_X12, ChannelKind.CXML})
EVENTS = frozenset({"order.allocated", "order.status_changed", "shipment.created"})
_CXML_STATUS = re.compile(r'<Status\b[^>]*\bcode="(\d{3})"')


def backordered(order: Order) -> dict[str, int]:
    return {line.id: line.open_quantity for line in order.lines if line.open_quantity}


def shipment_of(data: dict[str, Any]) -> from_order.Shipment:
    return from_order.Shipment(
        shipment_id=str(data["shipment_id"]),
        shipped_at=datetime.fromisoformat(str(data["shipped_at"])),
        carrier_scac=str(data.get("carrier") or "").upper(),
        tracking_number=str(data.get("tracking_number") or ""),
        quantities={str(i["line_id"]): int(i["quantity"]) for i in data.get("lines") or []},
    )


@dataclass(frozen=True)
class Document:
    """One document to send, built from the database before the call."""

    name: str  # "855", "856", "810", "ConfirmationRequest", "ShipNoticeRequest"
    url: str
    text: str
    content_type: str
    event_id: str  # the event it answers: its control number is reserved under this id

    def settle(self, uow: UnitOfWork) -> None:
        """The buyer took it: the control number reserved for it is spent for good."""
        uow.control_numbers.release(self.event_id)


def prepare(
    uow: UnitOfWork,
    event_type: str,
    data: dict[str, Any],
    *,
    event_id: str,
    now: datetime | None = None,
) -> Document | None:
    """The document this event calls for, if any (an EDI one reserves its control number)."""
    order = uow.orders.get(str(data["order_id"]))
    channel = uow.channels.get(order.channel)
    if channel.kind not in KINDS or not channel.sync_back:
        return None
    edi = channel.kind == ChannelKind.EDI_X12
    where = channel.settings.get("edi" if edi else "cxml") or {}
    url = where.get("outbound_url" if edi else "buyer_url")
    if not url:  # checked first: no control number is spent on a document never sent
        log.info(
            "channel %s has no URL for B2B documents: %s not answered", channel.code, event_type
        )
        return None
    at = now or utc_now()
    if edi:
        built = _edi(uow, channel, order, event_type, data, at, event_id)
        content_type = "application/edi-x12"
    else:
        built = _cxml(channel, order, event_type, data, at)
        content_type = "text/xml; charset=utf-8"
    if built is None:
        return None
    name, text = built
    return Document(name, str(url), text, content_type, event_id)


def _edi(
    uow: UnitOfWork,
    channel: Channel,
    order: Order,
    event_type: str,
    data: dict[str, Any],
    at: datetime,
    event_id: str,
) -> tuple[str, str] | None:
    partner = channel_partner(channel).partner

    def control() -> int:
        return uow.control_numbers.reserve(
            channel.code, f"{partner.their_qualifier}:{partner.their_id}", event_id=event_id
        )

    to_status = data.get("to_status")
    if event_type == "order.allocated" or to_status == "backordered":
        waiting = backordered(order) if to_status == "backordered" else {}
        ack = from_order.acknowledgement(order, backordered=waiting, today=at.date())
        return "855", outbound.build_855(ack, partner, control=control(), at=at)
    if event_type == "shipment.created":
        asn = from_order.ship_notice(order, shipment_of(data))
        return "856", outbound.build_856(asn, partner, control=control(), at=at)
    if to_status == "shipped":
        document = from_order.invoice(order, invoice_number=order.external_id, today=at.date())
        return "810", outbound.build_810(document, partner, control=control(), at=at)
    return None


def _cxml(
    channel: Channel,
    order: Order,
    event_type: str,
    data: dict[str, Any],
    at: datetime,
) -> tuple[str, str] | None:
    parties = cxml_from_order.parties(channel, order)
    to_status = data.get("to_status")
    if event_type == "order.allocated" or to_status == "backordered":
        waiting = backordered(order) if to_status == "backordered" else {}
        document = cxml_from_order.confirmation(
            order, backordered=waiting, confirm_id=new_id(), ship_date=None
        )
        return "ConfirmationRequest", cxml_out.build_confirmation(document, parties, at=at)
    if event_type == "shipment.created":
        shipment = shipment_of(data)
        notice = cxml_from_order.ship_notice(
            order,
            shipment_id=shipment.shipment_id,
            shipped_at=shipment.shipped_at,
            carrier=shipment.carrier_scac,
            tracking_number=shipment.tracking_number,
            quantities=shipment.quantities,
        )
        return "ShipNoticeRequest", cxml_out.build_ship_notice(notice, parties, at=at)
    return None


def post(document: Document, transport: TransportFactory) -> None:
    """POST the document; a cXML answer's own ``Status code`` is judged like an HTTP one."""
    url = document.url
    try:
        with outbound_client(transport=transport(), timeout=30.0) as client:
            response = client.post(
                url,
                content=document.text.encode(),
                headers={"Content-Type": document.content_type},
            )
    except httpx.TransportError as error:
        raise unreachable(f"POST {url}", error) from error
    judge(response)
    found = _CXML_STATUS.search(response.text)
    if found is not None:
        code = int(found.group(1))
        if code >= 500:
            raise ChannelBusy(f"{url} answered cXML status {code}")
        if code >= 400:
            raise refused(f"{url} answered cXML status {code}: {response.text[:300]}")
