"""Publishing to NATS JetStream (stream ``ORDERHUB``, subjects ``orderhub.<event type>``).

The message id header ``Nats-Msg-Id`` is the event id: a re-publish after a crash is dropped
by the broker's duplicate window, so subscribers see each event once.
"""

from __future__ import annotations

import asyncio
from typing import Any

import nats
from nats.js.errors import NotFoundError

from orderhub.services.messagebus import Message
from orderhub.workers.targets import envelope

STREAM = "ORDERHUB"
SUBJECT_PREFIX = "orderhub."


def subject(event_type: str) -> str:
    return SUBJECT_PREFIX + event_type


class NatsPublisher:
    """A synchronous face on nats-py for the (synchronous) worker: it owns one event loop."""

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self.url = url
        self.timeout = timeout
        self._loop = asyncio.new_event_loop()
        self._nc: Any = None
        self._js: Any = None

    async def _connect(self) -> None:
        self._nc = await nats.connect(
            self.url, connect_timeout=self.timeout, max_reconnect_attempts=3, allow_reconnect=True
        )
        self._js = self._nc.jetstream(timeout=self.timeout)
        try:
            await self._js.stream_info(STREAM)
        except NotFoundError:
            await self._js.add_stream(name=STREAM, subjects=[SUBJECT_PREFIX + ">"])

    async def _publish(self, message: Message) -> None:
        if self._nc is None or self._nc.is_closed:
            await self._connect()
        await self._js.publish(
            subject(message.type),
            envelope(message),
            timeout=self.timeout,
            headers={"Nats-Msg-Id": message.id},
        )

    def publish(self, message: Message) -> None:
        self._loop.run_until_complete(self._publish(message))

    def close(self) -> None:
        if self._nc is not None and not self._nc.is_closed:
            self._loop.run_until_complete(self._nc.close())
        self._loop.close()
