"""Why orders are cancelled, and the refusal when they cannot be."""

from __future__ import annotations

from enum import StrEnum

from orderhub.domain.errors import Conflict


class CancelReason(StrEnum):
    CUSTOMER_REQUEST = "customer_request"
    FRAUD = "fraud"
    OUT_OF_STOCK = "out_of_stock"
    ADDRESS_ISSUE = "address_issue"
    CHANNEL_CANCELLED = "channel_cancelled"
    OTHER = "other"


class CancellationRefused(Conflict):
    """The units cannot be cancelled: they shipped, or the fulfilment provider said no."""

    code = "cancellation_refused"
