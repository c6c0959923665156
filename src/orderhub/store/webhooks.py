"""Webhook subscriptions (the signing secret is stored sealed: every delivery is signed with it)."""

from __future__ import annotations

import builtins
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from orderhub.domain.errors import NotFound
from orderhub.domain.webhooks import WebhookSubscription
from orderhub.store.queries import keyset_page
from orderhub.store.secret_box import SecretBox, reseal
from orderhub.store.tables import webhook_subscriptions


class WebhookRepository:
    def __init__(self, conn: Connection, box: SecretBox) -> None:
        self.conn = conn
        self._box = box

    def add(self, subscription: WebhookSubscription) -> None:
        values = {
            **subscription.__dict__,
            "event_types": list(subscription.event_types),
            "secret": self._box.seal(subscription.secret),
        }
        self.conn.execute(insert(webhook_subscriptions).values(**values))

    def get(self, subscription_id: str) -> WebhookSubscription:
        row = self.conn.execute(
            select(webhook_subscriptions).where(webhook_subscriptions.c.id == subscription_id)
        ).first()
        if row is None:
            raise NotFound(f"webhook subscription {subscription_id} not found")
        return self._subscription(row)

    def list(self) -> list[WebhookSubscription]:
        rows = self.conn.execute(select(webhook_subscriptions).order_by(webhook_subscriptions.c.id))
        return [self._subscription(row) for row in rows]

    def page(
        self, *, limit: int, cursor: str | None
    ) -> tuple[builtins.list[WebhookSubscription], str | None]:
        """One page of subscriptions, oldest first."""
        rows, next_cursor = keyset_page(
            self.conn,
            select(webhook_subscriptions),
            webhook_subscriptions.c.id,
            limit=limit,
            cursor=cursor,
        )
        return [self._subscription(row) for row in rows], next_cursor

    def remove(self, subscription_id: str) -> None:
        result = self.conn.execute(
            delete(webhook_subscriptions).where(webhook_subscriptions.c.id == subscription_id)
        )
        if result.rowcount != 1:
            raise NotFound(f"webhook subscription {subscription_id} not found")

    def reseal(self, *, rotate: bool) -> int:
        """Seal secrets stored in clear; with ``rotate`` re-seal all under the first key."""
        columns = {"secret": "text"}
        return reseal(self.conn, webhook_subscriptions, columns, self._box, rotate=rotate)

    def _subscription(self, row: Any) -> WebhookSubscription:
        values = dict(row._mapping)
        values["event_types"] = tuple(values["event_types"])
        values["secret"] = self._box.open(values["secret"])
        return WebhookSubscription(**values)
