"""The routing rule set: data, validated by Pydantic, versioned by the store.

One document holds everything routing is allowed to vary without a deploy: zones and rate
cards, transit days, SLA tiers and the service each maps to, per-channel location preference,
compliance, per-location holds and capacity overrides, cost weights and split limits. Prices
are decimal strings in ``currency``; the engine works in integer minor units of it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    field_validator,
    model_validator,
)

from orderhub.domain.limits import MAX_AMOUNT, MAX_STOCK

_STRICT = ConfigDict(extra="forbid", frozen=True)
Price = Annotated[Decimal, Field(le=MAX_AMOUNT)]


class WeightBand(BaseModel):
    model_config = _STRICT
    max_grams: StrictInt | None = Field(
        default=None, ge=1, le=10_000_000, description="None: no upper limit"
    )
    price: Price = Field(ge=0, max_digits=12, decimal_places=4)


class RateCard(BaseModel):
    """What one shipment from ``origin`` to ``zone`` by ``service`` costs, and how long it takes."""

    model_config = _STRICT
    origin: str = Field(default="*", min_length=1, description="a location code or * (any)")
    zone: str = Field(min_length=1)
    service: str = Field(default="ground", min_length=1)
    transit_days: StrictInt = Field(default=3, ge=0, le=60)
    bands: list[WeightBand] = Field(min_length=1)

    @field_validator("bands")
    @classmethod
    def _ascending(cls, bands: list[WeightBand]) -> list[WeightBand]:
        limits = [b.max_grams for b in bands]
        if any(limit is None for limit in limits[:-1]):
            raise ValueError("only the last band may have no max_grams")
        bounded = [limit for limit in limits if limit is not None]
        if bounded != sorted(set(bounded)):
            raise ValueError("bands must be in strictly ascending max_grams")
        return bands


# What a hub with no routing rules yet pays per shipment: flat by weight, the same from every
# location, so the choice falls to stock, splits and location priority until real cards exist.
DEFAULT_RATE_CARD = RateCard(
    origin="*",
    zone="default",
    service="ground",
    transit_days=3,
    bands=[
        WeightBand(max_grams=1000, price=Decimal("5.00")),
        WeightBand(max_grams=5000, price=Decimal("9.00")),
        WeightBand(max_grams=None, price=Decimal("15.00")),
    ],
)


class Zone(BaseModel):
    """Destinations (``US``, ``US-CA`` or ``*``) that are zone ``zone`` from ``origin``."""

    model_config = _STRICT
    origin: str = Field(default="*", min_length=1)
    destinations: list[str] = Field(min_length=1)
    zone: str = Field(min_length=1)


class SlaTier(BaseModel):
    """A promise: ship within N days of placement, deliver within M, by this service."""

    model_config = _STRICT
    service: str = Field(default="ground", min_length=1)
    ship_within_days: StrictInt = Field(default=1, ge=0, le=30)
    deliver_within_days: StrictInt = Field(default=5, ge=0, le=60)

    @model_validator(mode="after")
    def _order(self) -> SlaTier:
        if self.deliver_within_days < self.ship_within_days:
            raise ValueError("deliver_within_days must be ≥ ship_within_days")
        return self


class ChannelRules(BaseModel):
    model_config = _STRICT
    sla_tier: str | None = None
    allowed_locations: list[str] | None = None  # None: as the channel and location say
    excluded_locations: list[str] = Field(default_factory=list)
    location_priority: list[str] = Field(default_factory=list, description="ties go to earlier")
    location_penalty: dict[str, Price] = Field(
        default_factory=dict, description="added per shipment from that location"
    )

    @field_validator("location_penalty")
    @classmethod
    def _non_negative(cls, penalties: dict[str, Price]) -> dict[str, Price]:
        if any(value < 0 for value in penalties.values()):
            raise ValueError("location penalties must be ≥ 0 (prefer by penalising others)")
        return penalties


class LocationRules(BaseModel):
    model_config = _STRICT
    hold: StrictBool = False
    hold_reason: str | None = None
    daily_capacity: StrictInt | None = Field(default=None, ge=0, le=MAX_STOCK)
    serves_regions: list[str] | None = None  # narrows the location's own country list
    handling_cost: Price = Field(
        default=Decimal(0),
        ge=0,
        max_digits=12,
        decimal_places=4,
        description="added per shipment from the location (a store's picking and packing)",
    )


class Restriction(BaseModel):
    """Products carrying ``attribute`` (truthy) may not go to these countries or regions."""

    model_config = _STRICT
    attribute: str = Field(min_length=1)
    countries: list[str] = Field(default_factory=list)
    regions: list[str] = Field(default_factory=list)


class Compliance(BaseModel):
    model_config = _STRICT
    hazmat_service: str = "ground"
    hazmat_excluded_locations: list[str] = Field(default_factory=list)
    restrictions: list[Restriction] = Field(default_factory=list)


class Weights(BaseModel):
    """How the parts of the cost add up (money in the rule set's currency)."""

    model_config = _STRICT
    shipping: Decimal = Field(default=Decimal(1), ge=0, le=100)
    split_penalty: Price = Field(default=Decimal("5.00"), ge=0)
    late_per_day: Price = Field(default=Decimal("10.00"), ge=0)
    per_km: Price = Field(default=Decimal(0), ge=0)


class RuleSet(BaseModel):
    model_config = _STRICT
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    default_service: str = "ground"
    default_sla_tier: str = "standard"
    sla_tiers: dict[str, SlaTier] = Field(default_factory=lambda: {"standard": SlaTier()})
    zones: list[Zone] = Field(default_factory=lambda: [Zone(destinations=["*"], zone="default")])
    rate_cards: list[RateCard] = Field(
        default_factory=lambda: [DEFAULT_RATE_CARD],
        description="without any, one flat ground card from any origin to any zone applies",
    )
    channels: dict[str, ChannelRules] = Field(default_factory=dict)
    locations: dict[str, LocationRules] = Field(default_factory=dict)
    compliance: Compliance = Field(default_factory=Compliance)
    weights: Weights = Field(default_factory=Weights)
    coordinates: dict[str, tuple[float, float]] = Field(
        default_factory=dict, description="destination (US, US-NY) → (lat, lon) for distance"
    )
    cutoff_policy: Literal["ship_late", "exclude"] = Field(
        default="ship_late",
        description=(
            "when no plan within every cut-off exists: ship_late plans again with the locations"
            " past their cut-off, each shipment from one priced with its extra late days;"
            " exclude leaves the order unrouted"
        ),
    )
    max_splits: StrictInt = Field(default=3, ge=1, le=10)
    exact_max_lines: StrictInt = Field(default=6, ge=1, le=12)

    @model_validator(mode="after")
    def _tiers_exist(self) -> RuleSet:
        names = {self.default_sla_tier} | {c.sla_tier for c in self.channels.values() if c.sla_tier}
        missing = sorted(names - set(self.sla_tiers))
        if missing:
            raise ValueError(f"unknown sla tier(s): {', '.join(missing)}")
        return self

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


DEFAULT_RULES = RuleSet()
