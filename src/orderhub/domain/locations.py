"""Fulfilment locations: own warehouses, stores, 3PLs and drop-shippers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from enum import StrEnum


class LocationKind(StrEnum):
    WAREHOUSE = "warehouse"
    STORE = "store"
    THIRD_PARTY = "3pl"
    DROPSHIP = "dropship"


@dataclass(frozen=True)
class LocationAddress:
    country: str  # ISO 3166-1 alpha-2
    region: str | None = None
    postal_code: str | None = None
    city: str | None = None
    line1: str | None = None
    latitude: float | None = None  # geometry, not money: floats are fine here
    longitude: float | None = None


@dataclass
class Location:
    code: str
    name: str
    kind: LocationKind
    address: LocationAddress
    timezone: str = "UTC"
    active: bool = True
    channels: list[str] | None = None  # channels it may serve; None: all
    serves_countries: list[str] | None = None  # destinations it ships to; None: all
    daily_capacity: int | None = None  # orders per local day; None: unlimited
    cutoff: time | None = None  # local order cut-off for same-day dispatch
    provider: str = "warehouse"  # fulfilment provider code (see orderhub.fulfilment)
    priority: int = 100  # lower first, for the simple allocation order
    settings: dict[str, object] = field(default_factory=dict)

    def may_serve(self, channel: str) -> bool:
        return self.channels is None or channel in self.channels
