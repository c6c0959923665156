"""Routing rules (versioned, one active, rollback) and the dry-run simulator."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from orderhub.api.deps import ContainerDep, require, visible_to
from orderhub.api.schemas.bounded import Quantity, Timestamp
from orderhub.domain.access import Permission
from orderhub.domain.errors import NotFound
from orderhub.domain.orders import Address
from orderhub.domain.routing.rules import RuleSet
from orderhub.services import routing as service
from orderhub.services.routing_stock import LiveStock
from orderhub.store.access import Principal
from orderhub.store.routing import RuleVersion

router = APIRouter(prefix="/routing", tags=["routing"])

Reader = Annotated[Principal, Depends(require(Permission.ROUTING_READ))]
Writer = Annotated[Principal, Depends(require(Permission.ROUTING_WRITE))]

MAX_VERSION = 2_147_483_647  # the column is a 32-bit integer on PostgreSQL; SQLite's is 64-bit
VersionNumber = Annotated[int, Path(ge=0, le=MAX_VERSION, description="a rule set's version")]
"""A version in a path: a larger number is a 422 naming it, not a 500 from the database."""


def stock_view(container: ContainerDep) -> service.StockView:
    """Current stock for the dry-run: what allocation would see now."""
    return LiveStock(lambda: container.uow(read_only=True))


Stock = Annotated[service.StockView, Depends(stock_view)]


class RuleVersionOut(BaseModel):
    version: int
    rules: dict[str, Any]
    author: str
    comment: str | None
    created_at: datetime
    active: bool
    activated_at: datetime | None = None
    activated_by: str | None = None

    @classmethod
    def of(cls, v: RuleVersion) -> RuleVersionOut:
        return cls(**{name: getattr(v, name) for name in cls.model_fields})


class RulesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules: RuleSet
    comment: str | None = Field(default=None, max_length=2000)


@router.get("/rules", response_model=RuleVersionOut)
def get_rules(principal: Reader, container: ContainerDep) -> RuleVersionOut:
    """The active rule set (version 0: the built-in defaults, before the first PUT)."""
    with container.uow(read_only=True) as uow:
        return RuleVersionOut.of(service.active_rules(uow=uow))


@router.put("/rules", response_model=RuleVersionOut)
def put_rules(body: RulesIn, principal: Writer, container: ContainerDep) -> RuleVersionOut:
    """Validate and save a new version of the rules; it becomes the active one."""
    with container.uow(actor=principal.actor) as uow:
        saved = service.put_rules(
            uow=uow, rules=body.rules, author=principal.actor, comment=body.comment
        )
    return RuleVersionOut.of(saved)


@router.get("/rules/versions", response_model=list[RuleVersionOut])
def list_versions(
    principal: Reader,
    container: ContainerDep,
    before: Annotated[int | None, Query(ge=0, le=MAX_VERSION)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[RuleVersionOut]:
    """Every saved version, newest first; pass the last version as ``before`` for more."""
    with container.uow(read_only=True) as uow:
        return [RuleVersionOut.of(v) for v in uow.routing_rules.history(limit=limit, before=before)]


@router.get("/rules/versions/{version}", response_model=RuleVersionOut)
def get_version(
    version: VersionNumber, principal: Reader, container: ContainerDep
) -> RuleVersionOut:
    with container.uow(read_only=True) as uow:
        return RuleVersionOut.of(uow.routing_rules.get(version))


@router.post("/rules/versions/{version}/activate", response_model=RuleVersionOut)
def activate(version: VersionNumber, principal: Writer, container: ContainerDep) -> RuleVersionOut:
    """Make an earlier (or later) version the active one: rollback without losing history."""
    with container.uow(actor=principal.actor) as uow:
        return RuleVersionOut.of(
            service.activate_version(uow=uow, version=version, actor=principal.actor)
        )


class DestinationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    country: str = Field(pattern=r"^[A-Z]{2}$")
    region: str | None = Field(default=None, max_length=64)
    postal_code: str | None = Field(default=None, max_length=32)


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str = Field(min_length=1, max_length=128)
    quantity: Quantity


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: str = Field(min_length=1, max_length=64)
    destination: DestinationIn
    lines: list[LineIn] = Field(min_length=1, max_length=200)
    placed_at: Timestamp | None = None


class PastOrdersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: list[str] | None = Field(default=None, min_length=1, max_length=1000)
    placed_from: Timestamp | None = None
    placed_to: Timestamp | None = None
    limit: Annotated[StrictInt, Field(ge=1, le=1000)] = 200


class SimulateIn(BaseModel):
    """Either ``order`` (not in the hub) or ``orders`` (past ones); ``rules``: a draft."""

    model_config = ConfigDict(extra="forbid")
    order: OrderIn | None = None
    orders: PastOrdersIn | None = None
    rules: RuleSet | None = None

    @model_validator(mode="after")
    def _one_source(self) -> SimulateIn:
        if (self.order is None) == (self.orders is None):
            raise ValueError("give exactly one of order or orders")
        return self


@router.post("/simulate")
def simulate(
    body: SimulateIn, principal: Reader, container: ContainerDep, stock: Stock
) -> dict[str, Any]:
    """Dry-run: plans under the active rules (and the draft), with totals; reserves nothing."""
    draft = None
    if body.order is not None:
        if not visible_to(principal, body.order.channel):
            raise NotFound(f"channel {body.order.channel!r} not found")
        o = body.order
        draft = service.DraftOrder(
            channel=o.channel,
            destination=Address(**o.destination.model_dump()),
            lines=tuple((line.sku, line.quantity) for line in o.lines),
            placed_at=o.placed_at,
        )
    past = body.orders
    with container.uow(read_only=True) as uow:
        result = service.simulate(
            uow=uow,
            stock=stock,
            draft_rules=body.rules,
            order=draft,
            order_ids=past.ids if past else None,
            placed_from=past.placed_from if past else None,
            placed_to=past.placed_to if past else None,
            limit=past.limit if past else 1,
            channel=principal.channel,
        )
    return result
