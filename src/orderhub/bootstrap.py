"""The one wiring point: settings → engine → unit-of-work factory (and, later, adapters)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import Engine

from orderhub.config import Settings, load_settings
from orderhub.store.db import make_engine
from orderhub.store.unit_of_work import UnitOfWork


@dataclass
class Container:
    settings: Settings
    engine: Engine
    # Outbound HTTP to channels goes through this transport when set (tests: MockTransport).
    http_transport: httpx.BaseTransport | None = None

    def uow(self, *, actor: str = "system", read_only: bool = False) -> UnitOfWork:
        return UnitOfWork(self.engine, actor=actor, read_only=read_only)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Container:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def bootstrap(settings: Settings | None = None, **engine_kwargs: Any) -> Container:
    settings = settings or load_settings()
    return Container(settings=settings, engine=make_engine(settings.database_url, **engine_kwargs))
