"""Channel inventory items: the channel's own ids a SKU's available-to-sell is pushed to."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from orderhub.api.deps import ContainerDep, require, visible_to
from orderhub.domain.access import Permission
from orderhub.domain.errors import FieldError, NotFound, ValidationFailed
from orderhub.services.outbound.inventory import REQUIRED
from orderhub.store.access import Principal

router = APIRouter(prefix="/channels", tags=["channels"])

Reader = Annotated[Principal, Depends(require(Permission.CHANNELS_READ))]
Writer = Annotated[Principal, Depends(require(Permission.CHANNELS_WRITE))]


class InventoryItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=128, description="the master SKU")
    item: dict[str, Any] = Field(
        description="the channel's ids, e.g. Shopify {inventory_item_id, location_id}"
    )


class InventoryItemsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[InventoryItem] = Field(min_length=1, max_length=10_000)


class InventoryItemsOut(BaseModel):
    items: list[InventoryItem]


def _visible(principal: Principal, code: str) -> None:
    if not visible_to(principal, code):
        raise NotFound(f"channel {code!r} not found")


@router.post("/{code}/inventory-items", status_code=200)
def put_inventory_items(
    code: str, body: InventoryItemsIn, principal: Writer, container: ContainerDep
) -> dict[str, int]:
    """Create or replace the channel ids of SKUs; the next stock change is pushed there."""
    _visible(principal, code)
    with container.uow(actor=principal.actor) as uow:
        channel = uow.channels.get(code)
        known = uow.catalog.known_skus({i.sku for i in body.items})
        needed = REQUIRED.get(channel.kind, ())
        errors = [
            FieldError(("items", n, "sku"), f"unknown SKU {i.sku!r}", "unknown_sku")
            for n, i in enumerate(body.items)
            if i.sku not in known
        ] + [
            FieldError(("items", n, "item", name), f"{channel.kind.value} needs {name}", "missing")
            for n, i in enumerate(body.items)
            for name in needed
            if i.item.get(name) in (None, "")
        ]
        if errors:
            raise ValidationFailed("inventory items are incomplete", errors)
        for entry in body.items:
            uow.channel_items.put(code, entry.sku, entry.item)
        uow.commit()
    return {"stored": len(body.items)}


@router.get("/{code}/inventory-items", response_model=InventoryItemsOut)
def list_inventory_items(
    code: str, principal: Reader, container: ContainerDep
) -> InventoryItemsOut:
    _visible(principal, code)
    with container.uow(read_only=True) as uow:
        uow.channels.get(code)
        rows = uow.channel_items.list(code)
    return InventoryItemsOut(items=[InventoryItem(sku=s, item=i) for s, i in rows])
