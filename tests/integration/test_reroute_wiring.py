"""A 3PL's stock-out releases the reservation and routing re-allocates elsewhere — for real:
inventory's ledger and routing's planner, no fakes."""

from __future__ import annotations

from orderhub.bootstrap import Container
from orderhub.domain.locations import Location, LocationAddress, LocationKind
from orderhub.services import fulfilment
from orderhub.services.allocation import allocate_order
from orderhub.services.fulfilment_wiring import default_dependencies
from orderhub.store.fulfilment import ProviderConfig
from tests.integration.fulfilment_support import place_order
from tests.integration.inventory_helpers import levels, receive, status


def test_a_rejected_dispatch_releases_stock_and_reroutes_to_another_location(
    seeded: Container,
) -> None:
    with seeded.uow(actor="test") as uow:
        uow.locations.add(
            Location(
                "a3pl", "A 3PL", LocationKind.THIRD_PARTY, LocationAddress("US"), provider="sim"
            )
        )
        uow.locations.add(
            Location("bwh", "B warehouse", LocationKind.WAREHOUSE, LocationAddress("US"))
        )
        uow.fulfilment.add_provider(
            ProviderConfig(
                code="sim",
                name="Always out",
                kind="simulated",
                settings={"seed": 1, "reject_rate": 1.0},
                locations=["a3pl"],
            )
        )
        uow.commit()
    receive(seeded, "SKU-1", "a3pl", 5)
    receive(seeded, "SKU-2", "a3pl", 5)
    order_id = place_order(seeded)  # 2 × SKU-1, 1 × SKU-2
    with seeded.uow(actor="test") as uow:
        assert allocate_order(uow, order_id=order_id).status == "allocated"
    receive(seeded, "SKU-1", "bwh", 5)  # stock arrives at B only after the order went to A
    receive(seeded, "SKU-2", "bwh", 5)
    with seeded.uow(actor="test") as uow, default_dependencies(uow) as deps:
        picks = [
            {"line_id": a.line_id, "sku": a.sku, "location": a.location, "quantity": a.quantity}
            for a in uow.stock.allocations(order_id, open_only=True)
        ]
        assert {p["location"] for p in picks} == {"a3pl"}
        fulfilment.create_fulfilments(uow, order_id=order_id, allocations=picks, deps=deps)
        fulfilment.dispatch_pending(uow, order_id=order_id, deps=deps)
    stock = levels(seeded)
    assert stock[("SKU-1", "a3pl")] == (5, 0)  # released
    assert stock[("SKU-1", "bwh")] == (5, 2)  # re-reserved at B
    assert stock[("SKU-2", "bwh")] == (5, 1)
    assert status(seeded, order_id) == "allocated"
    with seeded.uow(read_only=True) as uow:
        kinds = [e.kind for e in uow.fulfilment.exceptions(status="open")]
        held = {a.location for a in uow.stock.allocations(order_id, open_only=True)}
    assert kinds == ["stock_out"]
    assert held == {"bwh"}


def test_a_second_refusal_does_not_send_the_order_back_to_the_first_place_that_refused(
    seeded: Container,
) -> None:
    """Two refusing 3PLs would otherwise hand the order back and forth for ever: the re-route
    after the second refusal avoids both, and the order waits with an unroutable exception."""
    with seeded.uow(actor="test") as uow:
        for code in ("a3pl", "b3pl"):
            uow.locations.add(
                Location(code, code, LocationKind.THIRD_PARTY, LocationAddress("US"), provider=code)
            )
            uow.fulfilment.add_provider(
                ProviderConfig(
                    code=code,
                    name="Always out",
                    kind="simulated",
                    settings={"seed": 1, "reject_rate": 1.0},
                    locations=[code],
                )
            )
        uow.commit()
    for sku in ("SKU-1", "SKU-2"):
        receive(seeded, sku, "a3pl", 5)
    order_id = place_order(seeded)  # 2 × SKU-1, 1 × SKU-2
    with seeded.uow(actor="test") as uow:
        assert allocate_order(uow, order_id=order_id).status == "allocated"
    for sku in ("SKU-1", "SKU-2"):
        receive(seeded, sku, "b3pl", 5)  # a3pl's units come free again when it refuses

    def fulfil_what_is_allocated() -> set[str]:
        with seeded.uow(actor="test") as uow, default_dependencies(uow) as deps:
            picks = [
                {"line_id": a.line_id, "sku": a.sku, "location": a.location, "quantity": a.quantity}
                for a in uow.stock.allocations(order_id, open_only=True)
            ]
            fulfilment.create_fulfilments(uow, order_id=order_id, allocations=picks, deps=deps)
            fulfilment.dispatch_pending(uow, order_id=order_id, deps=deps)
        return {p["location"] for p in picks}

    assert fulfil_what_is_allocated() == {"a3pl"}  # refused: re-routed to b3pl
    assert fulfil_what_is_allocated() == {"b3pl"}  # refused: nowhere left
    with seeded.uow(read_only=True) as uow:
        held = uow.stock.allocations(order_id, open_only=True)
        tried = [f.location for f in uow.fulfilment.for_order(order_id)]
        kinds = sorted(e.kind for e in uow.fulfilment.exceptions(status="open"))
    assert held == []  # not back at a3pl
    assert tried == ["a3pl", "b3pl"]
    assert kinds == ["stock_out", "stock_out", "unroutable"]
    assert status(seeded, order_id) == "backordered"  # waits for stock elsewhere
    stock = levels(seeded)
    assert stock[("SKU-1", "a3pl")] == (5, 0)
    assert stock[("SKU-1", "b3pl")] == (5, 0)
