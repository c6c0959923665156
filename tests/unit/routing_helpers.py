"""Small builders for routing tests: two US warehouses, a flat rate card, a web channel."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from orderhub.domain.allocation import AllocationRequest, RequestedLine
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.domain.locations import Location, LocationAddress, LocationKind
from orderhub.domain.orders import Address
from orderhub.domain.routing.rules import RuleSet

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def location(code: str, **kw: Any) -> Location:
    address = kw.pop("address", LocationAddress(country="US", region="NJ"))
    return Location(code=code, name=code, kind=LocationKind.WAREHOUSE, address=address, **kw)


def rules(**overrides: Any) -> RuleSet:
    """Zone 1 from EAST to NY, zone 2 from elsewhere; ground 5.00 (≤1 kg) / 8.00, 2 days."""
    data: dict[str, Any] = {
        "zones": [
            {"origin": "EAST", "destinations": ["US-NY"], "zone": "1"},
            {"destinations": ["*"], "zone": "2"},
        ],
        "rate_cards": [
            {
                "zone": "1",
                "service": "ground",
                "transit_days": 1,
                "bands": [{"max_grams": 1000, "price": "5.00"}, {"price": "8.00"}],
            },
            {
                "zone": "2",
                "service": "ground",
                "transit_days": 3,
                "bands": [{"max_grams": 1000, "price": "7.00"}, {"price": "11.00"}],
            },
        ],
        "weights": {"split_penalty": "4.00", "late_per_day": "10.00"},
    }
    data.update(overrides)
    return RuleSet.model_validate(data)


def line(line_id: str = "L1", sku: str = "SKU-1", quantity: int = 1, **kw: Any) -> RequestedLine:
    return RequestedLine(
        line_id=line_id,
        sku=sku,
        quantity=quantity,
        weight_grams=kw.pop("weight_grams", 200),
        attributes=kw.pop("attributes", {}),
    )


def request(
    *,
    lines: tuple[RequestedLine, ...] | None = None,
    locations: tuple[Location, ...] | None = None,
    available: dict[tuple[str, str], int] | None = None,
    destination: Address | None = None,
    channel: Channel | None = None,
    **kw: Any,
) -> AllocationRequest:
    lines = lines or (line(),)
    locations = locations or (location("EAST"), location("WEST"))
    if available is None:
        available = {(li.sku, loc.code): 10 for li in lines for loc in locations}
    return AllocationRequest(
        order_id="o-1",
        channel=channel or Channel(code="web", name="Web", kind=ChannelKind.NATIVE),
        destination=destination or Address(country="US", region="NY"),
        placed_at=kw.pop("placed_at", NOW),
        lines=lines,
        locations=locations,
        available=available,
        now=kw.pop("now", NOW),
        orders_today=kw.pop("orders_today", {}),
    )


CUTOFF_16 = time(16, 0)
