"""Reports for signed-in users: a page with the rates and the reconciliation, and CSV
downloads (the same data as ``GET /v1/reports/...``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

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
        "start": start,
        "end": end,
        "rates": rates,
        "mismatches": mismatches,
        "csv_reports": [name for name in REPORTS if name != "rates"],
        "error": error,
    }
    return render(request, "reports.html", context, viewer=viewer)


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
