"""Fulfilment storage: providers, fulfilment orders with their shipments, exceptions, SLA dates."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, Select, bindparam, select, update

from orderhub.clock import utc_now
from orderhub.domain.errors import Conflict, NotFound
from orderhub.domain.fulfilment import (
    FulfilmentLine,
    FulfilmentOrder,
    FulfilmentStatus,
    Shipment,
    TrackingStatus,
)
from orderhub.domain.ids import new_id
from orderhub.store import bulk
from orderhub.store import tables as t
from orderhub.store.queries import keyset_page
from orderhub.store.repositories import insert_ignoring_duplicates
from orderhub.store.secret_box import SecretBox, is_sealed, reseal

# Settings that are credentials (ShipStation's ``api_key``/``api_secret``): sealed one by one in
# the settings column — the others stay readable — and never shown in API answers.
SECRET_SETTINGS = frozenset({"api_key", "api_secret", "password", "token"})

# The statements the worker runs for every order it dispatches, built once (building a
# ``select(...).where(...)`` per call cost more CPU than SQLite running it).
_f, _s = t.fulfilment_orders, t.shipments
_PROVIDERS = select(t.fulfilment_providers).order_by(t.fulfilment_providers.c.code)
_FULFILMENT = select(_f).where(_f.c.id == bindparam("id"))
_FULFILMENT_FOR_UPDATE = _FULFILMENT.with_for_update()
_FOR_ORDER = (
    select(_f).where(_f.c.order_id == bindparam("order_id")).order_by(_f.c.created_at, _f.c.id)
)
_FOR_ORDERS = (
    select(_f)
    .where(_f.c.order_id.in_(bindparam("ids", expanding=True)))
    .order_by(_f.c.created_at, _f.c.id)
)
_SHIPMENTS_OF = (
    select(_s)
    .where(_s.c.fulfilment_id.in_(bindparam("ids", expanding=True)))
    .order_by(_s.c.shipped_at, _s.c.id)
)
_SHIPMENT_IDS = select(_s.c.id).where(_s.c.fulfilment_id == bindparam("id"))
_ORDER_VERSIONS = (
    select(t.orders.c.id, t.orders.c.version)
    .where(t.orders.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(t.orders.c.id)
)
_LOCK_ORDERS = _ORDER_VERSIONS.with_for_update()
_INSERT_FULFILMENT = _f.insert()
_SAVE_FULFILMENT = (
    update(_f)
    .where(_f.c.id == bindparam("b_id"), _f.c.version == bindparam("b_version"))
    .values(
        {
            name: bindparam(name, type_=_f.c[name].type)
            for name in ("version", "status", "external_ref", "reason", "lines", "updated_at")
        }
    )
)
_INSERT_SHIPMENT = _s.insert()
_SAVE_SHIPMENT = (
    update(_s)
    .where(_s.c.id == bindparam("b_id"))
    .values({name: bindparam(name, type_=_s.c[name].type) for name in ("status", "status_at")})
)


@dataclass
class ProviderConfig:
    """A configured fulfilment provider: which adapter (``kind``), its settings and secret."""

    code: str
    name: str
    kind: str
    settings: dict[str, Any]
    secret: str | None = None
    locations: list[str] | None = None
    active: bool = True


@dataclass(frozen=True)
class FulfilmentException:
    id: str
    kind: str
    order_id: str
    fulfilment_id: str | None
    detail: str
    suggested_action: str
    status: str
    created_at: datetime
    resolution: str | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None


class StaleFulfilment(Conflict):
    """Another transaction changed the fulfilment order first."""


class FulfilmentRepository:
    def __init__(self, conn: Connection, box: SecretBox) -> None:
        self._conn = conn
        self._box = box
        # The providers table, read once per transaction (every dispatch asks for it; it
        # changes by an operator's request): rows, so each caller gets its own configs.
        self._provider_rows: list[Row[Any]] | None = None

    def _providers(self) -> list[Row[Any]]:
        if self._provider_rows is None:
            self._provider_rows = list(self._conn.execute(_PROVIDERS))
        return self._provider_rows

    # -- providers -------------------------------------------------------------------------------
    def add_provider(self, provider: ProviderConfig) -> None:
        now = utc_now()
        row = {**self._provider_values(provider), "created_at": now, "updated_at": now}
        self._provider_rows = None
        if not insert_ignoring_duplicates(self._conn, t.fulfilment_providers, row):
            raise Conflict(f"provider {provider.code!r} exists already")

    def providers(self) -> list[ProviderConfig]:
        return [self._to_provider(r) for r in self._providers()]

    def providers_page(
        self, *, kind: str | None, active: bool | None, limit: int, cursor: str | None
    ) -> tuple[list[ProviderConfig], str | None]:
        """One page of providers by code."""
        p = t.fulfilment_providers
        stmt = select(p)
        if kind:
            stmt = stmt.where(p.c.kind == kind)
        if active is not None:
            stmt = stmt.where(p.c.active == active)
        rows, next_cursor = keyset_page(self._conn, stmt, p.c.code, limit=limit, cursor=cursor)
        return [self._to_provider(r) for r in rows], next_cursor

    def provider(self, code: str) -> ProviderConfig:
        for row in self._providers():
            if row.code == code:
                return self._to_provider(row)
        raise NotFound(f"provider {code!r} not found")

    def is_provider(self, code: str) -> bool:
        """Whether ``code`` is configured (the built-in ``warehouse`` may be overridden)."""
        return any(row.code == code for row in self._providers())

    def provider_for_location(self, location: str) -> ProviderConfig | None:
        """The active provider that lists ``location``; None: the location ships itself."""
        for row in self._providers():
            if row.active and location in (row.locations or []):
                return self._to_provider(row)
        return None

    def reseal_providers(self, *, rotate: bool) -> int:
        """Seal provider secrets and secret settings stored in clear; ``rotate``: re-seal all
        under the first key. Returns the values changed."""
        p = t.fulfilment_providers
        self._provider_rows = None
        changed = reseal(self._conn, p, {"secret": "text"}, self._box, rotate=rotate)
        for code, stored in self._conn.execute(select(p.c.code, p.c.settings).order_by(p.c.code)):
            settings = dict(stored or {})
            due = [
                name
                for name in SECRET_SETTINGS & settings.keys()
                if settings[name] not in (None, "") and (rotate or not is_sealed(settings[name]))
            ]
            for name in due:
                value = settings[name]
                settings[name] = (
                    self._box.reseal(value) if is_sealed(value) else self._box.seal_json(value)
                )
            if due:
                self._conn.execute(update(p).where(p.c.code == code).values(settings=settings))
                changed += len(due)
        return changed

    def _provider_values(self, provider: ProviderConfig) -> dict[str, Any]:
        box = self._box
        settings = {
            name: box.seal_json(value)
            if name in SECRET_SETTINGS and value not in (None, "")
            else value
            for name, value in provider.settings.items()
        }
        return {
            "code": provider.code,
            "name": provider.name,
            "kind": provider.kind,
            "settings": settings,
            "secret": box.seal(provider.secret) if provider.secret else None,
            "locations": provider.locations or [],
            "active": provider.active,
        }

    def _to_provider(self, row: Row[Any]) -> ProviderConfig:
        """Sealed values opened; ones stored in clear (before sealing) read as they are."""
        settings = {
            name: self._box.open_json(value) if name in SECRET_SETTINGS else value
            for name, value in (row.settings or {}).items()
        }
        return ProviderConfig(
            code=row.code,
            name=row.name,
            kind=row.kind,
            settings=settings,
            secret=self._box.open(row.secret) if row.secret else None,
            locations=row.locations or [],
            active=row.active,
        )

    # -- fulfilment orders -----------------------------------------------------------------------
    def add(self, fulfilment: FulfilmentOrder, *, into: list[dict[str, Any]] | None = None) -> None:
        """Insert a new fulfilment order (one without parcels); ``into``: keep its row there
        instead, to be inserted with others by :meth:`insert_kept` (at the commit)."""
        row = {
            "id": fulfilment.id,
            "order_id": fulfilment.order_id,
            "location": fulfilment.location,
            "provider": fulfilment.provider,
            "created_at": fulfilment.created_at,
            "version": 1,
            **self._mutable(fulfilment),
        }
        if into is not None:
            into.append(row)
        else:
            self._conn.execute(_INSERT_FULFILMENT, row)
        fulfilment.version = 1

    def insert_kept(self, rows: list[dict[str, Any]]) -> None:
        """Insert the rows :meth:`add` kept, in one statement (stored as ``add`` stores them)."""
        bulk.insert_rows(self._conn, _f, rows)

    def save(self, fulfilment: FulfilmentOrder) -> None:
        """Write status and new shipments; refuses if someone saved in between."""
        result = self._conn.execute(
            _SAVE_FULFILMENT,
            {
                "b_id": fulfilment.id,
                "b_version": fulfilment.version,
                "version": fulfilment.version + 1,
                **self._mutable(fulfilment),
            },
        )
        if result.rowcount != 1:
            raise StaleFulfilment(f"fulfilment {fulfilment.id} was changed concurrently; retry")
        fulfilment.version += 1
        if not fulfilment.shipments:
            return  # no parcel to write
        known = set(self._conn.execute(_SHIPMENT_IDS, {"id": fulfilment.id}).scalars())
        for shipment in fulfilment.shipments:
            values = {"status": shipment.status.value, "status_at": shipment.status_at}
            if shipment.id in known:
                self._conn.execute(_SAVE_SHIPMENT, {"b_id": shipment.id, **values})
                continue
            self._conn.execute(
                _INSERT_SHIPMENT,
                {
                    "id": shipment.id,
                    "fulfilment_id": fulfilment.id,
                    "order_id": fulfilment.order_id,
                    "carrier": shipment.carrier,
                    "service": shipment.service,
                    "tracking_number": shipment.tracking_number,
                    "lines": shipment.lines,
                    "shipped_at": shipment.shipped_at,
                    **values,
                },
            )

    @staticmethod
    def _mutable(fulfilment: FulfilmentOrder) -> dict[str, Any]:
        return {
            "status": fulfilment.status.value,
            "external_ref": fulfilment.external_ref,
            "reason": fulfilment.reason,
            "lines": [
                {"line_id": x.line_id, "sku": x.sku, "quantity": x.quantity}
                for x in fulfilment.lines
            ],
            "updated_at": utc_now(),
        }

    def get(self, fulfilment_id: str, *, for_update: bool = False) -> FulfilmentOrder:
        lock = for_update and self._conn.dialect.name == "postgresql"
        row = self._conn.execute(
            _FULFILMENT_FOR_UPDATE if lock else _FULFILMENT, {"id": fulfilment_id}
        ).first()
        if row is None:
            raise NotFound(f"fulfilment {fulfilment_id} not found")
        return self._load(row)

    def by_external_ref(self, provider: str, external_ref: str) -> FulfilmentOrder | None:
        f = t.fulfilment_orders
        row = self._conn.execute(
            select(f).where(f.c.provider == provider, f.c.external_ref == external_ref)
        ).first()
        return self._load(row) if row else None

    def by_tracking(self, provider: str, tracking_number: str) -> str | None:
        """The fulfilment id of ``provider``'s parcel with this tracking number."""
        f, s = t.fulfilment_orders, t.shipments
        return self._conn.execute(
            select(f.c.id)
            .join(s, s.c.fulfilment_id == f.c.id)
            .where(f.c.provider == provider, s.c.tracking_number == tracking_number)
            .limit(1)
        ).scalar()

    def for_order(self, order_id: str) -> list[FulfilmentOrder]:
        """The order's fulfilment orders, oldest first, with their shipments (two queries at
        most, not one per fulfilment order)."""
        return self._load_many(self._conn.execute(_FOR_ORDER, {"order_id": order_id}).all())

    def lock_orders(self, order_ids: Sequence[str], *, versions: bool = False) -> dict[str, int]:
        """Lock the rows of orders about to be fulfilled, in id order, on PostgreSQL (what
        reading each ``for_update`` would take one by one); SQLite's one writer holds them.
        ``versions``: also return the orders' versions as they are now (read on SQLite too),
        to tell which of the orders read before the transaction are still current."""
        if not order_ids:
            return {}
        if self._conn.dialect.name == "postgresql":
            found = self._conn.execute(_LOCK_ORDERS, {"ids": list(order_ids)})
        elif versions:
            found = self._conn.execute(_ORDER_VERSIONS, {"ids": list(order_ids)})
        else:
            return {}
        return {row.id: row.version for row in found} if versions else {}

    def for_orders(self, order_ids: Sequence[str]) -> dict[str, list[FulfilmentOrder]]:
        """:meth:`for_order` of several orders in two queries (a list page), not one per
        fulfilment order and its shipments."""
        found: dict[str, list[FulfilmentOrder]] = {order_id: [] for order_id in order_ids}
        if not order_ids:
            return found
        for fulfilment in self._load_many(
            self._conn.execute(_FOR_ORDERS, {"ids": list(order_ids)}).all()
        ):
            found[fulfilment.order_id].append(fulfilment)
        return found

    def search(
        self, *, status: str | None = None, location: str | None = None, limit: int = 100
    ) -> list[FulfilmentOrder]:
        f = t.fulfilment_orders
        stmt = select(f).order_by(f.c.created_at.desc(), f.c.id).limit(limit)
        if status:
            stmt = stmt.where(f.c.status == status)
        if location:
            stmt = stmt.where(f.c.location == location)
        return [self._load(r) for r in self._conn.execute(stmt).all()]

    def open_of_provider(
        self, provider: str, statuses: Collection[str], *, after: str | None, limit: int
    ) -> list[FulfilmentOrder]:
        """Up to ``limit`` of ``provider``'s fulfilment orders in ``statuses``, by id after
        ``after`` (a poll's pages: every one, each once), with their shipments (two reads)."""
        f = t.fulfilment_orders
        stmt = select(f).where(f.c.provider == provider, f.c.status.in_(sorted(statuses)))
        if after is not None:
            stmt = stmt.where(f.c.id > after)
        return self._load_many(self._conn.execute(stmt.order_by(f.c.id).limit(limit)).all())

    def _load_many(self, rows: Sequence[Row[Any]]) -> list[FulfilmentOrder]:
        """The fulfilment orders of ``rows``, their shipments read in one statement."""
        parcels: dict[str, list[Row[Any]]] = {row.id: [] for row in rows}
        if rows:
            for parcel in self._conn.execute(_SHIPMENTS_OF, {"ids": list(parcels)}):
                parcels[parcel.fulfilment_id].append(parcel)
        return [self._load(row, parcels[row.id]) for row in rows]

    def page(
        self,
        *,
        status: str | None,
        location: str | None,
        order_id: str | None,
        channel: str | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[FulfilmentOrder], str | None]:
        """One page of fulfilment orders, newest first (``channel``: its orders' only)."""
        f = t.fulfilment_orders
        stmt = select(f)
        if status:
            stmt = stmt.where(f.c.status == status)
        if location:
            stmt = stmt.where(f.c.location == location)
        if order_id:
            stmt = stmt.where(f.c.order_id == order_id)
        if channel:
            stmt = stmt.where(f.c.order_id.in_(_orders_of(channel)))
        rows, next_cursor = keyset_page(
            self._conn, stmt, f.c.id, limit=limit, cursor=cursor, newest_first=True
        )
        return [self._load(r) for r in rows], next_cursor

    def _load(self, row: Row[Any], shipments: Sequence[Row[Any]] | None = None) -> FulfilmentOrder:
        """The fulfilment order of ``row`` with its ``shipments`` (read here when not given)."""
        if shipments is None:
            shipments = self._conn.execute(_SHIPMENTS_OF, {"ids": [row.id]}).all()
        return FulfilmentOrder(
            id=row.id,
            order_id=row.order_id,
            location=row.location,
            provider=row.provider,
            lines=[FulfilmentLine(x["line_id"], x["sku"], int(x["quantity"])) for x in row.lines],
            created_at=row.created_at,
            status=FulfilmentStatus(row.status),
            external_ref=row.external_ref,
            reason=row.reason,
            shipments=[
                Shipment(
                    id=x.id,
                    fulfilment_id=row.id,
                    carrier=x.carrier,
                    service=x.service,
                    tracking_number=x.tracking_number,
                    lines={k: int(v) for k, v in x.lines.items()},
                    shipped_at=x.shipped_at,
                    status=TrackingStatus(x.status),
                    status_at=x.status_at,
                )
                for x in shipments
            ],
            version=row.version,
        )

    # -- exceptions ------------------------------------------------------------------------------
    def raise_exception(
        self,
        *,
        kind: str,
        order_id: str,
        fulfilment_id: str | None,
        detail: str,
        suggested_action: str,
        now: datetime,
    ) -> str:
        exception_id = new_id()
        self._conn.execute(
            t.fulfilment_exceptions.insert(),
            {
                "id": exception_id,
                "kind": kind,
                "order_id": order_id,
                "fulfilment_id": fulfilment_id,
                "detail": detail,
                "suggested_action": suggested_action,
                "status": "open",
                "created_at": now,
            },
        )
        return exception_id

    def exceptions(
        self, *, status: str | None = "open", limit: int = 200
    ) -> list[FulfilmentException]:
        e = t.fulfilment_exceptions
        stmt = select(e).order_by(e.c.created_at, e.c.id).limit(limit)
        if status:
            stmt = stmt.where(e.c.status == status)
        return [self._to_exception(r) for r in self._conn.execute(stmt).all()]

    def exceptions_page(
        self,
        *,
        status: str | None,
        kind: str | None,
        order_id: str | None,
        channel: str | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[FulfilmentException], str | None]:
        """One page of the exception queue, oldest first (``channel``: its orders' only)."""
        e = t.fulfilment_exceptions
        stmt = select(e)
        if status:
            stmt = stmt.where(e.c.status == status)
        if kind:
            stmt = stmt.where(e.c.kind == kind)
        if order_id:
            stmt = stmt.where(e.c.order_id == order_id)
        if channel:
            stmt = stmt.where(e.c.order_id.in_(_orders_of(channel)))
        rows, next_cursor = keyset_page(self._conn, stmt, e.c.id, limit=limit, cursor=cursor)
        return [self._to_exception(r) for r in rows], next_cursor

    def exception(self, exception_id: str) -> FulfilmentException:
        e = t.fulfilment_exceptions
        row = self._conn.execute(select(e).where(e.c.id == exception_id)).first()
        if row is None:
            raise NotFound(f"exception {exception_id} not found")
        return self._to_exception(row)

    def resolve_exception(
        self, exception_id: str, *, resolution: str, actor: str, now: datetime
    ) -> bool:
        """Close an open exception; False when it was closed already (a repeated request)."""
        e = t.fulfilment_exceptions
        result = self._conn.execute(
            update(e)
            .where(e.c.id == exception_id, e.c.status == "open")
            .values(status="resolved", resolution=resolution, resolved_by=actor, resolved_at=now)
        )
        return result.rowcount == 1

    @staticmethod
    def _to_exception(row: Row[Any]) -> FulfilmentException:
        return FulfilmentException(
            id=row.id,
            kind=row.kind,
            order_id=row.order_id,
            fulfilment_id=row.fulfilment_id,
            detail=row.detail,
            suggested_action=row.suggested_action,
            status=row.status,
            created_at=row.created_at,
            resolution=row.resolution,
            resolved_by=row.resolved_by,
            resolved_at=row.resolved_at,
        )

    # -- SLA dates on orders ---------------------------------------------------------------------
    def sla_dates(self, order_id: str) -> tuple[datetime | None, datetime | None]:
        o = t.orders.c
        row = self._conn.execute(select(o.ship_by, o.deliver_by).where(o.id == order_id)).first()
        return (row.ship_by, row.deliver_by) if row else (None, None)

    def mark_sla_fired(self, order_id: str, *, column: str, now: datetime) -> bool:
        """Stamp ``sla_at_risk_at``/``sla_breached_at`` once; False when another run did."""
        col = t.orders.c[column]
        result = self._conn.execute(
            update(t.orders).where(t.orders.c.id == order_id, col.is_(None)).values({column: now})
        )
        return result.rowcount == 1


def _orders_of(channel: str) -> Select[tuple[str]]:
    """The ids of ``channel``'s orders, for lists a channel-scoped key may read."""
    return select(t.orders.c.id).where(t.orders.c.channel_code == channel)
