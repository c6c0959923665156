"""How an outbound channel call is made and judged, for the outbox worker.

Calls are made once per delivery attempt (no sleeping inside the worker): a 429, a 5xx or a
transport error raises :class:`ChannelBusy`, which the worker retries with its own backoff;
any other 4xx will never succeed and raises the worker's ``PermanentFailure`` so the delivery
dead-letters at once. Every client goes through the SSRF guard unless the container injected
a transport (tests).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from orderhub.channels import _shared, base, marketplaces
from orderhub.channels.api_client import ApiClient, ChannelApiError
from orderhub.channels.http import RETRY_STATUSES, channel_client, send
from orderhub.domain.channels import Channel, without_userinfo
from orderhub.domain.errors import ValidationFailed
from orderhub.http.outbound import TransportFactory as TransportFactory  # re-exported
from orderhub.http.ssrf import OutboundRefused

# The store connectors and the marketplaces each have their own (identical) request type.
Request = base.OutboundRequest | _shared.OutboundRequest


class ChannelBusy(Exception):
    """The channel could not take the call now (429, 5xx, unreachable): retry later."""


def refused(message: str) -> Exception:
    """The worker's ``PermanentFailure`` (imported late: the worker imports the consumers)."""
    from orderhub.workers.targets import PermanentFailure

    return PermanentFailure(message)


def unreachable(where: str, error: httpx.TransportError) -> Exception:
    """A network error is retried; a target the SSRF guard refuses never will be reachable."""
    if isinstance(error, OutboundRefused):
        return refused(f"{where}: {error}")
    return ChannelBusy(f"{where}: {error!r}")


def judge(response: httpx.Response) -> httpx.Response:
    """Return a success; raise retryable for 429/5xx, permanent for any other error."""
    if response.is_success:
        return response
    where = f"{response.request.method} {without_userinfo(str(response.request.url))}"
    text = f"{where} answered {response.status_code}: {response.text[:300]}"
    if response.status_code in RETRY_STATUSES or response.status_code >= 500:
        raise ChannelBusy(text)
    raise refused(text)


class StoreCalls:
    """Calls to a store platform (Shopify, WooCommerce, BigCommerce, Adobe Commerce)."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def __call__(self, request: base.OutboundRequest) -> Any:
        try:
            response = send(self.client, request, attempts=1)
        except httpx.TransportError as error:
            raise unreachable(f"{request.method} {request.path}", error) from error
        judge(response)
        return response.json() if response.content else None


@contextmanager
def store_calls(channel: Channel, transport: TransportFactory) -> Iterator[StoreCalls]:
    with channel_client(channel, transport=transport()) as client:
        yield StoreCalls(client)


class MarketplaceCalls:
    """Calls through a marketplace's own client (tokens, signing, pacing), one attempt each."""

    def __init__(self, module: Any, api: ApiClient) -> None:
        self.module = module
        self.api = api

    def __call__(self, request: Request) -> Any:
        try:
            response: httpx.Response = self.module.send(self.api, request)
        except ChannelApiError as error:
            if error.status in RETRY_STATUSES or error.status >= 500:
                raise ChannelBusy(str(error)) from error
            raise refused(str(error)) from error
        except httpx.TransportError as error:
            raise unreachable(f"{request.method} {request.path}", error) from error
        return response.json() if response.content else None

    def get(self, path: str, *, api: str) -> Any:
        try:
            return self.api.call("GET", path, api=api).json()
        except ChannelApiError as error:
            if error.status in RETRY_STATUSES or error.status >= 500:
                raise ChannelBusy(str(error)) from error
            raise refused(str(error)) from error
        except httpx.TransportError as error:
            raise unreachable(f"GET {path}", error) from error


@contextmanager
def marketplace_calls(channel: Channel, transport: TransportFactory) -> Iterator[MarketplaceCalls]:
    module = marketplaces.module_for(channel)
    try:
        api: ApiClient = module.client(channel, transport=transport(), attempts=1)
    except ValidationFailed as error:  # credentials missing: no retry will find them
        raise refused(f"channel {channel.code}: {error}") from error
    with api.http:
        yield MarketplaceCalls(module, api)
