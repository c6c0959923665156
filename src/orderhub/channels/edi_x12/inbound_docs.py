"""Reading 855, 856 and 810 transaction sets back into their documents.

Used to prove that what :mod:`.outbound` writes says what we meant (round-trip tests), and to
read a partner's copies of these documents in support cases.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal

from orderhub.channels.edi_x12.documents import (
    AckLine,
    AdvanceShipNotice,
    Invoice,
    InvoiceLine,
    Pack,
    PartyAddress,
    ProductIds,
    PurchaseOrderAck,
    ShippedItem,
    ShippedOrder,
)
from orderhub.channels.edi_x12.parser import Segment, TransactionSet


def _date(value: str) -> date:
    return datetime.strptime(value, "%Y%m%d").replace(tzinfo=UTC).date()


def _ids(seg: Segment, start: int) -> ProductIds:
    pairs = []
    index = start
    while seg[index] and seg[index + 1]:
        pairs.append((seg[index], seg[index + 1]))
        index += 2
    return tuple(pairs)


def _first(tx: TransactionSet, seg_id: str) -> Segment:
    found = next((s for s in tx.body if s.id == seg_id), None)
    if found is None:
        raise ValueError(f"{tx.set_id} without {seg_id}")
    return found


def read_855(tx: TransactionSet) -> PurchaseOrderAck:
    bak = _first(tx, "BAK")
    lines: list[AckLine] = []
    current: dict[str, object] = {}
    quantities: dict[str, int] = {}

    def flush() -> None:
        if current:
            lines.append(AckLine(**current, **_ack_quantities(quantities)))  # type: ignore[arg-type]

    for seg in tx.body:
        if seg.id == "PO1":
            flush()
            quantities = {}
            current = {"line_number": seg[1], "quantity_ordered": int(seg[2]), "unit": seg[3],
                       "unit_price": Decimal(seg[4]), "product_ids": _ids(seg, 6)}  # fmt: skip
        elif seg.id == "ACK":
            quantities[seg[1]] = int(seg[2])
            if seg[4] == "068":
                current["expected_ship_date"] = _date(seg[5])
    flush()
    return PurchaseOrderAck(
        po_number=bak[3],
        po_date=_date(bak[4]),
        ack_date=_date(bak[9]),
        currency=_first(tx, "CUR")[2],
        lines=tuple(lines),
    )


def _ack_quantities(quantities: dict[str, int]) -> dict[str, int]:
    return {
        "quantity_accepted": quantities.get("IA", 0),
        "quantity_backordered": quantities.get("IB", 0),
        "quantity_rejected": quantities.get("IR", 0),
    }


def read_856(tx: TransactionSet) -> AdvanceShipNotice:
    bsn = _first(tx, "BSN")
    levels: dict[str, tuple[str, str]] = {}  # HL id → (parent, level code)
    children: dict[str, list[str]] = defaultdict(list)
    content: dict[str, list[Segment]] = defaultdict(list)
    current = ""
    for seg in tx.body:
        if seg.id == "HL":
            current = seg[1]
            levels[current] = (seg[2], seg[3])
            children[seg[2]].append(current)
        elif current:
            content[current].append(seg)
    shipment = next(hl for hl, (_p, code) in levels.items() if code == "S")
    segs = content[shipment]

    def one(seg_id: str, qualifier: str | None = None) -> Segment | None:
        return next(
            (s for s in segs if s.id == seg_id and (qualifier is None or s[1] == qualifier)), None
        )

    td5, ref = one("TD5"), one("REF", "CN")
    return AdvanceShipNotice(
        shipment_id=bsn[2],
        shipped_at=datetime.strptime(bsn[3] + bsn[4], "%Y%m%d%H%M").replace(tzinfo=UTC),
        carrier_scac=td5[3] if td5 else "",
        tracking_number=ref[2] if ref else "",
        orders=tuple(_order(hl, children, content) for hl in children[shipment]),
        ship_from=_party_of(segs, "SF"),
        ship_to=_party_of(segs, "ST"),
    )


def _order(
    hl: str, children: dict[str, list[str]], content: dict[str, list[Segment]]
) -> ShippedOrder:
    prf = next(s for s in content[hl] if s.id == "PRF")
    packs = []
    for pack_hl in children[hl]:
        man = next(s for s in content[pack_hl] if s.id == "MAN")
        items = []
        for item_hl in children[pack_hl]:
            lin = next(s for s in content[item_hl] if s.id == "LIN")
            sn1 = next(s for s in content[item_hl] if s.id == "SN1")
            items.append(ShippedItem(lin[1], _ids(lin, 2), int(Decimal(sn1[2])), sn1[3]))
        packs.append(Pack(man[2], tuple(items)))
    return ShippedOrder(prf[1], _date(prf[4]) if prf[4] else None, tuple(packs))


def _party_of(segs: list[Segment], role: str) -> PartyAddress | None:
    for index, seg in enumerate(segs):
        if seg.id == "N1" and seg[1] == role:
            following = segs[index + 1 : index + 3]
            n3 = next((s for s in following if s.id == "N3"), None)
            n4 = next((s for s in following if s.id == "N4"), None)
            return PartyAddress(
                role=role,
                name=seg[2],
                line1=n3[1] if n3 else None,
                city=(n4[1] or None) if n4 else None,
                region=(n4[2] or None) if n4 else None,
                postal_code=(n4[3] or None) if n4 else None,
                country=(n4[4] or None) if n4 else None,
            )
    return None


def read_810(tx: TransactionSet) -> Invoice:
    big = _first(tx, "BIG")
    itd = next((s for s in tx.body if s.id == "ITD"), None)
    sac = next((s for s in tx.body if s.id == "SAC" and s[1] == "C"), None)
    txi = next((s for s in tx.body if s.id == "TXI"), None)
    lines = tuple(
        InvoiceLine(s[1], int(s[2]), s[3], Decimal(s[4]), _ids(s, 6))
        for s in tx.body
        if s.id == "IT1"
    )
    invoice = Invoice(
        invoice_number=big[2],
        invoice_date=_date(big[1]),
        po_number=big[4],
        po_date=_date(big[3]) if big[3] else None,
        currency=_first(tx, "CUR")[2],
        lines=lines,
        freight=Decimal(sac[5]) / 100 if sac else Decimal(0),
        tax=Decimal(txi[2]) if txi else Decimal(0),
        net_days=int(itd[7]) if itd and itd[7] else None,
        discount_percent=Decimal(itd[3]) if itd and itd[3] else None,
        discount_days=int(itd[5]) if itd and itd[5] else None,
    )
    tds = Decimal(_first(tx, "TDS")[1]) / 100
    if tds != invoice.total:
        raise ValueError(f"TDS {tds} differs from the invoice's lines ({invoice.total})")
    return invoice
