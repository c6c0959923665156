"""Hard constraints: which locations may serve this order, and which lines each may ship.

A location is excluded (with a stable ``reason`` code and a human ``detail``) when it is
inactive, on manual hold, does not serve the destination, is not allowed for the channel, has
reached its daily capacity, is past its cut-off for the channel's promised ship date, or has no
rate to the destination for the order's service. A *line* is kept from a location by SKU
compliance (hazmat: not from listed locations, and only where the hazmat service has a rate),
and from every location when its product is restricted at the destination.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from orderhub.domain.allocation import AllocationRequest, RequestedLine
from orderhub.domain.channels import Channel
from orderhub.domain.locations import Location
from orderhub.domain.routing.cost import CompiledRules, region_key
from orderhub.domain.routing.rules import SlaTier

INACTIVE = "inactive"
ON_HOLD = "on_hold"
NOT_SERVING_DESTINATION = "does_not_serve_destination"
NOT_ALLOWED_FOR_CHANNEL = "not_allowed_for_channel"
CAPACITY_REACHED = "capacity_reached"
PAST_CUTOFF = "past_cutoff"
NO_RATE = "no_rate_to_destination"
HAZMAT_EXCLUDED = "hazmat_excluded_location"
HAZMAT_NO_SERVICE = "hazmat_service_unavailable"
RESTRICTED_DESTINATION = "restricted_at_destination"


@dataclass(frozen=True)
class Exclusion:
    location: str | None  # None: the line may go from nowhere
    reason: str
    detail: str
    line_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        data = {"location": self.location, "reason": self.reason, "detail": self.detail}
        if self.line_id is not None:
            data["line_id"] = self.line_id
        return data


def is_hazmat(line: RequestedLine) -> bool:
    return bool(line.attributes.get("hazmat"))


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def cutoff_deadline(location: Location, placed_at: datetime, tier: SlaTier) -> datetime | None:
    """When the promised ship date's cut-off passes at ``location`` (its local time)."""
    if location.cutoff is None:
        return None
    tz = _zone(location.timezone)
    ship_date = placed_at.astimezone(tz).date() + timedelta(days=tier.ship_within_days)
    return datetime.combine(ship_date, location.cutoff, tzinfo=tz)


def cutoff_delay(location: Location, request: AllocationRequest, tier: SlaTier) -> int:
    """Days past the promised ship date that ``location`` can still ship (0: it keeps it).

    Its earliest ship date is today, local time, if today's cut-off has not passed, else
    tomorrow."""
    deadline = cutoff_deadline(location, request.placed_at, tier)
    if deadline is None or location.cutoff is None or request.now <= deadline:
        return 0
    local = request.now.astimezone(_zone(location.timezone))
    earliest = local.date() + timedelta(days=1 if local.time() > location.cutoff else 0)
    return max(1, (earliest - deadline.date()).days)


def _serves(location: Location, serves_regions: list[str] | None, keys: tuple[str, ...]) -> bool:
    if not keys:
        return True
    if location.serves_countries is not None and not any(
        k in location.serves_countries for k in keys
    ):
        return False
    return serves_regions is None or any(k in serves_regions for k in keys)


def standing_exclusion(
    compiled: CompiledRules,
    channel: Channel,
    location: Location,
    country: str | None,
    region: str | None,  # as ``region_key`` spells them: what lanes are remembered by
) -> Exclusion | None:
    """The first constraint ``location`` breaks for any order of this channel to this
    destination, whenever it is placed: inactive, on hold, not serving it, not allowed."""
    code, rules = location.code, compiled.rules
    own = rules.locations.get(code)
    channel_rules = rules.channels.get(channel.code)
    if not location.active:
        return Exclusion(code, INACTIVE, "location is inactive")
    if own is not None and own.hold:
        return Exclusion(code, ON_HOLD, own.hold_reason or "manual hold in the routing rules")
    keys = tuple(k for k in (country, region) if k)
    if not _serves(location, own.serves_regions if own else None, keys):
        where = f"{country}/{region or '-'}" if country else "-"
        return Exclusion(code, NOT_SERVING_DESTINATION, f"does not ship to {where}")
    allowed = (
        location.may_serve(channel.code)
        and (channel.locations_allowed is None or code in channel.locations_allowed)
        and (
            channel_rules is None
            or (
                (channel_rules.allowed_locations is None or code in channel_rules.allowed_locations)
                and code not in channel_rules.excluded_locations
            )
        )
    )
    if not allowed:
        return Exclusion(code, NOT_ALLOWED_FOR_CHANNEL, f"not allowed for channel {channel.code}")
    return None


