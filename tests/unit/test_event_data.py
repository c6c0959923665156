"""Event data as plain JSON (``DomainEvent.data``, ``to_json_value``): what history hashes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from orderhub.domain.events import DomainEvent, to_json_value
from orderhub.domain.money import Money


class _Colour(StrEnum):
    RED = "red"


class _Units(dict[str, int]):
    pass


@dataclass(frozen=True)
class _Sample(DomainEvent):
    type: ClassVar[str] = "sample"
    name: str
    price: Decimal
    lines: tuple[dict[str, object], ...]
    colour: _Colour
    at: datetime


def test_nested_values_are_converted_and_plain_ones_kept() -> None:
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    value = {
        "a": [Decimal("1.50"), at, _Colour.RED, (1, "x", {"k": Decimal("2")}), {3: 4}],
        7: _Colour.RED,
        "t": (None, True, 1.5),
        "units": _Units(line=2),
        "money": Money(Decimal("3.10"), "EUR"),
    }
    assert to_json_value(value) == {
        "a": ["1.50", at.isoformat(), "red", [1, "x", {"k": "2"}], {"3": 4}],
        "7": "red",
        "t": [None, True, 1.5],
        "units": {"line": 2},
        "money": str(Money(Decimal("3.10"), "EUR")),
    }


def test_event_data_names_every_field_converted() -> None:
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    event = _Sample("n", Decimal("0.10"), ({"sku": "A", "qty": Decimal("1")},), _Colour.RED, at)
    assert event.data() == {
        "name": "n",
        "price": "0.10",
        "lines": [{"sku": "A", "qty": "1"}],
        "colour": "red",
        "at": at.isoformat(),
    }
