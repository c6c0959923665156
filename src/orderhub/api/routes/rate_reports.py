"""Rate reports and the reconciliation report, as JSON or CSV (``?format=csv`` or
``Accept: text/csv``), per channel for orders placed between ``from`` and ``to`` (UTC days).

- ``/v1/reports/fill-rate``: units allocated or further, of the units not cancelled.
- ``/v1/reports/split-rate``: routed orders reserved at more than one location.
- ``/v1/reports/on-time-ship-rate``: first shipment no later than the SLA ship-by.
- ``/v1/reports/return-rate``: 0 with a note until the hub records returns.
- ``/v1/reports/rates``: all four in one table.
- ``/v1/reports/reconciliation``: orders whose channel-stated total differs from the hub's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from orderhub.api.csv_out import csv_attachment
from orderhub.api.deps import ContainerDep, require
from orderhub.api.routes.reports import parse_range, wants_csv
from orderhub.api.schemas.bounded import Day
from orderhub.domain.access import Permission
from orderhub.store import ops_reports
from orderhub.store.access import Principal

router = APIRouter(prefix="/reports", tags=["reports"])
Reader = Annotated[Principal, Depends(require(Permission.ORDERS_READ))]
From = Annotated[Day | None, Query(alias="from")]
Format = Annotated[Literal["json", "csv"] | None, Query(alias="format")]
REPORTS: dict[str, list[str]] = {
    "fill-rate": ["channel", "orders", "ordered_units", "filled_units", "fill_rate"],
    "split-rate": ["channel", "routed_orders", "split_orders", "split_rate"],
    "on-time-ship-rate": [
        "channel", "shipped_with_promise", "shipped_on_time", "on_time_ship_rate",
    ],
    "return-rate": ["channel", "orders", "returned_orders", "return_rate"],
    "rates": ["channel", "orders", "ordered_units", "filled_units", "fill_rate", "routed_orders",
              "split_orders", "split_rate", "shipped_with_promise", "shipped_on_time",
              "on_time_ship_rate", "returned_orders", "return_rate"],
}  # fmt: skip
RECONCILIATION_COLUMNS = [
    "channel", "order_id", "external_id", "placed_at", "currency", "channel_total", "hub_total",
    "difference",
]  # fmt: skip


def to_csv(name: str, columns: Sequence[str], rows: Sequence[dict[str, Any]], start: date,
           end: date) -> Response:  # fmt: skip
    return csv_attachment(
        f"{name}_{start}_{end}.csv", columns, ([row[c] for c in columns] for row in rows)
    )


def rate_rows(
    container: ContainerDep, principal: Principal, start: date, end: date, channel: str | None
) -> list[dict[str, Any]]:
    with container.uow(read_only=True) as uow:
        rows = ops_reports.channel_rates(
            uow.conn, start=start, end=end, channel=principal.channel or channel
        )
    return [asdict(r) for r in rows]


def reconciliation_rows(
    container: ContainerDep, principal: Principal, start: date, end: date, channel: str | None
) -> list[dict[str, Any]]:
    with container.uow(read_only=True) as uow:
        found = ops_reports.reconciliation(
            uow.conn, start=start, end=end, channel=principal.channel or channel
        )
    return [
        {
            "channel": m.channel,
            "order_id": m.order_id,
            "external_id": m.external_id,
            "placed_at": m.placed_at.isoformat(),
            "currency": m.hub_total.currency,
            "channel_total": m.channel_total,
            "hub_total": f"{m.hub_total.amount:f}",
            "difference": m.difference,
        }
        for mismatches in found.values()
        for m in mismatches
    ]


@router.get("/reconciliation", responses={200: {"content": {"text/csv": {}}}})
def reconciliation(
    request: Request,
    principal: Reader,
    container: ContainerDep,
    from_: From = None,
    to: Day | None = None,
    channel: str | None = None,
    format_: Format = None,
) -> Any:
    """Per channel, the orders whose channel-stated total differs from the hub's total."""
    start, end = parse_range(from_, to)
    rows = reconciliation_rows(container, principal, start, end, channel)
    if wants_csv(request, format_):
        return to_csv("reconciliation", RECONCILIATION_COLUMNS, rows, start, end)
    by_channel: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_channel.setdefault(row["channel"], []).append(row)
    return {"from": start, "to": end, "channels": by_channel}


def _rate_route(name: str, columns: list[str]) -> None:
    def report(
        request: Request,
        principal: Reader,
        container: ContainerDep,
        from_: From = None,
        to: Day | None = None,
        channel: str | None = None,
        format_: Format = None,
    ) -> Any:
        start, end = parse_range(from_, to)
        rows = [
            {c: r[c] for c in columns} for r in rate_rows(container, principal, start, end, channel)
        ]
        if wants_csv(request, format_):
            return to_csv(name, columns, rows, start, end)
        body: dict[str, Any] = {"from": start, "to": end, "rows": rows}
        return body

    report.__doc__ = f"The {name.replace('-', ' ')} per channel (JSON or CSV)."
    router.add_api_route(f"/{name}", report, methods=["GET"], name=f"report_{name}",
                         responses={200: {"content": {"text/csv": {}}}})  # fmt: skip


for _name, _columns in REPORTS.items():
    _rate_route(_name, _columns)