def daily_exclusion(
    compiled: CompiledRules,
    request: AllocationRequest,
    location: Location,
    tier: SlaTier,
) -> Exclusion | None:
    """The constraint of the day: the location's daily capacity, or its cut-off has passed."""
    code = location.code
    if location.cutoff is None and location.daily_capacity is None and code not in compiled.capped:
        return None  # most locations have neither: this runs per location and decision
    own = compiled.rules.locations.get(code)
    capacity = own.daily_capacity if own and own.daily_capacity is not None else None
    capacity = location.daily_capacity if capacity is None else capacity
    if capacity is not None:
        done = request.orders_today.get(code, 0)
        if done >= capacity:
            return Exclusion(code, CAPACITY_REACHED, f"{done} of {capacity} orders today")
    if location.cutoff is None:
        return None
    deadline = cutoff_deadline(location, request.placed_at, tier)
    if deadline is not None and request.now > deadline:
        return Exclusion(
            code, PAST_CUTOFF, f"cut-off for the promised ship date was {deadline.isoformat()}"
        )
    return None


def restriction(
    compiled: CompiledRules, request: AllocationRequest, line: RequestedLine
) -> str | None:
    """Why ``line`` may not go to the destination at all (product attributes or rules)."""
    attrs = line.attributes
    if not attrs:
        return None  # nothing about the product to restrict
    country, region = region_key(request.destination)
    if country is None:
        return None
    keys = {country} | ({region} if region else set())
    for attr in ("restricted_countries", "restricted_regions"):
        listed = attrs.get(attr) or []
        if isinstance(listed, list | tuple) and keys & {str(x).upper() for x in listed}:
            return f"{line.sku} is restricted at {', '.join(sorted(keys & set(map(str, listed))))}"
    for rule in compiled.rules.compliance.restrictions:
        if attrs.get(rule.attribute) and (
            country in rule.countries or (region is not None and region in rule.regions)
        ):
            return f"{line.sku} ({rule.attribute}) may not ship to {region or country}"
    return None


class Screen:
    """The outcome of the hard constraints for one request (a plain class: see LineSpec)."""

    def __init__(self) -> None:
        self.candidates: list[Location] = []
        self.positions: list[int] = []  # each candidate's index in the request
        self.excluded: list[Exclusion] = []
        self.line_excluded: list[Exclusion] = []
        self.blocked: set[tuple[str, str]] = set()  # (line id, location)
        self.unroutable: list[Exclusion] = []
        self.past_cutoff: list[Exclusion] = []  # excluded, or (relaxed) kept with a delay
        self.delays: dict[str, int] = {}  # relaxed: candidate → days past the promised date


def screen(
    compiled: CompiledRules,
    request: AllocationRequest,
    tier: SlaTier,
    standing: Sequence[Exclusion | None],
    *,
    enforce_cutoff: bool = True,
) -> Screen:
    """Apply every constraint; ``standing[n]`` is ``standing_exclusion`` of location n.

    ``enforce_cutoff=False`` (``cutoff_policy: ship_late``, when no plan within every cut-off
    exists): a location past its cut-off stays a candidate, its delay in ``delays`` (the
    planner prices it as late days)."""
    result = Screen()
    for position, (location, exclusion) in enumerate(zip(request.locations, standing, strict=True)):
        found = exclusion or daily_exclusion(compiled, request, location, tier)
        if found is not None and found.reason == PAST_CUTOFF:
            result.past_cutoff.append(found)
            if not enforce_cutoff:
                result.delays[location.code] = cutoff_delay(location, request, tier)
                found = None
        if found is None:
            result.candidates.append(location)
            result.positions.append(position)
        else:
            result.excluded.append(found)
    hazmat_out = compiled.rules.compliance.hazmat_excluded_locations
    for line in request.lines:
        why = restriction(compiled, request, line)
        if why is not None:
            result.unroutable.append(Exclusion(None, RESTRICTED_DESTINATION, why, line.line_id))
            continue
        if hazmat_out and is_hazmat(line):
            for location in result.candidates:
                if location.code in hazmat_out:
                    result.blocked.add((line.line_id, location.code))
                    result.line_excluded.append(
                        Exclusion(
                            location.code,
                            HAZMAT_EXCLUDED,
                            f"{line.sku} is hazmat; this location may not ship hazmat",
                            line.line_id,
                        )
                    )
    return result
