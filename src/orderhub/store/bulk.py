"""Many rows into one table through the driver's ``executemany``: the way every bulk INSERT of
ingest (orders, order lines, history and its chain anchors, outbox) is written.

SQLAlchemy's ``executemany`` builds a parameter dict per row and runs every value through its
generic per-parameter loop; for a batch of 500 orders that cost more server CPU than SQLite
spent on the statements. Here each column's own bind processor (the one SQLAlchemy would call:
JSON serialized with the engine's serializer, UTC datetimes as the dialect stores them) is
applied in a tight loop, and a value repeated from the row before (the transaction's one
``now``) is converted once, so what is stored is byte for byte what ``conn.execute`` stores.

On PostgreSQL the rows go as one multi-row ``INSERT … VALUES ($1, …), (…)`` (chunked under the
protocol's 65,535 parameters), as SQLAlchemy's own "insertmanyvalues" does, through psycopg's
``RawCursor`` (``$n`` placeholders, no query parsing). psycopg 3's ``executemany`` sends one
Bind/Execute per row in pipeline mode and handles each row's result in Python: a group of five
orders wrote some 100 rows that way, the largest single cost of the API and the worker on
PostgreSQL, and of its backends (docs/performance.md, eleventh pass). With ``%s`` placeholders
psycopg re-parses a statement of more than 50 parameters on every call (it caches no longer
ones): that ate the whole saving, hence the raw cursor. SQLite keeps ``executemany``, a loop in
C there.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from itertools import chain
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.sql.type_api import _BindProcessorType

Processor = _BindProcessorType[Any]
_Prepared = tuple[str, list[tuple[int, Processor]]]
_Names = tuple[str, ...]
_prepared: dict[tuple[str, str, _Names, _Names, _Names], _Prepared] = {}


def insert_rows(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    skip_conflicts_on: tuple[str, ...] = (),
    encoded: tuple[str, ...] = (),
) -> int:
    """INSERT ``rows`` (dicts with the same keys, the columns given) in one ``executemany``;
    returns how many the database wrote (-1 when the driver cannot tell).

    ``skip_conflicts_on``: a unique constraint's columns; a row that would break it is skipped
    (``ON CONFLICT (…) DO NOTHING``) instead of failing the transaction.

    ``encoded``: JSON columns whose values are their JSON text already (the outbox's ``data``,
    the text its history row hashed): sent as they are instead of encoded again — SQLite stores
    the text, PostgreSQL parses it into the column's JSON/JSONB.
    """
    if not rows:
        return 0
    columns = tuple(rows[0])
    get = itemgetter(*columns)
    values = [(value,) for value in map(get, rows)] if len(columns) == 1 else list(map(get, rows))
    return insert_values(
        conn, table, columns, values, skip_conflicts_on=skip_conflicts_on, encoded=encoded
    )


def insert_values(
    conn: Connection,
    table: Table,
    columns: tuple[str, ...],
    values: list[tuple[Any, ...]],
    *,
    skip_conflicts_on: tuple[str, ...] = (),
    encoded: tuple[str, ...] = (),
) -> int:
    """:func:`insert_rows` of rows given as tuples of the ``columns``' values (no dict to
    build per row). Each column that needs it is converted as a whole, a value repeated from
    the row before converted once."""
    if not values:
        return 0
    sql, processors = _prepare(conn, table, columns, skip_conflicts_on, encoded)
    if processors:
        cells: list[Sequence[Any]] = list(zip(*values, strict=True))  # column by column
        for index, process in processors:
            cells[index] = _converted(cells[index], process)
        values = list(zip(*cells, strict=True))
    if conn.dialect.name == "postgresql":
        return _insert_values(conn, sql, values, len(columns))
    return conn.exec_driver_sql(sql, values).rowcount


def _converted(column: Sequence[Any], process: Processor) -> list[Any]:
    """``process`` applied to each value of a column; one repeated from the row before (the
    transaction's one ``now``) is converted once."""
    out = []
    last_in: Any = _NOTHING
    last_out = None
    for value in column:
        if value is not last_in:
            last_in, last_out = value, process(value)
        out.append(last_out)
    return out


# PostgreSQL's wire protocol counts a statement's parameters in 16 bits.
MAX_PARAMETERS = 65_535
# Rows a statement at most (SQLAlchemy's insertmanyvalues batch): a longer text costs more to
# parse than the round trip it saves.
MAX_ROWS = 1000


def _insert_values(conn: Connection, sql: str, params: list[tuple[Any, ...]], width: int) -> int:
    """``sql`` (one row's INSERT) for all ``params`` as multi-row VALUES statements; the rows
    written (a row skipped by ``ON CONFLICT DO NOTHING`` is not counted, as with executemany).

    The statements go through the SQLAlchemy connection (its events, its transaction) on a
    psycopg ``RawCursor``: the connection's cursor factory is swapped for them and restored.
    """
    import psycopg

    per_statement = min(MAX_ROWS, MAX_PARAMETERS // width)
    raw = conn.connection.dbapi_connection
    factory = raw.cursor_factory  # type: ignore[union-attr]
    raw.cursor_factory = psycopg.RawCursor  # type: ignore[union-attr]
    written = 0
    try:
        for start in range(0, len(params), per_statement):
            chunk = params[start : start + per_statement]
            flat = tuple(chain.from_iterable(chunk))
            written += conn.exec_driver_sql(_values(sql, width, len(chunk)), flat).rowcount
    finally:
        raw.cursor_factory = factory  # type: ignore[union-attr]
    return written


@lru_cache(maxsize=512)
def _values(sql: str, width: int, rows: int) -> str:
    """``sql`` (``INSERT … VALUES (%s, …)[ ON CONFLICT …]``) for ``rows`` rows, ``$n``
    numbered."""
    at = sql.index(" VALUES (") + len(" VALUES ")
    end = sql.index(")", at) + 1
    tuples = (
        "(" + ", ".join(f"${row * width + column}" for column in range(1, width + 1)) + ")"
        for row in range(rows)
    )
    return f"{sql[:at]}{', '.join(tuples)}{sql[end:]}"


_NOTHING = object()  # never a value: the first row's are always converted


def _prepare(
    conn: Connection,
    table: Table,
    columns: tuple[str, ...],
    conflict: tuple[str, ...],
    encoded: tuple[str, ...],
) -> _Prepared:
    """The statement and the columns' bind processors (none for the ``encoded`` ones), once
    per dialect, table and columns."""
    dialect = conn.dialect
    key = (dialect.name, table.name, columns, conflict, encoded)
    found = _prepared.get(key)
    if found is not None:
        return found
    quote = dialect.identifier_preparer.quote
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {dialect.identifier_preparer.format_table(table)}"
        f" ({', '.join(quote(name) for name in columns)})"
        f" VALUES ({', '.join(mark for _ in columns)})"
    )
    if conflict:
        sql += f" ON CONFLICT ({', '.join(quote(name) for name in conflict)}) DO NOTHING"
    processors = [
        (index, process)
        for index, name in enumerate(columns)
        if name not in encoded
        and (process := table.c[name].type._cached_bind_processor(dialect)) is not None
    ]
    _prepared[key] = (sql, processors)
    return sql, processors
