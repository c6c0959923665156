"""The unit of work's items (the worker's deliveries, ingest's allocation): each in a savepoint,
its events queued with it and undone with it; the transaction's outbox rows written at the
commit, in the order they were queued."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from orderhub.bootstrap import Container
from orderhub.domain.events import InventoryAvailableChanged
from orderhub.store import tables as t
from orderhub.store.unit_of_work import UnitOfWork


def queued(container: Container) -> list[dict[str, Any]]:
    o = t.outbox.c
    with container.uow(read_only=True) as uow:  # another connection: what is committed
        return list(uow.conn.execute(select(o.data).order_by(o.seq)).scalars().all())


def news(sku: str) -> InventoryAvailableChanged:
    return InventoryAvailableChanged(sku, "web", 1, 0)


def failing_item(uow: UnitOfWork) -> None:
    with uow.item():
        uow.record(news("RAISED"))
        raise RuntimeError("the item fails")


def test_an_undone_item_takes_its_events_with_it(seeded: Container) -> None:
    before = len(queued(seeded))
    with seeded.uow(actor="test") as uow:
        with uow.item():
            uow.record(news("KEPT-1"))
        with pytest.raises(RuntimeError, match="the item fails"):
            failing_item(uow)
        with uow.item():
            uow.record(news("ROLLED-BACK"))
            uow.commit()  # ends the item's savepoint: this one stays
            uow.record(news("KEPT-2"))
            uow.commit()
            uow.record(news("UNDONE"))
            uow.rollback()  # only what followed the last commit
        uow.record(news("KEPT-3"))
        assert len(queued(seeded)) == before  # nothing written before the commit
        uow.commit()
    skus = [row["sku"] for row in queued(seeded)[before:]]
    assert skus == ["KEPT-1", "ROLLED-BACK", "KEPT-2", "KEPT-3"]


def test_nothing_is_queued_without_the_commit(seeded: Container) -> None:
    before = len(queued(seeded))
    with seeded.uow(actor="test") as uow, uow.item():
        uow.record(news("NEVER"))
    assert len(queued(seeded)) == before
