"""The hub's bounds on every amount, quantity, stock level and date, in one place.

They keep values inside what every column can hold (money is stored in minor units as a 64-bit
integer, stock as a 32-bit one, times as calendar dates in UTC) and inside what a business can
mean: a line of a million units or a unit price of a billion is a typo, not an order. The API's
schemas (``api/schemas/bounded.py``) and the domain's own checks read the same figures, and
docs/api.md lists them ("Limits").
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

MAX_QUANTITY = 1_000_000
"""Units on one order, return, refund, shipment or cancellation line."""

MAX_AMOUNT = Decimal(1_000_000_000)
"""One amount in the currency's major unit: a unit price, a line's discount or tax, shipping."""

MAX_ORDER_TOTAL = Decimal(1_000_000_000_000)
"""A line's gross (quantity × unit price) and every order total: 10^16 minor units at most."""

MAX_STOCK = 1_000_000_000
"""Units on hand at one location, one adjustment's delta, a safety stock, a daily capacity."""

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
"""Every time the API takes lies in [EARLIEST, LATEST) once converted to UTC."""

MAX_DOCUMENT_LINES = 1_000
"""Order lines in one document of any channel (native JSON, EDI 850, cXML, one CSV order)."""

MAX_CSV_ROWS = 50_000
"""Rows in one uploaded CSV file."""

MAX_EDI_SEGMENTS = 50_000
"""Segments in one EDI X12 interchange."""


def within_calendar(moment: datetime) -> bool:
    """True when ``moment`` (aware) lies in the hub's calendar, [EARLIEST, LATEST) in UTC."""
    return EARLIEST <= moment < LATEST
