"""CPU per order of the ingest transaction's commit path, inside ``tools/group_ingest_cpu.py``.

Runs that tool (same arguments after the first) with ``UnitOfWork._queue_events`` (history
chains, outbox rows queued, the available-to-sell announcement) and ``_write_outbox`` (their
INSERTs) timed by this thread's CPU clock, over every round, and counts the statements sent
(seeding included). Usage:

    .venv/bin/python tools/commit_path_cpu.py --orders 600 --group 5 --rounds 3 [--pg SERVER]
"""

from __future__ import annotations

import runpy
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from orderhub.store.unit_of_work import UnitOfWork

_spent = {"_queue_events": 0.0, "_write_outbox": 0.0}
_statements = 0


def _timed(name: str) -> None:
    method: Callable[..., Any] = getattr(UnitOfWork, name)

    def timed(self: UnitOfWork, *args: Any, **kwargs: Any) -> Any:
        start = time.thread_time()
        try:
            return method(self, *args, **kwargs)
        finally:
            _spent[name] += time.thread_time() - start

    setattr(UnitOfWork, name, timed)


def _count(*_: Any) -> None:
    global _statements
    _statements += 1


def main() -> None:
    args = sys.argv[1:]
    orders = int(args[args.index("--orders") + 1]) if "--orders" in args else 600
    rounds = int(args[args.index("--rounds") + 1]) if "--rounds" in args else 3
    for name in _spent:
        _timed(name)
    event.listen(Engine, "before_cursor_execute", _count)
    tool = Path(__file__).with_name("group_ingest_cpu.py")
    sys.argv = [str(tool), *args]
    runpy.run_path(str(tool), run_name="__main__")
    per_order = {name: spent / (orders * rounds) * 1e6 for name, spent in _spent.items()}
    print(
        f"commit path, µs CPU per order (all rounds): queue {per_order['_queue_events']:.0f},"
        f" write {per_order['_write_outbox']:.0f}, both {sum(per_order.values()):.0f};"
        f" {_statements} statements (seeding included)"
    )


if __name__ == "__main__":
    main()
