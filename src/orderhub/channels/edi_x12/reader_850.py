"""An 850 purchase order becomes an :class:`~orderhub.domain.orders.OrderDraft`.

The line's ``channel_sku`` is the first product id found in :data:`ID_PREFERENCE` (vendor's part
number first: it is the merchant's own number; then the global GTIN/UPC/EAN; then the buyer's
numbers, which the channel's SKU map must translate). Every id is kept in the order metadata.

Unit prices finer than the currency (``1.2345`` USD) are never rounded silently: the order line
takes the unit price rounded *up* to the minor unit and a rounding discount that brings the line
to the exact extended amount rounded half-to-even, and the exact price stays in the metadata
(``edi.lines[i].unit_price``). See docs/channels/edi-x12.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from orderhub.channels.edi_x12.parser import (
    Delimiters,
    FunctionalGroup,
    Interchange,
    Segment,
    SegmentError,
    TransactionSet,
)
from orderhub.domain.money import Money, is_currency, minor_unit_exponent
from orderhub.domain.orders import (
    Address,
    Contact,
    Customer,
    LineDraft,
    OrderDraft,
    PaymentTerms,
    PurchaseOrder,
    Shipping,
)

# Product id qualifiers (X12 235) that carry a barcode: UPC (UP, UA case code, UK GTIN-14),
# EAN (EN, EO), ISBN (IB); and the manufacturer's part number (MG). Lines the channel's SKU
# map does not know are resolved by them against the products' identifiers.
BARCODE_QUALIFIERS = ("UP", "UK", "UA", "EN", "EO", "IB")
MPN_QUALIFIER = "MG"
ID_PREFERENCE = ("VP", "VN", "VA", "UK", "UP", "UA", "EN", "EO", "SK", "BP", "IN", "CB", "MG")
SHIP_DATE_QUALIFIERS = ("010", "037", "038")  # requested ship, ship not before, no later than
DELIVERY_DATE_QUALIFIERS = ("002", "106", "064", "063")  # requested delivery, required by …
ORIGINAL_PURPOSES = frozenset({"00", "06"})  # original, confirmation (not cancel 01, change 04…)
_PARTY_ROLES = {"ST": "ship_to", "BT": "bill_to", "BY": "buyer", "VN": "vendor", "SF": "ship_from"}


class ContentError(Exception):
    def __init__(self, error: SegmentError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass(frozen=True)
class Read850:
    """One 850's outcome: a draft, or the segment errors that reject it in the 997."""

    group: FunctionalGroup
    transaction: TransactionSet
    draft: OrderDraft | None
    errors: tuple[SegmentError, ...] = ()


def read_purchase_orders(
    interchange: Interchange,
    *,
    channel: str,
    default_currency: str = "USD",
    id_preference: tuple[str, ...] = ID_PREFERENCE,
) -> list[Read850]:
    """Every 850 in the interchange; sets with envelope errors are not read."""
    if interchange.errors:
        return []
    results = []
    for group, tx in interchange.transactions:
        if tx.set_id != "850" or not tx.accepted or group.errors:
            continue
        try:
            draft = _Reader(interchange, group, tx, channel, default_currency, id_preference).read()
        except ContentError as error:
            results.append(Read850(group, tx, None, (error.error,)))
            continue
        results.append(Read850(group, tx, draft))
    return results


def _fail(seg: Segment, message: str, element: int | None = None, code: str = "7") -> ContentError:
    return ContentError(
        SegmentError(seg.id, seg.position, "8", message, element, code if element else None)
    )


def _date(seg: Segment, index: int) -> date:
    value = seg[index]
    try:
        return datetime.strptime(value, "%Y%m%d").replace(tzinfo=UTC).date()
    except ValueError:
        raise _fail(
            seg, f"{seg.id}{index:02d} {value!r} is not a CCYYMMDD date", index, "8"
        ) from None


def _decimal(seg: Segment, index: int) -> Decimal:
    try:
        value = Decimal(seg[index])
    except InvalidOperation:
        raise _fail(
            seg, f"{seg.id}{index:02d} {seg[index]!r} is not a number", index, "6"
        ) from None
    if not value.is_finite():
        raise _fail(seg, f"{seg.id}{index:02d} must be finite", index, "6")
    return value


