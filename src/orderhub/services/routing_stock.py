"""The stock the routing dry-run plans against when no other view is configured: the hub's own
locations and levels, read fresh for every question (nothing is reserved)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime

from orderhub.domain.inventory import local_day
from orderhub.domain.locations import Location
from orderhub.store.unit_of_work import UnitOfWork


class LiveStock:
    """A :class:`~orderhub.services.routing.StockView` over the stock ledger's current levels."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork]) -> None:
        self._uow = uow_factory

    def locations(self) -> Sequence[Location]:
        with self._uow() as uow:
            return [loc for loc in uow.locations.list() if loc.active]

    def available(self, skus: Collection[str]) -> Mapping[tuple[str, str], int]:
        with self._uow() as uow:
            return {(lv.sku, lv.location): max(0, lv.available) for lv in uow.stock.levels(skus)}

    def orders_today(self, now: datetime) -> Mapping[str, int]:
        with self._uow() as uow:
            days = {loc.code: local_day(loc, now) for loc in uow.locations.list()}
            return uow.stock.orders_today(days)
