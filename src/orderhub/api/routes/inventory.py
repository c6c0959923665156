"""Inventory: stock adjustments and counts, stock per location and per channel, safety stock."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import select

from orderhub.api.deps import ContainerDep, require, visible_to
from orderhub.api.schemas.bounded import StockDelta, StockLevel, Timestamp
from orderhub.api.schemas.pages import Cursor, Limit, Page
from orderhub.domain.access import Permission
from orderhub.domain.errors import FieldError, NotFound, ValidationFailed
from orderhub.domain.inventory import MovementKind, serves
from orderhub.services.inventory import AdjustmentResult, StockAdjustment, adjust_stock
from orderhub.store import tables as t
from orderhub.store.access import Principal
from orderhub.store.unit_of_work import UnitOfWork

router = APIRouter(tags=["inventory"])

Reader = Annotated[Principal, Depends(require(Permission.INVENTORY_READ))]
Writer = Annotated[Principal, Depends(require(Permission.INVENTORY_WRITE))]
ChannelWriter = Annotated[Principal, Depends(require(Permission.CHANNELS_WRITE))]


class AdjustmentIn(BaseModel):
    """A delta (``delta`` + ``reason``) or an absolute count (``on_hand`` + ``as_of``)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    sku: str = Field(min_length=1, max_length=128)
    location: str = Field(min_length=1, max_length=64)
    delta: StockDelta | None = None
    on_hand: StockLevel | None = None
    as_of: Timestamp | None = None
    reason: str | None = Field(default=None, max_length=200)
    reference: str | None = Field(default=None, max_length=200)
    kind: Literal["receipt", "adjustment", "return_restock"] = "adjustment"

    def command(self) -> StockAdjustment:
        return StockAdjustment(**{**self.model_dump(), "kind": MovementKind(self.kind)})


class AdjustmentBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[AdjustmentIn] = Field(min_length=1, max_length=10_000)


class AdjustmentOut(BaseModel):
    sku: str
    location: str
    kind: str
    applied: bool
    stale: bool
    on_hand: int
    reserved: int
    available: int

    @classmethod
    def of(cls, result: AdjustmentResult) -> AdjustmentOut:
        return cls(
            sku=result.sku,
            location=result.location,
            kind=result.kind.value,
            applied=result.applied,
            stale=not result.applied,
            on_hand=result.on_hand,
            reserved=result.reserved,
            available=result.available,
        )


class BatchOut(BaseModel):
    items: list[AdjustmentOut]


_EXAMPLES = {
    "delta": {"value": {"sku": "SKU-1", "location": "ber", "delta": 10, "reason": "receipt"}},
    "count": {
        "value": {"sku": "SKU-1", "location": "ber", "on_hand": 7, "as_of": "2026-11-27T08:00Z"}
    },
    "batch": {
        "value": {"items": [{"sku": "SKU-1", "location": "ber", "delta": -1, "reason": "x"}]}
    },
}


def _parse(body: dict[str, Any]) -> tuple[list[AdjustmentIn], list[tuple[str | int, ...]], bool]:
    batch = "items" in body
    try:
        if batch:
            items = AdjustmentBatch.model_validate(body).items
            return items, [("items", i) for i in range(len(items))], True
        return [AdjustmentIn.model_validate(body)], [()], False
    except PydanticValidationError as error:
        raise ValidationFailed(
            f"{error.error_count()} field(s) failed validation",
            [FieldError(tuple(e["loc"]), e["msg"], e["type"]) for e in error.errors()],
        ) from None


@router.post(
    "/inventory/adjustments",
    response_model=AdjustmentOut | BatchOut,
    openapi_extra={"requestBody": {"content": {"application/json": {"examples": _EXAMPLES}}}},
)
def post_adjustments(
    body: Annotated[dict[str, Any], Body()], principal: Writer, container: ContainerDep
) -> AdjustmentOut | BatchOut:
    """One adjustment, or ``{"items": [...]}``: all applied or none (errors name each field).

    A count older than the last count applied at that SKU and location is recorded as stale
    and changes nothing (``"stale": true``). Orders waiting for stock are then allocated.
    """
    items, paths, batch = _parse(body)
    with container.uow(actor=principal.actor) as uow:
        results = adjust_stock(uow, items=[i.command() for i in items], paths=paths)
    out = [AdjustmentOut.of(r) for r in results]
    return BatchOut(items=out) if batch else out[0]


class LocationStock(BaseModel):
    location: str
    on_hand: int
    reserved: int
    available: int


class ChannelStock(BaseModel):
    available: int


class InventoryOut(BaseModel):
    sku: str
    locations: list[LocationStock]
    channels: dict[str, ChannelStock]


