"""Stores as fulfilment nodes: what a routing decision says when it ships from a store.

Routing prices a store like any location (plus its ``handling_cost`` per shipment from the
rules); this adds the sentence a person reading the explanation looks for: which store was
chosen, and what the best warehouse alternative would have cost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from orderhub.domain.allocation import AllocationPlan
from orderhub.domain.locations import Location, LocationKind


def note_ship_from_store(plan: AllocationPlan, locations: Sequence[Location]) -> AllocationPlan:
    """The plan with ``explanation.ship_from_store`` when it ships from a store (else as is)."""
    kinds = {loc.code: loc.kind for loc in locations}
    stores = [code for code in plan.locations if kinds.get(code) == LocationKind.STORE]
    if not stores or not plan.feasible:
        return plan
    candidates: list[Mapping[str, Any]] = list(plan.explanation.get("candidates") or [])
    priced = [
        (Decimal(str(c["single_shipment_cost"])), str(c["location"]))
        for c in candidates
        if c.get("single_shipment_cost") is not None
    ]
    others = sorted(p for p in priced if kinds.get(p[1]) != LocationKind.STORE)
    chosen = dict(plan.explanation.get("chosen") or {})
    note: dict[str, Any] = {"stores": stores, "total": chosen.get("total")}
    if others:
        cost, code = others[0]
        note["best_other_location"] = code
        note["best_other_cost"] = f"{cost:f}"
        note["reason"] = (
            f"shipping from store {', '.join(stores)} costs {chosen.get('total')}, "
            f"less than {cost:f} from {code}, the best location that is not a store"
        )
    else:
        note["reason"] = (
            f"shipping from store {', '.join(stores)}: no other location can ship the whole "
            "order on its own"
        )
    return replace(plan, explanation={**plan.explanation, "ship_from_store": note})
