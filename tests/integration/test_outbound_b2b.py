"""B2B documents go to the buyer through the outbox: 855 on acceptance or backorder, 856 and
the cXML ship notice per shipment, 810 once the order shipped; each reads back to its facts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from orderhub.bootstrap import Container
from orderhub.channels.cxml import read_envelope
from orderhub.channels.edi_x12.inbound_docs import read_810, read_855, read_856
from orderhub.channels.edi_x12.parser import parse_interchange
from orderhub.domain.catalog import Product
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.domain.ids import new_id
from orderhub.services import outbound
from orderhub.services.cxml import receive_order_request
from orderhub.services.edi import receive_interchange
from orderhub.services.messagebus import Message
from orderhub.services.outbound import b2b
from orderhub.services.outbound.calls import ChannelBusy
from orderhub.store.tables import edi_control_reservations
from orderhub.store.unit_of_work import UnitOfWork
from orderhub.workers.targets import OutboundTarget, PermanentFailure
from tests.unit.channels.edi_fixtures import cxml as cxml_fixture
from tests.unit.channels.edi_fixtures import edi

AT = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
EDI_URL = "https://van.example.test/as2/outbound"
BUYER_URL = "https://buyer.example.test/cxml"
SETTINGS = {"edi": {"our_qualifier": "ZZ", "our_id": "MERCHANT", "partner_qualifier": "ZZ",
                    "partner_id": "ACMEHARDWARE", "outbound_url": EDI_URL}}  # fmt: skip


class Partner:
    def __init__(self, answer: httpx.Response | None = None) -> None:
        self.posts: list[tuple[str, str, str]] = []
        self.answer = answer or httpx.Response(200)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.posts.append(
            (str(request.url), request.headers["content-type"], request.content.decode())
        )
        return self.answer

    def transport(self) -> httpx.BaseTransport:
        return httpx.MockTransport(self)


def edi_order(container: Container, settings: dict[str, Any] = SETTINGS) -> str:
    with container.uow() as uow:
        uow.channels.add(Channel("acme", "Acme", ChannelKind.EDI_X12, settings=settings))
        for sku in ("BOLT-M8", "WASHER-10"):
            uow.catalog.upsert(Product(sku, sku, 10))
        uow.catalog.map_sku("acme", "012345678905", "BOLT-M8")
        uow.catalog.map_sku("acme", "036000291452", "WASHER-10")
        uow.commit()
        outcome = receive_interchange(
            uow, channel="acme", text=edi("distributor_pipe_two_groups_three_pos.edi")
        )
    order_id = outcome.purchase_orders[0].order_id
    assert order_id is not None
    return order_id


def send(
    container: Container,
    event: str,
    data: dict[str, Any],
    partner: Partner,
    *,
    event_id: str | None = None,
) -> str | None:
    """What the consumer does: build the document (reserving its control number), POST it
    with no transaction open, then settle it; returns which document was sent."""
    with container.uow() as uow:
        document = b2b.prepare(uow, event, data, event_id=event_id or new_id(), now=AT)
        uow.commit()
    if document is None:
        return None
    b2b.post(document, partner.transport)
    with container.uow() as uow:
        document.settle(uow)
        uow.commit()
    return document.name


def test_an_edi_order_gets_855_856_and_810_in_turn_with_increasing_control_numbers(
    container: Container,
) -> None:
    order_id = edi_order(container)
    with container.uow(read_only=True) as uow:
        bolts, washers = uow.orders.get(order_id).lines
    partner = Partner()
    shipment = {
        "order_id": order_id, "shipment_id": "SHP-1", "carrier": "upsn",
        "tracking_number": "1Z999", "shipped_at": AT.isoformat(),
        "lines": [{"line_id": bolts.id, "quantity": 3}, {"line_id": washers.id, "quantity": 10}],
    }  # fmt: skip
    sent = [
        send(container, "order.status_changed",
             {"order_id": order_id, "from_status": "received", "to_status": "backordered"},
             partner),
        send(container, "order.allocated", {"order_id": order_id, "allocations": []}, partner),
        send(container, "shipment.created", shipment, partner),
        send(container, "order.status_changed",
             {"order_id": order_id, "from_status": "allocated", "to_status": "shipped"}, partner),
    ]  # fmt: skip
    assert sent == ["855", "855", "856", "810"]
    assert {(url, kind) for url, kind, _ in partner.posts} == {(EDI_URL, "application/edi-x12")}
    parsed = [parse_interchange(text) for _, _, text in partner.posts]
    assert [ix.control for ix in parsed] == ["000000002", "000000003", "000000004", "000000005"]
    backorder, accepted = (read_855(ix.transactions[0][1]) for ix in parsed[:2])
    assert backorder.acknowledgement_type == "AC"
    assert [(ln.quantity_accepted, ln.quantity_backordered) for ln in backorder.lines] == [
        (0, 3),
        (0, 10),
    ]
    assert accepted.acknowledgement_type == "AD"
    asn = read_856(parsed[2].transactions[0][1])
    assert (asn.carrier_scac, asn.tracking_number) == ("UPSN", "1Z999")
    assert [(i.line_number, i.quantity) for i in asn.orders[0].packs[0].items] == [
        ("1", 3),
        ("2", 10),
    ]
    invoice = read_810(parsed[3].transactions[0][1])
    assert [(ln.line_number, ln.quantity) for ln in invoice.lines] == [("1", 3), ("2", 10)]


def test_a_document_the_partner_could_not_take_keeps_its_control_number_for_the_retry(
    container: Container,
) -> None:
    order_id = edi_order(container)
    allocated = {"order_id": order_id, "allocations": []}
    with pytest.raises(ChannelBusy):
        send(container, "order.allocated", allocated, Partner(httpx.Response(503)), event_id="e1")
    other = Partner()  # meanwhile another event's document goes out under the next number
    send(container, "order.status_changed", {"order_id": order_id, "to_status": "shipped"}, other)
    partner = Partner()
    send(container, "order.allocated", allocated, partner, event_id="e1")
    [(_, _, text)] = partner.posts
    assert parse_interchange(text).control == "000000002"
    assert parse_interchange(other.posts[0][2]).control == "000000003"
    with container.uow(read_only=True) as uow:
        assert uow.control_numbers.last("acme", "ZZ:ACMEHARDWARE") == 3


def test_a_document_sent_before_a_crash_goes_again_under_the_same_control_number(
    container: Container,
) -> None:
    order_id = edi_order(container)
    partner = Partner()
    [documents] = [c for c in outbound.consumers(partner.transport) if c.name == "channels.b2b"]
    target = OutboundTarget(documents, container.uow)
    data = {"order_id": order_id, "allocations": []}
    message = Message(new_id(), "order.allocated", f"order:{order_id}", data, "test", AT)

    def crash(_uow: UnitOfWork) -> None:
        raise RuntimeError("the worker dies before its record commits")

    with pytest.raises(RuntimeError):
        target.deliver(message, on_done=crash)
    shipped = {"order_id": order_id, "to_status": "shipped"}
    send(container, "order.status_changed", shipped, Partner())  # another document meanwhile
    target.deliver(message, on_done=lambda _uow: None)
    assert [parse_interchange(text).control for _, _, text in partner.posts] == [
        "000000002",
        "000000002",
    ]
    with container.engine.connect() as conn:
        held = conn.execute(select(func.count()).select_from(edi_control_reservations))
        assert held.scalar_one() == 0, "a taken document's reservation is released"
    target.deliver(message, on_done=lambda _uow: None)
    assert len(partner.posts) == 2, "a recorded delivery is not sent again"


def test_without_an_outbound_url_no_document_is_sent(container: Container) -> None:
    order_id = edi_order(container, {"edi": {**SETTINGS["edi"], "outbound_url": None}})
    partner = Partner()
    assert send(container, "order.allocated", {"order_id": order_id}, partner) is None
    assert partner.posts == []


def cxml_order(container: Container) -> str:
    with container.uow() as uow:
        uow.channels.add(
            Channel(
                "globex", "Globex", ChannelKind.CXML, webhook_secret="procure-shared-secret",
                credentials={"shared_secret": "supplier-secret"},
                settings={"cxml": {"supplier_domain": "DUNS", "buyer_domain": "NetworkID",
                                   "buyer_url": BUYER_URL}},
            )
        )  # fmt: skip
        for sku in ("GLOVES-L", "GLASSES"):
            uow.catalog.upsert(Product(sku, sku, 10))
        uow.catalog.map_sku("globex", "GLV-NITRILE-L", "GLOVES-L")
        uow.catalog.map_sku("globex", "SAFETY-GLASS-CLR", "GLASSES")
        uow.commit()
        answer = receive_order_request(
            uow, channel="globex", body=cxml_fixture("procurement_usd_multi_line.xml")
        )
    assert answer.order_id is not None
    return answer.order_id


def test_a_cxml_order_gets_a_confirmation_and_a_ship_notice_at_the_buyers_url(
    container: Container,
) -> None:
    order_id = cxml_order(container)
    with container.uow(read_only=True) as uow:
        gloves, glasses = uow.orders.get(order_id).lines
    partner = Partner(httpx.Response(200, text='<cXML><Response><Status code="200" text="OK"/>'))
    assert send(container, "order.allocated", {"order_id": order_id}, partner) == (
        "ConfirmationRequest"
    )
    shipment = {
        "order_id": order_id, "shipment_id": "SHP-2", "carrier": "fdeg",
        "tracking_number": "7489", "shipped_at": AT.isoformat(),
        "lines": [{"line_id": gloves.id, "quantity": 2}, {"line_id": glasses.id, "quantity": 3}],
    }  # fmt: skip
    assert send(container, "shipment.created", shipment, partner) == "ShipNoticeRequest"
    shipped = {"order_id": order_id, "from_status": "allocated", "to_status": "shipped"}
    assert send(container, "order.status_changed", shipped, partner) is None  # no cXML invoice
    (url, kind, confirmation), (_, _, notice) = partner.posts
    assert (url, kind) == (BUYER_URL, "text/xml; charset=utf-8")
    statuses = [s.get("type") for s in read_envelope(confirmation).root.iter("ConfirmationStatus")]
    assert statuses == ["accept", "accept"]
    root = read_envelope(notice).root
    assert root.findtext("Request/ShipNoticeRequest/ShipControl/ShipmentIdentifier") == "7489"
    assert [(i.get("lineNumber"), i.get("quantity")) for i in root.iter("ShipNoticeItem")] == [
        ("10", "2.0000"),
        ("20", "3.0000"),
    ]


def test_a_cxml_refusal_in_the_response_body_dead_letters(container: Container) -> None:
    order_id = cxml_order(container)
    refusal = httpx.Response(200, text='<cXML><Response><Status code="400" text="Bad"/>')
    with pytest.raises(PermanentFailure):
        send(container, "order.allocated", {"order_id": order_id}, Partner(refusal))
