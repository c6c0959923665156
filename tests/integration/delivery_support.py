"""Helpers for the delivery tests: a test event, a recording consumer, a receiver (the clock
is tests.support.clock.FakeClock)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

from orderhub.bootstrap import Container
from orderhub.domain.events import DomainEvent
from orderhub.services.messagebus import Consumer, Message
from orderhub.store.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Pinged(DomainEvent):
    """An order-stream event the tests control: ``n`` numbers it within its stream."""

    type: ClassVar[str] = "order.pinged"
    key: str
    n: int

    @property
    def stream(self) -> str:
        return f"order:{self.key}"


@dataclass(frozen=True)
class Noted(DomainEvent):
    """The durable side effect of the recording consumer (written in its transaction)."""

    type: ClassVar[str] = "test.noted"
    event_id: str

    @property
    def stream(self) -> str:
        return "test"


def emit(container: Container, *events: DomainEvent) -> None:
    with container.uow(actor="test") as uow:
        for event in events:
            uow.record(event)
        uow.commit()


@dataclass
class Recorder:
    """A consumer that records what it handled, fails on demand, and leaves a durable note."""

    name: str = "recorder"
    fail: Callable[[Message], bool] = lambda _m: False
    handled: list[tuple[str, int]] = field(default_factory=list)

    def handle(self, uow: UnitOfWork, message: Message) -> None:
        if self.fail(message):
            raise RuntimeError(f"refusing {message.data}")
        self.handled.append((message.data["key"], message.data["n"]))
        uow.record(Noted(event_id=message.id))

    def consumer(self, types: frozenset[str] = frozenset({"order.pinged"})) -> Consumer:
        return Consumer(name=self.name, event_types=types, handle=self.handle)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """A local webhook receiver on 127.0.0.1; ``delay`` slows it, ``status`` sets the answer."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.delay = 0.0
        self.status = 204
        self.redirect_to: str | None = None
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                time.sleep(receiver.delay)
                if receiver.redirect_to:
                    self.send_response(307)
                    self.send_header("location", receiver.redirect_to)
                    self.end_headers()
                    return
                with receiver._lock:
                    receiver.received.append(Received(self.path, dict(self.headers), body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def event_ids(self) -> list[str]:
        with self._lock:
            return [r.headers["webhook-id"] for r in self.received]


@contextmanager
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    thread = threading.Thread(target=r.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield r
    finally:
        r.server.shutdown()
        r.server.server_close()