class _Reader:
    def __init__(
        self,
        interchange: Interchange,
        group: FunctionalGroup,
        tx: TransactionSet,
        channel: str,
        currency: str,
        id_preference: tuple[str, ...],
    ) -> None:
        self.ix, self.group, self.tx = interchange, group, tx
        self.d: Delimiters = interchange.delimiters
        self.channel, self.currency, self.id_preference = channel, currency, id_preference
        self.parties: dict[str, dict[str, Any]] = {}
        self.contacts: list[Contact] = []
        self.dates: dict[str, str] = {}
        self.refs: dict[str, str] = {}
        self.lines: list[dict[str, Any]] = []
        self.charges: list[list[str]] = []
        self.amounts: dict[str, str] = {}
        self.terms: PaymentTerms | None = None
        self.carrier: str | None = None

    def read(self) -> OrderDraft:
        body = self.tx.body
        beg = next((s for s in body if s.id == "BEG"), None)
        if beg is None:
            raise ContentError(SegmentError("BEG", 2, "3", "BEG is mandatory in an 850"))
        if not beg[3]:
            raise _fail(beg, "BEG03 (purchase order number) is mandatory", 3, "1")
        if beg[1] not in ORIGINAL_PURPOSES:
            raise _fail(beg, f"BEG01 {beg[1]!r}: only original purchase orders are taken", 1)
        placed = _date(beg, 5)
        self._walk(body)
        if not self.lines:
            se = self.tx.segments[-1]
            raise ContentError(SegmentError("PO1", se.position, "3", "an 850 needs a PO1 line"))
        self._check_totals(body)
        return self._draft(beg, placed)

    def _walk(self, body: list[Segment]) -> None:
        party: dict[str, Any] | None = None
        line: dict[str, Any] | None = None
        for seg in body:
            if seg.id == "CUR":
                self._currency(seg)
            elif seg.id == "N1":
                party = {"role": seg[1], "name": seg[2], "id_qualifier": seg[3], "id": seg[4]}
                party["address"] = {}
                self.parties.setdefault(seg[1], party)
                line = None
            elif seg.id in ("N2", "N3", "N4") and party is not None:
                self._party_detail(party, seg)
            elif seg.id == "PER":
                self.contacts.append(self._contact(seg, party))
            elif seg.id == "PO1":
                party = None
                line = self._line(seg)
                self.lines.append(line)
            elif seg.id == "PID" and line is not None and seg[5]:
                line.setdefault("name", seg[5])
            elif seg.id == "DTM":
                self._date_segment(seg, line)
            elif seg.id == "REF" and line is None:
                self.refs[seg[1]] = seg[2] or seg[3]
            elif seg.id == "ITD":
                self.terms = self._terms(seg)
            elif seg.id == "TD5":
                self.carrier = seg[5] or seg[3] or None
            elif seg.id == "SAC":
                self.charges.append(list(seg.elements))
            elif seg.id == "AMT":
                self.amounts[seg[1]] = seg[2]

    def _currency(self, seg: Segment) -> None:
        if not is_currency(seg[2]):
            raise _fail(seg, f"CUR02 {seg[2]!r} is no ISO 4217 currency", 2)
        self.currency = seg[2]

    @staticmethod
    def _party_detail(party: dict[str, Any], seg: Segment) -> None:
        address = party["address"]
        if seg.id == "N2":
            address["attention"] = seg[1]
        elif seg.id == "N3":
            lines = [v for v in (seg[1], seg[2]) if v]
            address["lines"] = [*address.get("lines", []), *lines]
        else:
            address |= {"city": seg[1], "region": seg[2], "postal_code": seg[3], "country": seg[4]}

    @staticmethod
    def _contact(seg: Segment, party: dict[str, Any] | None) -> Contact:
        means = {seg[i]: seg[i + 1] for i in (3, 5, 7) if seg[i]}
        role = seg[1] if party is None else f"{party['role']}:{seg[1]}"
        return Contact(role=role, name=seg[2] or None, email=means.get("EM"), phone=means.get("TE"))

    def _line(self, seg: Segment) -> dict[str, Any]:
        quantity = _decimal(seg, 2)
        if quantity != quantity.to_integral_value() or quantity <= 0:
            raise _fail(seg, f"PO102 {seg[2]!r}: quantities must be whole and positive", 2, "6")
        if seg[4] and _decimal(seg, 4) < 0:
            raise _fail(seg, f"PO104 {seg[4]!r}: a unit price cannot be negative", 4, "6")
        ids = [[seg[i], seg[i + 1]] for i in range(6, 25, 2) if seg[i] and seg[i + 1]]
        return {
            "line_number": seg[1] or str(len(self.lines) + 1),
            "quantity": int(quantity),
            "unit": seg[3] or "EA",
            "unit_price": f"{_decimal(seg, 4):f}" if seg[4] else None,
            "price_basis": seg[5] or None,
            "product_ids": ids,
            "position": seg.position,
        }

    def _date_segment(self, seg: Segment, line: dict[str, Any] | None) -> None:
        value = _date(seg, 2).isoformat()
        if line is None:
            self.dates[seg[1]] = value
        else:
            line.setdefault("dates", {})[seg[1]] = value

    @staticmethod
    def _terms(seg: Segment) -> PaymentTerms:
        def number(index: int) -> int | None:
            return int(seg[index]) if seg[index].isdigit() else None

        percent = _decimal(seg, 3) if seg[3] else None
        return PaymentTerms(
            net_days=number(7),
            discount_percent=percent,
            discount_days=number(5),
            description=seg[12] or None,
        )

    def _check_totals(self, body: list[Segment]) -> None:
        ctt = next((s for s in body if s.id == "CTT"), None)
        if ctt is None:
            return
        if ctt[1] and _decimal(ctt, 1) != len(self.lines):
            raise _fail(ctt, f"CTT01 says {ctt[1]} lines, the order has {len(self.lines)}", 1)
        hash_total = sum((Decimal(line["quantity"]) for line in self.lines), Decimal(0))
        if ctt[2] and _decimal(ctt, 2) != hash_total:
            raise _fail(ctt, f"CTT02 hash total {ctt[2]} differs from {hash_total}", 2)

    def _draft(self, beg: Segment, placed: date) -> OrderDraft:
        ship_to = self._address("ST")
        bill_to = self._address("BT") or ship_to
        buyer = self.parties.get("BY")
        email = next((c.email for c in self.contacts if c.email), None)
        lines = tuple(self._line_draft(line) for line in self.lines)
        ship_date = next((self.dates[q] for q in SHIP_DATE_QUALIFIERS if q in self.dates), None)
        delivery = next((self.dates[q] for q in DELIVERY_DATE_QUALIFIERS if q in self.dates), None)
        po = PurchaseOrder(
            number=beg[3],
            order_date=placed,
            payment_terms=self.terms,
            requested_ship_date=date.fromisoformat(ship_date) if ship_date else None,
            requested_delivery_date=date.fromisoformat(delivery) if delivery else None,
            contacts=tuple(self.contacts),
            buyer_name=buyer["name"] if buyer else None,
        )
        zero = Money.zero(self.currency)
        return OrderDraft(
            channel=self.channel,
            external_id=beg[3] + (f"-{beg[4]}" if beg[4] else ""),
            currency=self.currency,
            placed_at=datetime(placed.year, placed.month, placed.day, tzinfo=UTC),
            customer=Customer(
                email=email, name=(buyer or self.parties.get("ST") or {}).get("name") or None
            ),
            shipping_address=ship_to,
            billing_address=bill_to,
            lines=lines,
            shipping=Shipping(price=zero, tax=zero, discount=zero, method=self.carrier),
            metadata={"edi": self._metadata(beg)},
            purchase_order=po,
        )

    def _address(self, role: str) -> Address | None:
        party = self.parties.get(role)
        if party is None:
            return None
        a = party["address"]
        lines = a.get("lines", [])
        return Address(
            country=(a.get("country") or "US").upper(),
            name=a.get("attention") or None,
            company=party["name"] or None,
            line1=lines[0] if lines else None,
            line2=", ".join(lines[1:]) or None,
            city=a.get("city") or None,
            region=a.get("region") or None,
            postal_code=a.get("postal_code") or None,
        )

    def _line_draft(self, line: dict[str, Any]) -> LineDraft:
        ids = dict(line["product_ids"])  # pairs in the buyer's order: JSONB would sort a dict
        channel_sku = next((ids[q] for q in self.id_preference if q in ids), None)
        unit_price, discount = price_line(
            Decimal(line["unit_price"] or 0), line["quantity"], self.currency
        )
        return LineDraft(
            sku=None,
            channel_sku=channel_sku,
            channel_line_id=line["line_number"],
            name=line.get("name") or ids.get("PD"),
            quantity=line["quantity"],
            unit_price=unit_price,
            discount=discount,
            tax=Money.zero(self.currency),
            identifiers=tuple(ids[q] for q in BARCODE_QUALIFIERS if ids.get(q)),
            mpn=ids.get(MPN_QUALIFIER) or None,
        )

    def _metadata(self, beg: Segment) -> dict[str, Any]:
        return {
            "interchange_control": self.ix.control,
            "group_control": self.group.control,
            "transaction_control": self.tx.control,
            "sender": f"{self.ix.sender_qualifier}:{self.ix.sender_id}",
            "receiver": f"{self.ix.receiver_qualifier}:{self.ix.receiver_id}",
            "purpose": beg[1],
            "order_type": beg[2],
            "release": beg[4] or None,
            "references": self.refs,
            "dates": self.dates,
            "parties": {
                _PARTY_ROLES.get(k, k): {
                    "name": p["name"],
                    "id_qualifier": p["id_qualifier"],
                    "id": p["id"],
                }
                for k, p in self.parties.items()
            },
            "lines": [{k: v for k, v in line.items() if k != "position"} for line in self.lines],
            "charges": self.charges,
            "amounts": self.amounts,
        }


def price_line(unit: Decimal, quantity: int, currency: str) -> tuple[Money, Money]:
    """(unit price, rounding discount) whose line net is the exact extension rounded half-even."""
    quantum = Decimal(1).scaleb(-minor_unit_exponent(currency))
    if unit == unit.quantize(quantum, rounding=ROUND_HALF_EVEN):
        return Money(unit, currency), Money.zero(currency)
    rounded_up = Money(unit.quantize(quantum, rounding=ROUND_CEILING), currency)
    exact_line = Money.rounded(unit * quantity, currency)
    return rounded_up, rounded_up * quantity - exact_line
