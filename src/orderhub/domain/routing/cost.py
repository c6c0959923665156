"""The cost of a shipment, in integer minor units of the rule set's currency.

A shipment from location ``l`` weighing ``w`` grams by service ``s`` costs::

    weights.shipping × rate(l → zone, s, w)        cheapest band whose max_grams ≥ w
  + weights.late_per_day × max(0, transit(l, zone, s) − (deliver_within − ship_within))
  + weights.per_km × distance(l, destination)   when both coordinates are known
  + channel location_penalty[l]
  + locations.<l>.handling_cost                   a store's picking and packing, per shipment
  + weights.split_penalty                         one per shipment …

and a plan costs the sum over its shipments minus one ``split_penalty`` (the first shipment is
free of it). Every part is fixed per shipment except the rate, which only grows with weight —
which is what makes the search's lower bounds valid and the MILP in ``bench/`` exact.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING

from orderhub.domain.locations import Location
from orderhub.domain.money import minor_unit_exponent
from orderhub.domain.orders import Address
from orderhub.domain.routing.rules import RuleSet, SlaTier

if TYPE_CHECKING:
    from orderhub.domain.routing.lanes import Lane


def region_key(address: Address | None) -> tuple[str | None, str | None]:
    """(country, ``CC-REGION``) of a destination; region codes may come with or without CC-."""
    if address is None:
        return None, None
    country = address.country.upper()
    region = (address.region or "").strip().upper()
    if not region:
        return country, None
    return country, region if "-" in region else f"{country}-{region}"


@dataclass(frozen=True)
class Rate:
    limits: tuple[int, ...]  # ascending max grams; the last may be math.inf-like (10**18)
    prices: tuple[int, ...]  # minor units, weighted, suffix-minimised (cheapest band that fits)
    transit_days: int

    def price(self, grams: int) -> int | None:
        band = bisect_left(self.limits, grams)
        return self.prices[band] if band < len(self.prices) else None


_UNLIMITED = 10**18


class CompiledRules:
    """A rule set turned into dictionaries: built once per version, shared by every decision."""

    def __init__(self, rules: RuleSet, version: int | None = None) -> None:
        self.rules = rules
        self.version = version
        self.exponent = minor_unit_exponent(rules.currency)
        self.scale = 10**self.exponent
        self._money: dict[int, str] = {}  # amounts repeat (rate card prices): format each once
        w = rules.weights
        self.split_penalty = self.minor(w.split_penalty)
        self.late_per_day = self.minor(w.late_per_day)
        self.per_km = w.per_km * (Decimal(10) ** self.exponent)
        self._zones = {(z.origin, d.upper()): z.zone for z in rules.zones for d in z.destinations}
        self._rates: dict[tuple[str, str, str], Rate] = {}
        self._sla: dict[str, dict[str, object]] = {}
        self._models: dict[str, CostModel] = {}
        self.capped = {c for c, own in rules.locations.items() if own.daily_capacity is not None}
        self.lanes: dict[tuple[object, ...], tuple[Lane, ...]] = {}  # see lanes.py
        self.handling = {
            code: self.minor(own.handling_cost)
            for code, own in rules.locations.items()
            if own.handling_cost
        }
        self.penalties = {
            channel: {code: self.minor(value) for code, value in c.location_penalty.items()}
            for channel, c in rules.channels.items()
        }
        for card in rules.rate_cards:
            raw = [self.minor(b.price * w.shipping) for b in card.bands]
            prices = [min(raw[i:]) for i in range(len(raw))]
            limits = [b.max_grams if b.max_grams is not None else _UNLIMITED for b in card.bands]
            rate = Rate(tuple(limits), tuple(prices), card.transit_days)
            self._rates[(card.origin, card.zone, card.service)] = rate

    def minor(self, amount: Decimal) -> int:
        scaled = amount * (Decimal(10) ** self.exponent)
        return int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))

    def money(self, minor: int) -> str:
        """Minor units as a decimal string ("18.75"): integer arithmetic, exact, and fast."""
        text = self._money.get(minor)
        if text is None:
            if not self.exponent:
                text = str(minor)
            else:
                whole, part = divmod(abs(minor), self.scale)
                text = f"{'-' if minor < 0 else ''}{whole}.{part:0{self.exponent}d}"
            if len(self._money) >= 65_536:
                self._money.clear()
            self._money[minor] = text
        return text

    def zone(self, origin: str, country: str | None, region: str | None) -> str | None:
        for o in (origin, "*"):
            for d in (region, country, "*"):
                if d is not None and (o, d) in self._zones:
                    return self._zones[(o, d)]
        return None

    def rate(self, origin: str, zone: str, service: str) -> Rate | None:
        return self._rates.get((origin, zone, service)) or self._rates.get(("*", zone, service))

    def sla(self, tier: str) -> dict[str, object]:
        """The tier as the explanation shows it (do not modify: shared; copy it)."""
        found = self._sla.get(tier)
        if found is None:
            found = self._sla[tier] = {"tier": tier, **self.rules.sla_tiers[tier].model_dump()}
        return found

    def model(self, tier: str) -> CostModel:
        """The cost model of an SLA tier's orders (one per tier and version)."""
        found = self._models.get(tier)
        if found is None:
            sla = self.rules.sla_tiers[tier]
            found = self._models[tier] = CostModel(
                self,
                service=sla.service,
                hazmat_service=self.rules.compliance.hazmat_service,
                transit_allowance=sla.deliver_within_days - sla.ship_within_days,
                split_penalty=self.split_penalty,
            )
        return found

    def tier(self, channel: str, channel_sla: dict[str, object]) -> tuple[str, SlaTier]:
        """The channel's SLA tier: rules first, then the channel's own ``sla.tier``."""
        rules = self.rules
        channel_rules = rules.channels.get(channel)
        name = channel_rules.sla_tier if channel_rules and channel_rules.sla_tier else None
        if name is None:
            own = channel_sla.get("tier")
            name = own if isinstance(own, str) and own in rules.sla_tiers else None
        name = name or rules.default_sla_tier
        return name, rules.sla_tiers[name]


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine): geometry, so floats are fine here."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(min(1.0, h)))


