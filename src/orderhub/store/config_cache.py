"""Configuration read once per process: channels, locations, products and the active routing
rules, kept while the database's stamps of their tables say they are unchanged.

Every ingest transaction wants the same rarely changed rows; reading and building them was a
fifth of its fixed cost. The database keeps the cache honest itself: a trigger on each of those
tables (migration 0025) gives its row of ``config_stamps`` a new random stamp in the same
transaction as any change — through a repository, a raw statement, another process. So:

* a transaction reads every stamp once, in one statement, at its first configuration read
  (:class:`Stamps`), and again after it writes configuration through a repository (which then
  sees its own change: its stamp moved, the cache misses);
* a cached value is served only to a transaction that read the stamp it was read at; a miss
  reads the rows *and* the stamp in one statement (one snapshot, READ COMMITTED or not), so a
  value is never filed under a stamp it was not read at;
* stamps are random, not counted: a transaction that wrote and read its own rows files them
  under a stamp no one else can see — should it roll back, that stamp never comes back.

Values are kept per connection pool (a database; tests copy theirs from one template, stamps
and all) and replaced whole, so threads share them without a lock. They are shared by every
transaction of the process: immutable (products, rule versions), or copied for each
transaction that takes them (channels, locations: ``dataclasses`` that callers may change),
their nested lists and dicts read-only. Secrets are never cached: channels come without them.
"""

from __future__ import annotations

import copy
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Row, Select, Table, select, true
from sqlalchemy.pool import Pool
from sqlalchemy.sql import ColumnElement

from orderhub.store import tables as t

T = TypeVar("T")
Rows = Sequence[Row[Any]]

# Products by SKU kept at most (each a few hundred bytes); past it the cache starts again.
MAX_PRODUCTS = 20_000

_STAMPS = select(t.config_stamps.c.name, t.config_stamps.c.stamp)
# Per pool: table name → (stamp, value read at it).
_caches: weakref.WeakKeyDictionary[Pool, dict[str, tuple[int, Any]]] = weakref.WeakKeyDictionary()


class Stamps:
    """The configuration tables' stamps as one transaction sees them, read at most once (one
    statement for all) until :meth:`wrote`. One per transaction, shared by its repositories:
    the unit of work makes a new one where it makes their per-transaction state anew."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._seen: dict[str, int] | None = None

    def of(self, table: str) -> int:
        if self._seen is None:
            self._seen = {row.name: row.stamp for row in self._conn.execute(_STAMPS)}
        return self._seen[table]

    def known(self, seen: dict[str, int]) -> None:
        """The stamps (table name → stamp, every row of ``config_stamps``) as the caller read
        them in a statement of its own (the announcement's, with the levels): not read again."""
        self._seen = seen

    def wrote(self) -> None:
        """This transaction changed configuration: read the stamps again (its own change moved
        one, so what it reads next is its own rows, not the cache's)."""
        self._seen = None


def stamped(table: Table, *, where: ColumnElement[bool] | None = None) -> Select[Any]:
    """``table``'s rows (those matching ``where``) beside its stamp, in one statement: the
    stamp row outer-joined to them, so a read that finds no row still says its stamp."""
    stamp = t.config_stamps
    on = where if where is not None else true()
    return (
        select(stamp.c.stamp.label("config_stamp"), *table.c)
        .select_from(stamp.outerjoin(table, on))
        .where(stamp.c.name == table.name)
    )


def cached(
    conn: Connection,
    stamps: Stamps,
    table: Table,
    read: Callable[[Connection], Rows],
    build: Callable[[Rows], T],
) -> T:
    """What ``build`` makes of ``table``'s rows: the process's copy when it was read at the
    stamp this transaction sees, else ``read`` (a :func:`stamped` statement; rows without the
    table's key are the stamp's alone) and kept under the stamp it came with."""
    cache = _cache(conn)
    seen = stamps.of(table.name)
    kept = cache.get(table.name)
    if kept is not None and kept[0] == seen:
        value: T = kept[1]
        return value
    rows = read(conn)
    value = build(_present(table, rows))
    cache[table.name] = (rows[0].config_stamp, value)
    return value


def products(
    conn: Connection,
    stamps: Stamps,
    skus: set[str],
    read: Callable[[Connection, Iterable[str]], Rows],
    build: Callable[[Row[Any]], T],
) -> dict[str, T | None]:
    """Each of ``skus`` → its product (None: no such SKU), from the process's products read at
    the stamp this transaction sees, the others read (``read``: a :func:`stamped` statement
    for some SKUs) and kept with them — or kept afresh, when they came with another stamp."""
    cache = _cache(conn)
    seen = stamps.of(t.products.name)
    kept = cache.get(t.products.name)
    known: dict[str, T | None] = kept[1] if kept is not None and kept[0] == seen else {}
    found = {sku: known[sku] for sku in skus if sku in known}
    if len(found) == len(skus):
        return found
    rows = read(conn, sorted(skus - found.keys()))
    fresh: dict[str, T | None] = dict.fromkeys(skus - found.keys())
    fresh.update((row.sku, build(row)) for row in _present(t.products, rows))
    stamp = rows[0].config_stamp
    if kept is not None and kept[0] == stamp and len(kept[1]) + len(fresh) <= MAX_PRODUCTS:
        kept[1].update(fresh)  # read at the same stamp: the same products
    elif len(fresh) <= MAX_PRODUCTS:
        cache[t.products.name] = (stamp, dict(fresh))
    return found | fresh


def copied(values: Iterable[T]) -> list[T]:
    """A transaction's own (shallow) copies of cached mutable objects: a caller that sets an
    attribute changes its copy, not every other transaction's."""
    return [copy.copy(value) for value in values]


def forget(engine: Engine) -> None:
    """Drop this engine's cached configuration (tests of what a cold process reads)."""
    _caches.pop(engine.pool, None)


def _cache(conn: Connection) -> dict[str, tuple[int, Any]]:
    pool = conn.engine.pool
    cache = _caches.get(pool)
    if cache is None:
        cache = _caches.setdefault(pool, {})
    return cache


def _present(table: Table, rows: Rows) -> list[Row[Any]]:
    """The rows of ``table`` itself (an outer join's stamp-only row has no key)."""
    key = next(iter(table.primary_key.columns)).name
    return [row for row in rows if getattr(row, key) is not None]
