"""Time-ordered identifiers (UUID version 7, RFC 9562) so keyset pagination follows creation."""

from __future__ import annotations

import os
import time
from datetime import datetime


def new_id(at: datetime | None = None) -> str:
    """A UUIDv7 string: 48-bit millisecond timestamp, version, variant, 74 random bits.

    ``at`` stamps it with another moment than now: ``orderhub demo seed`` writes weeks of
    history, and the newest-first order of ids must follow when each order came in.
    """
    millis = time.time_ns() // 1_000_000 if at is None else int(at.timestamp() * 1000)
    return _uuid7(millis, int.from_bytes(os.urandom(10), "big"))  # 80 bits; 74 are used


def new_ids(count: int) -> list[str]:
    """``count`` ids of this millisecond, as :func:`new_id` makes them, from one read of the
    random source: an order and its lines take one."""
    millis = time.time_ns() // 1_000_000
    random = os.urandom(10 * count)
    # What _uuid7 spells for each, its millisecond and version part formatted once.
    head = f"{millis & _MILLIS:012x}"
    prefix = f"{head[:8]}-{head[8:12]}-7"
    ids = []
    for start in range(0, 10 * count, 10):
        rand = int.from_bytes(random[start : start + 10], "big")
        tail = f"{(rand & _RAND_B) | _VARIANT:016x}"
        ids.append(f"{prefix}{(rand >> 62) & 0xFFF:03x}-{tail[:4]}-{tail[4:]}")
    return ids


_MILLIS = (1 << 48) - 1
_RAND_B = (1 << 62) - 1
_VARIANT = 0b10 << 62


def _uuid7(millis: int, rand: int) -> str:
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    h = f"{value:032x}"  # what str(uuid.UUID(int=value)) gives, at a third of the cost
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
