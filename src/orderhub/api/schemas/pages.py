"""The one shape of every collection: ``{"items": [...], "next_cursor": "…" | null}``.

Routes take ``limit`` and ``cursor`` as :data:`Limit` and :data:`Cursor` and page through
:func:`orderhub.store.queries.keyset_page`, so every list has the same bounds and cursor rules
(docs/api.md, Pagination).
"""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

T = TypeVar("T")

MAX_LIMIT = 200

Limit = Annotated[
    int, Query(ge=1, le=MAX_LIMIT, description=f"items per page (at most {MAX_LIMIT})")
]
Cursor = Annotated[
    str | None, Query(description="the previous page's `next_cursor`; omit for the first page")
]


class Page(BaseModel, Generic[T]):
    """One page of a collection; pass ``next_cursor`` back as ``cursor`` until it is null."""

    items: list[T]
    next_cursor: str | None
