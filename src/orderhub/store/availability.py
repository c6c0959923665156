"""Per-channel safety stock overrides and available-to-sell, and the change events it causes.

At commit the unit of work asks :meth:`AvailabilityRepository.announce` what changed. Stock
repositories record each (SKU, location) whose level moved; a safety stock override records
its (channel, SKU); a channel or location change marks everything. ``announce`` then:

1. locks the last announced figures of every channel for the touched SKUs, in (channel, SKU)
   order (by SKU, so it needs no earlier read of the channels; rows that do not exist yet are
   created at 0 and locked next, still before anything else is read);
2. reads channels, locations, overrides and levels *after* taking the locks, so of two
   concurrent transactions the later one sees the earlier one's stock and configuration
   (SQLite, whose writer holds the whole database from the transaction's first statement,
   locks nothing: it reads the figures, overrides and levels of the SKUs in one statement and
   reuses the channels and locations the transaction has read);
3. recomputes only the figures this transaction can have moved — the channels a touched
   location serves, the overridden pairs, and figures never announced — and returns one event
   per figure that changed, written back with one statement.

A figure of a channel the touched location does not serve cannot have moved: it is the sum over
the channel's own serving locations, and every change to those, to the channel or to the
locations passes through here too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, delete, literal_column, select, union_all, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect

from orderhub.clock import utc_now
from orderhub.domain.channels import Channel
from orderhub.domain.events import InventoryAvailableChanged
from orderhub.domain.inventory import StockLevel, available_to_sell, serves
from orderhub.domain.locations import Location
from orderhub.store import tables as t
from orderhub.store.config_cache import Stamps
from orderhub.store.locations import LocationRepository
from orderhub.store.one_of import one_of
from orderhub.store.repositories import ChannelRepository, insert_ignoring_duplicates

S = t.channel_safety_stock.c
A = t.channel_availability.c
L = t.stock_levels.c

Key = tuple[str, str]  # (channel, SKU)

_OVERRIDES = select(S.channel_code, S.sku, S.safety_stock).where(one_of(S.sku, "skus"))
# What a figure is computed from, read in one statement: each override (channel, SKU, units)
# and each level (location, SKU, on hand, reserved), told apart by ``kind``; on SQLite the
# announcement reads the last figures (channel, SKU, available) with them (see ``_Reads``).
_OVERRIDE, _LEVEL, _FIGURE, _STAMP = 0, 1, 2, 3
_OVERRIDE_ROWS = select(
    literal_column(str(_OVERRIDE)).label("kind"),
    S.channel_code.label("code"),
    S.sku,
    S.safety_stock.label("units"),
    literal_column("0").label("reserved"),
).where(one_of(S.sku, "skus"))
_LEVEL_ROWS = select(
    literal_column(str(_LEVEL)).label("kind"),
    L.location.label("code"),
    L.sku,
    L.on_hand.label("units"),
    L.reserved,
).where(one_of(L.sku, "skus"))
_OVERRIDES_AND_LEVELS = union_all(_OVERRIDE_ROWS, _LEVEL_ROWS)
# PostgreSQL, after the figures' locks: the configuration's stamps (``Stamps``: table name,
# stamp) read with the overrides and levels, one statement instead of two.
_STAMP_ROWS = select(
    literal_column(str(_STAMP)).label("kind"),
    t.config_stamps.c.name.label("code"),
    literal_column("NULL").label("sku"),
    t.config_stamps.c.stamp.label("units"),
    literal_column("0").label("reserved"),
)
_STAMPS_OVERRIDES_AND_LEVELS = union_all(_STAMP_ROWS, _OVERRIDE_ROWS, _LEVEL_ROWS)
_FIGURES = select(A.channel_code, A.sku, A.available).order_by(A.channel_code, A.sku)
_FIGURES_OF_SKUS = _FIGURES.where(one_of(A.sku, "skus"))
_FIGURES_OF_KEYS = _FIGURES.where(one_of(A.channel_code, "channels"), one_of(A.sku, "skus"))
# PostgreSQL locks the rows in the ORDER BY's order; SQLite's writer holds the database already.
_LOCKED = {stmt: stmt.with_for_update() for stmt in (_FIGURES, _FIGURES_OF_SKUS, _FIGURES_OF_KEYS)}


class Touched:
    """What changed in this transaction that available-to-sell depends on."""

    def __init__(self) -> None:
        self.levels: set[tuple[str, str]] = set()  # (SKU, location) whose level moved
        self.keys: set[Key] = set()  # (channel, SKU) whose safety stock override changed
        self.everything = False  # a channel or location changed: any figure may have moved
        self.moves = 0  # stock movements recorded (what an allocation group read may be stale)

    def __bool__(self) -> bool:
        return bool(self.levels or self.keys or self.everything)

    def skus(self) -> set[str]:
        return {sku for sku, _ in self.levels} | {sku for _, sku in self.keys}

    def clear(self) -> None:
        self.levels.clear()
        self.keys.clear()
        self.everything = False


class _Reads:
    """The overrides and levels of some SKUs (and, read with them, their last figures)."""

    def __init__(self, rows: Iterable[Any]) -> None:
        self.overrides: dict[Key, int] = {}
        self.levels: dict[str, dict[str, StockLevel]] = defaultdict(dict)
        self.figures: dict[Key, int] = {}
        self.stamps: dict[str, int] = {}
        overrides, levels, figures = self.overrides, self.levels, self.figures
        for kind, code, sku, units, reserved in rows:  # unpacked: no attribute per column
            if kind == _LEVEL:
                levels[sku][code] = StockLevel(sku, code, units, reserved)
            elif kind == _OVERRIDE:
                overrides[(code, sku)] = units
            elif kind == _FIGURE:
                figures[(code, sku)] = units
            else:
                self.stamps[code] = units


@lru_cache(maxsize=64)
def _sqlite_reads(count: int) -> str:
    """The last figures, overrides and levels of ``count`` SKUs (the columns of
    ``_OVERRIDE_ROWS`` and ``_LEVEL_ROWS``, ``kind`` telling them apart) as SQLite text, each
    SKU bound three times (``?``): sent as it is, not compiled again (SQLAlchemy renders an
    expanding IN afresh for every execution)."""
    marks = ", ".join("?" * count)
    return (
        f"SELECT {_FIGURE} AS kind, channel_code AS code, sku, available AS units, 0 AS reserved"
        f" FROM channel_availability WHERE sku IN ({marks})"
        f" UNION ALL SELECT {_OVERRIDE} AS kind, channel_code AS code, sku,"
        f" safety_stock AS units, 0 AS reserved FROM channel_safety_stock WHERE sku IN ({marks})"
        f" UNION ALL SELECT {_LEVEL} AS kind, location AS code, sku, on_hand AS units, reserved"
        f" FROM stock_levels WHERE sku IN ({marks})"
    )


_SQLITE_WRITE_FIGURES = (
    "UPDATE channel_availability SET available = ?, updated_at = ?"
    " WHERE channel_code = ? AND sku = ?"
)


def _stamp(dialect: Dialect) -> Callable[[datetime], Any]:
    """``updated_at`` as the dialect stores it (the column type's own conversion)."""
    process = A.updated_at.type._cached_bind_processor(dialect)
    return process if process is not None else _as_is


def _as_is(value: datetime) -> datetime:
    return value


# PostgreSQL: the changed figures in one statement (executemany sends one Bind/Execute per
# row and handles each result in Python), one text whatever their number. Their rows are
# locked already (``_lock_figures``).
_PG_WRITE_FIGURES = (
    "UPDATE channel_availability SET available = v.available, updated_at = %(updated_at)s"
    " FROM unnest(%(channels)s::VARCHAR[], %(skus)s::VARCHAR[], %(available)s::INTEGER[])"
    " AS v(channel_code, sku, available)"
    " WHERE channel_availability.channel_code = v.channel_code"
    " AND channel_availability.sku = v.sku"
)


class AvailabilityRepository:
    def __init__(
        self,
        conn: Connection,
        *,
        touched: Touched,
        locations: LocationRepository | None = None,
        channels: ChannelRepository | None = None,
    ) -> None:
        self._conn = conn
        self.touched = touched  # shared with the stock repository
        self._lock_rows = conn.dialect.name == "postgresql"
        # SQLite: the transaction holds the one writer from its first statement, so the
        # locations and channels it has read already (the unit of work's, allocation's) are
        # still current. PostgreSQL reads them afresh after the figures' locks (step 2 above).
        self._locations = locations if locations is not None and not self._lock_rows else None
        self._channels = channels if channels is not None and not self._lock_rows else None

    def _every_location(self, fresh: Stamps) -> list[Location]:
        """Every location: the transaction's, or read afresh at the ``fresh`` stamps."""
        if self._locations is not None:
            return self._locations.list()
        return LocationRepository(self._conn, fresh).list()

    def _every_channel(self, fresh: Stamps) -> list[Channel]:
        """Every channel, without its secrets (see :meth:`_every_location`)."""
        if self._channels is not None:
            return self._channels.unsealed()
        return ChannelRepository(self._conn, stamps=fresh).unsealed()

    def touch_all(self) -> None:
        self.touched.everything = True

    # --- safety stock -------------------------------------------------------------------

    def safety_overrides(self, skus: Iterable[str]) -> dict[tuple[str, str], int]:
        wanted = sorted(set(skus))
        if not wanted:
            return {}
        rows = self._conn.execute(_OVERRIDES, {"skus": wanted})
        return {(r.channel_code, r.sku): r.safety_stock for r in rows}

    def set_safety_stock(self, channel: str, sku: str, quantity: int | None) -> None:
        """Override the channel's safety stock for one SKU; ``None`` removes the override."""
        where = (S.channel_code == channel, S.sku == sku)
        if quantity is None:
            self._conn.execute(delete(t.channel_safety_stock).where(*where))
        elif not insert_ignoring_duplicates(
            self._conn,
            t.channel_safety_stock,
            {"channel_code": channel, "sku": sku, "safety_stock": quantity},
        ):
            self._conn.execute(
                update(t.channel_safety_stock).where(*where).values(safety_stock=quantity)
            )
        self.touched.keys.add((channel, sku))

    # --- available-to-sell --------------------------------------------------------------

    def available_to_sell(
        self, skus: Iterable[str], channels: list[Channel] | None = None
    ) -> dict[tuple[str, str], int]:
        """(channel, SKU) → available-to-sell, computed from the current levels."""
        wanted = sorted(set(skus))
        fresh = Stamps(self._conn)  # read (if at all) once for both
        channels = channels if channels is not None else self._every_channel(fresh)
        locations = self._every_location(fresh)
        keys = {(c.code, sku) for c in channels for sku in wanted}
        return self._compute(keys, channels, locations)

    def _compute(
        self,
        keys: set[Key],
        channels: list[Channel],
        locations: list[Location],
        reads: _Reads | None = None,
    ) -> dict[Key, int]:
        """The figures of ``keys`` from these channels and locations and the current overrides
        and levels (read together, in one statement; or ``reads``, current, of their SKUs)."""
        wanted = sorted({sku for _, sku in keys})
        if not wanted:
            return {}
        if reads is None:
            reads = _Reads(self._conn.execute(_OVERRIDES_AND_LEVELS, {"skus": wanted}))
        overrides, by_sku = reads.overrides, reads.levels
        by_code = {c.code: c for c in channels}
        return {
            (code, sku): available_to_sell(
                by_code[code],
                locations,
                by_sku[sku],
                overrides.get((code, sku), by_code[code].safety_stock),
            )
            for code, sku in keys
        }

    def announce(self) -> list[InventoryAvailableChanged]:
        """Events for every (channel, SKU) whose available-to-sell differs from the last one."""
        touched = self.touched
        if not touched:
            return []
        everything, levels, overridden = touched.everything, set(touched.levels), set(touched.keys)
        skus = touched.skus()
        touched.clear()
        if everything:
            skus |= set(self._conn.execute(select(L.sku).distinct()).scalars())
        if not skus:
            return []
        reads = None
        fresh = Stamps(self._conn)  # read (if at all) once for both, after the lock
        if self._lock_rows:  # 1. lock, then 2. read the stamps, overrides and levels
            previous = self._lock_figures(None if everything else skus)
            reads = _Reads(self._conn.execute(_STAMPS_OVERRIDES_AND_LEVELS, {"skus": sorted(skus)}))
            fresh.known(reads.stamps)
        elif everything:
            previous = self._lock_figures(None)
        else:  # SQLite: nothing to lock, the figures read with what they are computed from
            wanted = sorted(skus)
            sql = _sqlite_reads(len(wanted))
            reads = _Reads(self._conn.exec_driver_sql(sql, tuple(wanted * 3)))
            previous = reads.figures
        channels = self._every_channel(fresh)  # 2. read, after the lock
        if not channels:
            return []
        every = {(c.code, sku) for c in channels for sku in skus}
        never_announced = every - previous.keys()
        if never_announced:
            previous |= self._create_figures(never_announced)
        locations = self._every_location(fresh)
        if everything:
            keys = every
        else:  # 3. only what this transaction can have moved
            by_code = {loc.code: loc for loc in locations}
            keys = never_announced | (overridden & every)
            for sku, code in levels:
                location = by_code.get(code)
                keys |= {(c.code, sku) for c in channels if location is None or serves(location, c)}
        current = self._compute(keys, channels, locations, reads)
        changed = [
            InventoryAvailableChanged(
                sku, channel, current[(channel, sku)], previous[(channel, sku)]
            )
            for channel, sku in sorted(keys)
            if current[(channel, sku)] != previous[(channel, sku)]
        ]
        if changed:
            self._write_figures(changed)
        return changed

    def _write_figures(self, changed: list[InventoryAvailableChanged]) -> None:
        """Store the new figures: one UPDATE from arrays on PostgreSQL; on SQLite one
        ``executemany`` (a loop in C) of prepared text, the time converted once."""
        now = utc_now()
        if self._lock_rows:
            params = {
                "updated_at": now,
                "channels": [e.channel for e in changed],
                "skus": [e.sku for e in changed],
                "available": [e.available for e in changed],
            }
            self._conn.exec_driver_sql(_PG_WRITE_FIGURES, params)
            return
        stamp = _stamp(self._conn.dialect)(now)
        rows = [(e.available, stamp, e.channel, e.sku) for e in changed]
        self._conn.exec_driver_sql(_SQLITE_WRITE_FIGURES, rows)

    def _lock_figures(self, skus: set[str] | None) -> dict[Key, int]:
        """The last figures of every channel for ``skus`` (None: all), locked in key order."""
        stmt = _FIGURES if skus is None else _FIGURES_OF_SKUS
        if self._lock_rows:
            stmt = _LOCKED[stmt]
        params = {} if skus is None else {"skus": sorted(skus)}
        return {(r.channel_code, r.sku): r.available for r in self._conn.execute(stmt, params)}

    def _create_figures(self, keys: set[Key]) -> dict[Key, int]:
        """Create the missing rows at 0 (a concurrent creator's row stays), then lock them."""
        insert = pg_insert if self._conn.dialect.name == "postgresql" else sqlite_insert
        now = utc_now()
        ordered = sorted(keys)
        self._conn.execute(
            insert(t.channel_availability)
            .values(
                [
                    {"channel_code": c, "sku": s, "available": 0, "updated_at": now}
                    for c, s in ordered
                ]
            )
            .on_conflict_do_nothing()
        )
        stmt = _LOCKED[_FIGURES_OF_KEYS] if self._lock_rows else _FIGURES_OF_KEYS
        params = {"channels": sorted({c for c, _ in keys}), "skus": sorted({s for _, s in keys})}
        return {
            (r.channel_code, r.sku): r.available
            for r in self._conn.execute(stmt, params)
            if (r.channel_code, r.sku) in keys
        }
