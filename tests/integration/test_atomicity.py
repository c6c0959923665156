"""One order's writes commit together or not at all."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from orderhub.bootstrap import Container
from orderhub.channels import native
from orderhub.services.ingest import ingest_order
from orderhub.store import history, tables
from tests.conftest import native_order


class Crash(Exception):
    pass


def _counts(container: Container) -> dict[str, int]:
    with container.uow(read_only=True) as uow:
        return {
            table.name: int(uow.conn.execute(select(func.count()).select_from(table)).scalar_one())
            for table in (
                tables.orders, tables.order_lines, tables.customers, tables.order_events,
                tables.outbox,
            )
        }  # fmt: skip


def test_a_crash_while_writing_history_leaves_no_trace_of_the_order(
    seeded: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*_args: object, **_kwargs: object) -> None:
        raise Crash

    monkeypatch.setattr(history, "insert", crash)  # the unit of work writes the chain
    payload = native.NativeOrder.model_validate(native_order())
    with pytest.raises(Crash), seeded.uow() as uow:
        ingest_order(
            uow, draft=payload.to_draft(), source="native", payload=payload.model_dump_json()
        )
    assert set(_counts(seeded).values()) == {0}

    monkeypatch.undo()
    with seeded.uow() as uow:
        result = ingest_order(
            uow, draft=payload.to_draft(), source="native", payload=payload.model_dump_json()
        )
    assert result.outcome == "created"
    assert _counts(seeded) == {
        "orders": 1, "order_lines": 2, "customers": 1, "order_events": 1, "outbox": 1,
    }  # fmt: skip
