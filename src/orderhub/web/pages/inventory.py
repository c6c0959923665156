"""Inventory: stock per SKU per location, available-to-sell per channel, and each SKU's ledger.

Reads through the same repositories as ``GET /v1/inventory/{sku}`` and its ``/movements``.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from orderhub.api.deps import ContainerDep
from orderhub.domain.access import Permission
from orderhub.domain.catalog import IDENTIFIER_KINDS
from orderhub.domain.channels import Channel
from orderhub.domain.inventory import StockLevel, serves
from orderhub.domain.locations import Location
from orderhub.store import reports
from orderhub.store.unit_of_work import UnitOfWork
from orderhub.web.auth import Viewer, page
from orderhub.web.templating import render

router = APIRouter()
Reader = Annotated[Viewer, Depends(page(Permission.INVENTORY_READ))]
LEDGER_ROWS = 200
LEVEL_PARTS = ("on_hand", "reserved", "available")


def _scope(uow: UnitOfWork, viewer: Viewer) -> tuple[list[Channel], list[Location]]:
    """The channels and locations this viewer may see (a channel user: its own, and where
    it may ship from)."""
    own = viewer.principal.channel
    channels = [c for c in uow.channels.list() if own in (None, c.code)]
    locations = uow.locations.list()
    if own is not None:
        locations = [loc for loc in locations if any(serves(loc, c) for c in channels)]
    return channels, locations


def _stock(uow: UnitOfWork, viewer: Viewer) -> dict[str, Any]:
    """What the inventory page and its CSV show: levels, products (names and identifiers),
    available-to-sell, for the viewer's channels and locations."""
    channels, locations = _scope(uow, viewer)
    codes = [loc.code for loc in locations]
    levels: dict[str, dict[str, StockLevel]] = defaultdict(dict)
    for level in uow.stock.all_levels():
        if level.location in codes:
            levels[level.sku][level.location] = level
    skus = sorted(levels)
    products = uow.catalog.products(set(skus))
    return {
        "skus": skus,
        "names": {sku: p.name for sku, p in products.items()},
        "identifiers": {sku: p.identifiers for sku, p in products.items()},
        "locations": codes,
        "levels": levels,
        "channels": [c.code for c in channels],
        "ats": uow.availability.available_to_sell(skus, channels) if skus else {},
    }


@router.get("/inventory")
def inventory(request: Request, viewer: Reader, container: ContainerDep) -> Response:
    with container.uow(read_only=True) as uow:
        context = _stock(uow, viewer)
    context["identifier_kinds"] = IDENTIFIER_KINDS
    return render(request, "inventory.html", context, viewer=viewer)


@router.get("/inventory.csv")
def inventory_csv(viewer: Reader, container: ContainerDep) -> Response:
    """The inventory page as CSV: one row per SKU with its identifiers, each location's on
    hand / reserved / available and each channel's available-to-sell."""
    with container.uow(read_only=True) as uow:
        data = _stock(uow, viewer)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["sku", "name", *IDENTIFIER_KINDS]
        + [f"{loc}_{part}" for loc in data["locations"] for part in LEVEL_PARTS]
        + [f"ats_{ch}" for ch in data["channels"]]
    )
    for sku in data["skus"]:
        ids = data["identifiers"].get(sku, {})
        row: list[Any] = [
            sku,
            data["names"].get(sku, ""),
            *(ids.get(k, "") for k in IDENTIFIER_KINDS),
        ]
        for loc in data["locations"]:
            level = data["levels"][sku].get(loc)
            row += [level.on_hand, level.reserved, level.available] if level else ["", "", ""]
        row += [data["ats"].get((ch, sku), 0) for ch in data["channels"]]
        writer.writerow(row)
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="inventory.csv"'},
    )


@router.get("/inventory/{sku}")
def sku_detail(request: Request, sku: str, viewer: Reader, container: ContainerDep) -> Response:
    with container.uow(read_only=True) as uow:
        product = uow.catalog.get(sku)
        if product is None:
            missing = {"title": "Product not found", "message": f"No product {sku!r}."}
            return render(request, "error.html", missing, viewer=viewer, status_code=404)
        channels, locations = _scope(uow, viewer)
        codes = {loc.code for loc in locations}
        levels = [level for level in uow.stock.levels([sku]) if level.location in codes]
        ats = uow.availability.available_to_sell([sku], channels)
        movements = [m for m in uow.stock.movements(sku) if m["location"] in codes]
        shown = list(reversed(movements[-LEDGER_ROWS:]))
        refs = reports.order_refs(
            uow.conn, {m["reference"] for m in shown if m.get("order_line_id") and m["reference"]}
        )
        actor_names = reports.user_names(uow.conn, {m["actor"] for m in shown if m["actor"]})
    context: dict[str, Any] = {
        "product": product,
        "identifier_kinds": IDENTIFIER_KINDS,
        "levels": levels,
        "ats": [(c.code, ats[(c.code, sku)]) for c in channels],
        "movements": shown,
        "refs": refs,
        "actor_names": actor_names,
        "total_movements": len(movements),
        "ledger_rows": LEDGER_ROWS,
    }
    return render(request, "inventory_sku.html", context, viewer=viewer)
