"""Channels: the sales channels orders come from, their secrets and their SKU maps."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from fastapi import APIRouter, Depends, Response
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    StrictBool,
    field_validator,
)

from orderhub.api.deps import ContainerDep, require, visible_to
from orderhub.api.schemas.bounded import Flag, StockLevel
from orderhub.api.schemas.pages import Cursor, Limit, Page
from orderhub.domain.access import Permission
from orderhub.domain.channels import Channel, ChannelKind, has_userinfo, without_userinfo
from orderhub.domain.errors import FieldError, NotFound, ValidationFailed
from orderhub.domain.sla import parse_policy
from orderhub.http.ssrf import check_target
from orderhub.store.access import Principal

router = APIRouter(prefix="/channels", tags=["channels"])

Reader = Annotated[Principal, Depends(require(Permission.CHANNELS_READ))]
Writer = Annotated[Principal, Depends(require(Permission.CHANNELS_WRITE))]
CODE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
SYNC_BACK = (
    "false: the channel only brings orders in; nothing is sent back to it (no ship, stock, "
    "acknowledge, cancel, refund or return call, no B2B document)"
)


def _no_userinfo(url: HttpUrl) -> HttpUrl:
    if has_userinfo(str(url)):
        raise ValueError("must not contain a user name or password: put them in credentials")
    return url


ApiBaseUrl = Annotated[HttpUrl, AfterValidator(_no_userinfo)]


def _settings_without_sync_back(settings: dict[str, Any] | None) -> dict[str, Any] | None:
    if settings is not None and "sync_back" in settings:
        raise ValueError("sync_back is a field of the channel itself, not of its settings")
    return settings


class ChannelSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    kind: ChannelKind
    webhook_secret: str | None = Field(default=None, min_length=8, description="write-only")
    api_base_url: ApiBaseUrl | None = None
    credentials: dict[str, Any] = Field(default_factory=dict, description="write-only")
    safety_stock: StockLevel = 0
    sla: dict[str, Any] = Field(default_factory=dict)
    locations_allowed: list[str] | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    active: Flag = True
    sync_back: StrictBool = Field(default=True, description=SYNC_BACK)

    _settings = field_validator("settings")(_settings_without_sync_back)


class ChannelIn(ChannelSettings):
    code: str = Field(pattern=CODE_PATTERN)


class ChannelPatch(BaseModel):
    """Only the fields given change; ``null`` clears the webhook secret, the API base URL or
    the location allow-list, and is refused for the others."""

    model_config = ConfigDict(extra="forbid")
    NOT_NULL: ClassVar[frozenset[str]] = frozenset(
        {"name", "credentials", "safety_stock", "sla", "settings", "active", "sync_back"}
    )

    name: str | None = Field(default=None, min_length=1, max_length=200)
    webhook_secret: str | None = Field(default=None, min_length=8)
    api_base_url: ApiBaseUrl | None = None
    credentials: dict[str, Any] | None = None
    safety_stock: StockLevel | None = None
    sla: dict[str, Any] | None = None
    locations_allowed: list[str] | None = None
    settings: dict[str, Any] | None = None
    active: Flag | None = None
    sync_back: StrictBool | None = Field(default=None, description=SYNC_BACK)

    _settings = field_validator("settings")(_settings_without_sync_back)

    def changes(self) -> dict[str, Any]:
        """The fields given, as JSON; ValidationFailed names each ``null`` that may not be."""
        changes = self.model_dump(mode="json", exclude_unset=True)
        nulls = sorted(n for n in self.NOT_NULL if n in changes and changes[n] is None)
        if nulls:
            raise ValidationFailed(
                "these fields cannot be cleared",
                [FieldError((n,), "must not be null", "null") for n in nulls],
            )
        return changes


class ChannelOut(BaseModel):
    code: str
    name: str
    kind: ChannelKind
    webhook_secret_set: bool
    api_base_url: str | None
    credential_keys: list[str]
    safety_stock: int
    sla: dict[str, Any]
    locations_allowed: list[str] | None
    settings: dict[str, Any]
    active: bool
    sync_back: bool

    @classmethod
    def of(cls, channel: Channel) -> ChannelOut:
        url = channel.api_base_url
        return cls(
            code=channel.code,
            name=channel.name,
            kind=channel.kind,
            webhook_secret_set=bool(channel.webhook_secret),
            api_base_url=without_userinfo(url) if url else None,  # a row from before the check
            credential_keys=sorted(channel.credentials),
            safety_stock=channel.safety_stock,
            sla=channel.sla,
            locations_allowed=channel.locations_allowed,
            settings=channel.settings,
            active=channel.active,
            sync_back=channel.sync_back,
        )


class SkuMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel_sku: str = Field(min_length=1, max_length=200)
    sku: str = Field(min_length=1, max_length=128)


class SkuMapIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mappings: list[SkuMapping] = Field(min_length=1, max_length=10_000)


def _visible(principal: Principal, code: str) -> None:
    if not visible_to(principal, code):
        raise NotFound(f"channel {code!r} not found")


@router.post("", status_code=201, response_model=ChannelOut)
def create_channel(
    body: ChannelIn, principal: Writer, container: ContainerDep, response: Response
) -> ChannelOut:
    values = body.model_dump(mode="json")
    if url := values.get("api_base_url"):
        check_target(url, container.settings.outbound_allowed_hosts, field=("api_base_url",))
    parse_policy(body.sla)  # an invalid SLA policy answers 422 with its field paths
    channel = Channel(**{**values, "kind": body.kind})
    with container.uow(actor=principal.actor) as uow:
        uow.channels.add(channel)
        uow.commit()
    response.headers["Location"] = f"/v1/channels/{channel.code}"
    return ChannelOut.of(channel)


@router.get("", response_model=Page[ChannelOut])
def list_channels(
    principal: Reader,
    container: ContainerDep,
    kind: ChannelKind | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ChannelOut]:
    """Channels by code; a channel-scoped key sees its own only."""
    with container.uow(read_only=True) as uow:
        found, next_cursor = uow.channels.page(
            kind=kind.value if kind else None,
            code=principal.channel,
            limit=limit,
            cursor=cursor,
        )
    return Page(items=[ChannelOut.of(c) for c in found], next_cursor=next_cursor)


@router.get("/{code}", response_model=ChannelOut)
def get_channel(code: str, principal: Reader, container: ContainerDep) -> ChannelOut:
    _visible(principal, code)
    with container.uow(read_only=True) as uow:
        return ChannelOut.of(uow.channels.get(code))


@router.patch("/{code}", response_model=ChannelOut)
def patch_channel(
    code: str, body: ChannelPatch, principal: Writer, container: ContainerDep
) -> ChannelOut:
    _visible(principal, code)
    changes = body.changes()
    if url := changes.get("api_base_url"):
        check_target(url, container.settings.outbound_allowed_hosts, field=("api_base_url",))
    if changes.get("sla"):
        parse_policy(changes["sla"])  # an invalid SLA policy answers 422 with its field paths
    with container.uow(actor=principal.actor) as uow:
        channel = uow.channels.get(code)
        for name, value in changes.items():
            setattr(channel, name, value)
        uow.channels.save(channel)
        if {"safety_stock", "locations_allowed", "active"} & changes.keys():
            uow.availability.touch_all()  # available-to-sell may change for every SKU
        uow.commit()
    return ChannelOut.of(channel)


@router.post("/{code}/sku-map", status_code=200)
def map_skus(
    code: str, body: SkuMapIn, principal: Writer, container: ContainerDep
) -> dict[str, int]:
    """Map channel SKUs to master SKUs (create or replace); then replay quarantined orders."""
    _visible(principal, code)
    with container.uow(actor=principal.actor) as uow:
        uow.channels.get(code)
        known = uow.catalog.known_skus({m.sku for m in body.mappings})
        unknown = [
            FieldError(("mappings", i, "sku"), f"unknown SKU {m.sku!r}", "unknown_sku")
            for i, m in enumerate(body.mappings)
            if m.sku not in known
        ]
        if unknown:
            raise ValidationFailed("mappings name unknown master SKUs", unknown)
        for mapping in body.mappings:
            uow.catalog.map_sku(code, mapping.channel_sku, mapping.sku)
        uow.commit()
    return {"mapped": len(body.mappings)}
