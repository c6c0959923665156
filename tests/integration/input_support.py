"""Helpers for the input-validation tests: what a refusal looks like, and "nothing written"."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from orderhub.bootstrap import Container
from orderhub.store import tables


def row_counts(container: Container) -> dict[str, int]:
    """Rows in every table of the hub: a refused request must leave each count unchanged."""
    every = tables.metadata.sorted_tables
    counts = select(
        *(select(func.count()).select_from(t).scalar_subquery().label(t.name) for t in every)
    )
    with container.engine.connect() as conn:
        return dict(conn.execute(counts).one()._mapping)


def fields_of(response: httpx.Response) -> set[str]:
    """The field paths a 422 problem names (after checking that it is one)."""
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json", response.text
    body: dict[str, Any] = response.json()
    return {error["field"] for error in body.get("errors", [])}
