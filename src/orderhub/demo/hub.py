"""``make demo``: a fresh SQLite hub with channels, products and orders, served on 127.0.0.1."""

from __future__ import annotations

import random
import secrets
import socket
import threading
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import uvicorn
from rich.console import Console

from orderhub.api.app import create_app
from orderhub.bootstrap import Container, bootstrap
from orderhub.channels import native
from orderhub.channels.demo_payloads import demo_channel_orders
from orderhub.channels.marketplace_demo import poll_simulated, seed_marketplaces
from orderhub.clock import utc_now
from orderhub.config import Settings
from orderhub.demo import DATABASE_RECORD
from orderhub.demo.history import HISTORY_DAYS, seed_history
from orderhub.demo.inventory import DEMO_STOCK, print_stock, seed_inventory
from orderhub.demo.rules import COMMENT as RULES_COMMENT
from orderhub.demo.rules import DEMO_RULES
from orderhub.demo.stores import print_pickups, seed_pickups
from orderhub.demo.traffic import TrafficSimulator
from orderhub.domain.access import Role
from orderhub.domain.catalog import Product
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.fulfilment.demo import seed_fulfilment
from orderhub.services.allocation import allocate_pending
from orderhub.services.channel_orders import receive_all
from orderhub.services.ingest import ingest_order
from orderhub.services.outbound.calls import TransportFactory
from orderhub.store.migrate import upgrade
from orderhub.workers.relay import make_worker
from orderhub.workers.schedules import Job, default_jobs

DEMO_CHANNELS = [
    Channel(code="web", name="Own web store", kind=ChannelKind.NATIVE, safety_stock=2),
    Channel(
        code="app",
        name="Mobile app",
        kind=ChannelKind.NATIVE,
        safety_stock=1,
        settings={"insufficient_stock": "hold"},
    ),
    Channel(code="partner", name="Distributor CSV feed", kind=ChannelKind.CSV),
    # Their webhook secrets are made per demo database (see seed): never a published string.
    Channel(code="shopify", name="Shopify store", kind=ChannelKind.SHOPIFY),
    Channel(code="woo", name="WooCommerce store", kind=ChannelKind.WOOCOMMERCE),
    Channel(code="magento", name="Adobe Commerce store", kind=ChannelKind.MAGENTO),
]  # fmt: skip
DEMO_PRODUCTS = [
    Product("TSHIRT-BLK-M", "T-shirt, black, M", 180, {}),
    Product("TSHIRT-WHT-L", "T-shirt, white, L", 190, {}),
    Product("HOODIE-GRY-M", "Hoodie, grey, M", 620, {}),
    Product("MUG-LOGO", "Mug with logo", 350, {"fragile": True}),
    Product("CAP-NAVY", "Cap, navy", 120, {}),
    Product("LIGHTER-FLUID", "Lighter fluid 250 ml", 300, {"hazmat": True}),
    Product("POSTER-A2", "Poster A2", 200, {}),
    Product("SOCKS-3PK", "Socks, 3 pack", 150, {}),
]
_PRICES = {
    "TSHIRT-BLK-M": "19.90", "TSHIRT-WHT-L": "19.90", "HOODIE-GRY-M": "49.00",
    "MUG-LOGO": "12.50", "CAP-NAVY": "15.00", "LIGHTER-FLUID": "6.99", "POSTER-A2": "9.00",
    "SOCKS-3PK": "11.00",
}  # fmt: skip
# (name, email, country, city, postal code, region): the routing rules' zones and coordinates
# (demo/rules.py) send each to the nearest location that holds the goods.
_PEOPLE = [
    ("Ada Lovelace", "ada@example.com", "GB", "London", "EC1A 1BB", "ENG"),
    ("Grace Hopper", "grace@example.com", "US", "New York", "10001", "NY"),
    ("Alan Turing", "alan@example.com", "GB", "Manchester", "M1 1AE", "ENG"),
    ("Katherine Johnson", "kj@example.com", "US", "Hampton", "23669", "VA"),
    ("Hedy Lamarr", "hedy@example.com", "AT", "Wien", "1010", None),
    ("Emmy Noether", "emmy@example.com", "DE", "Erlangen", "91054", None),
]


