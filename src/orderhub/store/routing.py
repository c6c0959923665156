"""Routing rule versions: append-only documents, exactly one active (a partial unique index)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, select, update
from sqlalchemy.exc import IntegrityError

from orderhub.clock import utc_now
from orderhub.domain.errors import Conflict, NotFound
from orderhub.store import config_cache
from orderhub.store import tables as t
from orderhub.store.config_cache import Rows, Stamps

_STAMPED_ACTIVE = config_cache.stamped(
    t.routing_rule_versions, where=t.routing_rule_versions.c.active.is_(True)
)


@dataclass(frozen=True)
class RuleVersion:
    version: int
    rules: dict[str, Any]
    author: str
    comment: str | None
    created_at: datetime
    active: bool
    activated_at: datetime | None = None
    activated_by: str | None = None


class RoutingRuleRepository:
    def __init__(self, conn: Connection, stamps: Stamps | None = None) -> None:
        self._conn = conn
        self._stamps = stamps if stamps is not None else Stamps(conn)

    def active(self) -> RuleVersion | None:
        """The active version, from the process's configuration cache (store/config_cache.py):
        every allocating transaction asks for it."""
        return config_cache.cached(
            self._conn, self._stamps, t.routing_rule_versions, _read_active, _active
        )

    def get(self, version: int) -> RuleVersion:
        row = self._conn.execute(
            select(t.routing_rule_versions).where(t.routing_rule_versions.c.version == version)
        ).first()
        if row is None:
            raise NotFound(f"routing rule version {version} not found")
        return _version(row)

    def history(self, *, limit: int = 100, before: int | None = None) -> list[RuleVersion]:
        table = t.routing_rule_versions
        stmt = select(table).order_by(table.c.version.desc()).limit(limit)
        if before is not None:
            stmt = stmt.where(table.c.version < before)
        return [_version(row) for row in self._conn.execute(stmt)]

    def add(self, rules: dict[str, Any], *, author: str, comment: str | None) -> RuleVersion:
        """Append a version and make it the active one (a concurrent writer gets Conflict)."""
        table = t.routing_rule_versions
        latest = self._conn.execute(select(func.max(table.c.version))).scalar_one_or_none()
        now = utc_now()
        version = (latest or 0) + 1
        self._stamps.wrote()
        try:
            with self._conn.begin_nested():
                self._deactivate()
                self._conn.execute(
                    table.insert().values(
                        version=version,
                        rules=rules,
                        author=author,
                        comment=comment,
                        created_at=now,
                        active=True,
                        activated_at=now,
                        activated_by=author,
                    )
                )
        except IntegrityError:
            raise Conflict("routing rules were changed concurrently; retry") from None
        return self.get(version)

    def activate(self, version: int, *, actor: str) -> RuleVersion:
        self.get(version)
        table = t.routing_rule_versions
        self._stamps.wrote()
        try:
            with self._conn.begin_nested():
                self._deactivate()
                self._conn.execute(
                    update(table)
                    .where(table.c.version == version)
                    .values(active=True, activated_at=utc_now(), activated_by=actor)
                )
        except IntegrityError:
            raise Conflict("routing rules were changed concurrently; retry") from None
        return self.get(version)

    def _deactivate(self) -> None:
        table = t.routing_rule_versions
        self._conn.execute(update(table).where(table.c.active.is_(True)).values(active=False))


def _read_active(conn: Connection) -> Rows:
    return conn.execute(_STAMPED_ACTIVE).all()


def _active(rows: Rows) -> RuleVersion | None:
    return _version(rows[0]) if rows else None


def _version(row: Row[Any]) -> RuleVersion:
    return RuleVersion(
        version=row.version,
        rules=row.rules,
        author=row.author,
        comment=row.comment,
        created_at=row.created_at,
        active=row.active,
        activated_at=row.activated_at,
        activated_by=row.activated_by,
    )
