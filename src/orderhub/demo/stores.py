"""Demo pick-ups: a few "collect at the London shop" orders, one per step of the counter's day.

One waits to be picked, one is ready (its code is printed, so a demo user can hand it over in
the store view), one was collected this morning. They go through the same services as the API
and the worker; the worker finds their allocation events handled already (creation is
idempotent per location).
"""

from __future__ import annotations

from datetime import timedelta

from rich.console import Console

from orderhub.bootstrap import Container
from orderhub.channels import native
from orderhub.clock import utc_now
from orderhub.services import fulfilment, stores
from orderhub.services.allocation import allocate_order
from orderhub.services.fulfilment_wiring import default_dependencies
from orderhub.services.ingest import ingest_order
from orderhub.services.inventory import StockAdjustment, adjust_stock

STORE = "lon"
# (order number, SKU, units, how far along)
DEMO_PICKUPS = [
    ("WEB-PICKUP-1", "POSTER-A2", 1, "picked_up"),
    ("WEB-PICKUP-2", "TSHIRT-WHT-L", 1, "ready"),
    ("WEB-PICKUP-3", "MUG-LOGO", 1, "picking"),
]


def _order(number: str, sku: str, units: int, minutes_ago: int) -> native.NativeOrder:
    return native.NativeOrder.model_validate(
        {
            "channel": "web",
            "external_id": number,
            "currency": "GBP",
            "placed_at": (utc_now() - timedelta(minutes=minutes_ago)).isoformat(),
            "customer": {"email": "ada@example.com", "name": "Ada Lovelace"},
            "lines": [{"sku": sku, "quantity": units, "unit_price": "9.00"}],
            "delivery": {"type": "pickup", "location": STORE},
        }
    )


def place_pickup(container: Container, number: str, sku: str, units: int, minutes_ago: int) -> str:
    """One pick-up order at the store, allocated, its fulfilment and pick-up opened (what the
    worker would do); returns the pick-up's id."""
    payload = _order(number, sku, units, minutes_ago=minutes_ago)
    with container.uow(actor="demo") as uow:
        result = ingest_order(uow, draft=payload.to_draft(), source=native.SOURCE, payload="{}")
    assert result.order_id
    order_id = result.order_id
    with container.uow(actor="demo") as uow:
        allocate_order(uow, order_id=order_id)
        allocations = [
            {"line_id": a.line_id, "sku": a.sku, "location": a.location, "quantity": a.quantity}
            for a in uow.stock.allocations(order_id)
        ]
        uow.rollback()
        with default_dependencies(uow) as deps:
            fulfilment.create_fulfilments(
                uow, order_id=order_id, allocations=allocations, deps=deps
            )
            stores.open_pickups(uow, order_id=order_id)
            fulfilment.dispatch_pending(uow, order_id=order_id, deps=deps)
        (pickup,) = uow.pickups.for_order(order_id)
        return pickup.fulfilment_id


def seed_pickups(container: Container) -> dict[str, str]:
    """The demo's pick-ups; returns order number → pick-up code for those still to collect."""
    codes: dict[str, str] = {}
    # The shop's delivery for its collections: the seeded history leaves backordered orders
    # whose claims would otherwise take the store's last units first.
    with container.uow(actor="demo") as uow:
        adjust_stock(
            uow,
            items=[
                StockAdjustment(sku, STORE, delta=10, reason="delivery for collections")
                for _number, sku, _units, _step in DEMO_PICKUPS
            ],
        )
    for n, (number, sku, units, step) in enumerate(DEMO_PICKUPS):
        pickup_id = place_pickup(container, number, sku, units, minutes_ago=90 - 30 * n)
        if step == "picking":
            continue
        with container.uow(actor="demo") as uow:
            code = stores.issue_code(uow, fulfilment_id=pickup_id)
            stores.mark_ready(uow, fulfilment_id=pickup_id)
            if step == "picked_up":
                stores.hand_over(uow, fulfilment_id=pickup_id, code=code)
            else:
                codes[number] = code
    return codes


def print_pickups(codes: dict[str, str], *, url: str, console: Console) -> None:
    console.print(f"Store view (pick-up in store): {url}/stores/{STORE}")
    for number, code in codes.items():
        console.print(f"  {number} is ready at the London shop: hand it over with code {code}")
