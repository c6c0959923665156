"""Channels: each sales channel's settings at a glance (whether it is active, whether the hub
syncs back to it), with its order and quarantine counts and, for pull channels, when it last
synced and the last error."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import func, select
from starlette.responses import Response

from orderhub.api.deps import ContainerDep
from orderhub.channels import inbound
from orderhub.channels.api_client import ChannelApiError
from orderhub.channels.marketplaces import is_marketplace
from orderhub.domain.access import Permission
from orderhub.domain.errors import NotFound, OrderHubError, ValidationFailed
from orderhub.http.outbound import failure_text
from orderhub.services.channel_sync import sync_now
from orderhub.store import ops_reports, reports
from orderhub.store.quarantine import QuarantineStatus
from orderhub.store.tables import quarantine
from orderhub.web.auth import Viewer, page
from orderhub.web.pages.overview import today
from orderhub.web.templating import render

router = APIRouter()
Reader = Annotated[Viewer, Depends(page(Permission.CHANNELS_READ))]
Writer = Annotated[Viewer, Depends(page(Permission.CHANNELS_WRITE))]
log = logging.getLogger(__name__)
NOTICES = {
    "paused": "The channel is paused: its webhooks are refused and it is not polled.",
    "resumed": "The channel is active again.",
}


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


def _visible(viewer: Viewer, code: str) -> bool:
    return viewer.principal.channel in (None, code)


def _not_found(request: Request, viewer: Viewer) -> Response:
    context = {"title": "Channel not found", "message": "No such channel is visible to you."}
    return render(request, "error.html", context, viewer=viewer, status_code=404)


def pulls(channel: Any) -> bool:
    """Whether the hub fetches this channel's orders (a marketplace, Adobe Commerce, …)."""
    return is_marketplace(channel) or inbound.accepts_sync(channel)


def _channel_page(
    request: Request,
    container: ContainerDep,
    viewer: Viewer,
    code: str,
    *,
    notice: str | None = None,
    error: str | None = None,
    report: dict[str, int] | None = None,
    status_code: int = 200,
) -> Response:
    if not _visible(viewer, code):
        return _not_found(request, viewer)
    with container.uow(read_only=True) as uow:
        try:
            channel = uow.channels.get(code)
        except NotFound:
            return _not_found(request, viewer)
        activity = reports.channel_activity(uow.conn, today=today())
        sync = ops_reports.channel_sync(uow.conn).get(code)
        history = uow.sync_cursors.errors(code)
        q = quarantine.c
        open_quarantine = uow.conn.execute(
            select(func.count()).where(
                q.channel_code == code, q.status == QuarantineStatus.OPEN.value
            )
        ).scalar_one()
    context = {
        "channel": channel,
        "a": activity.get(code, reports.ChannelActivity(0, 0, 0, 0, None)),
        "sync": sync,
        "history": history,
        "open_quarantine": open_quarantine,
        "pulls": pulls(channel),
        "can_write": viewer.can(Permission.CHANNELS_WRITE),
        "can_quarantine": viewer.can(Permission.QUARANTINE_READ),
        "notice": notice,
        "error": error,
        "report": report,
    }
    return render(request, "channel.html", context, viewer=viewer, status_code=status_code)


@router.get("/channels/{code}")
def channel_page(
    request: Request,
    code: str,
    viewer: Reader,
    container: ContainerDep,
    notice: str | None = None,
) -> Response:
    return _channel_page(request, container, viewer, code, notice=NOTICES.get(notice or ""))


@router.post("/channels/{code}/sync")
def sync(request: Request, code: str, viewer: Writer, container: ContainerDep) -> Response:
    if not _visible(viewer, code):
        return _not_found(request, viewer)
    with container.uow(read_only=True) as uow:
        try:
            channel = uow.channels.get(code)
        except NotFound:
            return _not_found(request, viewer)
    if not pulls(channel):
        return _channel_page(request, container, viewer, code, status_code=422,
                             error="This channel pushes its orders (webhooks or the API); "
                                   "there is nothing to pull.")  # fmt: skip
    try:
        counts = sync_now(
            lambda: container.uow(actor=viewer.actor),
            channel,
            transport=container.outbound_transport(),
        ).counts
    except (httpx.HTTPError, ChannelApiError) as error:
        log.warning("sync of channel %r failed: %s", code, error)
        return _channel_page(request, container, viewer, code, status_code=502,
                             error=f"The sync failed: {failure_text(error)}")  # fmt: skip
    except ValidationFailed as refused:  # incomplete settings: nothing was called or recorded
        fixes = "; ".join(f"{field.field}: {field.message}" for field in refused.fields)
        return _channel_page(request, container, viewer, code, status_code=422,
                             error=f"Cannot sync: {refused.detail} ({fixes}).")  # fmt: skip
    except OrderHubError as error:
        return _channel_page(request, container, viewer, code, status_code=409,
                             error=f"The sync failed: {error.detail}")  # fmt: skip
    return _channel_page(request, container, viewer, code, report=counts,
                         notice="Synced now.")  # fmt: skip


def _set_active(
    request: Request, container: ContainerDep, viewer: Viewer, code: str, *, active: bool
) -> Response:
    """Pause or resume, as ``PATCH /v1/channels/{code}`` with ``active`` does."""
    if not _visible(viewer, code):
        return _not_found(request, viewer)
    with container.uow(actor=viewer.actor) as uow:
        try:
            channel = uow.channels.get(code)
        except NotFound:
            return _not_found(request, viewer)
        if channel.active != active:
            uow.channels.save(replace(channel, active=active))
            uow.availability.touch_all()  # available-to-sell changes for every SKU
        uow.commit()
    notice = "resumed" if active else "paused"
    return RedirectResponse(f"/channels/{code}?notice={notice}", status_code=303)


@router.post("/channels/{code}/pause")
def pause(request: Request, code: str, viewer: Writer, container: ContainerDep) -> Response:
    return _set_active(request, container, viewer, code, active=False)


@router.post("/channels/{code}/resume")
def resume(request: Request, code: str, viewer: Writer, container: ContainerDep) -> Response:
    return _set_active(request, container, viewer, code, active=True)
