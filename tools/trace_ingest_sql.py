"""Count the SQL statements of ``POST /v1/orders`` through a real ``orderhub serve`` (SQLite,
or PostgreSQL with ``--pg SERVER``: a fresh database ``trace_ingest`` there).

Seeds the hub as the reference benchmarks do, posts 5 orders to warm up, then N orders one at
a time (or from C clients at once, whose requests share transactions), and prints the
statements per order and each distinct statement with how many times an order runs it
(``MANY`` marks an executemany). Usage:

    PYTHONPATH=$PWD/src:$PWD .venv/bin/python tools/trace_ingest_sql.py [N] [C]
        [--pg postgresql://postgres@127.0.0.1:5432]

Besides the statements it counts the pool's checkouts and (PostgreSQL) the round trips that
no statement event shows: the pre-ping on checkout and the reset (ROLLBACK) on return.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any


def serve(out: str) -> None:
    """The server half: uvicorn in this process, every statement of the engine logged to out."""
    import uvicorn
    from sqlalchemy import event

    from orderhub.api.app import create_app
    from orderhub.bootstrap import bootstrap

    container = bootstrap()
    log = Path(out).open("w")  # noqa: SIM115 - open for the server's life
    lock = threading.Lock()

    @event.listens_for(container.engine, "before_cursor_execute")
    def _log(*args: Any) -> None:
        statement, executemany = args[2], args[5]
        with lock:
            log.write(("MANY " if executemany else "") + " ".join(statement.split())[:300] + "\n")
            log.flush()

    def _mark(what: str) -> None:
        with lock:
            log.write(what + "\n")
            log.flush()

    event.listen(container.engine, "checkout", lambda *_: _mark("(pool checkout)"))
    event.listen(container.engine, "reset", lambda *_: _mark("(pool reset on return)"))
    event.listen(container.engine, "commit", lambda *_: _mark("(commit)"))
    event.listen(container.engine, "rollback", lambda *_: _mark("(rollback)"))

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(container), port=int(os.environ["ORDERHUB_PORT"]), log_level="warning"
        )
    )
    signal.signal(signal.SIGTERM, lambda *_: setattr(server, "should_exit", True))
    server.run()


def main() -> None:
    from orderhub.bench import load

    argv = sys.argv[1:]
    pg_server = ""
    if "--pg" in argv:
        at = argv.index("--pg")
        pg_server = argv[at + 1]
        del argv[at : at + 2]
    n = int(argv[0]) if argv else 20
    clients = int(argv[1]) if len(argv) > 1 else 1
    tmp = Path(tempfile.mkdtemp(prefix="trace-"))
    if pg_server:
        env, key, _ = load.fresh_pg_hub(tmp, pg_server, "trace_ingest")
    else:
        env, key = load.fresh_hub(tmp)
    port = load.free_port()
    out = tmp / "sql.log"
    server = subprocess.Popen(  # noqa: S603 - this very script, fixed arguments
        [sys.executable, __file__, "--serve", str(out)],
        env={**os.environ, **env, "ORDERHUB_PORT": str(port)},
    )
    try:
        load.wait_healthy(port, key)
        api = load.Client(port, key)
        load.seed(api)
        for i in range(5):
            api.call("POST", "/v1/orders", load.order(i))
        start = len(out.read_text().splitlines())
        numbers = iter(range(5, 5 + n))
        lock = threading.Lock()

        def post() -> None:
            mine = load.Client(port, key)
            while True:
                with lock:
                    i = next(numbers, None)
                if i is None:
                    return
                mine.call("POST", "/v1/orders", load.order(i))

        threads = [threading.Thread(target=post) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    lines = out.read_text().splitlines()[start:]
    statements = [line for line in lines if not line.startswith("(")]  # not the pool's marks
    print(f"{len(statements)} statements for {n} orders = {len(statements) / n:.1f} per order")
    for statement, count in collections.Counter(lines).most_common():
        print(f"{count / n:5.1f} {statement[:200]}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve(sys.argv[2])
    else:
        main()
