"""The relational schema, as SQLAlchemy Core tables. Alembic migrations create it.

Money columns are integer minor units (``*_minor``) beside the order's currency: exact on every
database, summable in reports. The domain converts with ``Money.from_minor``/``Money.minor``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)

from orderhub.store.types import JsonColumn, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

channels = Table(
    "channels",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("webhook_secret", Text),
    Column("api_base_url", Text),
    Column("credentials", JsonColumn, nullable=False, default=dict),
    Column("safety_stock", Integer, nullable=False, default=0),
    Column("sla", JsonColumn, nullable=False, default=dict),
    Column("locations_allowed", JsonColumn),
    Column("settings", JsonColumn, nullable=False, default=dict),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

products = Table(
    "products",
    metadata,
    Column("sku", String(128), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("weight_grams", Integer, nullable=False, default=0),
    Column("attributes", JsonColumn, nullable=False, default=dict),
    Column("created_at", UTCDateTime, nullable=False),
)

channel_sku_map = Table(
    "channel_sku_map",
    metadata,
    Column("channel_code", String(64), ForeignKey("channels.code"), primary_key=True),
    Column("channel_sku", String(200), primary_key=True),
    Column("sku", String(128), ForeignKey("products.sku"), nullable=False),
)

customers = Table(
    "customers",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("email", String(320), unique=True),
    Column("name", String(300)),
    Column("phone", String(64)),
    Column("created_at", UTCDateTime, nullable=False),
)

orders = Table(
    "orders",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("channel_code", String(64), ForeignKey("channels.code"), nullable=False),
    Column("external_id", String(200), nullable=False),
    Column("status", String(32), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("placed_at", UTCDateTime, nullable=False),
    Column("customer_id", String(36), ForeignKey("customers.id")),
    Column("customer_email", String(320)),
    Column("customer_name", String(300)),
    Column("customer_phone", String(64)),
    Column("shipping_address", JsonColumn),
    Column("billing_address", JsonColumn),
    Column("shipping_price_minor", BigInteger, nullable=False),
    Column("shipping_tax_minor", BigInteger, nullable=False),
    Column("shipping_discount_minor", BigInteger, nullable=False),
    Column("shipping_method", String(200)),
    Column("prices_include_tax", Boolean, nullable=False),
    Column("hold_reason", String(200)),
    Column("metadata", JsonColumn, nullable=False, default=dict),
    # Derived totals, stored for reports and filters; always recomputed from the domain on save.
    Column("subtotal_minor", BigInteger, nullable=False),
    Column("discount_minor", BigInteger, nullable=False),
    Column("tax_minor", BigInteger, nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("channel_code", "external_id", name="uq_orders_channel_external_id"),
    Index("ix_orders_status", "status"),
    Index("ix_orders_placed_at", "placed_at"),
    Index("ix_orders_customer_email", "customer_email"),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("order_id", String(36), ForeignKey("orders.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("sku", String(128), nullable=False),
    Column("channel_sku", String(200)),
    Column("channel_line_id", String(200)),
    Column("name", String(300)),
    Column("quantity", Integer, nullable=False),
    Column("unit_price_minor", BigInteger, nullable=False),
    Column("discount_minor", BigInteger, nullable=False),
    Column("tax_minor", BigInteger, nullable=False),
    Column("status", String(32), nullable=False),
    Index("ix_order_lines_order_id", "order_id"),
    Index("ix_order_lines_sku", "sku"),
)

# Append-only and hash-chained per order; triggers refuse UPDATE and DELETE (see migrations).
order_events = Table(
    "order_events",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("id", String(36), nullable=False, unique=True),
    Column("order_id", String(36), nullable=False),
    Column("order_seq", Integer, nullable=False),
    Column("type", String(100), nullable=False),
    Column("data", Text, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("order_id", "order_seq", name="uq_order_events_order_seq"),
)

# The transactional outbox: written in the same transaction as the change it announces.
outbox = Table(
    "outbox",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("id", String(36), nullable=False, unique=True),
    Column("stream", String(200), nullable=False),
    Column("type", String(100), nullable=False),
    Column("data", JsonColumn, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    # Set by the worker once the event's deliveries exist (one per interested consumer).
    Column("fanned_out", Boolean, nullable=False, server_default=false()),
    Index("ix_outbox_stream", "stream"),
    Index("ix_outbox_fanned_out_seq", "fanned_out", "seq"),
)


def _where(condition: str) -> dict[str, Any]:
    return {"postgresql_where": text(condition), "sqlite_where": text(condition)}


# One row per (event, consumer): the unit the worker claims, runs, retries and lets die.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("event_id", String(36), nullable=False),
    Column("event_seq", BigInteger, nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("stream", String(200), nullable=False),
    Column("consumer", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("last_error", Text),
    Column("lease_owner", String(200)),
    Column("lease_expires_at", UTCDateTime),
    Column("delivered_at", UTCDateTime),
    Column("delivered_by", String(200)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("event_id", "consumer", name="uq_deliveries_event_consumer"),
    # Partial indexes, so the claim's plan stays good even before the table has statistics:
    # due work in event order, expired leases, open deliveries per (consumer, stream), dead ones.
    Index("ix_deliveries_pending_seq", "event_seq", **_where("status = 'pending'")),
    Index("ix_deliveries_leased", "lease_expires_at", **_where("status = 'in_flight'")),
    Index(
        "ix_deliveries_open_stream",
        "consumer",
        "stream",
        "event_seq",
        **_where("status IN ('pending', 'in_flight')"),
    ),
    Index("ix_deliveries_dead", "id", **_where("status = 'dead'")),
)

# What each internal consumer has already done: a re-run after a crash does nothing twice.
processed_events = Table(
    "processed_events",
    metadata,
    Column("consumer", String(200), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("processed_at", UTCDateTime, nullable=False),
)

# Outbound webhook subscriptions; the secret is kept because every delivery is signed with it.
webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("url", Text, nullable=False),
    Column("event_types", JsonColumn, nullable=False),
    Column("secret", Text, nullable=False),
    Column("description", String(300)),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("channel_code", String(64), nullable=False),
    Column("external_id", String(200)),
    Column("source", String(32), nullable=False),
    Column("payload", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("errors", JsonColumn, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("order_id", String(36)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_quarantine_status", "status"),
    Index("ix_quarantine_channel_external", "channel_code", "external_id"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("principal", String(64), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("locked_until", UTCDateTime),
    Column("response_status", Integer),
    Column("response_headers", JsonColumn),
    Column("response_body", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("prefix", String(32), nullable=False, unique=True),
    Column("secret_hash", String(64), nullable=False),
    Column("role", String(32), nullable=False),
    Column("channel_code", String(64)),
    Column("name", String(200)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
)

users = Table(
    "users",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("username", String(100), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("role", String(32), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled_at", UTCDateTime),
)
