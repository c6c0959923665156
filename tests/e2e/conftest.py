"""The dashboard in Debian's Chromium, driven by Playwright, against a real uvicorn server.

The browser is ``/usr/bin/chromium`` from the ``chromium`` package (installed here with apt-get
when missing) — never a browser Playwright downloads. Under ``CI=true`` a missing Chromium fails
these tests instead of skipping them. Screenshots land in ``var/screenshots/`` (ignored by git).
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import select

from orderhub.api.app import create_app
from orderhub.bootstrap import Container, bootstrap
from orderhub.channels import native
from orderhub.config import Settings
from orderhub.demo.hub import demo_order, seed
from orderhub.domain.access import Role
from orderhub.services.ingest import ingest_order
from orderhub.store.migrate import upgrade
from orderhub.store.tables import orders

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IN_CI = os.environ.get("CI", "").lower() == "true"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PASSWORD = "e2e-password-1"
VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}


def _install_chromium() -> str | None:
    """apt-get install chromium; returns why it failed, or None."""
    if shutil.which("apt-get") is None:
        return "apt-get is not available"
    if os.geteuid() != 0:
        return "installing chromium needs root"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    lock = ["-o", "DPkg::Lock::Timeout=600"]
    for command in (
        ["apt-get", *lock, "update"],
        ["apt-get", *lock, "install", "-y", "chromium"],
    ):
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            return f"{' '.join(command)} failed: {done.stderr[-500:]}"
    return None


@pytest.fixture(scope="package")
def chromium() -> Path:
    if not CHROMIUM.exists():
        problem = _install_chromium()
        if not CHROMIUM.exists():
            message = f"Debian's Chromium is not available at {CHROMIUM}: {problem}"
            if IN_CI:
                pytest.fail(f"{message} (CI=true: browser tests must run)")
            pytest.skip(message)
    return CHROMIUM


@dataclass(frozen=True)
class LiveServer:
    url: str
    database_url: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="package")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A seeded SQLite hub (demo data, one quarantined payload, users) served by uvicorn."""
    database_url = f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'e2e.db'}"
    container = bootstrap(Settings(database_url=database_url))
    upgrade(container.engine)
    seed(container, orders=60, history_days=14)  # full 14-day charts in the screenshots
    _quarantine_one(container)
    _quarantine_to_fix(container)
    _exceptions(container, 6)
    _unreachable_store(container, "magento")
    with container.uow(actor="e2e") as uow:
        for role in (Role.OPERATOR, Role.AUDITOR, Role.WAREHOUSE):
            uow.users.create(username=role.value, password=PASSWORD, role=role)
        uow.commit()
    port = _free_port()
    config = uvicorn.Config(
        create_app(container), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield LiveServer(f"http://127.0.0.1:{port}", database_url)
    server.should_exit = True
    thread.join(timeout=10)
    container.close()


def _unreachable_store(container: Container, code: str) -> None:
    """An API address for the pull channel that no network here resolves: "Sync now" runs and
    fails, and the failure is kept in the channel's error history."""
    with container.uow(actor="e2e") as uow:
        channel = uow.channels.get(code)
        channel.api_base_url = "https://magento.example.test/rest/default"
        uow.channels.save(channel)
        uow.commit()


def _exceptions(container: Container, count: int) -> None:
    """Stock-outs on allocated orders, so the exceptions queue has work to resolve."""
    with container.uow(actor="e2e") as uow:
        ids = (
            uow.conn.execute(
                select(orders.c.id).where(orders.c.status == "allocated").order_by(orders.c.id)
            )
            .scalars()
            .all()[:count]
        )
        for order_id in ids:
            uow.fulfilment.raise_exception(
                kind="stock_out", order_id=order_id, fulfilment_id=None,
                detail="3pl-east: none left on the shelf",
                suggested_action="recount the bin, then re-route", now=datetime.now(UTC),
            )  # fmt: skip
        uow.commit()


def _quarantine_one(container: Container) -> None:
    """A payload with an unknown SKU, so the quarantine page has something to show."""
    order = demo_order(999, placed_at=datetime.now(UTC), rng=random.Random(1))
    body = order.model_dump(mode="json")
    body["lines"][0]["sku"] = "NOT-IN-CATALOGUE"
    payload = native.NativeOrder.model_validate(body)
    with container.uow(actor="e2e") as uow:
        ingest_order(
            uow, draft=payload.to_draft(), source=native.SOURCE, payload=payload.model_dump_json()
        )


def _quarantine_to_fix(container: Container) -> None:
    """Per viewport, a payload whose channel SKU is not mapped (to fix from its entry) and two
    more to replay or discard in bulk."""
    names = [f"{kind}-{viewport}" for viewport in VIEWPORTS for kind in ("MAP", "BULK1", "BULK2")]
    for number, name in enumerate(names):
        order = demo_order(900 + number, placed_at=datetime.now(UTC), rng=random.Random(number))
        body = order.model_dump(mode="json")
        body["external_id"] = f"Q-{name}"
        body["lines"] = [{"channel_sku": "CHANNEL-MUG", "quantity": 1, "unit_price": "12.00"}]
        payload = native.NativeOrder.model_validate(body)
        with container.uow(actor="e2e") as uow:
            ingest_order(
                uow, draft=payload.to_draft(), source=native.SOURCE,
                payload=payload.model_dump_json(exclude_none=True),
            )  # fmt: skip


@pytest.fixture(scope="package")
def browser(chromium: Path) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def page(browser: Browser, viewport: str, live_server: LiveServer) -> Iterator[Page]:
    width, height = VIEWPORTS[viewport]
    context = browser.new_context(
        viewport={"width": width, "height": height}, base_url=live_server.url
    )
    context.set_default_timeout(10_000)
    opened = context.new_page()
    yield opened
    context.close()


def shoot(page: Page, viewport: str, name: str) -> Path:
    """Save a full-page screenshot as an artefact of this run."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{viewport}-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page: Page, username: str = "operator") -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")
