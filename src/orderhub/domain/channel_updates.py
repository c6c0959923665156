"""Channel-side updates to an order the hub already has: recorded, never duplicated."""

from __future__ import annotations

from typing import Any

from orderhub.domain import events
from orderhub.domain.orders import Order


def record_channel_update(order: Order, metadata: dict[str, Any]) -> bool:
    """Merge what the channel now says into the order's metadata; False when nothing changed.

    Only a real change records an event, so a repeated delivery of the same update (or a pull
    that overlaps the previous one) leaves no trace.
    """
    changed = tuple(sorted(k for k, v in metadata.items() if order.metadata.get(k) != v))
    if not changed:
        return False
    order.metadata = {**order.metadata, **metadata}
    order.events.append(events.OrderChannelUpdated(order.id, changed))
    return True
