"""``column IN (:name)`` for a list bound at execution, one array parameter on PostgreSQL.

SQLAlchemy's expanding IN renders a statement per execution with a placeholder (and a cast) per
value: on PostgreSQL every length is another text for psycopg to convert (it re-parses one of
more than 50 parameters on every call, caching none), for the server to parse and plan, and
for psycopg's prepared statements to count. ``column = ANY(:name)`` with the list as one array
is one text whatever the length: converted once, prepared after five uses. SQLite keeps the
expanding IN (it has no arrays). docs/performance.md, eleventh pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Boolean, ColumnElement, TypeDecorator, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import operators
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import Grouping
from sqlalchemy.sql.visitors import InternalTraversal


class _Values(TypeDecorator[Any]):
    """An array of the column's type, bound from any iterable (a set, a generator…)."""

    impl = ARRAY(Boolean)  # replaced per column in __init__
    cache_ok = True

    def __init__(self, item: Any) -> None:
        super().__init__()
        self.impl = ARRAY(item)
        self._item = item

    def process_bind_param(self, value: Iterable[Any] | None, dialect: Dialect) -> list[Any] | None:
        return None if value is None else list(value)

    @property
    def _static_cache_key(self) -> Any:  # two columns of different types: two statements
        return (self.__class__, self._item._static_cache_key)


class OneOf(ColumnElement[bool]):
    """``column`` is one of the values bound as ``name`` (an iterable) at execution."""

    inherit_cache = True
    type = Boolean()
    _traverse_internals = [
        ("expanding", InternalTraversal.dp_clauseelement),
        ("array", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: ColumnElement[Any], name: str) -> None:
        self.expanding = column.in_(bindparam(name, expanding=True))
        self.array = column == any_(bindparam(name, type_=_Values(column.type)))

    def self_group(self, against: Any = None) -> ColumnElement[Any]:
        """A comparison already: not wrapped as a boolean value (SQLite's ``… = 1``)."""
        if against in (operators.and_, operators.or_, operators._asbool):
            return self
        return Grouping(self)


@compiles(OneOf)
def _expanding(element: OneOf, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.expanding, **kw)


@compiles(OneOf, "postgresql")
def _array(element: OneOf, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.array, **kw)


def one_of(column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
    """``column IN (…)`` of the values bound as ``name``; ``= ANY(array)`` on PostgreSQL."""
    return OneOf(column, name)