@router.get("/inventory/{sku}", response_model=InventoryOut)
def get_inventory(sku: str, principal: Reader, container: ContainerDep) -> InventoryOut:
    """Stock per location and available-to-sell per channel (a channel key sees its own)."""
    with container.uow(read_only=True) as uow:
        if uow.catalog.get(sku) is None:
            raise NotFound(f"product {sku!r} not found")
        channels = [c for c in uow.channels.list() if visible_to(principal, c.code)]
        locations = uow.locations.list()
        if principal.channel is not None:
            locations = [loc for loc in locations if any(serves(loc, c) for c in channels)]
        codes = {loc.code for loc in locations}
        levels = [level for level in uow.stock.levels([sku]) if level.location in codes]
        ats = uow.availability.available_to_sell([sku], channels)
    return InventoryOut(
        sku=sku,
        locations=[
            LocationStock(
                location=level.location,
                on_hand=level.on_hand,
                reserved=level.reserved,
                available=level.available,
            )
            for level in levels
        ],
        channels={c.code: ChannelStock(available=ats[(c.code, sku)]) for c in channels},
    )


@router.get("/inventory/{sku}/movements", response_model=Page[dict[str, Any]])
def get_movements(
    sku: str,
    principal: Reader,
    container: ContainerDep,
    location: str | None = None,
    kind: MovementKind | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[dict[str, Any]]:
    """The stock ledger of a SKU, oldest first (the levels are its sum). A channel-scoped key
    sees other channels' movements without who, why or which order (the quantities stay:
    stock levels are shared)."""
    with container.uow(read_only=True) as uow:
        found, next_cursor = uow.stock.movements_page(
            sku,
            location=location,
            kind=kind.value if kind else None,
            limit=limit,
            cursor=cursor,
        )
        own = _own(uow, principal, found)
    items = [
        {
            k: v
            for k, v in m.items()
            if v is not None and (own is None or m["seq"] in own or k not in _WHO_AND_WHY)
        }
        for m in found
    ]
    return Page(items=items, next_cursor=next_cursor)


_WHO_AND_WHY = frozenset({"reference", "order_line_id", "reason", "actor"})


def _own(uow: UnitOfWork, principal: Principal, movements: list[dict[str, Any]]) -> set[int] | None:
    """The movements (by ``seq``) of the key's own channel's orders; None: the key sees all."""
    if principal.channel is None:
        return None
    o, ln = t.orders.c, t.order_lines.c
    refs = {m["reference"] for m in movements if m.get("reference")}
    lines = {m["order_line_id"] for m in movements if m.get("order_line_id")}
    own_orders = set(
        uow.conn.scalars(select(o.id).where(o.id.in_(refs), o.channel_code == principal.channel))
    )
    own_lines = set(
        uow.conn.scalars(
            select(ln.id)
            .join(t.orders, o.id == ln.order_id)
            .where(ln.id.in_(lines), o.channel_code == principal.channel)
        )
    )
    return {
        m["seq"]
        for m in movements
        if m.get("reference") in own_orders or m.get("order_line_id") in own_lines
    }


class SafetyStockIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    safety_stock: StockLevel


class SafetyStockOut(BaseModel):
    channel: str
    sku: str
    safety_stock: int
    overridden: bool


@router.put("/channels/{code}/safety-stock/{sku}", response_model=SafetyStockOut)
def put_safety_stock(
    code: str, sku: str, body: SafetyStockIn, principal: ChannelWriter, container: ContainerDep
) -> SafetyStockOut:
    """Override the channel's safety stock for one SKU."""
    return _set_safety(code, sku, body.safety_stock, principal, container)


@router.delete("/channels/{code}/safety-stock/{sku}", response_model=SafetyStockOut)
def delete_safety_stock(
    code: str, sku: str, principal: ChannelWriter, container: ContainerDep
) -> SafetyStockOut:
    """Remove the override: the channel's own safety stock applies again."""
    return _set_safety(code, sku, None, principal, container)


def _set_safety(
    code: str, sku: str, quantity: int | None, principal: Principal, container: ContainerDep
) -> SafetyStockOut:
    if not visible_to(principal, code):
        raise NotFound(f"channel {code!r} not found")
    with container.uow(actor=principal.actor) as uow:
        channel = uow.channels.get(code)
        if uow.catalog.get(sku) is None:
            raise NotFound(f"product {sku!r} not found")
        uow.availability.set_safety_stock(code, sku, quantity)
        uow.commit()
    return SafetyStockOut(
        channel=code,
        sku=sku,
        safety_stock=channel.safety_stock if quantity is None else quantity,
        overridden=quantity is not None,
    )
