"""CPU per request through ``create_app`` in this process: no uvicorn, no sockets, no clients.

``request_cpu.py`` measures the whole server, whose figure swings with what else the machine
runs; this drives the ASGI application directly and reports, per request, the process's CPU
(every thread) and the event loop thread's alone (all but the sync endpoints' own work), each
as the best and the median of ten rounds: the best is what the code costs when nothing
interferes. Usage:

    PYTHONPATH=$PWD/src:$PWD .venv/bin/python tools/asgi_cpu.py [--requests 2000] [--orders 180]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Message

from orderhub.bench import load

PATHS = ["/v1/health", "/v1/locations", "/v1/products?limit=5"]
ROUNDS = 10


async def call(app: ASGIApp, key: str, method: str, target: str, body: Any = None) -> int:
    """One request as uvicorn would hand it over; its status."""
    raw = json.dumps(body).encode() if body is not None else b""
    path, _, query = target.partition("?")
    headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"authorization", f"Bearer {key}".encode()),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(raw)).encode()),
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    delivered = False
    status = 0

    async def receive() -> Message:
        nonlocal delivered
        if delivered:
            await asyncio.Event().wait()  # no disconnect while the app answers
        delivered = True
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


class Client:
    """``load.seed`` drives a client with ``call``; this one answers through the app."""

    def __init__(self, app: ASGIApp, key: str) -> None:
        self.app, self.key = app, key

    async def ok(self, method: str, path: str, body: Any = None) -> None:
        status = await call(self.app, self.key, method, path, body)
        if status not in (200, 201):
            raise RuntimeError(f"{method} {path}: {status}")


async def seed(client: Client) -> None:
    """What ``load.seed`` creates: a channel, three warehouses, 20 SKUs with stock."""
    for method, path, body in load.seed_requests():
        await client.ok(method, path, body)


async def rounds(label: str, count: int, one: Any) -> None:
    """``count`` calls of ``one(n)`` in ``ROUNDS`` rounds; a row of the table."""
    process: list[float] = []
    loop: list[float] = []
    per_round = max(1, count // ROUNDS)
    n = 0
    for _ in range(ROUNDS):
        cpu, thread = time.process_time(), time.thread_time()
        for _ in range(per_round):
            await one(n)
            n += 1
        process.append((time.process_time() - cpu) * 1000 / per_round)
        loop.append((time.thread_time() - thread) * 1000 / per_round)
    process.sort()
    loop.sort()
    middle = ROUNDS // 2
    print(
        f"| `{label}` | {process[0]:.2f} | {process[middle]:.2f} "
        f"| {loop[0]:.2f} | {loop[middle]:.2f} |"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000, help="GETs per path")
    parser.add_argument("--orders", type=int, default=180, help="single-order POSTs")
    args = parser.parse_args()
    env, key = load.fresh_hub(Path(tempfile.mkdtemp(prefix="asgicpu-")))
    os.environ.update(env)
    from orderhub.api.app import create_app
    from orderhub.bootstrap import bootstrap

    app = create_app(bootstrap())
    client = Client(app, key)
    await seed(client)
    print(f"load average {os.getloadavg()}")
    print("| request | CPU ms, best | median | event loop ms, best | median |")
    print("|---|---:|---:|---:|---:|")
    for path in PATHS:

        async def get(_n: int, path: str = path) -> None:
            await client.ok("GET", path)

        for n in range(50):  # warm up: caches, the thread pool
            await get(n)
        await rounds(f"GET {path}", args.requests, get)

    async def post(n: int) -> None:
        await client.ok("POST", "/v1/orders", load.order(n))

    await rounds("POST /v1/orders", args.orders, post)


if __name__ == "__main__":
    asyncio.run(main())
