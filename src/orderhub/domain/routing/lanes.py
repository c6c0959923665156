"""Lanes: each location as one channel's orders to one destination see it, worked out once.

Whether a location may serve (active, not on hold, ships there, allowed for the channel), its
zone, its rate for the tier's service and the hazmat service, its lateness, its distance and
its rank do not change from one order to the next; only stock, daily capacity and the cut-off
do. A rule version keeps the lanes per (locations, channel, destination, SLA tier) so a
decision only does the per-order work. The key holds every location field a lane reads, so an
edited location (another warehouse, new coordinates, a channel list) gets new lanes.
"""

from __future__ import annotations

from dataclasses import dataclass

from orderhub.domain.allocation import AllocationRequest
from orderhub.domain.locations import Location
from orderhub.domain.routing.constraints import Exclusion, standing_exclusion
from orderhub.domain.routing.cost import CompiledRules, CostModel, Origin, region_key

_MOST = 4096  # lanes kept per rule version before they are worked out afresh


@dataclass(frozen=True)
class Lane:
    standing: Exclusion | None  # why the location may never serve these orders, if so
    origin: Origin | None  # None: no zone from it to the destination


def location_key(location: Location) -> tuple[object, ...]:
    """Every field of a location that a lane depends on."""
    a = location.address
    return (
        location.code,
        location.active,
        location.priority,
        None if location.channels is None else tuple(location.channels),
        None if location.serves_countries is None else tuple(location.serves_countries),
        a.latitude,
        a.longitude,
    )


def lanes(
    compiled: CompiledRules, request: AllocationRequest, tier: str, model: CostModel
) -> tuple[Lane, ...]:
    """The lanes of ``request.locations`` (same order) for its channel, destination and tier."""
    channel = request.channel
    allowed = None if channel.locations_allowed is None else tuple(channel.locations_allowed)
    country, region = region_key(request.destination)
    places = tuple(location_key(location) for location in request.locations)
    key = (places, channel.code, allowed, country, region, tier)
    found = compiled.lanes.get(key)
    if found is None:
        found = _work_out(compiled, request, model)
        if len(compiled.lanes) >= _MOST:
            compiled.lanes.clear()
        compiled.lanes[key] = found
    return found


def _work_out(
    compiled: CompiledRules, request: AllocationRequest, model: CostModel
) -> tuple[Lane, ...]:
    channel, destination = request.channel, request.destination
    country, region = region_key(destination)
    coords = compiled.rules.coordinates
    point = coords.get(region or "") or coords.get(country or "")
    channel_rules = compiled.rules.channels.get(channel.code)
    priority = channel_rules.location_priority if channel_rules else []
    penalties = compiled.penalties.get(channel.code, {})
    out = []
    for location in request.locations:
        standing = standing_exclusion(compiled, channel, location, country, region)
        zone = compiled.zone(location.code, country, region)
        origin = None
        if zone is not None:
            code = location.code
            rank = priority.index(code) if code in priority else len(priority)
            origin = model.origin(
                location,
                zone,
                point,
                penalty=penalties.get(code, 0),
                rank=rank * 10_000 + location.priority,
            )
        out.append(Lane(standing, origin))
    return tuple(out)
