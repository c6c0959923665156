"""A clock tests move by hand (the worker's leases and back-offs, the services' stamps)."""

from __future__ import annotations

from datetime import datetime, timedelta

from orderhub.clock import utc_now


class FakeClock:
    """Starts at the wall clock (never a fixed date) and moves only when told."""

    def __init__(self) -> None:
        self.now = utc_now().replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
