"""Routing's view of live stock for the dry-run: the inventory tables, read-only."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime

from orderhub.domain.inventory import local_day
from orderhub.domain.locations import Location
from orderhub.store.unit_of_work import UnitOfWork


class LiveStock:
    """The :class:`~orderhub.services.routing.StockView` allocation itself sees: every
    location (inactive ones too, which the planner excludes and explains), units available per
    (SKU, location), orders per location today. Each read is its own short read-only
    transaction; the dry-run reserves nothing."""

    def __init__(self, uow: Callable[[], UnitOfWork]) -> None:
        self._uow = uow

    def locations(self) -> Sequence[Location]:
        with self._uow() as uow:
            return list(uow.locations.list())

    def available(self, skus: Collection[str]) -> Mapping[tuple[str, str], int]:
        with self._uow() as uow:
            return {
                (level.sku, level.location): max(0, level.available)
                for level in uow.stock.levels(set(skus))
            }

    def orders_today(self, now: datetime) -> Mapping[str, int]:
        with self._uow() as uow:
            days = {loc.code: local_day(loc, now) for loc in uow.locations.list()}
            return uow.stock.orders_today(days)
