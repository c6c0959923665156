"""What the marketplace connectors add to ``channels/base.py``: epoch and ISO-Z times,
``dumps`` and ``channel_order``. Everything the two share is ``base``'s own (``quantity``,
``address``, ``parse_iso`` among them), re-exported here so the marketplace modules import one
place; they call ``quantity(..., positive=True)``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

# The same classes as every connector's, so the webhook route's 401 catches TikTok's rejections
# and its orders go through ``receive_all`` like the others.
from orderhub.channels.base import ChannelOrder as ChannelOrder
from orderhub.channels.base import OutboundRequest as OutboundRequest
from orderhub.channels.base import Tracking as Tracking
from orderhub.channels.base import WebhookRejected as WebhookRejected
from orderhub.channels.base import address as address
from orderhub.channels.base import allocate as allocate
from orderhub.channels.base import dec as dec
from orderhub.channels.base import envelope as envelope
from orderhub.channels.base import loads as loads
from orderhub.channels.base import money as money
from orderhub.channels.base import open_envelope as open_envelope
from orderhub.channels.base import parse_iso as parse_iso
from orderhub.channels.base import problem_of as problem_of
from orderhub.channels.base import quantity as quantity
from orderhub.channels.base import text as text
from orderhub.channels.base import unit_price_of as unit_price_of
from orderhub.domain.errors import NotNormalizable
from orderhub.domain.orders import OrderDraft


def dumps(data: Any) -> str:
    """JSON text of data read by :func:`loads`: a ``Decimal`` is written as its exact text.

    Used to keep one order out of a page of many: numbers become decimal strings, which every
    normalizer here reads exactly like the numbers they were.
    """
    return json.dumps(data, sort_keys=True, default=_exact)


def _exact(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot serialize {type(value).__name__}")


def from_epoch(value: Any, *, millis: bool = False) -> datetime:
    """Epoch seconds (Etsy, TikTok) or milliseconds (Walmart) as an aware UTC datetime."""
    number = int(value)
    return datetime.fromtimestamp(number / 1000 if millis else number, tz=UTC)


def iso_z(moment: datetime) -> str:
    """``2026-11-27T03:00:00Z``: the form every marketplace accepts in date filters."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def channel_order(
    channel: str, source: str, external_id: str | None, payload: str, build: Any
) -> ChannelOrder:
    """Run ``build()`` (payload → draft); a failure becomes a quarantinable ChannelOrder."""
    try:
        draft: OrderDraft = build()
    except (NotNormalizable, KeyError, TypeError, ValueError, ArithmeticError) as error:
        return ChannelOrder(
            channel, source, external_id, payload, problem=problem_of(error, external_id)
        )
    return ChannelOrder(channel, source, external_id, payload, draft=draft)
