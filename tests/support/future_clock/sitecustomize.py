"""Runs every Python process of a test run a while ahead of the wall clock (``make test-future``).

Put on ``PYTHONPATH`` with ``ORDERHUB_TEST_CLOCK_AHEAD_DAYS`` set, Python imports this at start-up
in pytest and in every child it spawns (worker processes, the CLI, live servers), so the whole
hub reads a date a year from now while timeouts (the monotonic clock) stay real. The databases'
own clocks are not moved: code that stamped times with SQLite's or PostgreSQL's ``now()`` instead
of ``orderhub.clock`` would show up as a failure here.
"""

from __future__ import annotations

import os

_days = os.environ.get("ORDERHUB_TEST_CLOCK_AHEAD_DAYS")
if _days:
    from datetime import UTC, datetime, timedelta

    import time_machine

    time_machine.travel(datetime.now(UTC) + timedelta(days=float(_days)), tick=True).start()
