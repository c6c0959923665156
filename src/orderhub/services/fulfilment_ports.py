"""What fulfilment needs from other areas (ports) and the exception vocabulary it records.

Stock and re-routing belong to inventory and routing; fulfilment reaches them only through
these protocols, so it is tested with fakes and wired in ``services/fulfilment_wiring``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from orderhub.clock import utc_now
from orderhub.fulfilment.base import FulfilmentProvider
from orderhub.store.unit_of_work import UnitOfWork


class StockMovements(Protocol):
    """Inventory's ledger as fulfilment needs it; neither call commits."""

    def consume_for_shipment(
        self, uow: UnitOfWork, *, order_id: str, lines: Mapping[str, int], location: str
    ) -> None: ...

    def release(
        self, uow: UnitOfWork, *, order_id: str, location: str, line_ids: Sequence[str], reason: str
    ) -> None: ...


class Rerouter(Protocol):
    """Routing: allocate the order's open lines again, avoiding ``exclude_location``.

    Called after the rejection is committed; it commits its own work. True when it found a new
    location (its ``order.allocated`` event brings the new fulfilment order).
    """

    def reroute(self, uow: UnitOfWork, *, order_id: str, exclude_location: str) -> bool: ...


@dataclass
class FulfilmentDeps:
    providers: Callable[[str], FulfilmentProvider]  # provider code → adapter
    stock: StockMovements
    rerouter: Rerouter
    clock: Callable[[], datetime] = lambda: utc_now()


class ExceptionKind:
    REJECTED = "rejected"
    STOCK_OUT = "stock_out"
    UNROUTABLE = "unroutable"
    DISPATCH_FAILED = "dispatch_failed"
    DELIVERY_EXCEPTION = "delivery_exception"


SUGGESTED = {
    ExceptionKind.REJECTED: "re-routed automatically; check why the location refused",
    ExceptionKind.STOCK_OUT: "re-routed automatically; count the SKU at the location",
    ExceptionKind.UNROUTABLE: (
        "no other location can ship it: add stock, then re-allocate, or cancel"
    ),
    ExceptionKind.DISPATCH_FAILED: "fix the provider's settings, then dispatch again",
    ExceptionKind.DELIVERY_EXCEPTION: "contact the carrier with the tracking number",
}
