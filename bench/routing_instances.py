"""Seeded routing instances: 20 locations, 1–5 lines, random stock and destinations.

``--large``: 30 locations in the rules, each order seeing a random 10–30 of them, 7–20 lines
(orders beyond ``exact_max_lines``: the bounded search's ground).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from orderhub.domain.allocation import AllocationRequest, RequestedLine
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.domain.locations import Location, LocationAddress, LocationKind
from orderhub.domain.orders import Address
from orderhub.domain.routing.cost import distance_km
from orderhub.domain.routing.rules import RuleSet

REGIONS: dict[str, tuple[float, float]] = {
    "US-NY": (40.7, -74.0),
    "US-CA": (36.8, -119.4),
    "US-TX": (31.0, -99.9),
    "US-FL": (27.7, -81.7),
    "US-IL": (40.0, -89.2),
    "US-WA": (47.4, -120.7),
    "US-GA": (32.7, -83.4),
    "US-CO": (39.0, -105.5),
    "US-AZ": (34.2, -111.7),
    "US-MA": (42.4, -71.4),
}
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CHANNELS = (
    Channel(code="web", name="Web", kind=ChannelKind.NATIVE),
    Channel(code="fast", name="Express app", kind=ChannelKind.NATIVE),
)


def locations(rng: random.Random, count: int = 20) -> tuple[Location, ...]:
    out = []
    for n in range(count):
        region, (lat, lon) = rng.choice(list(REGIONS.items()))
        address = LocationAddress(
            country="US",
            region=region[3:],
            latitude=lat + rng.uniform(-1.5, 1.5),
            longitude=lon + rng.uniform(-1.5, 1.5),
        )
        out.append(
            Location(
                code=f"L{n:02d}",
                name=f"Location {n}",
                kind=LocationKind.WAREHOUSE,
                address=address,
                priority=rng.randint(1, 100),
            )
        )
    return tuple(out)


def rule_set(rng: random.Random, locs: tuple[Location, ...]) -> RuleSet:
    """Zones by distance, ground and express cards per zone with four weight bands."""
    zones: list[dict[str, Any]] = []
    for loc in locs:
        origin = (loc.address.latitude or 0.0, loc.address.longitude or 0.0)
        by_zone: dict[str, list[str]] = {}
        for region, point in REGIONS.items():
            km = distance_km(origin, point)
            zone = "1" if km < 500 else "2" if km < 1200 else "3" if km < 2500 else "4"
            by_zone.setdefault(zone, []).append(region)
        zones += [{"origin": loc.code, "destinations": d, "zone": z} for z, d in by_zone.items()]
    cards: list[dict[str, Any]] = []
    for loc in locs:
        factor = rng.uniform(0.85, 1.2)
        for zone in "1234":
            z = int(zone)
            for service, base, transit in (("ground", 5, z + 1), ("express", 14, 1 + z // 3)):
                bands = [
                    {"max_grams": limit, "price": f"{(base + z * 1.5 + k * 2.2) * factor:.2f}"}
                    for k, limit in enumerate((500, 2000, 5000))
                ]
                bands.append({"price": f"{(base + z * 1.5 + 9) * factor:.2f}"})
                cards.append(
                    {
                        "origin": loc.code,
                        "zone": zone,
                        "service": service,
                        "transit_days": transit,
                        "bands": bands,
                    }
                )
    return RuleSet.model_validate(
        {
            "sla_tiers": {
                "standard": {"service": "ground", "ship_within_days": 1, "deliver_within_days": 5},
                "express": {"service": "express", "ship_within_days": 0, "deliver_within_days": 2},
            },
            "channels": {"fast": {"sla_tier": "express"}},
            "zones": zones,
            "rate_cards": cards,
            "coordinates": {r: list(p) for r, p in REGIONS.items()},
            "weights": {"split_penalty": "3.00", "late_per_day": "4.00", "per_km": "0.0005"},
            "max_splits": 3,
        }
    )


def request(
    rng: random.Random,
    locs: tuple[Location, ...],
    n: int,
    density: float = 0.45,
    lines: tuple[int, int] = (1, 5),
    sites: tuple[int, int] | None = None,
) -> AllocationRequest:
    count = rng.randint(*lines)
    if sites is not None:
        locs = tuple(sorted(rng.sample(locs, rng.randint(*sites)), key=lambda loc: loc.code))
    lines = tuple(
        RequestedLine(
            line_id=f"{n}-{k}",
            sku=f"SKU-{rng.randint(1, 200)}-{k}",
            quantity=rng.randint(1, 3),
            weight_grams=rng.choice((100, 250, 400, 800, 1500, 3000)),
            attributes={"hazmat": True} if rng.random() < 0.05 else {},
        )
        for k in range(count)
    )
    available = {
        (line.sku, loc.code): rng.randint(1, 6)
        for line in lines
        for loc in locs
        if rng.random() < density
    }
    region = rng.choice(list(REGIONS))
    return AllocationRequest(
        order_id=f"o-{n}",
        channel=CHANNELS[0] if rng.random() < 0.7 else CHANNELS[1],
        destination=Address(country="US", region=region[3:]),
        placed_at=NOW,
        lines=lines,
        locations=locs,
        available=available,
        now=NOW,
    )


def instances(
    seed: int, count: int, density: float = 0.45, *, large: bool = False
) -> tuple[RuleSet, list[AllocationRequest]]:
    """``large``: 7–20 lines over a random 10–30 of 30 locations (else 1–5 lines, 20)."""
    rng = random.Random(seed)
    locs = locations(rng, 30 if large else 20)
    rules = rule_set(rng, locs)
    if not large:
        return rules, [request(rng, locs, n, density) for n in range(count)]
    return rules, [request(rng, locs, n, density, (7, 20), (10, 30)) for n in range(count)]
