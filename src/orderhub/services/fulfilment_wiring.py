"""Where fulfilment meets inventory, routing and the outbox worker: the integrator's seam.

:func:`default_dependencies` builds providers from the ``fulfilment_providers`` table. Until the
inventory and routing branches are merged, stock movements and re-routing are the inert
:class:`UnwiredStock` and :class:`NoRerouter`; wiring them is two lines here (see the report
and docs/fulfilment.md).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

import httpx

from orderhub.domain.errors import NotFound
from orderhub.fulfilment.base import FulfilmentProvider
from orderhub.fulfilment.registry import WAREHOUSE, build_provider
from orderhub.fulfilment.warehouse import WarehouseProvider
from orderhub.services import fulfilment, sla
from orderhub.services.fulfilment import FulfilmentDeps
from orderhub.store.unit_of_work import UnitOfWork

if TYPE_CHECKING:  # messagebus lists this module's consumer
    from orderhub.services.messagebus import Message

DISPATCH_EVENT = (
    "order.allocated"  # inventory's event: {allocations: [{line_id, sku, location, quantity}]}
)


class UnwiredStock:
    """Stand-in until inventory is merged: stock is not moved (integrator: use inventory's)."""

    def consume_for_shipment(
        self, uow: UnitOfWork, *, order_id: str, lines: Mapping[str, int], location: str
    ) -> None:
        return None

    def release(
        self, uow: UnitOfWork, *, order_id: str, location: str, line_ids: Sequence[str], reason: str
    ) -> None:
        return None


class NoRerouter:
    """Stand-in until routing is merged: nothing re-routes, so an exception asks a person."""

    def reroute(self, uow: UnitOfWork, *, order_id: str, exclude_location: str) -> bool:
        return False


class Lookup:
    """Provider code → adapter, from the providers table (``warehouse`` is built in)."""

    def __init__(self, uow: UnitOfWork, client: httpx.Client) -> None:
        self._uow = uow
        self._client = client

    def __call__(self, code: str) -> FulfilmentProvider:
        try:
            config = self._uow.fulfilment.provider(code)
        except NotFound:
            if code == WAREHOUSE:
                return WarehouseProvider()
            raise
        return build_provider(config, client=self._client)


@contextmanager
def default_dependencies(uow: UnitOfWork) -> Iterator[FulfilmentDeps]:
    with httpx.Client(timeout=10.0, follow_redirects=False) as client:
        yield FulfilmentDeps(
            providers=Lookup(uow, client), stock=UnwiredStock(), rerouter=NoRerouter()
        )


def on_order_allocated(uow: UnitOfWork, message: Message) -> None:
    """Outbox consumer: fulfilment orders for the new allocation, then dispatch them.

    Idempotent: a location that already has a live fulfilment order is skipped, and only
    fulfilment orders still in ``created`` are dispatched (a retry resumes where it stopped).
    """
    order_id = message.stream.removeprefix("order:")
    with default_dependencies(uow) as deps:
        fulfilment.create_fulfilments(
            uow, order_id=order_id, allocations=message.data.get("allocations", []), deps=deps
        )
        fulfilment.dispatch_pending(uow, order_id=order_id, deps=deps)


def tick(uow: UnitOfWork, *, now: datetime) -> dict[str, int]:
    """What the worker runs every minute or so: poll providers, then the SLA clocks."""
    with default_dependencies(uow) as deps:
        polled = fulfilment.poll_providers(uow, deps=deps, now=now)
    return {"polled": polled, **sla.check_sla(uow, now=now)}
