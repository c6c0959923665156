"""Inventory: stock per SKU per location, available-to-sell per channel, and each SKU's ledger.

Reads through the same repositories as ``GET /v1/inventory/{sku}`` and its ``/movements``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from orderhub.api.csv_out import csv_attachment
from orderhub.api.deps import ContainerDep
from orderhub.domain.access import Permission
from orderhub.domain.catalog import IDENTIFIER_KINDS
from orderhub.domain.channels import Channel
from orderhub.domain.errors import ValidationFailed
from orderhub.domain.ids import new_id
from orderhub.domain.inventory import MovementKind, StockLevel, serves
from orderhub.domain.limits import MAX_STOCK
from orderhub.domain.locations import Location
from orderhub.services.inventory import StockAdjustment, adjust_stock
from orderhub.store import reports
from orderhub.store.unit_of_work import UnitOfWork
from orderhub.web.auth import Viewer, page
from orderhub.web.templating import render

router = APIRouter()
Reader = Annotated[Viewer, Depends(page(Permission.INVENTORY_READ))]
Writer = Annotated[Viewer, Depends(page(Permission.INVENTORY_WRITE))]
NOTICES = {
    "adjusted": "The adjustment was applied.",
    "received": "The receipt was booked; waiting orders were allocated.",
    "transferred": "The units were moved.",
}
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


def _filtered(context: dict[str, Any], q: str, low: int | None) -> dict[str, Any]:
    """Keep the SKUs whose SKU or product name starts with ``q`` (any case), and, with ``low``,
    those available at or below ``low`` at some location."""
    text = q.strip().lower()
    levels = context["levels"]
    skus = [
        sku
        for sku in context["skus"]
        if (
            not text
            or sku.lower().startswith(text)
            or context["names"].get(sku, "").lower().startswith(text)
        )
        and (low is None or any(lv.available <= low for lv in levels[sku].values()))
    ]
    return {**context, "skus": skus}


def _inventory_page(
    request: Request,
    container: ContainerDep,
    viewer: Viewer,
    *,
    q: str = "",
    low: str = "",
    notice: str | None = None,
    error: str | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    threshold = int(low) if low.isdigit() else None
    with container.uow(read_only=True) as uow:
        context = _filtered(_stock(uow, viewer), q, threshold)
        every_location = [loc.code for loc in uow.locations.list()]
    context.update(
        identifier_kinds=IDENTIFIER_KINDS,
        q=q,
        low=low if threshold is not None else "",
        notice=NOTICES.get(notice or ""),
        error=error,
        form=form or {},
        can_write=viewer.can(Permission.INVENTORY_WRITE),
        all_locations=every_location,
    )
    return render(request, "inventory.html", context, viewer=viewer, status_code=status_code)


@router.get("/inventory")
def inventory(
    request: Request,
    viewer: Reader,
    container: ContainerDep,
    q: Annotated[str, Query(max_length=128)] = "",
    low: Annotated[str, Query(max_length=6)] = "",
    notice: str | None = None,
) -> Response:
    return _inventory_page(request, container, viewer, q=q, low=low, notice=notice)


def _apply(
    request: Request,
    container: ContainerDep,
    viewer: Viewer,
    items: list[StockAdjustment],
    *,
    notice: str,
    form: dict[str, str],
) -> Response:
    """Apply the items through the same service as ``POST /v1/inventory/adjustments`` (all or
    none); refusals re-render the page with the service's words and the form as typed."""
    try:
        with container.uow(actor=viewer.actor) as uow:
            adjust_stock(uow, items=items)
    except ValidationFailed as error:
        words = "; ".join(f.message for f in error.fields) or error.detail
        return _inventory_page(request, container, viewer, q=items[0].sku, form=form,
                               error=f"Refused, nothing changed: {words}.",
                               status_code=422)  # fmt: skip
    target = f"/inventory?q={quote(items[0].sku)}&notice={notice}"
    return RedirectResponse(target, status_code=303)