def _with_own_secret(channel: Channel) -> Channel:
    """A webhook channel gets a secret made for this database: a published one would let
    anyone who can reach the demo post orders into it."""
    if channel.kind not in (ChannelKind.SHOPIFY, ChannelKind.WOOCOMMERCE):
        return channel
    return replace(channel, webhook_secret=secrets.token_urlsafe(24))


def seed(
    container: Container,
    *,
    orders: int = 25,
    history_days: int = 0,
    rng: random.Random | None = None,
) -> str:
    """Channels, products, stock, routing rules, ``history_days`` of past orders (shipped,
    some returned: demo/history.py) and a day of native orders; returns a fresh admin key."""
    rng = rng or random.Random(7)
    with container.uow(actor="demo") as uow:
        for channel in DEMO_CHANNELS:
            uow.channels.add(_with_own_secret(channel))
        for product in DEMO_PRODUCTS:
            uow.catalog.upsert(product)
        uow.catalog.map_sku("partner", "DIST-0001", "TSHIRT-BLK-M")
        key = uow.api_keys.create(role=Role.ADMIN, name="demo admin")
        uow.routing_rules.add(DEMO_RULES.as_json(), author="demo", comment=RULES_COMMENT)
        uow.commit()
    seed_inventory(container)
    seed_fulfilment(container)  # simulated 3PL and channel SLAs
    now = utc_now()
    first = 0
    if history_days:
        past = seed_history(
            container, now=now - timedelta(hours=16), days=history_days, stock=DEMO_STOCK,
            make_order=lambda n, placed_at, rng: demo_order(n, placed_at=placed_at, rng=rng),
        )  # fmt: skip
        first = past.orders
    for number in range(orders):
        placed_at = now - timedelta(minutes=37 * (orders - 1 - number))
        payload = demo_order(first + number, placed_at=placed_at, rng=rng)
        with container.uow(actor="demo") as uow:
            ingest_order(
                uow,
                draft=payload.to_draft(),
                source=native.SOURCE,
                payload=payload.model_dump_json(),
            )
    people = [email for _name, email, *_rest in _PEOPLE]
    channel_orders = demo_channel_orders(_PRICES, people, now=now, rng=rng)
    receive_all(lambda: container.uow(actor="demo"), channel_orders)
    seed_marketplaces(lambda: container.uow(actor="demo"))
    allocate_pending(container.uow)  # until the outbox worker runs the order.received consumer
    return key


def demo_order(number: int, *, placed_at: datetime, rng: random.Random) -> native.NativeOrder:
    name, email, country, city, postal, region = rng.choice(_PEOPLE)
    skus = rng.sample(sorted(_PRICES), k=rng.randint(1, 3))
    lines = []
    for sku in skus:
        quantity = rng.randint(1, 3)
        price = Decimal(_PRICES[sku])
        tax = (price * quantity * Decimal("0.2")).quantize(Decimal("0.01"))
        lines.append({"sku": sku, "quantity": quantity, "unit_price": str(price), "tax": str(tax)})
    channel = rng.choice(["web", "web", "app"])
    return native.NativeOrder.model_validate(
        {
            "channel": channel,
            "external_id": f"{channel.upper()}-{10000 + number}",
            "currency": {"AT": "EUR", "DE": "EUR", "GB": "GBP"}.get(country, "USD"),
            "placed_at": placed_at.isoformat(),
            "customer": {"email": email, "name": name},
            "shipping_address": {
                "country": country,
                "region": region,
                "name": name,
                "city": city,
                "postal_code": postal,
                "line1": "1 Demo Street",
            },
            "lines": lines,
            "shipping": {"price": "4.90", "method": "standard"},
        }
    )


