"""Dry-run arithmetic: what a set of plans costs, how often it splits, how late it ships."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from orderhub.domain.allocation import AllocationPlan


@dataclass(frozen=True)
class Summary:
    orders: int = 0
    routed: int = 0
    unroutable: int = 0
    cost: Decimal = Decimal(0)
    shipments: int = 0
    split_orders: int = 0
    late_orders: int = 0
    late_days: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "orders": self.orders,
            "routed": self.routed,
            "unroutable": self.unroutable,
            "cost": f"{self.cost:f}",
            "shipments": self.shipments,
            "split_orders": self.split_orders,
            "split_rate": round(self.split_orders / self.routed, 4) if self.routed else 0.0,
            "late_orders": self.late_orders,
            "late_days": self.late_days,
        }


def summarize(plans: Iterable[AllocationPlan]) -> Summary:
    orders = routed = shipments = splits = late_orders = late_days = 0
    cost = Decimal(0)
    for plan in plans:
        orders += 1
        chosen = plan.explanation.get("chosen")
        if not plan.feasible or not chosen:
            continue
        routed += 1
        cost += Decimal(chosen["total"])
        count = len(chosen["shipments"])
        shipments += count
        splits += count > 1
        late = int(chosen["late_days"])
        late_orders += late > 0
        late_days += late
    return Summary(orders, routed, orders - routed, cost, shipments, splits, late_orders, late_days)


def difference(draft: Summary, active: Summary) -> dict[str, Any]:
    """Draft minus active, field by field (negative cost: the draft is cheaper)."""
    return {
        "routed": draft.routed - active.routed,
        "unroutable": draft.unroutable - active.unroutable,
        "cost": f"{draft.cost - active.cost:f}",
        "shipments": draft.shipments - active.shipments,
        "split_orders": draft.split_orders - active.split_orders,
        "late_orders": draft.late_orders - active.late_orders,
        "late_days": draft.late_days - active.late_days,
    }
