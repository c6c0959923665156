"""Fixtures for the OWASP API Top 10 tests: a trap server that records whatever reaches it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

TRAP_REPLY = b'{"secret": "TRAP-REPLY-BODY-7f3a"}'


@dataclass
class Trap:
    """A loopback HTTP server standing in for an internal service an attacker aims at."""

    port: int = 0
    status: int = 200
    seen: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)


@pytest.fixture
def trap() -> Iterator[Trap]:
    found = Trap()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            self.rfile.read(length)
            found.seen.append((self.command, self.path, dict(self.headers)))
            self.send_response(found.status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(TRAP_REPLY)))
            self.end_headers()
            self.wfile.write(TRAP_REPLY)

        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self._answer()

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    found.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    server.shutdown()
    server.server_close()
