"""Provider kinds → adapters: the one place a new provider is registered."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from enum import StrEnum

import httpx

from orderhub.domain.errors import FieldError, ValidationFailed
from orderhub.fulfilment.base import FulfilmentProvider
from orderhub.fulfilment.http import HttpProvider
from orderhub.fulfilment.shipstation import DEFAULT_BASE_URL, ShipStationProvider
from orderhub.fulfilment.simulated import SimulatedProvider
from orderhub.fulfilment.warehouse import WarehouseProvider
from orderhub.store.fulfilment import ProviderConfig

WAREHOUSE = "warehouse"  # the built-in provider of every location no provider lists


class ProviderKind(StrEnum):
    WAREHOUSE = "warehouse"
    HTTP = "http"
    SHIPSTATION = "shipstation"
    SIMULATED = "simulated"


def _setting(config: ProviderConfig, name: str) -> str:
    value = config.settings.get(name)
    if not value:
        raise ValidationFailed(
            f"provider {config.code!r} lacks a setting",
            [FieldError(("settings", name), "required for this kind", "missing")],
        )
    return str(value)


def build_provider(config: ProviderConfig, *, client: httpx.Client) -> FulfilmentProvider:
    """The adapter for ``config``; raises ValidationFailed when a required setting is missing."""
    kind = ProviderKind(config.kind)
    s = config.settings
    if kind == ProviderKind.WAREHOUSE:
        return WarehouseProvider(config.code)
    if kind == ProviderKind.HTTP:
        url = _setting(config, "url")
        if not config.secret:
            raise ValidationFailed(
                "an http provider signs with its secret", [FieldError(("secret",), "required")]
            )
        return HttpProvider(config.code, url=url, secret=config.secret, client=client)
    if kind == ProviderKind.SHIPSTATION:
        return ShipStationProvider(
            config.code,
            api_key=_setting(config, "api_key"),
            api_secret=_setting(config, "api_secret"),
            webhook_token=config.secret,
            client=client,
            base_url=str(s.get("base_url") or DEFAULT_BASE_URL),
            store_id=int(s["store_id"]) if s.get("store_id") else None,
        )
    return SimulatedProvider(
        config.code,
        seed=int(s.get("seed", 0)),
        reject_rate=float(s.get("reject_rate", 0.1)),
        fail_rate=float(s.get("fail_rate", 0.0)),
        ship_after=timedelta(minutes=float(s.get("ship_after_minutes", 30))),
        deliver_after=timedelta(hours=float(s.get("deliver_after_hours", 24))),
    )


ProviderFactory = Callable[[ProviderConfig], FulfilmentProvider]
