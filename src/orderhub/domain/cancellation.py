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

    @property
    def label(self) -> str:
        """How staff read it (the dashboard's choice list)."""
        return _LABELS[self]


_LABELS = {
    CancelReason.CUSTOMER_REQUEST: "Customer asked to cancel",
    CancelReason.FRAUD: "Suspected fraud",
    CancelReason.OUT_OF_STOCK: "Out of stock",
    CancelReason.ADDRESS_ISSUE: "Address problem",
    CancelReason.CHANNEL_CANCELLED: "Cancelled on the channel",
    CancelReason.OTHER: "Other",
}


class CancellationRefused(Conflict):
    """The units cannot be cancelled: they shipped, or the fulfilment provider said no."""

    code = "cancellation_refused"
