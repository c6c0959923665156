"""Routing use cases: the rule versions, the active planner, and the dry-run.

Stock is read through :class:`StockView` — current levels, never reserved: the dry-run touches
no stock. The inventory module provides the real view; tests pass :class:`StaticStock`.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import select

from orderhub.clock import utc_now
from orderhub.domain.allocation import AllocationPlan, AllocationRequest, RequestedLine
from orderhub.domain.errors import FieldError, NotFound, ValidationFailed
from orderhub.domain.events import RoutingRulesActivated
from orderhub.domain.locations import Location
from orderhub.domain.orders import Address
from orderhub.domain.routing import RoutingPlanner, RuleSet, build_planner
from orderhub.domain.routing.dryrun import difference, summarize
from orderhub.store import tables as t
from orderhub.store.routing import RuleVersion
from orderhub.store.unit_of_work import UnitOfWork


class StockView(Protocol):
    """What routing reads about stock and locations (inventory implements it)."""

    def locations(self) -> Sequence[Location]:
        """Every location, inactive ones too: the planner excludes those and says why."""
        ...

    def available(self, skus: Collection[str]) -> Mapping[tuple[str, str], int]: ...

    def orders_today(self, now: datetime) -> Mapping[str, int]: ...


@dataclass
class StaticStock:
    """A fixed picture of locations and stock: tests, demos, and no-inventory deployments."""

    locs: list[Location] = field(default_factory=list)
    stock: dict[tuple[str, str], int] = field(default_factory=dict)  # (sku, location) → units
    today: dict[str, int] = field(default_factory=dict)

    def locations(self) -> Sequence[Location]:
        return self.locs

    def available(self, skus: Collection[str]) -> Mapping[tuple[str, str], int]:
        return {key: n for key, n in self.stock.items() if key[0] in skus}

    def orders_today(self, now: datetime) -> Mapping[str, int]:
        return self.today


DEFAULT_VERSION = RuleVersion(
    version=0,
    rules=RuleSet().as_json(),
    author="orderhub",
    comment="built-in defaults (no version saved yet)",
    created_at=datetime(2026, 1, 1, tzinfo=UTC),
    active=True,
)
# Per version, the rule sets seen with it (the same number in another database may hold other
# rules) and their planners: a lookup compares the rules read with ``==``, not their text.
_planners: dict[int, list[tuple[dict[str, Any], RoutingPlanner]]] = {}


def active_rules(*, uow: UnitOfWork) -> RuleVersion:
    """The active version, or the built-in defaults (version 0) before the first PUT."""
    return uow.routing_rules.active() or DEFAULT_VERSION


def active_planner(*, uow: UnitOfWork) -> RoutingPlanner:
    """The planner allocation uses: the active rule set, compiled once per version."""
    current = active_rules(uow=uow)
    return _planner(current.version, current.rules)


def _planner(version: int, rules: dict[str, Any]) -> RoutingPlanner:
    """The planner of ``rules``, built once: looked up once per allocating transaction, so by
    comparing the rules (a dict's ``==``), not by rendering them as a key (~25 µs)."""
    seen = _planners.setdefault(version, [])
    for known, planner in seen:
        if known == rules:
            return planner
    if sum(len(planners) for planners in _planners.values()) > 32:
        _planners.clear()
        seen = _planners.setdefault(version, [])
    planner = build_planner(RuleSet.model_validate(rules), version=version)
    seen.append((copy.deepcopy(rules), planner))
    return planner


def put_rules(*, uow: UnitOfWork, rules: RuleSet, author: str, comment: str | None) -> RuleVersion:
    """Save ``rules`` as a new version and make it active."""
    previous = uow.routing_rules.active()
    saved = uow.routing_rules.add(rules.as_json(), author=author, comment=comment)
    uow.record(
        RoutingRulesActivated(
            version=saved.version,
            previous_version=previous.version if previous else None,
            author=author,
            comment=comment,
        )
    )
    uow.commit()
    return saved


def activate_version(*, uow: UnitOfWork, version: int, actor: str) -> RuleVersion:
    """Roll back (or forward) to an earlier version: it becomes the active one."""
    previous = uow.routing_rules.active()
    saved = uow.routing_rules.activate(version, actor=actor)
    uow.record(
        RoutingRulesActivated(
            version=version,
            previous_version=previous.version if previous else None,
            author=actor,
            comment=f"activated version {version}",
        )
    )
    uow.commit()
    return saved


@dataclass(frozen=True)
class DraftOrder:
    """An order to dry-run that is not in the hub: lines by master SKU."""

    channel: str
    destination: Address
    lines: tuple[tuple[str, int], ...]  # (sku, quantity)
    placed_at: datetime | None = None


def _request(
    uow: UnitOfWork,
    stock: StockView,
    *,
    order_id: str,
    channel_code: str,
    destination: Address | None,
    lines: Sequence[tuple[str, str, int]],  # (line id, sku, quantity)
    placed_at: datetime,
    now: datetime,
    where: str,
) -> AllocationRequest:
    channel = uow.channels.for_routing(channel_code)
    requested, problems = [], []
    for index, (line_id, sku, quantity) in enumerate(lines):
        product = uow.catalog.get(sku)
        if product is None:
            problems.append(FieldError((where, "lines", index, "sku"), f"unknown SKU {sku!r}"))
            continue
        requested.append(
            RequestedLine(line_id, sku, quantity, product.weight_grams, product.attributes)
        )
    if problems:
        raise ValidationFailed("order cannot be routed", problems)
    return AllocationRequest(
        order_id=order_id,
        channel=channel,
        destination=destination,
        placed_at=placed_at,
        lines=tuple(requested),
        locations=tuple(stock.locations()),
        available=stock.available({sku for _, sku, _ in lines}),
        now=now,
        orders_today=stock.orders_today(now),
    )


def _past_order_ids(
    uow: UnitOfWork,
    ids: Sequence[str] | None,
    placed_from: datetime | None,
    placed_to: datetime | None,
    limit: int,
    channel: str | None,
) -> list[str]:
    if ids:
        return list(ids)[:limit]
    stmt = select(t.orders.c.id).order_by(t.orders.c.placed_at, t.orders.c.id).limit(limit)
    if channel is not None:
        stmt = stmt.where(t.orders.c.channel_code == channel)
    if placed_from is not None:
        stmt = stmt.where(t.orders.c.placed_at >= placed_from)
    if placed_to is not None:
        stmt = stmt.where(t.orders.c.placed_at < placed_to)
    return list(uow.conn.execute(stmt).scalars())


def plan_json(order_id: str, plan: AllocationPlan) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "feasible": plan.feasible,
        "strategy": plan.strategy,
        "picks": [
            {"line_id": p.line_id, "sku": p.sku, "location": p.location, "quantity": p.quantity}
            for p in plan.picks
        ],
        "explanation": dict(plan.explanation),
    }


