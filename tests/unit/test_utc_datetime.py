"""UTCDateTime's own SQLite bind stores exactly what SQLAlchemy's two-step bind stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import TypeDecorator

from orderhub.store.types import UTCDateTime

SQLITE = sqlite.dialect()
OFFSETS = st.timedeltas(min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23))
AWARE = st.builds(
    lambda naive, offset: naive.replace(tzinfo=timezone(offset)),
    st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31)),
    OFFSETS,
)


def _sqlalchemy_bind(value: datetime | None) -> object:
    """What SQLAlchemy composes for the type: its UTC conversion, then SQLite's DATETIME."""
    impl = UTCDateTime().dialect_impl(SQLITE)
    return TypeDecorator.bind_processor(impl, SQLITE)(value)  # type: ignore[misc]


def _fast_bind(value: datetime | None) -> object:
    process = UTCDateTime()._cached_bind_processor(SQLITE)
    assert process is not None
    return process(value)


@given(AWARE)
def test_the_sqlite_bind_stores_the_text_sqlalchemy_stored(value: datetime) -> None:
    assert _fast_bind(value) == _sqlalchemy_bind(value)


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 12, 7, 10, 0, tzinfo=UTC),  # no microseconds: still six digits
        datetime(1, 1, 1, 0, 0, 1, 5, tzinfo=UTC),  # year 1: still four digits
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
        None,
    ],
)
def test_the_sqlite_bind_at_the_edges(value: datetime | None) -> None:
    assert _fast_bind(value) == _sqlalchemy_bind(value)


def test_a_naive_time_is_refused_on_sqlite() -> None:
    with pytest.raises(ValueError, match="naive"):
        _fast_bind(datetime(2026, 12, 7, 10, 0))


def test_postgresql_keeps_sqlalchemy_bind() -> None:
    """Not SQLite: the aware UTC datetime goes to the driver as SQLAlchemy passes it."""
    pg = postgresql.dialect()
    value = datetime(2026, 12, 7, 11, 0, tzinfo=timezone(timedelta(hours=1)))
    process = UTCDateTime()._cached_bind_processor(pg)
    bound = process(value) if process is not None else value
    assert bound == value
    assert bound.tzinfo is UTC
