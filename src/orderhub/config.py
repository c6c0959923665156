"""Settings: one class, read once at start-up from the environment and an optional TOML file.

``ORDERHUB_CONFIG=/etc/orderhub.toml`` names the file; environment variables win over it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORDERHUB_", extra="ignore")

    database_url: str = "sqlite:///var/orderhub.db"
    nats_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    idempotency_ttl_hours: int = Field(default=24, ge=1)
    idempotency_lock_seconds: int = Field(
        default=60, ge=1, description="an unfinished request's key is taken over after this"
    )
    api_key_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description="how long a process trusts an API key it has checked (0: check every "
        "request); a revoked key stops working within this time",
    )
    outbound_allowed_hosts: list[str] = Field(
        default_factory=list,
        description="addresses the SSRF guard lets through although private or loopback",
    )
    secure_cookies: bool = False
    secret_key: SecretStr | None = Field(
        default=None,
        description="Fernet keys, comma separated, that encrypt stored channel secrets; "
        "the first encrypts, every one decrypts",
    )
    secret_key_file: Path = Field(
        default=Path("var/secret.key"),
        description="read when secret_key is unset; created (0600) for a SQLite database",
    )
    login_max_failures: int = Field(
        default=5, ge=1, description="failed dashboard sign-ins per (username, client address)"
    )
    login_max_failures_per_user: int = Field(
        default=50,
        ge=1,
        description="failed sign-ins per username from every address: a ceiling for guessers "
        "spread over many addresses, high enough that a few cannot lock a user out",
    )
    login_max_failures_per_address: int = Field(
        default=20, ge=1, description="failed sign-ins per client address over every username"
    )
    login_window_seconds: int = Field(
        default=900, ge=1, description="how long a failed sign-in counts"
    )
    rate_limit_enabled: bool = True
    rate_limit_key_per_second: float = Field(
        default=1000.0,
        gt=0,
        description="requests per second per API key (per process); generous so that load "
        "tests pass — lower it in production",
    )
    rate_limit_key_burst: int = Field(default=2000, ge=1)
    rate_limit_address_per_second: float = Field(
        default=50.0,
        gt=0,
        description="requests per second per client address without an API key, and 401s",
    )
    rate_limit_address_burst: int = Field(default=500, ge=1)
    rate_limit_exempt_addresses: list[str] = Field(
        default_factory=lambda: ["127.0.0.1", "::1"],
        description="client addresses the per-address limit skips (loopback: the demo, "
        "benchmarks, a reverse proxy on this host)",
    )
    session_secret: SecretStr | None = Field(
        default=None,
        description="signs dashboard session cookies; set it when running several processes",
    )
    delivery_max_attempts: int = Field(
        default=12, ge=1, description="attempts per delivery before it is marked dead"
    )
    delivery_backoff_seconds: float = Field(
        default=2.0, gt=0, description="first retry delay; doubles per attempt, with jitter"
    )
    delivery_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    delivery_lease_seconds: float = Field(
        default=60.0,
        gt=0,
        description="a claimed delivery is taken over after this; the worker renews the "
        "leases of its batch while it runs, so one delivery (not a batch) must fit in half",
    )
    delivery_batch_size: int = Field(default=50, ge=1, le=1000)
    allocate_on_ingest: bool = Field(
        default=True,
        description="POST /v1/orders reserves, routes and allocates the new order in its own "
        "transaction (the answer says allocated or backordered); false leaves it to the worker",
    )
    ingest_group_max: int = Field(
        default=64,
        ge=1,
        le=1000,
        description="POST /v1/orders requests that arrive while another one's transaction runs "
        "share the next transaction, up to this many orders (group commit); 1: one each",
    )
    access_log: bool = Field(
        default=False,
        description="orderhub serve logs one line per request (uvicorn's access log); off by "
        "default: the metrics at /metrics count and time every request already, and the line "
        "cost a few percent of the API's CPU per order",
    )
    worker_transaction_seconds: float | None = Field(
        default=None,
        gt=0,
        description="how long the worker's transaction of database-only deliveries may work "
        "before it commits and lets other writers in (default 0.02 s on SQLite, whose single "
        "writer the API waits for, 0.25 s on PostgreSQL)",
    )
    worker_poll_seconds: float = Field(default=0.5, gt=0, description="idle sleep of a worker")
    worker_outcall_concurrency: int = Field(
        default=8,
        ge=1,
        le=64,
        description="deliveries that call out (channel calls, webhooks, 3PL dispatches) one "
        "worker runs at once, each on a thread of its own; 1: one after another",
    )
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_max_age_hours: int = Field(
        default=72,
        ge=1,
        description="an inbound channel webhook sent longer ago is refused as a replay "
        "(platforms retry for up to 72 hours); its delivery id is remembered this long plus a day",
    )
    webhook_clock_skew_seconds: int = Field(
        default=300, ge=0, description="how far ahead of ours a platform's clock may be"
    )
    schedules_enabled: bool = Field(default=True, description="workers run the periodic jobs")
    schedule_marketplace_seconds: float = Field(
        default=60.0, gt=0, description="how often due marketplace channels are looked for"
    )
    schedule_magento_seconds: float = Field(
        default=300.0, gt=0, description="how often Adobe Commerce channels are pulled"
    )
    schedule_fulfilment_seconds: float = Field(
        default=60.0, gt=0, description="provider polls and SLA clocks"
    )
    schedule_checkpoint_seconds: float = Field(
        default=3600.0, gt=0, description="how often the history checkpoint is taken"
    )
    schedule_lease_seconds: float = Field(
        default=600.0, gt=0, description="a job's lease; another worker may take it after"
    )

    @model_validator(mode="after")
    def _one_delivery_fits_in_half_a_lease(self) -> Settings:
        """Refuse a lease a healthy delivery can outlive (it would run twice, concurrently).

        The worker renews its batch's leases whenever less than half a lease is left before
        the next delivery (:meth:`orderhub.workers.relay.Worker.keep_leases`), so the longest
        single delivery — a webhook POST, up to ``webhook_timeout_seconds`` — must fit in half.
        """
        if self.delivery_lease_seconds < 2 * self.webhook_timeout_seconds:
            raise ValueError(
                f"delivery_lease_seconds ({self.delivery_lease_seconds:g}) must be at least "
                f"twice webhook_timeout_seconds ({self.webhook_timeout_seconds:g}): a webhook "
                "that takes its full timeout would outlive its lease and be delivered twice, "
                "concurrently, by another worker. Raise ORDERHUB_DELIVERY_LEASE_SECONDS or "
                "lower ORDERHUB_WEBHOOK_TIMEOUT_SECONDS."
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("ORDERHUB_CONFIG")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)


def load_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)
