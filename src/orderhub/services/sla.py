"""SLA clocks: stamp ``ship_by``/``deliver_by`` at ingest; fire at-risk and breached once each."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from orderhub.domain import events
from orderhub.domain.errors import ValidationFailed
from orderhub.domain.orders import OPEN_STATUSES
from orderhub.domain.sla import SlaPolicy, SlaState, parse_policy
from orderhub.store import tables as t
from orderhub.store.unit_of_work import UnitOfWork

MAX_AT_RISK_HOURS = 72  # how far ahead check_sla looks for orders coming due


def dates_for(
    raw_policy: dict[str, Any], placed_at: datetime
) -> tuple[datetime | None, datetime | None]:
    """(ship_by, deliver_by) for an order placed at ``placed_at`` under a channel's raw SLA
    policy; (None, None) without a policy. Ingest writes them with the order's row."""
    policy = _parse(raw_policy)
    if policy is None or not policy.promises_shipping:
        return None, None
    ship_by = policy.ship_by(placed_at)
    return ship_by, policy.deliver_by(ship_by)


def policy_of(uow: UnitOfWork, channel: str) -> SlaPolicy | None:
    return _parse(uow.channels.get(channel).sla)


def _parse(raw: dict[str, Any]) -> SlaPolicy | None:
    if not raw:
        return None
    try:
        return parse_policy(raw)
    except ValidationFailed:
        return None  # an invalid policy must not stop orders (the channels API refuses one)


def check_sla(uow: UnitOfWork, *, now: datetime) -> dict[str, int]:
    """Fire ``order.sla_at_risk`` and ``order.sla_breached`` once per unshipped order; commits.

    Safe to run from several workers at once: each firing is a guarded ``UPDATE … WHERE
    sla_*_at IS NULL``, so only one run records the event.
    """
    o = t.orders.c
    rows = uow.conn.execute(
        select(o.id, o.channel_code, o.ship_by, o.sla_at_risk_at, o.sla_breached_at)
        .where(
            o.ship_by.is_not(None),
            o.ship_by <= now + timedelta(hours=MAX_AT_RISK_HOURS),
            o.sla_breached_at.is_(None),
            o.status.in_([s.value for s in OPEN_STATUSES]),
        )
        .order_by(o.ship_by, o.id)
    ).all()
    policies: dict[str, SlaPolicy | None] = {}
    fired = {"at_risk": 0, "breached": 0}
    for row in rows:
        if row.channel_code not in policies:
            policies[row.channel_code] = policy_of(uow, row.channel_code)
        policy = policies[row.channel_code]
        state = policy.state(row.ship_by, now) if policy else SlaState.ON_TRACK
        if state == SlaState.ON_TRACK:
            continue
        order = uow.orders.get(row.id)
        if row.sla_at_risk_at is None and _fire(uow, row.id, "sla_at_risk_at", now):
            order.events.append(events.OrderSlaAtRisk(row.id, row.ship_by))
            fired["at_risk"] += 1
        if state == SlaState.BREACHED and _fire(uow, row.id, "sla_breached_at", now):
            order.events.append(events.OrderSlaBreached(row.id, row.ship_by))
            fired["breached"] += 1
    uow.commit()
    return fired


def _fire(uow: UnitOfWork, order_id: str, column: str, now: datetime) -> bool:
    return uow.fulfilment.mark_sla_fired(order_id, column=column, now=now)
