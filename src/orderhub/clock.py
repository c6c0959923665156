"""The hub's one clock: every "now" the code stamps comes from here or from an injected ``Clock``.

Tests and the worker inject their own (``Container.clock``, ``Worker(clock=…)``); nothing else
reads the wall clock, so a suite run a year ahead behaves exactly as one run today.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The wall clock, timezone-aware UTC."""
    return datetime.now(UTC)
