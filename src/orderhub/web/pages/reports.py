"""Report downloads for signed-in users (the same data as ``GET /v1/reports/...``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from orderhub.api.deps import ContainerDep
from orderhub.api.routes.reports import csv_response, parse_range
from orderhub.domain.access import Permission
from orderhub.store import reports
from orderhub.web.auth import Viewer, page

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
