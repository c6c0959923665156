"""Fulfilment locations: own warehouses, stores, 3PLs and drop-shippers.

A store sells from the shelves walk-in customers also take from, so it keeps a safety stock
back from every channel, may offer pick-up in store and may ship to customers (ship from
store); see :class:`StoreSettings` and docs/stores.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo


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


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class StoreSettings:
    """What a ``store`` location adds: when it is open, what it offers, what it keeps back."""

    opening_hours: dict[str, tuple[time, time]] = field(default_factory=dict)  # day → open, close
    pickup_enabled: bool = True  # takes pick-up in store orders
    ship_from_store: bool = True  # a routing candidate for shipped orders (as stores always were)
    safety_stock: int = 0  # units of each SKU kept back for walk-in customers
    pickup_hold_days: int = 7  # a ready pick-up not collected within this expires

    def is_open(self, now: datetime, timezone: str) -> bool:
        """Open at ``now`` by its local opening hours (a day not listed is closed)."""
        local = now.astimezone(ZoneInfo(timezone))
        hours = self.opening_hours.get(WEEKDAYS[local.weekday()])
        return hours is not None and hours[0] <= local.time().replace(tzinfo=None) < hours[1]


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
    store: StoreSettings | None = None  # kind ``store`` only

    @property
    def safety_stock(self) -> int:
        """Units of each SKU no channel may sell from here (a store's walk-in reserve)."""
        return self.store.safety_stock if self.store is not None else 0

    @property
    def ships_to_customers(self) -> bool:
        """A candidate for shipped orders: every location but a store with ship-from-store off."""
        return self.store is None or self.store.ship_from_store

    @property
    def takes_pickups(self) -> bool:
        return (
            self.kind == LocationKind.STORE
            and self.active
            and self.store is not None
            and self.store.pickup_enabled
        )

    def may_serve(self, channel: str) -> bool:
        return self.channels is None or channel in self.channels
