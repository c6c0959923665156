"""Channels: each sales channel's settings at a glance (whether it is active, whether the hub
syncs back to it), with its order and quarantine counts and, for pull channels, when it last
synced and the last error."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from orderhub.api.deps import ContainerDep
from orderhub.domain.access import Permission
from orderhub.store import ops_reports, reports
from orderhub.web.auth import Viewer, page
from orderhub.web.pages.overview import today
from orderhub.web.templating import render

router = APIRouter()
Reader = Annotated[Viewer, Depends(page(Permission.CHANNELS_READ))]


@router.get("/channels")
def list_channels(request: Request, viewer: Reader, container: ContainerDep) -> Response:
    with container.uow(read_only=True) as uow:
        channels = [c for c in uow.channels.list() if viewer.principal.channel in (None, c.code)]
        activity = reports.channel_activity(uow.conn, today=today())
        sync = ops_reports.channel_sync(uow.conn)
    context = {"channels": channels, "activity": activity, "sync": sync,
               "can_deliveries": viewer.can(Permission.DELIVERIES_READ),
               "empty": reports.ChannelActivity(0, 0, 0, 0, None)}  # fmt: skip
    return render(request, "channels.html", context, viewer=viewer)
