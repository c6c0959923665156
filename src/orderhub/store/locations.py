"""Locations: load and save the pure :class:`~orderhub.domain.locations.Location`."""

from __future__ import annotations

import builtins
import dataclasses
from datetime import time
from typing import Any

from sqlalchemy import Connection, Row, bindparam, select, update

from orderhub.clock import utc_now
from orderhub.domain.errors import Conflict, NotFound
from orderhub.domain.locations import Location, LocationAddress, LocationKind, StoreSettings
from orderhub.store import config_cache
from orderhub.store import tables as t
from orderhub.store.config_cache import Rows, Stamps
from orderhub.store.queries import keyset_page
from orderhub.store.repositories import insert_ignoring_duplicates

_LOCATION = select(t.locations).where(t.locations.c.code == bindparam("code"))
_STAMPED_LOCATIONS = config_cache.stamped(t.locations).order_by(t.locations.c.code)
_FIELDS = (
    "name", "kind", "address", "timezone", "active", "channels", "serves_countries",
    "daily_capacity", "cutoff", "provider", "priority", "settings",
)  # fmt: skip


class LocationRepository:
    """Locations. :meth:`list` is taken once per repository (a unit of work's transaction:
    allocation and the available-to-sell announcement both want every location) from the
    process's configuration cache (store/config_cache.py), and again after a write through
    this repository."""

    def __init__(self, conn: Connection, stamps: Stamps | None = None) -> None:
        self._conn = conn
        self._stamps = stamps if stamps is not None else Stamps(conn)
        self._listed: builtins.list[Location] | None = None

    def get(self, code: str) -> Location:
        row = self._conn.execute(_LOCATION, {"code": code}).first()
        if row is None:
            raise NotFound(f"location {code!r} not found")
        return _to_location(row)

    def list(self) -> list[Location]:
        if self._listed is None:
            every = config_cache.cached(
                self._conn, self._stamps, t.locations, _read_locations, _locations
            )
            self._listed = config_cache.copied(every)
        return builtins.list(self._listed)

    def page(
        self, *, kind: str | None, active: bool | None, limit: int, cursor: str | None
    ) -> tuple[builtins.list[Location], str | None]:
        """One page of locations by code."""
        c = t.locations.c
        stmt = select(t.locations)
        if kind:
            stmt = stmt.where(c.kind == kind)
        if active is not None:
            stmt = stmt.where(c.active == active)
        rows, next_cursor = keyset_page(self._conn, stmt, c.code, limit=limit, cursor=cursor)
        return [_to_location(r) for r in rows], next_cursor

    def existing(self, codes: set[str]) -> set[str]:
        if not codes:
            return set()
        rows = self._conn.execute(select(t.locations.c.code).where(t.locations.c.code.in_(codes)))
        return {r.code for r in rows}

    def add(self, location: Location) -> None:
        self._listed = None
        self._stamps.wrote()
        now = utc_now()
        row = {"code": location.code, "created_at": now, "updated_at": now, **_values(location)}
        if not insert_ignoring_duplicates(self._conn, t.locations, row):
            raise Conflict(f"location {location.code!r} exists already")

    def save(self, location: Location) -> None:
        self._listed = None
        self._stamps.wrote()
        self._conn.execute(
            update(t.locations)
            .where(t.locations.c.code == location.code)
            .values(updated_at=utc_now(), **_values(location))
        )


def _read_locations(conn: Connection) -> Rows:
    return conn.execute(_STAMPED_LOCATIONS).all()


def _locations(rows: Rows) -> list[Location]:
    return [_to_location(row) for row in rows]


def _values(location: Location) -> dict[str, Any]:
    values = {name: getattr(location, name) for name in _FIELDS}
    values["kind"] = location.kind.value
    values["address"] = {
        k: v for k, v in dataclasses.asdict(location.address).items() if v is not None
    }
    values["cutoff"] = location.cutoff.strftime("%H:%M") if location.cutoff else None
    values["store"] = store_json(location.store)
    return values


def store_json(store: StoreSettings | None) -> dict[str, Any] | None:
    """A store's settings as stored and as the API shows them (hours as "HH:MM")."""
    if store is None:
        return None
    return {
        "opening_hours": {
            day: [opens.strftime("%H:%M"), closes.strftime("%H:%M")]
            for day, (opens, closes) in store.opening_hours.items()
        },
        "pickup_enabled": store.pickup_enabled,
        "ship_from_store": store.ship_from_store,
        "safety_stock": store.safety_stock,
        "pickup_hold_days": store.pickup_hold_days,
    }


def store_from_json(data: dict[str, Any] | None) -> StoreSettings | None:
    if data is None:
        return None
    return StoreSettings(
        opening_hours={
            day: (time.fromisoformat(opens), time.fromisoformat(closes))
            for day, (opens, closes) in data.get("opening_hours", {}).items()
        },
        pickup_enabled=bool(data.get("pickup_enabled", True)),
        ship_from_store=bool(data.get("ship_from_store", True)),
        safety_stock=int(data.get("safety_stock", 0)),
        pickup_hold_days=int(data.get("pickup_hold_days", 7)),
    )


def _to_location(row: Row[Any]) -> Location:
    return Location(
        code=row.code,
        name=row.name,
        kind=LocationKind(row.kind),
        address=LocationAddress(**row.address),
        timezone=row.timezone,
        active=row.active,
        channels=row.channels,
        serves_countries=row.serves_countries,
        daily_capacity=row.daily_capacity,
        cutoff=time.fromisoformat(row.cutoff) if row.cutoff else None,
        provider=row.provider,
        priority=row.priority,
        settings=row.settings or {},
        store=store_from_json(row.store),
    )
