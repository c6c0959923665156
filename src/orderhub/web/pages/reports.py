"""Reports for signed-in users: a page with the rates and the reconciliation, and CSV
downloads (the same data as ``GET /v1/reports/...``)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from orderhub.api.deps import ContainerDep
from orderhub.api.routes.rate_reports import (
    RECONCILIATION_COLUMNS,
    REPORTS,
    rate_rows,
    reconciliation_rows,
    to_csv,
)
from orderhub.api.routes.reports import csv_response, parse_range
from orderhub.domain.access import Permission
from orderhub.domain.errors import ValidationFailed
from orderhub.store import reports
from orderhub.web.auth import Viewer, page
from orderhub.web.charts import Swatch, rate_chart, stacked_bars
from orderhub.web.templating import render

router = APIRouter()
Reader = Annotated[Viewer, Depends(page(Permission.ORDERS_READ))]


@router.get("/reports/orders-by-channel-day.csv")
def orders_by_channel_day_csv(
    viewer: Reader,
    container: ContainerDep,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
) -> Response:
    start, end = parse_range(from_, to)
    with container.uow(read_only=True) as uow:
        rows = reports.orders_by_channel_day(
            uow.conn, start=start, end=end, channel=viewer.principal.channel
        )
    return csv_response(rows, start=start, end=end)


@router.get("/reports")
def reports_page(
    request: Request,
    viewer: Reader,
    container: ContainerDep,
    from_: Annotated[str, Query(alias="from", max_length=10)] = "",
    to: Annotated[str, Query(max_length=10)] = "",
) -> Response:
    error = None
    try:
        start, end = parse_range(_day(from_), _day(to))
    except (ValueError, ValidationFailed):
        start, end, error = *parse_range(None, None), "That range was not valid; showing 30 days."
    rates = rate_rows(container, viewer.principal, start, end, None)
    mismatches = reconciliation_rows(container, viewer.principal, start, end, None)
    context = {
        **_charts(container, viewer, start, end, rates),
        "start": start,
        "end": end,
        "rates": rates,
        "mismatches": mismatches,
        "csv_reports": [name for name in REPORTS if name != "rates"],
        "error": error,
    }
    return render(request, "reports.html", context, viewer=viewer)


# The rates drawn as charts: (column, name); on-time has no value without a promise.
RATE_CHARTS = [
    ("fill_rate", "Fill rate"),
    ("split_rate", "Split rate"),
    ("on_time_ship_rate", "On-time ship rate"),
    ("return_rate", "Return rate"),
]


def _charts(
    container: ContainerDep, viewer: Viewer, start: date, end: date, rates: list[dict[str, Any]]
) -> dict[str, Any]:
    """Orders per channel per day over the range, and a bar chart per rate: the tables' numbers
    drawn, each channel in the colour and fill it has on every chart."""
    channel = viewer.principal.channel
    with container.uow(read_only=True) as uow:
        rows = reports.orders_by_channel_day(uow.conn, start=start, end=end, channel=channel)
        every = [channel] if channel else sorted(c.code for c in uow.channels.list())
    counts: dict[tuple[date, str], int] = defaultdict(int)
    for row in rows:
        counts[(row.day, row.channel)] += row.orders
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    chart = stacked_bars(days, dict(counts), every)
    rate_charts = [
        rate_chart(
            name,
            [
                (r["channel"], None if key == "on_time_ship_rate" and not r["shipped_with_promise"]
                 else float(r[key]))
                for r in rates
            ],
            every,
        )
        for key, name in RATE_CHARTS
    ]  # fmt: skip
    patterns: dict[int, Swatch] = {p.key: p for p in chart.patterns}
    for drawn in rate_charts:
        patterns.update((p.key, p) for p in drawn.patterns)
    return {
        "chart": chart,
        "rate_charts": rate_charts if rates else [],
        "patterns": [patterns[k] for k in sorted(patterns)],
    }


def _day(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


@router.get("/reports/{name}.csv")
def report_csv(
    name: str,
    viewer: Reader,
    container: ContainerDep,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
) -> Response:
    start, end = parse_range(from_, to)
    if name == "reconciliation":
        rows = reconciliation_rows(container, viewer.principal, start, end, None)
        return to_csv(name, RECONCILIATION_COLUMNS, rows, start, end)
    columns = REPORTS.get(name)
    if columns is None:
        return Response("no such report", status_code=404, media_type="text/plain")
    rows = [
        {c: r[c] for c in columns} for r in rate_rows(container, viewer.principal, start, end, None)
    ]
    return to_csv(name, columns, rows, start, end)