def simulate(
    *,
    uow: UnitOfWork,
    stock: StockView,
    draft_rules: RuleSet | None = None,
    order: DraftOrder | None = None,
    order_ids: Sequence[str] | None = None,
    placed_from: datetime | None = None,
    placed_to: datetime | None = None,
    limit: int = 200,
    now: datetime | None = None,
    channel: str | None = None,
) -> dict[str, Any]:
    """Plan orders with the active rules (and a draft, if given) and compare; reserves nothing.

    Past orders are planned as at their placement (cut-offs judged then) against *current*
    stock; ``channel`` limits them to one channel (channel-scoped keys).
    """
    now = now or utc_now()
    current = active_rules(uow=uow)
    active = _planner(current.version, current.rules)
    draft = build_planner(draft_rules, version=None) if draft_rules is not None else None
    requests: list[AllocationRequest] = []
    if order is not None:
        lines = [(f"line-{n + 1}", sku, qty) for n, (sku, qty) in enumerate(order.lines)]
        requests.append(
            _request(
                uow,
                stock,
                order_id="draft",
                channel_code=order.channel,
                destination=order.destination,
                lines=lines,
                placed_at=order.placed_at or now,
                now=now,
                where="order",
            )
        )
    else:
        for order_id in _past_order_ids(uow, order_ids, placed_from, placed_to, limit, channel):
            past = uow.orders.get(order_id)
            if channel is not None and past.channel != channel:
                raise NotFound(f"order {order_id} not found")
            requests.append(
                _request(
                    uow,
                    stock,
                    order_id=past.id,
                    channel_code=past.channel,
                    destination=past.shipping_address,
                    lines=[(li.id, li.sku, li.quantity) for li in past.lines],
                    placed_at=past.placed_at,
                    now=past.placed_at,
                    where="orders",
                )
            )
    return _compare(requests, active, current.version, draft)


def _compare(
    requests: list[AllocationRequest],
    active: RoutingPlanner,
    version: int,
    draft: RoutingPlanner | None,
) -> dict[str, Any]:
    active_plans = [active.plan(r) for r in requests]
    result: dict[str, Any] = {
        "active_version": version,
        "plans": [
            {"order_id": r.order_id, "active": plan_json(r.order_id, p)}
            for r, p in zip(requests, active_plans, strict=True)
        ],
        "summary": {"active": summarize(active_plans).as_json()},
    }
    if draft is not None:
        draft_plans = [draft.plan(r) for r in requests]
        for entry, plan in zip(result["plans"], draft_plans, strict=True):
            entry["draft"] = plan_json(entry["order_id"], plan)
        draft_summary, active_summary = summarize(draft_plans), summarize(active_plans)
        result["summary"]["draft"] = draft_summary.as_json()
        result["summary"]["difference"] = difference(draft_summary, active_summary)
    return result
