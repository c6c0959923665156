"""The fulfilment provider interface: every warehouse, 3PL or shipping platform fits it.

A provider turns a :class:`DispatchRequest` into work at its location (``dispatch``), can take
it back (``cancel``), and translates what the location tells us — a signed callback or a poll —
into :data:`ProviderUpdate` values. The service layer applies those to the domain; a provider
never touches the database, so a new provider is one module plus a line in the registry.

Errors::

    ProviderError           the provider could not be reached or refused the call (retried)
     └── PermanentProviderError  retrying cannot help (bad credentials, invalid request)
    InvalidCallback         a callback failed its signature or shape check (answer 401/422)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from orderhub.domain.fulfilment import FulfilmentOrder, TrackingStatus
from orderhub.domain.orders import Address


class ProviderError(Exception):
    """A call to the provider failed; the outbox worker retries the dispatch."""


class PermanentProviderError(ProviderError):
    """Retrying will not help: the request or the configuration is wrong."""


class InvalidCallback(Exception):
    """A callback that is not from the provider (bad signature) or cannot be read."""

    def __init__(self, detail: str, *, unauthorized: bool = True) -> None:
        super().__init__(detail)
        self.detail = detail
        self.unauthorized = unauthorized


@dataclass(frozen=True)
class DispatchLine:
    line_id: str
    sku: str
    quantity: int
    name: str | None = None


@dataclass(frozen=True)
class DispatchRequest:
    """Everything a location needs to pick, pack and ship one fulfilment order."""

    fulfilment_id: str
    order_id: str
    order_number: str  # the channel's external id: what appears on the packing slip
    channel: str
    location: str
    placed_at: datetime
    lines: tuple[DispatchLine, ...]
    ship_to: Address | None
    customer_name: str | None = None
    customer_email: str | None = None
    shipping_method: str | None = None


@dataclass(frozen=True)
class DispatchResult:
    """``accepted`` None: the provider will answer later (callback or poll)."""

    external_ref: str | None
    accepted: bool | None = None
    reason: str | None = None
    stock_out: bool = False


@dataclass(frozen=True)
class Accepted:
    fulfilment_id: str


@dataclass(frozen=True)
class Rejected:
    fulfilment_id: str
    reason: str
    stock_out: bool = False


@dataclass(frozen=True)
class Shipped:
    """A parcel left; ``lines`` None means every unit still owed."""

    fulfilment_id: str
    carrier: str
    tracking_number: str | None
    shipped_at: datetime
    service: str | None = None
    lines: Mapping[str, int] | None = None
    skus: Mapping[str, int] | None = None  # when the provider knows SKUs, not our line ids


@dataclass(frozen=True)
class TrackingUpdate:
    tracking_number: str
    status: TrackingStatus
    at: datetime
    detail: str | None = None


ProviderUpdate = Accepted | Rejected | Shipped | TrackingUpdate


@dataclass(frozen=True)
class Callback:
    """An inbound HTTP callback as the API received it (raw body: signatures cover bytes)."""

    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    query: Mapping[str, str] = field(default_factory=dict)


class FulfilmentProvider(Protocol):
    code: str
    # Whether the hub asks it for updates (``poll``, every minute) rather than being called
    # back: only these have their open fulfilment orders read for a poll.
    polled: bool

    def dispatch(self, request: DispatchRequest) -> DispatchResult: ...

    def cancel(self, fulfilment: FulfilmentOrder) -> None: ...

    def handle_callback(self, callback: Callback) -> list[ProviderUpdate]: ...

    def poll(
        self, open_fulfilments: Sequence[FulfilmentOrder], now: datetime
    ) -> list[ProviderUpdate]:
        """Updates the provider has for these fulfilments; push-only providers return []."""
        ...


@runtime_checkable
class UpdatableProvider(Protocol):
    """A provider that can change a fulfilment order it holds (new ship-to address, shipping
    method) in place. Providers without ``update`` are edited by cancel-and-recreate."""

    def update(self, fulfilment: FulfilmentOrder, request: DispatchRequest) -> None: ...


def can_update(provider: FulfilmentProvider) -> bool:
    """True when ``provider`` changes a fulfilment order in place (an order edit)."""
    return isinstance(provider, UpdatableProvider)