@dataclass(frozen=True)
class Origin:
    """Everything about one candidate location that does not depend on the shipment's weight."""

    code: str
    zone: str
    rate: Rate | None  # the channel's service
    hazmat_rate: Rate | None  # the hazmat service (may be the same)
    late: int
    late_days: int
    hazmat_late: int
    hazmat_late_days: int
    distance: int
    km: float | None
    preference: int
    rank: int  # tie-break: lower first
    base: int = 0  # late + distance + preference + handling, summed once: added per shipment
    hazmat_base: int = 0
    delay_days: int = 0  # days it ships after the promised ship date (past its cut-off)
    handling: int = 0  # the location's handling cost per shipment (rules)

    def fixed(self, hazmat: bool) -> int:
        return self.hazmat_base if hazmat else self.base

    def delayed(self, days: int, late_per_day: int) -> Origin:
        """This origin shipping ``days`` after the promised date: each day is a late day."""
        extra = days * late_per_day
        return Origin(
            code=self.code,
            zone=self.zone,
            rate=self.rate,
            hazmat_rate=self.hazmat_rate,
            late=self.late + extra,
            late_days=self.late_days + days,
            hazmat_late=self.hazmat_late + extra,
            hazmat_late_days=self.hazmat_late_days + days,
            distance=self.distance,
            km=self.km,
            preference=self.preference,
            rank=self.rank,
            base=self.base + extra,
            hazmat_base=self.hazmat_base + extra,
            delay_days=self.delay_days + days,
        )


