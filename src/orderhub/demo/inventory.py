"""Demo stock: three locations, receipts per SKU (some scarce), and a summary table."""

from __future__ import annotations

from datetime import time

from rich.console import Console
from rich.table import Table

from orderhub.bootstrap import Container
from orderhub.domain.locations import Location, LocationAddress, LocationKind, StoreSettings
from orderhub.services.inventory import StockAdjustment, adjust_stock

DEMO_LOCATIONS = [
    Location(
        "ber", "Berlin DC", LocationKind.WAREHOUSE,
        LocationAddress("DE", "BE", "10115", "Berlin", latitude=52.53, longitude=13.38),
        timezone="Europe/Berlin", daily_capacity=400, cutoff=time(15, 0), priority=1,
    ),
    Location(
        "nj", "New Jersey 3PL", LocationKind.THIRD_PARTY,
        LocationAddress("US", "NJ", "07001", "Avenel", latitude=40.58, longitude=-74.27),
        timezone="America/New_York", daily_capacity=1000, cutoff=time(17, 0),
        provider="sim-3pl", priority=2,
    ),
    Location(
        "lon", "London shop", LocationKind.STORE,
        LocationAddress("GB", "ENG", "EC1A 1BB", "London", latitude=51.52, longitude=-0.10),
        timezone="Europe/London", channels=["web"], daily_capacity=50, priority=3,
        store=StoreSettings(
            opening_hours={
                day: (time(9, 0), time(19, 0)) for day in ("mon", "tue", "wed", "thu", "fri")
            } | {"sat": (time(10, 0), time(18, 0))},
            pickup_enabled=True, ship_from_store=True, safety_stock=1, pickup_hold_days=3,
        ),
    ),
]  # fmt: skip
# (sku, location, units): Berlin and New Jersey carry the range, the London shop a few lines;
# hoodies and lighter fluid (New Jersey only: hazmat) are scarce, so some orders wait.
DEMO_STOCK = [
    ("TSHIRT-BLK-M", "ber", 12), ("TSHIRT-BLK-M", "nj", 8), ("TSHIRT-WHT-L", "nj", 10),
    ("TSHIRT-WHT-L", "lon", 4), ("HOODIE-GRY-M", "ber", 5), ("MUG-LOGO", "ber", 15),
    ("MUG-LOGO", "lon", 3), ("MUG-LOGO", "nj", 10), ("CAP-NAVY", "nj", 20),
    ("LIGHTER-FLUID", "nj", 1),
    ("POSTER-A2", "lon", 6), ("POSTER-A2", "ber", 8), ("SOCKS-3PK", "ber", 30),
    ("SOCKS-3PK", "nj", 12), ("HOODIE-GRY-M", "nj", 2), ("CAP-NAVY", "ber", 10),
    ("TSHIRT-WHT-L", "ber", 6), ("POSTER-A2", "nj", 5),
]  # fmt: skip


def seed_inventory(container: Container) -> None:
    with container.uow(actor="demo") as uow:
        for location in DEMO_LOCATIONS:
            uow.locations.add(location)
        uow.commit()
        adjust_stock(
            uow,
            items=[
                StockAdjustment(sku, loc, delta=units, reason="opening stock")
                for sku, loc, units in DEMO_STOCK
            ],
        )


def print_stock(container: Container, console: Console) -> None:
    """Stock per location and available-to-sell per channel, as ``GET /v1/inventory`` has it."""
    with container.uow(read_only=True) as uow:
        levels = uow.stock.all_levels()
        channels = uow.channels.list()
        skus = sorted({level.sku for level in levels})
        ats = uow.availability.available_to_sell(skus, channels)
    table = Table(title="Demo stock (on hand / reserved) and available-to-sell per channel")
    codes = [loc.code for loc in DEMO_LOCATIONS]
    for column in ["SKU", *codes, *(f"ATS {c.code}" for c in channels)]:
        table.add_column(column)
    by_key = {(level.sku, level.location): level for level in levels}
    for sku in skus:
        cells = [
            f"{by_key[(sku, c)].on_hand} / {by_key[(sku, c)].reserved}"
            if (sku, c) in by_key
            else ""
            for c in codes
        ]
        table.add_row(sku, *cells, *(str(ats[(c.code, sku)]) for c in channels))
    console.print(table)
