"""store.one_of: the rows whose column is among a list bound at execution, on both databases;
on PostgreSQL one statement text whatever the list's length (one array parameter)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select

from orderhub.bootstrap import Container
from orderhub.store import tables as t
from orderhub.store.one_of import one_of

P = t.products.c
SKUS = select(P.sku).where(one_of(P.sku, "skus")).order_by(P.sku)


def test_one_of_finds_the_rows_of_a_list_a_set_or_none(seeded: Container) -> None:
    with seeded.engine.connect() as conn:
        assert conn.execute(SKUS, {"skus": ["SKU-3", "SKU-1"]}).scalars().all() == [
            "SKU-1",
            "SKU-3",
        ]
        assert conn.execute(SKUS, {"skus": {"SKU-2", "NOT-A-SKU"}}).scalars().all() == ["SKU-2"]
        assert conn.execute(SKUS, {"skus": []}).scalars().all() == []
        both = select(P.sku).where(one_of(P.sku, "skus"), P.name != "Two").order_by(P.sku)
        assert conn.execute(both, {"skus": ["SKU-1", "SKU-2"]}).scalars().all() == ["SKU-1"]


def test_one_text_for_every_length_on_postgresql(seeded: Container) -> None:
    sent: list[str] = []

    def record(_c: Any, _cur: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(seeded.engine, "before_cursor_execute", record)
    try:
        with seeded.engine.connect() as conn:
            for skus in (["SKU-1"], ["SKU-1", "SKU-2"], ["SKU-1", "SKU-2", "SKU-3"]):
                assert len(conn.execute(SKUS, {"skus": skus}).all()) == len(skus)
    finally:
        event.remove(seeded.engine, "before_cursor_execute", record)
    texts = {s for s in sent if s.startswith("SELECT products.sku")}  # not SQLite's BEGIN
    if seeded.engine.dialect.name == "postgresql":
        assert len(texts) == 1
        assert "= ANY (" in texts.pop()
    else:  # SQLite: the expanding IN, a placeholder per value
        assert len(texts) == 3
        assert all(" IN (" in text for text in texts)
