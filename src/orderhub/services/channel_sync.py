"""Pull-style sync: read what changed on the channel since the cursor, apply it, move on.

The cursor is the newest channel-side ``updated_at`` seen. Each run asks from the cursor minus
an overlap window (clocks and transactions on the channel are not perfectly ordered), so orders
read twice are expected: :func:`receive_channel_order` makes them no-ops. The cursor moves only
after the whole run went through; a failed fetch leaves it where it was.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from orderhub.channels.base import ChannelOrder
from orderhub.services.channel_orders import receive_channel_order
from orderhub.store.unit_of_work import UnitOfWork

DEFAULT_OVERLAP = timedelta(minutes=10)


@dataclass(frozen=True)
class SyncReport:
    since: datetime | None
    cursor: datetime | None
    counts: dict[str, int]


def sync_channel(
    uow_factory: Callable[[], UnitOfWork],
    *,
    channel: str,
    fetch: Callable[[datetime | None], Iterable[ChannelOrder]],
    updated_at: Callable[[ChannelOrder], datetime | None],
    overlap: timedelta = DEFAULT_OVERLAP,
) -> SyncReport:
    """One sync run of ``channel``; each order in its own transaction, the cursor last."""
    with uow_factory() as uow:
        cursor = uow.sync_cursors.get(channel)
    since = cursor - overlap if cursor else None
    counts: Counter[str] = Counter()
    newest = cursor
    try:
        for item in fetch(since):
            with uow_factory() as uow:
                result = receive_channel_order(uow, item=item)
            counts[result.outcome.value] += 1
            seen = updated_at(item)
            if seen is not None and (newest is None or seen > newest):
                newest = seen
    except Exception as error:  # kept for the channel page's error history, then raised
        with uow_factory() as uow:
            uow.sync_cursors.record_error(channel, repr(error))
            uow.commit()
        raise
    with uow_factory() as uow:
        uow.sync_cursors.advance(channel, newest, dict(counts))
        uow.commit()
    return SyncReport(since, newest, dict(counts))
