"""Builders for the documents we send a trading partner: 855, 856 and 810 transaction sets.

Each returns the whole interchange text; the caller supplies the control number (unique and
increasing per partner, from the ``edi_control_numbers`` counter).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from orderhub.channels.edi_x12.documents import (
    AdvanceShipNotice,
    Invoice,
    PartyAddress,
    ProductIds,
    PurchaseOrderAck,
)
from orderhub.channels.edi_x12.writer import Elements, Partner, decimal_text, render_interchange


def _d(value: date) -> str:
    return value.strftime("%Y%m%d")


def _ids(product_ids: ProductIds) -> list[str]:
    return [part for pair in product_ids for part in pair]


def _party(party: PartyAddress) -> list[Elements]:
    out: list[Elements] = [["N1", party.role, party.name]]
    if party.line1:
        out.append(["N3", party.line1])
    if party.city or party.postal_code:
        out.append(
            [
                "N4",
                party.city or "",
                party.region or "",
                party.postal_code or "",
                party.country or "",
            ]
        )
    return out


def build_855(ack: PurchaseOrderAck, partner: Partner, *, control: int, at: datetime) -> str:
    """Purchase order acknowledgement: ACK per line — IA accepted, IB backordered, IR rejected."""
    body: list[Elements] = [
        [
            "BAK",
            "00",
            ack.acknowledgement_type,
            ack.po_number,
            _d(ack.po_date),
            "",
            "",
            "",
            "",
            _d(ack.ack_date),
        ],
        ["CUR", "SE", ack.currency],
    ]
    for line in ack.lines:
        body.append(
            [
                "PO1",
                line.line_number,
                str(line.quantity_ordered),
                line.unit,
                decimal_text(line.unit_price),
                "",
                *_ids(line.product_ids),
            ]
        )
        for code, quantity in (
            ("IA", line.quantity_accepted),
            ("IB", line.quantity_backordered),
            ("IR", line.quantity_rejected),
        ):
            if quantity or (code == "IR" and line.quantity_accepted == 0):
                ack_seg = ["ACK", code, str(quantity), line.unit]
                if line.expected_ship_date and code != "IR":
                    ack_seg += ["068", _d(line.expected_ship_date)]
                body.append(ack_seg)
    hash_total = sum(line.quantity_ordered for line in ack.lines)
    body.append(["CTT", str(len(ack.lines)), str(hash_total)])
    return render_interchange(
        partner, functional_id="PR", set_id="855", control=control, body=body, at=at
    )


def build_856(asn: AdvanceShipNotice, partner: Partner, *, control: int, at: datetime) -> str:
    """Advance ship notice in the standard pick-and-pack structure (BSN05 0001: S, O, P, I)."""
    shipped = asn.shipped_at
    body: list[Elements] = [
        ["BSN", "00", asn.shipment_id, _d(shipped.date()), shipped.strftime("%H%M"), "0001"],
        ["HL", "1", "", "S"],
        ["TD5", "", "2", asn.carrier_scac],
        ["REF", "CN", asn.tracking_number],
        ["DTM", "011", _d(shipped.date())],
    ]
    for party in (asn.ship_from, asn.ship_to):
        if party is not None:
            body += _party(party)
    counter = 1
    for order in asn.orders:
        counter += 1
        order_hl = counter
        body.append(["HL", str(order_hl), "1", "O"])
        body.append(["PRF", order.po_number, "", "", _d(order.po_date) if order.po_date else ""])
        for pack in order.packs:
            counter += 1
            pack_hl = counter
            body += [["HL", str(pack_hl), str(order_hl), "P"], ["MAN", "GM", pack.marks]]
            for item in pack.items:
                counter += 1
                body += [
                    ["HL", str(counter), str(pack_hl), "I"],
                    ["LIN", item.line_number, *_ids(item.product_ids)],
                    ["SN1", "", str(item.quantity), item.unit],
                ]
    body.append(["CTT", str(counter)])
    return render_interchange(
        partner, functional_id="SH", set_id="856", control=control, body=body, at=at
    )


def build_810(invoice: Invoice, partner: Partner, *, control: int, at: datetime) -> str:
    """Invoice: IT1 lines at the exact unit price, TDS total in cents (implied two decimals)."""
    body: list[Elements] = [
        [
            "BIG",
            _d(invoice.invoice_date),
            invoice.invoice_number,
            _d(invoice.po_date) if invoice.po_date else "",
            invoice.po_number,
        ],
        ["CUR", "SE", invoice.currency],
    ]
    if invoice.net_days is not None or invoice.discount_percent is not None:
        body.append(
            [
                "ITD",
                "01",
                "3",
                decimal_text(invoice.discount_percent) if invoice.discount_percent else "",
                "",
                str(invoice.discount_days) if invoice.discount_days is not None else "",
                "",
                str(invoice.net_days) if invoice.net_days is not None else "",
            ]
        )
    for line in invoice.lines:
        body.append(
            [
                "IT1",
                line.line_number,
                str(line.quantity),
                line.unit,
                decimal_text(line.unit_price),
                "",
                *_ids(line.product_ids),
            ]
        )
    body.append(["TDS", _cents(invoice.total)])
    if invoice.tax:
        body.append(["TXI", "ST", decimal_text(invoice.tax)])
    if invoice.freight:
        body.append(["SAC", "C", "D240", "", "", _cents(invoice.freight)])
    body.append(["CTT", str(len(invoice.lines))])
    return render_interchange(
        partner, functional_id="IN", set_id="810", control=control, body=body, at=at
    )


def _cents(amount: Decimal) -> str:
    """X12 N2: an integer of hundredths (``13045.94`` → ``1304594``)."""
    value = amount * 100
    if value != value.to_integral_value():
        raise ValueError(f"{amount} has more than two decimals")
    return str(int(value))