def demo_jobs(container: Container) -> list[Job]:
    """The worker's periodic jobs, with the marketplace poll answered by the simulated APIs."""

    def poll(container: Container, _transport: TransportFactory, now: datetime) -> object:
        return poll_simulated(lambda: container.uow(actor="schedule:marketplaces"), now)

    jobs = default_jobs(container)
    return [Job(j.name, j.interval, poll) if j.name == "marketplaces.poll" else j for j in jobs]


class PortBusy(Exception):
    """The demo's port is taken: said before anything is seeded, with the fix."""


def claim_port(port: int) -> socket.socket:
    """Listen on 127.0.0.1:``port`` now, so that a busy port stops the demo before it seeds
    and prints credentials for a server that never starts; uvicorn serves on this socket."""
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind(("127.0.0.1", port))
    except OSError as error:
        listening.close()
        raise PortBusy(
            f"port {port} on 127.0.0.1 is in use ({error.strerror}; another demo or server?)"
        ) from None
    listening.listen(128)
    return listening


def run_demo(
    *,
    database: Path,
    port: int,
    console: Console,
    sock: socket.socket | None = None,
    traffic: bool = True,
) -> None:
    sock = sock or claim_port(port)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    # The simulated 3PL ships within a minute: tick fulfilment often so the demo moves.
    settings = Settings(
        database_url=f"sqlite:///{database}", port=port, schedule_fulfilment_seconds=10
    )
    container = bootstrap(settings)
    upgrade(container.engine)
    DATABASE_RECORD.parent.mkdir(parents=True, exist_ok=True)
    DATABASE_RECORD.write_text(f"sqlite:///{database.resolve()}\n", encoding="utf-8")
    console.print(
        f"Seeding the demo with {HISTORY_DAYS} days of order history through the real services "
        "(shipped, some returned)…"
    )
    key = seed(container, history_days=HISTORY_DAYS)
    pickup_codes = seed_pickups(container)  # a store's counter: to pick, ready, collected
    print_stock(container, console)
    password = secrets.token_urlsafe(9)
    with container.uow(actor="demo") as uow:
        uow.users.create(username="demo", password=password, role=Role.ADMIN)
        uow.commit()
    url = f"http://127.0.0.1:{port}"
    console.print(f"[bold green]OrderHub demo[/bold green] on {url}  (API docs: {url}/v1/docs)")
    console.print(f"Dashboard: {url}/  — sign in as [bold]demo[/bold] / [bold]{password}[/bold]")
    print_pickups(pickup_codes, url=url, console=console)
    # Double quotes, so the shell expands $KEY (single quotes sent the text "$KEY").
    console.print(f'Try:  export KEY={key}; curl -H "Authorization: Bearer $KEY" {url}/v1/orders')
    console.print(
        f"The command line in this directory uses this database ({DATABASE_RECORD} says so); "
        "elsewhere:",
        f"\n  export ORDERHUB_DATABASE_URL=sqlite:///{database.resolve()}",
        soft_wrap=True,
    )
    console.print("Admin API key (also below, alone on its line):")
    print(key, flush=True)
    worker, stop = make_worker(container, worker_id="demo"), threading.Event()
    if worker.scheduler is not None:
        worker.scheduler.jobs = demo_jobs(container)
    thread = threading.Thread(target=worker.run, args=(stop,), name="worker", daemon=True)
    thread.start()  # the demo delivers events too, with no extra command
    simulator = TrafficSimulator(
        container, base_url=url, api_key=key, prices=_PRICES,
        people=[email for _name, email, *_rest in _PEOPLE],
    )  # fmt: skip
    traffic_thread = threading.Thread(
        target=simulator.run, args=(stop,), name="demo-traffic", daemon=True
    )
    if traffic:  # new orders in every channel's format every few seconds
        traffic_thread.start()
        console.print("Demo traffic: a new order every 3 s through the channels' own ingest paths")
    try:
        config = uvicorn.Config(create_app(container), log_level="warning")
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        stop.set()
        thread.join(timeout=10)
        if traffic:
            traffic_thread.join(timeout=10)
        worker.close()
