"""Reports: orders and revenue per channel and day, as JSON or CSV.

``GET /v1/reports/orders-by-channel-day?from=2026-11-01&to=2026-11-30`` (UTC days, inclusive;
default the last 30 days). ``?format=csv`` or ``Accept: text/csv`` answers CSV. Revenue excludes
cancelled orders and is given per currency; a channel-scoped key sees its own channel only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from orderhub.api.csv_out import csv_attachment
from orderhub.api.deps import ContainerDep, require
from orderhub.api.schemas.bounded import Day
from orderhub.clock import utc_now
from orderhub.domain.access import Permission
from orderhub.domain.errors import FieldError, ValidationFailed
from orderhub.store import reports
from orderhub.store.access import Principal

router = APIRouter(prefix="/reports", tags=["reports"])
Reader = Annotated[Principal, Depends(require(Permission.ORDERS_READ))]
DEFAULT_DAYS = 30
MAX_DAYS = 366
CSV_COLUMNS = ["day", "channel", "currency", "orders", "cancelled", "revenue"]


def parse_range(start: date | None, end: date | None) -> tuple[date, date]:
    """Inclusive UTC days; the default is the last 30 days up to today."""
    end = end or utc_now().date()
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise ValidationFailed(
            "the range is empty", [FieldError(("query", "from"), "must not be after 'to'")]
        )
    if (end - start).days + 1 > MAX_DAYS:
        raise ValidationFailed(
            "the range is too long",
            [FieldError(("query", "from"), f"at most {MAX_DAYS} days per report")],
        )
    return start, end


def csv_response(rows: Sequence[reports.ChannelDay], *, start: date, end: date) -> Response:
    filename = f"orders-by-channel-day_{start.isoformat()}_{end.isoformat()}.csv"
    return csv_attachment(
        filename,
        CSV_COLUMNS,
        (
            [row.day.isoformat(), row.channel, row.currency, row.orders, row.cancelled,
             str(row.revenue)]
            for row in rows
        ),
    )  # fmt: skip


class ChannelDayOut(BaseModel):
    day: date
    channel: str
    currency: str
    orders: int
    cancelled: int
    revenue: str


class OrdersByChannelDay(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    rows: list[ChannelDayOut]


def wants_csv(request: Request, format_: str | None) -> bool:
    if format_ is not None:
        return format_ == "csv"
    accept = request.headers.get("accept", "")
    return "text/csv" in accept and "application/json" not in accept


@router.get(
    "/orders-by-channel-day",
    response_model=OrdersByChannelDay,
    responses={200: {"content": {"text/csv": {}}}},
)
def orders_by_channel_day(
    request: Request,
    principal: Reader,
    container: ContainerDep,
    from_: Annotated[Day | None, Query(alias="from")] = None,
    to: Day | None = None,
    channel: str | None = None,
    format_: Annotated[Literal["json", "csv"] | None, Query(alias="format")] = None,
) -> OrdersByChannelDay | Response:
    """Orders placed and cancelled, and revenue (cancelled excluded) per UTC day and channel."""
    start, end = parse_range(from_, to)
    if principal.channel:
        channel = principal.channel
    with container.uow(read_only=True) as uow:
        rows = reports.orders_by_channel_day(uow.conn, start=start, end=end, channel=channel)
    if wants_csv(request, format_):
        return csv_response(rows, start=start, end=end)
    return OrdersByChannelDay(
        from_=start,
        to=end,
        rows=[
            ChannelDayOut(
                day=r.day,
                channel=r.channel,
                currency=r.currency,
                orders=r.orders,
                cancelled=r.cancelled,
                revenue=str(r.revenue),
            )
            for r in rows
        ],
    )
