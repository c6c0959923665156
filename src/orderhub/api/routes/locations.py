"""Locations: warehouses, stores, 3PLs and drop-shippers that hold stock and fill orders."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, Response
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    field_validator,
)

from orderhub.api.deps import ContainerDep, require
from orderhub.api.schemas.bounded import Flag, LocalTime, Rank, StockLevel
from orderhub.api.schemas.pages import Cursor, Limit, Page
from orderhub.domain.access import Permission
from orderhub.domain.errors import FieldError, ValidationFailed
from orderhub.domain.locations import Location, LocationAddress, LocationKind
from orderhub.store.access import Principal
from orderhub.store.locations import store_from_json, store_json

router = APIRouter(prefix="/locations", tags=["locations"])

Reader = Annotated[Principal, Depends(require(Permission.INVENTORY_READ))]
Writer = Annotated[Principal, Depends(require(Permission.INVENTORY_WRITE))]
CODE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
_REQUIRED = frozenset(
    {"name", "kind", "address", "timezone", "active", "provider", "priority", "settings"}
)


class AddressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")
    region: str | None = Field(default=None, max_length=100)
    postal_code: str | None = Field(default=None, max_length=32)
    city: str | None = Field(default=None, max_length=200)
    line1: str | None = Field(default=None, max_length=300)
    latitude: StrictFloat | None = Field(default=None, ge=-90, le=90)
    longitude: StrictFloat | None = Field(default=None, ge=-180, le=180)


def _check_timezone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {value!r}") from None
    return value


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
ClockTime = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", examples=["09:00"])]


class StoreIn(BaseModel):
    """A store's own settings (``kind: store`` only); its daily order capacity is the
    location's ``daily_capacity``."""

    model_config = ConfigDict(extra="forbid")

    opening_hours: dict[Weekday, tuple[ClockTime, ClockTime]] = Field(
        default_factory=dict,
        description='local ["opens", "closes"] per day; a day not listed is closed',
        examples=[{"mon": ["09:00", "20:00"], "sat": ["10:00", "18:00"]}],
    )
    pickup_enabled: Flag = True
    ship_from_store: Flag = True
    safety_stock: StockLevel = Field(
        default=0, description="units of each SKU kept back from every channel"
    )
    pickup_hold_days: StrictInt = Field(
        default=7, ge=1, le=60, description="days a ready pick-up waits before it expires"
    )

    @field_validator("opening_hours")
    @classmethod
    def _opens_before_it_closes(
        cls, hours: dict[str, tuple[str, str]]
    ) -> dict[str, tuple[str, str]]:
        wrong = [day for day, (opens, closes) in hours.items() if opens >= closes]
        if wrong:
            raise ValueError(f"opening time must be before closing time on {', '.join(wrong)}")
        return hours


def _store_in(store: StoreIn | None) -> Any:
    return None if store is None else store_from_json(store.model_dump())


def _check_store(location: Location, *, given: bool) -> None:
    """Store settings belong to stores; a store without any gets the defaults."""
    if location.kind == LocationKind.STORE:
        if location.store is None:
            location.store = store_from_json({})
    elif location.store is not None:
        if given:
            raise ValidationFailed(
                "store settings are for stores",
                [FieldError(("store",), "only a location of kind 'store' has store settings")],
            )
        location.store = None  # the kind changed away from store: its settings go with it


class LocationPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: LocationKind | None = None
    address: AddressIn | None = None
    timezone: str | None = Field(default=None, examples=["Europe/Berlin"])
    active: Flag | None = None
    channels: list[str] | None = Field(default=None, description="null: every channel")
    serves_countries: list[str] | None = None
    daily_capacity: StockLevel | None = None
    cutoff: LocalTime | None = Field(default=None, description="local order cut-off, HH:MM")
    provider: str | None = Field(default=None, min_length=1, max_length=64)
    priority: Rank | None = Field(default=None, description="lower is preferred")
    settings: dict[str, Any] | None = None
    store: StoreIn | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return _check_timezone(value)


class LocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=CODE_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    kind: LocationKind
    address: AddressIn
    timezone: str = "UTC"
    active: Flag = True
    channels: list[str] | None = None
    serves_countries: list[str] | None = None
    daily_capacity: StockLevel | None = None
    cutoff: LocalTime | None = Field(default=None, description="local order cut-off, HH:MM")
    provider: str = Field(default="warehouse", min_length=1, max_length=64)
    priority: Rank = 100
    settings: dict[str, Any] = Field(default_factory=dict)
    store: StoreIn | None = Field(default=None, description="kind store only; see docs/stores.md")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return _check_timezone(value)

    def to_location(self) -> Location:
        values = self.model_dump(exclude={"address", "store"})
        location = Location(
            **values,
            address=LocationAddress(**self.address.model_dump()),
            store=_store_in(self.store),
        )
        _check_store(location, given=self.store is not None)
        return location


class LocationOut(LocationIn):
    @classmethod
    def of(cls, location: Location) -> LocationOut:
        return cls(
            code=location.code,
            name=location.name,
            kind=location.kind,
            address=AddressIn(**vars(location.address)),
            timezone=location.timezone,
            active=location.active,
            channels=location.channels,
            serves_countries=location.serves_countries,
            daily_capacity=location.daily_capacity,
            cutoff=location.cutoff,
            provider=location.provider,
            priority=location.priority,
            settings=location.settings,
            store=StoreIn.model_validate(store_json(location.store)) if location.store else None,
        )


@router.post("", status_code=201, response_model=LocationOut)
def create_location(
    body: LocationIn, principal: Writer, container: ContainerDep, response: Response
) -> LocationOut:
    location = body.to_location()
    with container.uow(actor=principal.actor) as uow:
        uow.locations.add(location)
        uow.commit()
    response.headers["Location"] = f"/v1/locations/{location.code}"
    return LocationOut.of(location)


@router.get("", response_model=Page[LocationOut])
def list_locations(
    principal: Reader,
    container: ContainerDep,
    kind: LocationKind | None = None,
    active: bool | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[LocationOut]:
    """Locations by code."""
    with container.uow(read_only=True) as uow:
        found, next_cursor = uow.locations.page(
            kind=kind.value if kind else None, active=active, limit=limit, cursor=cursor
        )
    return Page(items=[LocationOut.of(loc) for loc in found], next_cursor=next_cursor)


@router.get("/{code}", response_model=LocationOut)
def get_location(code: str, principal: Reader, container: ContainerDep) -> LocationOut:
    with container.uow(read_only=True) as uow:
        return LocationOut.of(uow.locations.get(code))


@router.patch("/{code}", response_model=LocationOut)
def patch_location(
    code: str, body: LocationPatch, principal: Writer, container: ContainerDep
) -> LocationOut:
    """Change some fields; channels, activity and priority change what channels may sell."""
    changes = body.model_dump(exclude_unset=True)
    with container.uow(actor=principal.actor) as uow:
        location = uow.locations.get(code)
        for name, value in changes.items():
            if value is None and name in _REQUIRED:
                continue  # null for a field that must have a value: left as it is
            if name == "address":
                value = LocationAddress(**value)
            if name == "store":
                value = _store_in(body.store)
            setattr(location, name, value)
        _check_store(location, given=body.store is not None)
        uow.locations.save(location)
        uow.availability.touch_all()
        uow.commit()
    return LocationOut.of(location)
