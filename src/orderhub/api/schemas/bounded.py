"""The bounded, strict field types every request schema uses (limits: ``domain/limits.py``).

One type per kind of value, so that a bound is written once and documented once (docs/api.md,
"Limits"). They are strict where a lax reading would hide a client's mistake: ``true`` is not a
quantity, ``12345`` is not a date, and an amount is a decimal string or an integer, never a bool
or a binary float with a fraction.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    StrictBool,
    StrictInt,
    WithJsonSchema,
)
from pydantic_core import PydanticKnownError

from orderhub.domain.limits import (
    EARLIEST,
    LATEST,
    MAX_AMOUNT,
    MAX_QUANTITY,
    MAX_STOCK,
    within_calendar,
)
from orderhub.domain.money import to_decimal


def _decimal_not_float(value: Any) -> Decimal:
    """A decimal string or an integer; a JSON number with a fraction went through a float."""
    if isinstance(value, float):
        raise ValueError(
            'must be a decimal string such as "12.50", not a JSON number with a fraction'
        )
    try:
        return to_decimal(value)
    except (TypeError, ValueError) as error:
        raise ValueError(str(error)) from None


def _iso_text(value: Any) -> Any:
    """Only an ISO 8601 string is a time: a number would be read as seconds since 1970."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 string with an offset, such as 2026-11-20T14:30:00Z")
    return value


LOCAL_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"


def _local_time_text(value: Any) -> Any:
    """``HH:MM`` or ``HH:MM:SS`` only: the place's time zone gives the offset, so an offset, a
    fraction or a number of seconds is a mistake (and would not be answered as documented)."""
    if isinstance(value, time):
        return value
    if not isinstance(value, str) or not re.fullmatch(LOCAL_TIME_PATTERN, value):
        raise ValueError("must be a local time HH:MM or HH:MM:SS, without an offset")
    return value


def _in_calendar(value: datetime) -> datetime:
    if not within_calendar(value):
        raise ValueError(
            f"must lie between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d} (UTC), "
            f"got {value.isoformat()}"
        )
    return value


def _day_in_calendar(value: date) -> date:
    if not EARLIEST.date() <= value < LATEST.date():
        raise ValueError(f"must lie between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}")
    return value


def _amount(value: Any) -> Decimal:
    """:func:`_decimal_not_float` and the bounds 0 … ``MAX_AMOUNT`` in one call. ``Field(ge=,
    le=)`` after a ``BeforeValidator`` ran as two more Python validators per amount (Pydantic
    cannot put them in its core schema there); these raise the errors those did (the same type,
    message and context: ``tests/unit/test_amount_validator.py``)."""
    amount = _decimal_not_float(value)
    if not amount >= 0:
        raise PydanticKnownError("greater_than_equal", {"ge": 0})
    if not amount <= MAX_AMOUNT:
        raise PydanticKnownError("less_than_equal", {"le": _MAX_AMOUNT_REPR})
    return amount


_MAX_AMOUNT_REPR = repr(MAX_AMOUNT)  # how Pydantic names a Decimal bound in its message

Amount = Annotated[
    Decimal,
    BeforeValidator(_amount),
    # The JSON Schema says what ``Field(ge=0, le=MAX_AMOUNT)`` said in this position.
    Field(
        json_schema_extra={"type": "string", "examples": ["12.50"], "ge": 0, "le": str(MAX_AMOUNT)}
    ),
]
"""A non-negative amount in the currency's major unit, at most ``MAX_AMOUNT``."""

Quantity = Annotated[StrictInt, Field(gt=0, le=MAX_QUANTITY)]
"""Units on one line: 1 … ``MAX_QUANTITY``."""

StockLevel = Annotated[StrictInt, Field(ge=0, le=MAX_STOCK)]
"""A count of units at one place (on hand, safety stock, a daily capacity): 0 … ``MAX_STOCK``."""

StockDelta = Annotated[StrictInt, Field(ge=-MAX_STOCK, le=MAX_STOCK)]
"""A change of stock: ± ``MAX_STOCK``."""

Rank = Annotated[StrictInt, Field(ge=0, le=1_000_000)]
"""A priority or position: 0 … 1,000,000."""

Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_iso_text),
    AfterValidator(_in_calendar),
    Field(json_schema_extra={"examples": ["2026-11-20T14:30:00+01:00"]}),
]
"""An ISO 8601 time with an offset, inside the hub's calendar (``EARLIEST`` … ``LATEST``)."""

LocalTime = Annotated[
    time,
    BeforeValidator(_local_time_text),
    WithJsonSchema({"type": "string", "pattern": LOCAL_TIME_PATTERN, "examples": ["15:00"]}),
]
"""A wall-clock time of day at a place (``15:00``), answered as ``15:00:00``. Not JSON Schema's
``format: time``, which requires seconds and an offset."""

Day = Annotated[date, AfterValidator(_day_in_calendar)]
"""A calendar day (``2026-11-20``) inside the hub's calendar: report ranges, ship-by filters."""

Flag = StrictBool
"""``true`` or ``false``: not 1, not ``"yes"``."""
