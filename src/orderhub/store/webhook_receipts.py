"""Channel webhook deliveries already acted upon, by the platform's delivery id.

A delivery id is claimed before its payload is acted upon and released if acting fails (so the
platform's retry is not mistaken for a repeat). Receipts older than ``keep`` are forgotten on
the next claim: a repeat that old is refused by its timestamp where the platform sends one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, delete

from orderhub.store.repositories import insert_ignoring_duplicates
from orderhub.store.tables import webhook_receipts as receipts


class WebhookReceiptRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def claim(self, channel: str, delivery_id: str, *, now: datetime, keep: timedelta) -> bool:
        """True for a delivery id not seen yet (now claimed), False for a repeat."""
        self._conn.execute(delete(receipts).where(receipts.c.received_at < now - keep))
        return insert_ignoring_duplicates(
            self._conn,
            receipts,
            {"channel_code": channel, "delivery_id": delivery_id[:255], "received_at": now},
        )

    def release(self, channel: str, delivery_id: str) -> None:
        """Forget a claim whose delivery could not be acted upon: its retry must go through."""
        self._conn.execute(
            delete(receipts).where(
                receipts.c.channel_code == channel, receipts.c.delivery_id == delivery_id[:255]
            )
        )