class CostModel:
    """Shipment costs for one request: ``shipment(origin, grams, hazmat)`` → minor units."""

    def __init__(
        self,
        compiled: CompiledRules,
        *,
        service: str,
        hazmat_service: str,
        transit_allowance: int,
        split_penalty: int,
    ) -> None:
        self.compiled = compiled
        self.service = service
        self.hazmat_service = hazmat_service
        self.transit_allowance = transit_allowance
        self.split_penalty = split_penalty

    def origin(
        self,
        location: Location,
        zone: str,
        destination: tuple[float, float] | None,
        *,
        penalty: int,
        rank: int,
    ) -> Origin:
        c = self.compiled
        rate = c.rate(location.code, zone, self.service)
        hazmat_rate = c.rate(location.code, zone, self.hazmat_service)
        late_days = self._late_days(rate)
        hazmat_late_days = self._late_days(hazmat_rate)
        km = None
        a = location.address
        if destination is not None and a.latitude is not None and a.longitude is not None:
            km = distance_km((a.latitude, a.longitude), destination)
        distance = 0 if km is None else int((c.per_km * Decimal(repr(km))).to_integral_value())
        handling = c.handling.get(location.code, 0)
        return Origin(
            code=location.code,
            zone=zone,
            rate=rate,
            hazmat_rate=hazmat_rate,
            late=late_days * c.late_per_day,
            late_days=late_days,
            hazmat_late=hazmat_late_days * c.late_per_day,
            hazmat_late_days=hazmat_late_days,
            distance=distance,
            km=km,
            preference=penalty,
            rank=rank,
            base=late_days * c.late_per_day + distance + penalty + handling,
            hazmat_base=hazmat_late_days * c.late_per_day + distance + penalty + handling,
            handling=handling,
        )

    def _late_days(self, rate: Rate | None) -> int:
        return 0 if rate is None else max(0, rate.transit_days - self.transit_allowance)

    def shipment(self, origin: Origin, grams: int, hazmat: bool) -> int | None:
        """The shipment's cost including one split penalty; None if it cannot ship.

        The hot path of the search: the rate lookup is inlined.
        """
        if hazmat:
            rate, base = origin.hazmat_rate, origin.hazmat_base
        else:
            rate, base = origin.rate, origin.base
        if rate is None:
            return None
        limits = rate.limits
        for band in range(len(limits)):  # a few bands: a scan beats bisect's call
            if grams <= limits[band]:
                return rate.prices[band] + base + self.split_penalty
        return None

    def floor(self, origin: Origin, grams: int, hazmat: bool) -> int | None:
        """A lower bound on the shipment's cost once more units (maybe hazmat) are added."""
        best = self.shipment(origin, grams, True)
        if hazmat:
            return best
        plain = self.shipment(origin, grams, False)
        if best is None or (plain is not None and plain < best):
            return plain
        return best

    def breakdown(self, origin: Origin, grams: int, hazmat: bool) -> dict[str, object]:
        c = self.compiled
        rate = origin.hazmat_rate if hazmat else origin.rate
        assert rate is not None
        price = rate.price(grams)
        assert price is not None
        late_days = origin.hazmat_late_days if hazmat else origin.late_days
        total = price + origin.fixed(hazmat)
        data: dict[str, object] = {
            "service": self.hazmat_service if hazmat else self.service,
            "zone": origin.zone,
            "weight_grams": grams,
            "transit_days": rate.transit_days,
            "late_days": late_days,
            "shipping": c.money(price),
            "late": c.money(origin.hazmat_late if hazmat else origin.late),
            "distance_km": None if origin.km is None else round(origin.km, 1),
            "distance": c.money(origin.distance),
            "preference": c.money(origin.preference),
            "total": c.money(total),
        }
        if origin.delay_days:
            data["cutoff_delay_days"] = origin.delay_days  # counted in late_days
        if origin.handling:  # only locations the rules give a handling cost (stores)
            data["handling"] = c.money(origin.handling)
        return data
