"""The seam between inventory and routing: a planner chooses where each line's stock comes from.

Inventory asks a :class:`Planner` for an :class:`AllocationPlan`, then takes the reservations
atomically; a lost race asks again. The simple planner (inventory) and the cost-optimizing
router (routing) implement the same protocol, so one replaces the other without rework.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from orderhub.domain.channels import Channel
from orderhub.domain.locations import Location
from orderhub.domain.orders import Address


@dataclass(frozen=True)
class RequestedLine:
    line_id: str
    sku: str
    quantity: int
    weight_grams: int = 0
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AllocationRequest:
    order_id: str
    channel: Channel
    destination: Address | None
    placed_at: datetime
    lines: tuple[RequestedLine, ...]
    locations: tuple[Location, ...]
    available: Mapping[tuple[str, str], int]  # (sku, location code) → units available
    now: datetime
    orders_today: Mapping[str, int] = field(default_factory=dict)  # location → count (capacity)


class Pick(NamedTuple):
    """Units of one order line to take from one location (a tuple: made per decision)."""

    line_id: str
    sku: str
    location: str
    quantity: int


@dataclass(frozen=True)
class AllocationPlan:
    """Where each line's units come from, and why. ``picks`` empty: no feasible plan."""

    picks: tuple[Pick, ...]
    explanation: Mapping[str, Any]
    strategy: str

    @property
    def feasible(self) -> bool:
        return bool(self.picks)

    @property
    def locations(self) -> list[str]:
        return sorted({p.location for p in self.picks})


class Planner(Protocol):
    name: str

    def plan(self, request: AllocationRequest) -> AllocationPlan: ...
