"""Publishing to NATS JetStream (stream ``ORDERHUB``, subjects ``orderhub.<event type>``).

The message id header ``Nats-Msg-Id`` is the event id: a re-publish after a crash is dropped
by the broker's duplicate window, so subscribers see each event once. A crashed worker's
delivery is published again when its lease runs out, up to a lease after the first publish:
the stream's window is kept at least :func:`duplicate_window` for the worker's lease (raised on
an existing stream whose window is shorter, never lowered).
"""

from __future__ import annotations

import asyncio
from typing import Any

import nats
from nats.js.api import StreamConfig
from nats.js.errors import NotFoundError

from orderhub.services.messagebus import Message
from orderhub.workers.targets import envelope

STREAM = "ORDERHUB"
SUBJECT_PREFIX = "orderhub."


MIN_DUPLICATE_WINDOW = 120.0  # JetStream's own default, in seconds


def subject(event_type: str) -> str:
    return SUBJECT_PREFIX + event_type


def duplicate_window(lease_seconds: float) -> float:
    """The stream's duplicate window for a worker lease: twice the lease (a re-publish after a
    crash comes at most one lease after the first), never below JetStream's 120 s default."""
    return max(MIN_DUPLICATE_WINDOW, 2 * lease_seconds)


class NatsPublisher:
    """A synchronous face on nats-py for the (synchronous) worker: it owns one event loop."""

    def __init__(
        self, url: str, *, timeout: float = 5.0, window: float = MIN_DUPLICATE_WINDOW
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.window = window
        self._loop = asyncio.new_event_loop()
        self._nc: Any = None
        self._js: Any = None

    async def _connect(self) -> None:
        self._nc = await nats.connect(
            self.url, connect_timeout=self.timeout, max_reconnect_attempts=3, allow_reconnect=True
        )
        self._js = self._nc.jetstream(timeout=self.timeout)
        try:
            info = await self._js.stream_info(STREAM)
        except NotFoundError:
            await self._js.add_stream(
                name=STREAM, subjects=[SUBJECT_PREFIX + ">"], duplicate_window=self.window
            )
            return
        config: StreamConfig = info.config
        if (config.duplicate_window or 0) < self.window:
            config.duplicate_window = self.window
            await self._js.update_stream(config)

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
