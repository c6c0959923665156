"""The one wiring point: settings → engine, secret box → unit-of-work factory."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from orderhub.clock import Clock, utc_now
from orderhub.config import Settings, load_settings
from orderhub.http.outbound import outbound_transport
from orderhub.services.group_ingest import GroupIngest
from orderhub.store.db import make_engine
from orderhub.store.secret_box import SecretBox, load_secret_box
from orderhub.store.unit_of_work import UnitOfWork


@dataclass
class Container:
    settings: Settings
    engine: Engine
    secret_box: SecretBox  # seals channel credentials and webhook secrets in the database
    # Outbound HTTP to channels goes through this transport when set (tests: MockTransport).
    http_transport: httpx.BaseTransport | None = None
    # Every "now" the API and services stamp (tests inject a fake clock here and in the worker).
    clock: Clock = utc_now
    # Single-order ingest of this process, requests grouped into shared transactions.
    order_intake: GroupIngest = field(init=False)

    def __post_init__(self) -> None:
        self.order_intake = GroupIngest(
            lambda actor: self.uow(actor=actor),
            allocate=self.settings.allocate_on_ingest,
            max_group=self.settings.ingest_group_max,
        )

    def uow(self, *, actor: str = "system", read_only: bool = False) -> UnitOfWork:
        return UnitOfWork(
            self.engine,
            actor=actor,
            read_only=read_only,
            secret_box=self.secret_box,
            clock=self.clock,
            outbound=self.outbound_transport,
        )

    def outbound_transport(self) -> httpx.BaseTransport:
        """What every outbound call goes through: the injected transport (tests), else the
        SSRF guard with ``ORDERHUB_OUTBOUND_ALLOWED_HOSTS`` as its only exceptions."""
        return outbound_transport(self.http_transport, self.settings.outbound_allowed_hosts)

    def close(self) -> None:
        self.order_intake.close()  # what is queued answered, its drainer ended: then the pool
        self.engine.dispose()

    def __enter__(self) -> Container:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def bootstrap(settings: Settings | None = None, **engine_kwargs: Any) -> Container:
    settings = settings or load_settings()
    box = secret_box(settings)  # first: a missing key stops the start before anything opens
    return Container(
        settings=settings,
        engine=make_engine(settings.database_url, **engine_kwargs),
        secret_box=box,
    )


def secret_box(settings: Settings) -> SecretBox:
    """The configured keys; a SQLite hub without any makes itself a key file, PostgreSQL
    (production) refuses to start without one."""
    configured = settings.secret_key.get_secret_value() if settings.secret_key else None
    on_sqlite = make_url(settings.database_url).get_backend_name() == "sqlite"
    return load_secret_box(configured, settings.secret_key_file, may_create=on_sqlite)
