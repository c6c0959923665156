"""Where deliveries go: internal consumers, webhook subscriptions, the NATS event stream.

A target either returns (delivered) or raises (retried later); ``PermanentFailure`` skips the
remaining attempts and marks the delivery dead at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

import httpx
from standardwebhooks import Webhook

from orderhub.clock import utc_now
from orderhub.domain.webhooks import WebhookSubscription
from orderhub.services.messagebus import (
    Consumer,
    InternalConsumer,
    Message,
    OutboundConsumer,
    Outcall,
)
from orderhub.store import deliveries
from orderhub.store.unit_of_work import UnitOfWork, UnitOfWorkFactory


class PermanentFailure(Exception):
    """Retrying cannot help (no such consumer, subscription removed)."""


class Target(Protocol):
    @property
    def name(self) -> str: ...

    def wants(self, event_type: str) -> bool: ...

    def deliver(self, message: Message, *, on_done: Callable[[UnitOfWork], None]) -> None:
        """Deliver; ``on_done`` records success, in the consumer's transaction if it has one."""
        ...


def envelope(message: Message) -> bytes:
    """The JSON body external subscribers receive (webhooks and NATS alike)."""
    body = {
        "id": message.id,
        "type": message.type,
        "timestamp": message.occurred_at.isoformat().replace("+00:00", "Z"),
        "stream": message.stream,
        "data": message.data,
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


C = TypeVar("C", Consumer, OutboundConsumer)


class _ConsumerTarget(Generic[C]):
    """What both internal targets share: the consumer they run and its name."""

    def __init__(self, consumer: C, uow: UnitOfWorkFactory) -> None:
        self.consumer: C = consumer
        self._uow = uow

    @property
    def name(self) -> str:
        return self.consumer.name

    def wants(self, event_type: str) -> bool:
        return self.consumer.wants(event_type)


class InternalTarget(_ConsumerTarget[Consumer]):
    """Runs a database-only ``Consumer`` in a unit of work; a processed (consumer, event id) is
    never redone.

    The receipt is taken first, in the handler's transaction: whether the handler commits
    itself (once, as services do) or leaves the commit to the worker, its effects and the
    receipt land together, and a re-run after a crash finds the receipt and does nothing —
    except a consumer's ``resume``, which finishes what a handler committing in steps left
    undone when a later step failed.
    The worker runs a batch of them in one transaction, each as a :meth:`UnitOfWork.item`
    (:meth:`run_in`), the batch's receipts taken beforehand in one statement (and dropped
    for a delivery whose work is undone, unless its handler committed some before failing:
    then the receipt stays with that work, as it would have landed with the first commit);
    ``deliver`` is one in a transaction of its own.
    """

    def deliver(self, message: Message, *, on_done: Callable[[UnitOfWork], None]) -> None:
        with self._uow() as uow:
            self.run_in(uow, message, on_done=on_done)
            uow.commit()

    def run_in(
        self,
        uow: UnitOfWork,
        message: Message,
        *,
        on_done: Callable[[UnitOfWork], None],
        first: bool | None = None,
    ) -> None:
        """Receipt, handler and ``on_done`` in ``uow``'s transaction; the caller commits.

        ``first``: the receipt was taken by the caller in this transaction already (True: now;
        False: by an earlier run), several at once; the caller then drops it should this
        delivery's work be undone (:func:`deliveries.drop_receipts`).
        """
        if first is None:
            first = deliveries.take_receipt(
                uow.conn, consumer=self.name, event_id=message.id, now=utc_now()
            )
        if first:
            self.consumer.handle(uow, message)
        elif self.consumer.resume is not None:
            self.consumer.resume(uow, message)
        on_done(uow)


class OutboundTarget(_ConsumerTarget[OutboundConsumer]):
    """Runs an ``OutboundConsumer`` in three steps, with no transaction open during its call.

    1. read — a short read-only transaction: a receipt already taken means the work is done
       (nothing is called again); otherwise ``prepare`` builds the call from the database;
    2. call — ``Outcall.send`` with no transaction (no SQLite write lock, no PostgreSQL row
       lock or idle transaction) however long the outside system takes; a failure raises to
       the worker, which retries the delivery with nothing recorded;
    3. record — one short write transaction takes the receipt, runs ``Outcall.record`` and
       marks the delivery done. Should another run have recorded meanwhile (a worker that
       outlived its lease), the receipt is already there and nothing is recorded twice.

    A crash between 2 and 3 leaves no receipt: the retry calls again (at least once to the
    outside world, relying on the calls' own idempotency) and records once.
    """

    def deliver(self, message: Message, *, on_done: Callable[[UnitOfWork], None]) -> None:
        outcall: Outcall[Any] | None = None
        with self._uow(read_only=not self.consumer.prepare_writes) as uow:
            if not deliveries.has_receipt(uow.conn, consumer=self.name, event_id=message.id):
                outcall = self.consumer.prepare(uow, message)
                if self.consumer.prepare_writes:
                    uow.commit()
        sent = outcall.send() if outcall is not None else None
        with self._uow() as uow:
            first = deliveries.take_receipt(
                uow.conn, consumer=self.name, event_id=message.id, now=utc_now()
            )
            if first and outcall is not None and outcall.record is not None:
                outcall.record(uow, sent)
            on_done(uow)
            uow.commit()


def internal_target(consumer: InternalConsumer, uow: UnitOfWorkFactory) -> Target:
    """The target that runs ``consumer`` in its shape (one transaction, or read/call/record)."""
    if isinstance(consumer, OutboundConsumer):
        return OutboundTarget(consumer, uow)
    return InternalTarget(consumer, uow)


class WebhookTarget:
    """POSTs the event to a subscriber, signed per Standard Webhooks (v1, HMAC-SHA256)."""

    def __init__(
        self,
        subscription: WebhookSubscription,
        client: httpx.Client,
        uow: Callable[[], UnitOfWork],
    ) -> None:
        self.subscription = subscription
        self._client = client
        self._uow = uow

    @property
    def name(self) -> str:
        return self.subscription.consumer

    def wants(self, event_type: str) -> bool:
        return self.subscription.wants(event_type)

    def deliver(self, message: Message, *, on_done: Callable[[UnitOfWork], None]) -> None:
        body = envelope(message)
        now = utc_now()
        signature = Webhook(self.subscription.secret).sign(message.id, now, body.decode())
        response = self._client.post(
            self.subscription.url,
            content=body,
            headers={
                "content-type": "application/json",
                "webhook-id": message.id,
                "webhook-timestamp": str(int(now.timestamp())),
                "webhook-signature": signature,
            },
        )
        if not response.is_success:
            raise RuntimeError(f"HTTP {response.status_code} from {self.subscription.url}")
        with self._uow() as uow:
            on_done(uow)
            uow.commit()


class Publisher(Protocol):
    def publish(self, message: Message) -> None: ...

    def close(self) -> None: ...


STREAMED_AREAS = ("order.", "inventory.")


class NatsTarget:
    """Publishes order and inventory events to the NATS JetStream stream."""

    name = "nats"

    def __init__(self, publisher: Publisher, uow: Callable[[], UnitOfWork]) -> None:
        self._publisher = publisher
        self._uow = uow

    def wants(self, event_type: str) -> bool:
        return event_type.startswith(STREAMED_AREAS)

    def deliver(self, message: Message, *, on_done: Callable[[UnitOfWork], None]) -> None:
        self._publisher.publish(message)
        with self._uow() as uow:
            on_done(uow)
            uow.commit()

    def close(self) -> None:
        self._publisher.close()
