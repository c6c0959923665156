"""A simulated 3PL for the demo and tests: deterministic, from a seed.

It accepts (or, for ``reject_rate`` of fulfilments, reports a stock-out), fails the dispatch
call itself for ``fail_rate`` of calls (a transient outage the worker retries), ships
``ship_after_minutes`` after the fulfilment was created with a plausible tracking number, then
moves the parcel out for delivery and delivered ``deliver_after_hours`` later. Everything it
decides about a fulfilment comes from ``Random(f"{seed}:{fulfilment id}")``, so a poll repeated
by another process answers the same.

Settings: ``seed`` (0), ``reject_rate`` (0.1), ``fail_rate`` (0.0), ``ship_after_minutes`` (30),
``deliver_after_hours`` (24).
"""

from __future__ import annotations

import random
import string
from collections.abc import Sequence
from datetime import datetime, timedelta

from orderhub.domain.fulfilment import FulfilmentOrder, FulfilmentStatus, TrackingStatus
from orderhub.fulfilment.base import (
    Callback,
    DispatchRequest,
    DispatchResult,
    InvalidCallback,
    ProviderError,
    ProviderUpdate,
    Shipped,
    TrackingUpdate,
)

CARRIERS = (("ups", "ground"), ("usps", "priority"), ("fedex", "home_delivery"), ("dhl", "express"))


def tracking_number(carrier: str, rng: random.Random) -> str:
    """A number shaped like the carrier's own (UPS 1Z…, USPS 94…, FedEx 12 digits, DHL 10)."""
    digits = string.digits
    if carrier == "ups":
        return "1Z" + "".join(rng.choices(string.ascii_uppercase + digits, k=16))
    if carrier == "usps":
        return "9400" + "".join(rng.choices(digits, k=18))
    if carrier == "fedex":
        return "".join(rng.choices(digits, k=12))
    return "".join(rng.choices(digits, k=10))


class SimulatedProvider:
    polled = True

    def __init__(
        self,
        code: str = "simulated",
        *,
        seed: int = 0,
        reject_rate: float = 0.1,
        fail_rate: float = 0.0,
        ship_after: timedelta = timedelta(minutes=30),
        deliver_after: timedelta = timedelta(hours=24),
    ) -> None:
        self.code = code
        self._seed = seed
        self._reject_rate = reject_rate
        self._fail_rate = fail_rate
        self._ship_after = ship_after
        self._deliver_after = deliver_after
        self._calls = random.Random(seed)

    def _rng(self, fulfilment_id: str) -> random.Random:
        return random.Random(f"{self._seed}:{fulfilment_id}")

    def dispatch(self, request: DispatchRequest) -> DispatchResult:
        if self._calls.random() < self._fail_rate:
            raise ProviderError("simulated 3PL outage")
        rng = self._rng(request.fulfilment_id)
        reference = "SIM-" + "".join(rng.choices(string.digits, k=8))
        if rng.random() < self._reject_rate:
            return DispatchResult(reference, accepted=False, reason="out of stock", stock_out=True)
        return DispatchResult(reference, accepted=True)

    def cancel(self, fulfilment: FulfilmentOrder) -> None:
        """Always succeeds: nothing real was picked."""

    def handle_callback(self, callback: Callback) -> list[ProviderUpdate]:
        raise InvalidCallback("the simulated 3PL is polled, not called back", unauthorized=False)

    def poll(
        self, open_fulfilments: Sequence[FulfilmentOrder], now: datetime
    ) -> list[ProviderUpdate]:
        updates: list[ProviderUpdate] = []
        for fulfilment in open_fulfilments:
            working = fulfilment.status in (FulfilmentStatus.ACCEPTED, FulfilmentStatus.IN_PROGRESS)
            if working and now >= fulfilment.created_at + self._ship_after:
                updates.append(self._ship(fulfilment, now))
            for shipment in fulfilment.shipments:
                if not shipment.tracking_number or shipment.status == TrackingStatus.DELIVERED:
                    continue
                age = now - shipment.shipped_at
                if age >= self._deliver_after:
                    status = TrackingStatus.DELIVERED
                elif age >= self._deliver_after * 0.75:
                    status = TrackingStatus.OUT_FOR_DELIVERY
                else:
                    continue
                if status != shipment.status:
                    updates.append(TrackingUpdate(shipment.tracking_number, status, now))
        return updates

    def _ship(self, fulfilment: FulfilmentOrder, now: datetime) -> Shipped:
        rng = self._rng(fulfilment.id + ":ship")
        carrier, service = rng.choice(CARRIERS)
        return Shipped(
            fulfilment_id=fulfilment.id,
            carrier=carrier,
            service=service,
            tracking_number=tracking_number(carrier, rng),
            shipped_at=min(now, fulfilment.created_at + self._ship_after),
        )
