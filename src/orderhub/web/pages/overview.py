"""The overview: today's orders and revenue, the backlog, quarantine, orders per channel per day.

The live part is its own fragment (``/overview/live``) that htmx re-fetches every few seconds.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from orderhub.api.deps import ContainerDep
from orderhub.clock import utc_now
from orderhub.domain.access import Permission
from orderhub.services.sla import policy_of
from orderhub.store import ops_reports, reports
from orderhub.web.auth import Viewer, page
from orderhub.web.charts import lead_time_bars, stacked_bars
from orderhub.web.templating import render

router = APIRouter()
Reader = Annotated[Viewer, Depends(page(Permission.ORDERS_READ))]
CHART_DAYS = 14
REFRESH_SECONDS = 15


def today() -> date:
    return utc_now().date()


def overview_context(container: ContainerDep, viewer: Viewer) -> dict[str, Any]:
    day = today()
    start = day - timedelta(days=CHART_DAYS - 1)
    channel = viewer.principal.channel
    with container.uow(read_only=True) as uow:
        numbers = reports.overview(uow.conn, today=day, channel=channel)
        rows = reports.orders_by_channel_day(uow.conn, start=start, end=day, channel=channel)
        sla = ops_reports.sla_counts(
            uow.conn, now=utc_now(), channel=channel, policy_for=lambda c: policy_of(uow, c)
        )
        exceptions = ops_reports.open_exceptions(uow.conn, channel=channel)
        lead = ops_reports.lead_times(uow.conn, start=start, end=day, channel=channel)
        every = [channel] if channel else sorted(c.code for c in uow.channels.list())
    counts: dict[tuple[date, str], int] = defaultdict(int)
    for row in rows:
        counts[(row.day, row.channel)] += row.orders
    days = [start + timedelta(days=n) for n in range(CHART_DAYS)]
    return {
        "numbers": numbers,
        "orders_today_total": sum(numbers.orders_today.values()),
        "backlog_total": sum(numbers.backlog.values()),
        "chart": stacked_bars(days, dict(counts), every),
        "sla": sla,
        "open_exceptions": exceptions,
        "lead": lead_time_bars(days, {r.day: (r.average_hours, r.shipped) for r in lead}),
        "chart_from": start,
        "chart_to": day,
        "refresh_seconds": REFRESH_SECONDS,
        "updated_at": utc_now(),
    }


@router.get("/")
def overview(request: Request, viewer: Reader, container: ContainerDep) -> Response:
    context = overview_context(container, viewer)
    return render(request, "overview.html", context, viewer=viewer)


@router.get("/overview/live")
def overview_live(request: Request, viewer: Reader, container: ContainerDep) -> Response:
    """The fragment htmx polls: the same numbers and chart, without the page around them."""
    context = overview_context(container, viewer)
    return render(request, "_overview_live.html", context, viewer=viewer)
