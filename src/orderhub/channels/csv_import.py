"""Partner CSV files: one row per order line, rows grouped into orders by ``order_id``.

Columns (header row required, names case-insensitive, extra columns kept in metadata):

==================  ========  ====================================================
column              required  meaning
==================  ========  ====================================================
order_id            yes       the partner's order number (the natural key)
placed_at           yes       ISO 8601; without an offset it is taken as UTC
currency            yes       ISO 4217 code
sku                 yes       the partner's SKU (mapped through the channel SKU map)
quantity            yes       whole number > 0
unit_price          yes       decimal string, e.g. ``12.50``
line_id             no        the partner's line id
name                no        product name
line_discount       no        discount on the line (total, not per unit)
line_tax            no        tax on the line (total)
email               no        buyer email (one customer across channels)
customer_name       no
ship_name, ship_company, ship_line1, ship_line2, ship_city, ship_region,
ship_postal_code, ship_country (ISO 3166-1 alpha-2), ship_phone
shipping_price      no        order-level, from the order's first row
shipping_tax        no        order-level
shipping_method     no        order-level
prices_include_tax  no        ``true``/``false`` (order-level)
gtin, upc, ean,     no        the line's barcodes and part number: when the SKU map does
isbn, mpn                     not know ``sku``, the product with that identifier is taken
==================  ========  ====================================================

Order-level columns are read from the order's first row. A row that breaks a rule sends its
whole order to quarantine (source ``csv``) with the row number and column in each error; after
the fix (a SKU map entry, a product) the entry can be replayed. Re-running a file is safe: orders
are keyed by (channel, order_id) and open quarantine entries are updated, not duplicated.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from orderhub.channels import base
from orderhub.channels.base import ChannelOrder
from orderhub.domain.errors import FieldError, NormalizationProblem, NotNormalizable
from orderhub.domain.limits import MAX_CSV_ROWS
from orderhub.domain.money import Money, is_currency
from orderhub.domain.orders import Customer, LineDraft, OrderDraft, Shipping

SOURCE = "csv"
BARCODE_COLUMNS = ("gtin", "upc", "ean", "isbn")
REQUIRED = ("order_id", "placed_at", "currency", "sku", "quantity", "unit_price")
KNOWN = frozenset(
    {
        *REQUIRED, "line_id", "name", "line_discount", "line_tax", "email", "customer_name",
        "ship_name", "ship_company", "ship_line1", "ship_line2", "ship_city", "ship_region",
        "ship_postal_code", "ship_country", "ship_phone", "shipping_price", "shipping_tax",
        "shipping_method", "prices_include_tax", *BARCODE_COLUMNS, "mpn",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Row:
    number: int  # 1-based line number in the file, the header being line 1
    values: dict[str, str]


def read_rows(text: str) -> list[Row]:
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None:
        return []
    missing = [c for c in REQUIRED if c not in {f.strip().lower() for f in reader.fieldnames}]
    if missing:
        raise NotNormalizable(
            NormalizationProblem(
                "the CSV header lacks required columns",
                [FieldError(("header", c), "required column missing", "missing") for c in missing],
            )
        )
    rows: list[Row] = []
    for raw in reader:
        if not any((v or "").strip() for v in raw.values() if isinstance(v, str)):
            continue
        if len(rows) == MAX_CSV_ROWS:
            raise NotNormalizable(
                NormalizationProblem(
                    f"the file has more than {MAX_CSV_ROWS:,} rows: split it",
                    [FieldError(("row", reader.line_num), "one row too many", "too_long")],
                )
            )
        rows.append(
            Row(
                reader.line_num,
                {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if k},
            )
        )
    return rows


def read_orders(channel: str, text: str, *, file_name: str = "") -> Iterator[ChannelOrder]:
    """Every order in the file, in file order, each normalized or carrying its problem."""
    groups: dict[str, list[Row]] = {}
    for row in read_rows(text):
        key = row.values.get("order_id") or f"{file_name}:row {row.number}"
        groups.setdefault(key, []).append(row)
    for external_id, rows in groups.items():
        payload = base.envelope(
            channel, rows=json.dumps([{"row": r.number, **r.values} for r in rows])
        )
        try:
            draft = to_draft(channel, rows)
        except NotNormalizable as error:
            yield ChannelOrder(channel, SOURCE, external_id, payload, problem=error.problem)
        else:
            yield ChannelOrder(channel, SOURCE, external_id, payload, draft=draft)


def parse(payload: str) -> OrderDraft:
    channel, parts = base.open_envelope(payload)
    rows = [Row(int(r.pop("row")), r) for r in json.loads(parts["rows"])]
    return to_draft(channel, rows)


class _Problems:
    def __init__(self) -> None:
        self.fields: list[FieldError] = []

    def add(self, row: Row, column: str, message: str, code: str = "invalid") -> None:
        self.fields.append(FieldError(("rows", row.number, column), message, code))


def to_draft(channel: str, rows: list[Row]) -> OrderDraft:
    problems = _Problems()
    first = rows[0]
    for row in rows:
        for column in REQUIRED:
            if not row.values.get(column):
                problems.add(row, column, "required", "missing")
    order_id = first.values.get("order_id", "")
    currency = first.values.get("currency", "").upper()
    if currency and not is_currency(currency):
        problems.add(first, "currency", f"unknown currency {currency!r}")
    placed_at = None
    try:
        placed_at = base.parse_iso(first.values.get("placed_at", ""))
    except ValueError:
        problems.add(first, "placed_at", "not an ISO 8601 date-time")
    lines = [_line(row, currency, problems) for row in rows]
    shipping = _shipping(first, currency, problems)
    if problems.fields or placed_at is None or shipping is None:
        raise NotNormalizable(NormalizationProblem("rows with errors", problems.fields))
    v = first.values
    return OrderDraft(
        channel=channel,
        external_id=order_id,
        currency=currency,
        placed_at=placed_at,
        customer=Customer(email=v.get("email") or None, name=v.get("customer_name") or None),
        shipping_address=base.address(
            country=v.get("ship_country"),
            name=base.text(v.get("ship_name")),
            company=v.get("ship_company"),
            line1=v.get("ship_line1"),
            line2=v.get("ship_line2"),
            city=v.get("ship_city"),
            region=v.get("ship_region"),
            postal_code=v.get("ship_postal_code"),
            phone=v.get("ship_phone"),
        ),
        billing_address=None,
        lines=tuple(line for line in lines if line is not None),
        shipping=shipping,
        prices_include_tax=v.get("prices_include_tax", "").lower() in {"true", "1", "yes"},
        metadata={
            "source": SOURCE,
            "rows": [r.number for r in rows],
            "extra": {k: val for k, val in v.items() if k not in KNOWN and val},
        },
    )


def _amount(row: Row, column: str, currency: str, problems: _Problems) -> Money | None:
    text = row.values.get(column, "")
    try:
        value = Decimal(text) if text else Decimal(0)
        if not value.is_finite() or value < 0:
            raise ValueError("must be a non-negative decimal")
        return Money(value, currency) if currency and is_currency(currency) else None
    except (ArithmeticError, ValueError) as error:
        problems.add(row, column, f"{text!r}: {error}", "bad_amount")
        return None


def _line(row: Row, currency: str, problems: _Problems) -> LineDraft | None:
    quantity = None
    try:
        quantity = int(row.values.get("quantity", ""))
        if quantity <= 0:
            raise ValueError
    except ValueError:
        problems.add(row, "quantity", "must be a whole number > 0", "bad_quantity")
    amounts: dict[str, Any] = {
        column: _amount(row, column, currency, problems)
        for column in ("unit_price", "line_discount", "line_tax")
    }
    if quantity is None or None in amounts.values():
        return None
    return LineDraft(
        sku=None,
        channel_sku=row.values.get("sku") or None,
        channel_line_id=row.values.get("line_id") or str(row.number),
        name=row.values.get("name") or None,
        quantity=quantity,
        unit_price=amounts["unit_price"],
        discount=amounts["line_discount"],
        tax=amounts["line_tax"],
        identifiers=tuple(row.values[c] for c in BARCODE_COLUMNS if row.values.get(c)),
        mpn=row.values.get("mpn") or None,
    )


def _shipping(row: Row, currency: str, problems: _Problems) -> Shipping | None:
    price = _amount(row, "shipping_price", currency, problems)
    tax = _amount(row, "shipping_tax", currency, problems)
    if price is None or tax is None:
        return None
    return Shipping(
        price=price,
        tax=tax,
        discount=Money.zero(currency),
        method=row.values.get("shipping_method") or None,
    )
