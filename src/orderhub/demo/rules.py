"""The demo's routing rules: what a merchant with a Berlin warehouse, a New Jersey 3PL and a
London shop would set, so that an order goes where a person would send it.

- **Zones per origin**: Germany is domestic from Berlin, the US from New Jersey, the UK from
  London; the rest of the EU is near from Berlin and London; anything across an ocean is
  intercontinental, at an intercontinental price and transit time. A New York order ships from
  New Jersey, a Vienna order from Berlin, a London order from the shop.
- **Distance** as a tie-breaker (``per_km``), with coordinates for the demo's destinations.
- **SLA tiers**: standard (ground, ship next day, deliver in 5) and express for the app.
- **Split limit** of two parcels; each extra parcel costs a split penalty.
- **Cut-offs and capacity** are the locations' own (Berlin 15:00, New Jersey 17:00); the
  London shop ships at most 20 orders a day and never lighter fluid (hazmat).
"""

from __future__ import annotations

from decimal import Decimal

from orderhub.domain.routing.rules import (
    ChannelRules,
    Compliance,
    LocationRules,
    RateCard,
    RuleSet,
    SlaTier,
    WeightBand,
    Weights,
    Zone,
)

EU = ["AT", "BE", "DK", "ES", "FI", "FR", "IE", "IT", "LU", "NL", "PL", "PT", "SE", "CZ"]


def _card(zone: str, service: str, days: int, light: str, medium: str, heavy: str) -> RateCard:
    return RateCard(
        origin="*", zone=zone, service=service, transit_days=days,
        bands=[
            WeightBand(max_grams=1000, price=Decimal(light)),
            WeightBand(max_grams=5000, price=Decimal(medium)),
            WeightBand(max_grams=None, price=Decimal(heavy)),
        ],
    )  # fmt: skip


DEMO_RULES = RuleSet(
    currency="USD",
    default_sla_tier="standard",
    sla_tiers={
        "standard": SlaTier(service="ground", ship_within_days=1, deliver_within_days=6),
        "express": SlaTier(service="express", ship_within_days=1, deliver_within_days=3),
    },
    zones=[
        Zone(origin="ber", destinations=["DE"], zone="domestic"),
        Zone(origin="ber", destinations=[*EU, "GB", "CH", "NO"], zone="europe"),
        Zone(origin="nj", destinations=["US"], zone="domestic"),
        Zone(origin="nj", destinations=["CA", "MX"], zone="north-america"),
        Zone(origin="lon", destinations=["GB"], zone="domestic"),
        Zone(origin="lon", destinations=[*EU, "DE", "CH", "NO"], zone="europe"),
        Zone(origin="*", destinations=["*"], zone="intercontinental"),
    ],
    rate_cards=[
        _card("domestic", "ground", 2, "4.90", "7.90", "12.90"),
        _card("europe", "ground", 4, "9.90", "15.90", "24.90"),
        _card("north-america", "ground", 5, "12.90", "19.90", "29.90"),
        _card("intercontinental", "ground", 8, "29.00", "49.00", "79.00"),
        _card("domestic", "express", 1, "12.90", "18.90", "29.90"),
        _card("europe", "express", 2, "21.90", "32.90", "49.90"),
        _card("north-america", "express", 2, "24.90", "36.90", "54.90"),
        _card("intercontinental", "express", 3, "59.00", "89.00", "139.00"),
    ],
    channels={"app": ChannelRules(sla_tier="express")},
    locations={"lon": LocationRules(daily_capacity=20)},
    compliance=Compliance(hazmat_service="ground", hazmat_excluded_locations=["lon"]),
    weights=Weights(split_penalty=Decimal("6.00"), late_per_day=Decimal("8.00"),
                    per_km=Decimal("0.001")),
    coordinates={
        "US": (39.8, -98.6), "US-NY": (40.71, -74.01), "US-VA": (37.43, -78.66),
        "US-CA": (36.78, -119.42), "GB": (52.36, -1.17), "GB-ENG": (51.51, -0.13),
        "AT": (48.21, 16.37), "DE": (51.17, 10.45), "FR": (46.23, 2.21), "CA": (56.13, -106.35),
    },
    max_splits=2,
)  # fmt: skip
COMMENT = "demo: zones per origin, express for the app, two parcels at most"
