"""Dashboard page and report timings on SQLite with N demo orders.

In-process (TestClient, no network), median and p90 of 20 requests per page:
``.venv/bin/python bench/dashboard_pages.py 2000``.
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
import warnings

from fastapi.testclient import TestClient

from orderhub.api.app import create_app
from orderhub.bootstrap import bootstrap
from orderhub.config import Settings
from orderhub.demo.hub import seed
from orderhub.domain.access import Role
from orderhub.store.migrate import upgrade

PASSWORD = "bench-password"  # noqa: S105 -- a throwaway user in a temporary database


def main(orders: int) -> None:
    warnings.simplefilter("ignore")
    container = bootstrap(Settings(database_url=f"sqlite:///{tempfile.mkdtemp()}/bench.db"))
    upgrade(container.engine)
    started = time.perf_counter()
    key = seed(container, orders=orders)
    print(f"seeded {orders} orders in {time.perf_counter() - started:.1f} s")
    with container.uow() as uow:
        uow.users.create(username="bench", password=PASSWORD, role=Role.ADMIN)
        uow.commit()
    client = TestClient(create_app(container))
    token = _csrf(client.get("/login").text)
    client.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token})
    found = re.search(r'href="/orders/([0-9a-f-]{36})"', client.get("/orders").text)
    assert found
    api = {"Authorization": f"Bearer {key}"}
    report = "/v1/reports/orders-by-channel-day"
    pages = [
        ("overview", "/", None),
        ("overview live", "/overview/live", None),
        ("orders list", "/orders", None),
        ("orders by email", "/orders?q=ada@example.com", None),
        ("order detail", f"/orders/{found.group(1)}", None),
        ("channels", "/channels", None),
        ("audit", "/audit", None),
        ("report JSON 30 d", report, api),
        ("report CSV 366 d", f"{report}?format=csv&from=2025-11-27", api),
    ]
    for label, path, headers in pages:
        times = []
        for _ in range(20):
            began = time.perf_counter()
            response = client.get(path, headers=headers)
            times.append(time.perf_counter() - began)
            assert response.status_code == 200, (path, response.status_code)
        median, p90 = statistics.median(times) * 1000, sorted(times)[17] * 1000
        print(f"{label:18s} median {median:6.1f} ms  p90 {p90:6.1f} ms")


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