@router.post("/inventory/adjust")
def adjust(
    request: Request,
    viewer: Writer,
    container: ContainerDep,
    sku: Annotated[str, Form(min_length=1, max_length=128)],
    location: Annotated[str, Form(min_length=1, max_length=64)],
    delta: Annotated[int, Form(ge=-MAX_STOCK, le=MAX_STOCK)],
    reason: Annotated[str, Form(min_length=1, max_length=200)],
) -> Response:
    """A correction by delta (damage, shrinkage, found units), with its reason."""
    form = {"sku": sku, "location": location, "delta": str(delta), "reason": reason}
    if delta == 0:
        return _inventory_page(request, container, viewer, q=sku, form=form, status_code=422,
                               error="A change of 0 changes nothing.")  # fmt: skip
    item = StockAdjustment(sku.strip(), location, delta=delta, reason=reason.strip())
    return _apply(request, container, viewer, [item], notice="adjusted", form=form)


@router.post("/inventory/receive")
def receive(
    request: Request,
    viewer: Writer,
    container: ContainerDep,
    sku: Annotated[str, Form(min_length=1, max_length=128)],
    location: Annotated[str, Form(min_length=1, max_length=64)],
    quantity: Annotated[int, Form(ge=1, le=MAX_STOCK)],
    reference: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Goods in: a receipt of ``quantity`` units, with the delivery note or PO as reference."""
    form = {"sku": sku, "location": location, "quantity": str(quantity), "reference": reference}
    item = StockAdjustment(
        sku.strip(), location, delta=quantity, reason="receipt",
        reference=reference.strip() or None, kind=MovementKind.RECEIPT,
    )  # fmt: skip
    return _apply(request, container, viewer, [item], notice="received", form=form)


@router.post("/inventory/transfer")
def transfer(
    request: Request,
    viewer: Writer,
    container: ContainerDep,
    sku: Annotated[str, Form(min_length=1, max_length=128)],
    from_location: Annotated[str, Form(alias="from", min_length=1, max_length=64)],
    to_location: Annotated[str, Form(alias="to", min_length=1, max_length=64)],
    quantity: Annotated[int, Form(ge=1, le=MAX_STOCK)],
) -> Response:
    """Move units between locations: one adjustment out and one in, applied together or not
    at all (a transfer never leaves units counted twice or lost)."""
    form = {"sku": sku, "from": from_location, "to": to_location, "quantity": str(quantity)}
    if from_location == to_location:
        return _inventory_page(request, container, viewer, q=sku, form=form, status_code=422,
                               error="Choose two different locations.")  # fmt: skip
    reference = f"transfer:{new_id()}"
    items = [
        StockAdjustment(sku.strip(), from_location, delta=-quantity,
                        reason=f"transfer to {to_location}", reference=reference),
        StockAdjustment(sku.strip(), to_location, delta=quantity,
                        reason=f"transfer from {from_location}", reference=reference),
    ]  # fmt: skip
    return _apply(request, container, viewer, items, notice="transferred", form=form)


@router.get("/inventory.csv")
def inventory_csv(viewer: Reader, container: ContainerDep) -> Response:
    """The inventory page as CSV: one row per SKU with its identifiers, each location's on
    hand / reserved / available and each channel's available-to-sell."""
    with container.uow(read_only=True) as uow:
        data = _stock(uow, viewer)
    columns = (
        ["sku", "name", *IDENTIFIER_KINDS]
        + [f"{loc}_{part}" for loc in data["locations"] for part in LEVEL_PARTS]
        + [f"ats_{ch}" for ch in data["channels"]]
    )
    rows: list[list[Any]] = []
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
        rows.append(row)
    # Names and SKUs come from channels' catalogues: every cell goes through the one writer
    # that neutralises spreadsheet formulas.
    return csv_attachment("inventory.csv", columns, rows)


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
