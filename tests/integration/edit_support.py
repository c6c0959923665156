"""Helpers for the order-edit tests: two warehouses, rules that make the nearer one cheaper."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from orderhub.bootstrap import Container
from orderhub.domain.locations import Location, LocationAddress, LocationKind
from tests.integration.inventory_helpers import receive

NY = {"country": "US", "region": "NY", "postal_code": "10001"}
CA = {"country": "US", "region": "CA", "postal_code": "94105", "line1": "1 Market St"}


def two_coasts(container: Container, units: int = 10) -> None:
    """``east`` (New York) and ``west`` (California), each holding ``units`` of every SKU."""
    with container.uow(actor="test") as uow:
        uow.locations.add(
            Location("east", "East", LocationKind.WAREHOUSE, LocationAddress("US", "NY"))
        )
        uow.locations.add(
            Location("west", "West", LocationKind.WAREHOUSE, LocationAddress("US", "CA"))
        )
        uow.commit()
    for sku in ("SKU-1", "SKU-2", "SKU-3"):
        for location in ("east", "west"):
            if units:
                receive(container, sku, location, units)


def rules() -> dict[str, Any]:
    """Shipping within a coast costs 3.00, across the country 12.00."""
    return {
        "zones": [
            {"origin": "east", "destinations": ["US-NY"], "zone": "local"},
            {"origin": "west", "destinations": ["US-CA"], "zone": "local"},
            {"origin": "*", "destinations": ["*"], "zone": "far"},
        ],
        "rate_cards": [
            {"zone": "local", "bands": [{"max_grams": None, "price": "3.00"}]},
            {"zone": "far", "bands": [{"max_grams": None, "price": "12.00"}]},
        ],
    }


def use_rules(client: TestClient, admin: dict[str, str]) -> None:
    answer = client.put("/v1/routing/rules", json={"rules": rules()}, headers=admin)
    assert answer.status_code in (200, 201), answer.text


def reserved(container: Container) -> dict[tuple[str, str], int]:
    with container.uow(read_only=True) as uow:
        return {(lvl.sku, lvl.location): lvl.reserved for lvl in uow.stock.all_levels()}
