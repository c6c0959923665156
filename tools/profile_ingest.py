"""Profile ``POST /v1/orders`` through a real ``orderhub serve`` on SQLite (no worker).

py-spy is not installed on the build machines, so this uses cProfile on every thread of the
server process (the event loop and the thread pool that runs sync endpoints), merges them and
prints the top entries. Usage:

    PYTHONPATH=$PWD/src:$PWD .venv/bin/python tools/profile_ingest.py [--orders 600] [--cpu]
        [--batch 100]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import signal
import subprocess
import sys
import tempfile
import threading
from contextlib import suppress
from pathlib import Path
from typing import Any


def serve_profiled(out: str) -> None:
    """The server half: uvicorn in this process, every thread under cProfile until SIGTERM.

    ``PROFILE_CLOCK=cpu`` times each thread's CPU (``time.thread_time``): on a shared machine the
    wall clock charges every wait for a core or the GIL to whatever ran when it began.
    """
    import time

    timer = time.thread_time if os.environ.get("PROFILE_CLOCK") == "cpu" else time.perf_counter
    import uvicorn

    from orderhub.api.app import create_app
    from orderhub.bootstrap import bootstrap

    profiles: list[cProfile.Profile] = []

    def boot(_frame: Any, _event: str, _arg: Any) -> None:
        profile = cProfile.Profile(timer)
        profiles.append(profile)
        profile.enable()

    threading.setprofile(boot)
    container = bootstrap()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(container), port=int(os.environ["ORDERHUB_PORT"]), log_level="warning"
        )
    )
    main = cProfile.Profile(timer)
    profiles.append(main)
    signal.signal(signal.SIGTERM, lambda *_: setattr(server, "should_exit", True))
    main.enable()
    server.run()
    main.disable()
    for profile in profiles:
        profile.disable()
    stats = pstats.Stats(profiles[0])
    for profile in profiles[1:]:
        with suppress(TypeError):  # a profile that never saw a call
            stats.add(profile)
    stats.dump_stats(out)


def main() -> None:
    from orderhub.bench import load

    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=600)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batch", type=int, default=0, help="POST /v1/orders:batch of this size")
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--cpu", action="store_true", help="per-thread CPU time, not wall time")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="prof-"))
    env, key = load.fresh_hub(tmp)
    port = load.free_port()
    out = str(tmp / "serve.prof")
    server = subprocess.Popen(  # noqa: S603 - this very script, fixed arguments
        [sys.executable, __file__, "--serve", out],
        env={
            **os.environ,
            **env,
            "ORDERHUB_PORT": str(port),
            "PROFILE_CLOCK": "cpu" if args.cpu else "wall",
        },
    )
    try:
        load.wait_healthy(port, key)
        api = load.Client(port, key)
        load.seed(api)
        if args.batch:
            size = args.batch

            def request(n: int) -> tuple[int, Any]:
                return api.call(
                    "POST",
                    "/v1/orders:batch",
                    {"orders": [load.order(n * size + i) for i in range(size)]},
                )

            done = load.closed_loop(args.orders // size, args.clients, request)
            rate = done.per_second * size
        else:
            done = load.closed_loop(
                args.orders, args.clients, lambda n: api.call("POST", "/v1/orders", load.order(n))
            )
            rate = done.per_second
        print(f"{rate:.0f} orders/s under the profiler, errors {done.errors[:2]}")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    stats = pstats.Stats(out)
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve_profiled(sys.argv[2])
    else:
        main()
