"""``make demo``: a fresh SQLite hub with channels, products, stock, routing rules and weeks of
order history, served on 127.0.0.1 with live traffic.

- :mod:`orderhub.demo.hub` seeds the hub and runs the server (``orderhub demo``).
- :mod:`orderhub.demo.inventory` the locations and their opening stock.
- :mod:`orderhub.demo.history` six weeks of past orders, shipped and returned.
- :mod:`orderhub.demo.traffic` new orders through every channel's own ingest path.
- :mod:`orderhub.demo.stores` a store counter: pick-ups to pick, ready and collected.
- :mod:`orderhub.demo.bulk` `orderhub demo seed`: a million orders with COPY, for the benchmarks.

Imported only by ``orderhub demo`` and tests: nothing here runs at import time.
"""

from pathlib import Path

# Where ``orderhub demo`` records its database URL, relative to the directory it runs in; the
# other commands use it while ORDERHUB_DATABASE_URL is unset (docs/configuration.md).
DATABASE_RECORD = Path("var/.orderhub-database")
