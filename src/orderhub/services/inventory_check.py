"""``orderhub inventory check``: every stock level recomputed from the ledger and reservations."""

from __future__ import annotations

from dataclasses import dataclass

from orderhub.store.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Drift:
    sku: str
    location: str
    field: str  # on_hand | reserved
    stored: int
    expected: int
    source: str  # what the expected figure was computed from

    def __str__(self) -> str:
        return (
            f"{self.sku} @ {self.location}: {self.field} is {self.stored}, "
            f"{self.source} says {self.expected}"
        )


def find_drift(uow: UnitOfWork) -> tuple[int, list[Drift]]:
    """(levels checked, every disagreement) between levels, the ledger and open allocations."""
    levels = {(lv.sku, lv.location): lv for lv in uow.stock.all_levels()}
    ledger = uow.stock.ledger_totals()
    held = uow.stock.open_reserved_totals()
    drifts: list[Drift] = []
    for key in sorted(set(levels) | set(ledger) | set(held)):
        sku, location = key
        level = levels.get(key)
        on_hand, reserved = (level.on_hand, level.reserved) if level else (0, 0)
        ledger_on_hand, ledger_reserved = ledger.get(key, (0, 0))
        if on_hand != ledger_on_hand:
            drifts.append(Drift(sku, location, "on_hand", on_hand, ledger_on_hand, "the ledger"))
        if reserved != ledger_reserved:
            drifts.append(Drift(sku, location, "reserved", reserved, ledger_reserved, "the ledger"))
        if reserved != held.get(key, 0):
            drifts.append(
                Drift(sku, location, "reserved", reserved, held.get(key, 0), "open reservations")
            )
    return len(levels), drifts
