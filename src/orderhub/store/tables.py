"""The relational schema, as SQLAlchemy Core tables. Alembic migrations create it.

Money columns are integer minor units (``*_minor``) beside the order's currency: exact on every
database, summable in reports. The domain converts with ``Money.from_minor``/``Money.minor``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
    true,
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
    Column("webhook_secret", Text),  # sealed: "fernet:<token>" (store/secret_box.py)
    Column("api_base_url", Text),
    Column("credentials", JsonColumn, nullable=False, default=dict),  # sealed JSON, as a string
    Column("safety_stock", Integer, nullable=False, default=0),
    Column("sla", JsonColumn, nullable=False, default=dict),
    Column("locations_allowed", JsonColumn),
    Column("settings", JsonColumn, nullable=False, default=dict),
    Column("active", Boolean, nullable=False, default=True),
    # False: orders come in, nothing is called back (no outbound delivery is even created).
    Column("sync_back", Boolean, nullable=False, server_default=true()),
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

# A product's GTIN/UPC/EAN/ISBN/MPN (domain/catalog.py validates them); match_key is the
# GTIN-14 of a barcode ("mpn:<value>" for an MPN), unique: a barcode names one product.
product_identifiers = Table(
    "product_identifiers",
    metadata,
    Column("sku", String(128), ForeignKey("products.sku"), primary_key=True),
    Column("kind", String(8), primary_key=True),
    Column("value", String(70), nullable=False),
    Column("match_key", String(80), nullable=False, unique=True),
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

# The statuses of domain.orders.OPEN_STATUSES, as the partial index on open orders has them.
_OPEN_ORDERS: dict[str, Any] = {
    f"{dialect}_where": text(
        "status IN ('received', 'on_hold', 'backordered', 'allocated', 'in_fulfilment')"
    )
    for dialect in ("postgresql", "sqlite")
}

# The lines of the orders waiting for stock, as the partial index of a SKU's queue has them.
_BACKORDERED_LINES: dict[str, Any] = {
    f"{dialect}_where": text("status = 'backordered'") for dialect in ("postgresql", "sqlite")
}

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
    # B2B purchase orders (EDI 850, cXML): the searchable facts as columns, the rest as JSON.
    Column("po_number", String(200)),
    Column("requested_ship_date", Date),
    Column("purchase_order", JsonColumn),
    # Derived totals, stored for reports and filters; always recomputed from the domain on save.
    Column("subtotal_minor", BigInteger, nullable=False),
    Column("discount_minor", BigInteger, nullable=False),
    Column("tax_minor", BigInteger, nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # SLA clocks (fulfilment, migration 0009): set at ingest from the channel's policy.
    Column("ship_by", UTCDateTime),
    Column("deliver_by", UTCDateTime),
    Column("sla_at_risk_at", UTCDateTime),  # when order.sla_at_risk fired (once)
    Column("sla_breached_at", UTCDateTime),  # when order.sla_breached fired (once)
    Column("delivery", JsonColumn),  # {"type": "pickup", "location"} (migration 0022); None: ship
    # The channel's own number (Shopify's "#1042"; domain/order_numbers.py), migration 0024.
    Column("order_number", String(200)),
    UniqueConstraint("channel_code", "external_id", name="uq_orders_channel_external_id"),
    # The order list is newest first by id: each filter's rows in id order (migration 0023).
    Index("ix_orders_status_id", "status", "id"),
    Index("ix_orders_channel_id", "channel_code", "id"),
    Index("ix_orders_channel_status_id", "channel_code", "status", "id"),
    Index("ix_orders_external_id", "external_id"),
    Index("ix_orders_placed_at_id", "placed_at", "id"),
    Index("ix_orders_customer_email", "customer_email"),
    Index("ix_orders_ship_by", "ship_by"),
    Index("ix_orders_open_ship_by", "ship_by", "sla_at_risk_at", "id", **_OPEN_ORDERS),  # SLA
    Index("ix_orders_po_number", "po_number"),
    Index("ix_orders_requested_ship_date", "requested_ship_date"),
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
    Column("cancelled_quantity", Integer, nullable=False, default=0),
    Column("unit_price_minor", BigInteger, nullable=False),
    Column("discount_minor", BigInteger, nullable=False),
    Column("tax_minor", BigInteger, nullable=False),
    Column("status", String(32), nullable=False),
    Index("ix_order_lines_order_id", "order_id"),
    Index("ix_order_lines_sku", "sku"),
    # The queue of a SKU: the orders waiting for it (services.allocation, first come first served)
    Index("ix_order_lines_backordered_sku", "sku", "order_id", **_BACKORDERED_LINES),
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

# Each order's chain anchor: its length and last hash, moved by the same transaction as every
# append, so a cut-off tail (a restored older backup, a bypassed trigger) no longer verifies.
order_chain_heads = Table(
    "order_chain_heads",
    metadata,
    Column("order_id", String(36), primary_key=True),
    Column("event_count", Integer, nullable=False),
    Column("head_hash", String(64), nullable=False),
)

# Periodic digests over every chain's head as of a settled ``order_events.seq``: a chain deleted
# whole (events and anchor) changes the digest of every checkpoint that covered it.
history_checkpoints = Table(
    "history_checkpoints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("taken_at", UTCDateTime, nullable=False),
    Column("up_to_seq", BigInteger, nullable=False),
    Column("chains", Integer, nullable=False),
    Column("events", BigInteger, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("actor", String(200), nullable=False),
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
    # due work oldest first, expired leases, open deliveries per (consumer, stream), dead ones.
    Index("ix_deliveries_due", "next_attempt_at", "event_seq", **_where("status = 'pending'")),
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

# Outbound webhook subscriptions; the secret is kept, sealed, because every delivery is signed
# with it.
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
    # One entry per (channel, external id), however many posts race (migration 0016); entries
    # without an external id (NULLs are distinct) are never merged.
    Index("uq_quarantine_channel_external", "channel_code", "external_id", unique=True),
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
    Index("ix_idempotency_keys_expires_at", "expires_at"),  # each claim prunes expired keys
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

# --- sign-in (migration 0012) ---

# A dashboard session that is signed in: the cookie holds the id, the table its SHA-256. Deleting
# the row (logout, password change, revoke) ends the session before its cookie expires.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_web_sessions_user_id", "user_id"),
    Index("ix_web_sessions_expires_at", "expires_at"),
)

# Sign-in attempts still counted against a username and an address (the rate limit's window).
login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("username", String(100), nullable=False),
    Column("address", String(64), nullable=False),
    Column("attempted_at", UTCDateTime, nullable=False),
    Index("ix_login_attempts_username", "username", "attempted_at"),
    Index("ix_login_attempts_address", "address", "attempted_at"),
    Index("ix_login_attempts_attempted_at", "attempted_at"),
)

# Channel webhook deliveries already acted upon, by the platform's own delivery id (Shopify's
# X-Shopify-Event-Id, WooCommerce's X-WC-Webhook-Delivery-ID, …): a repeat is answered, not
# acted upon.
webhook_receipts = Table(
    "webhook_receipts",
    metadata,
    Column("channel_code", String(64), primary_key=True),
    Column("delivery_id", String(255), primary_key=True),
    Column("received_at", UTCDateTime, nullable=False),
    Index("ix_webhook_receipts_received_at", "received_at"),
)

# Where each pull-style channel's sync left off: the newest channel-side ``updated_at`` seen.
channel_sync_cursors = Table(
    "channel_sync_cursors",
    metadata,
    Column("channel_code", String(64), ForeignKey("channels.code"), primary_key=True),
    Column("last_updated_at", UTCDateTime),
    Column("last_run_at", UTCDateTime, nullable=False),
    Column("last_result", JsonColumn, nullable=False, default=dict),
)

# Failed sync runs of pull channels, newest kept for the channel page's error history (0024).
channel_sync_errors = Table(
    "channel_sync_errors",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("channel_code", String(64), ForeignKey("channels.code"), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("error", Text, nullable=False),
    Index("ix_channel_sync_errors_channel_code", "channel_code", "occurred_at"),
)

# --- Inventory: locations, stock levels, the stock ledger, allocations, availability ---

locations = Table(
    "locations",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("address", JsonColumn, nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("channels", JsonColumn),  # None: may serve every channel
    Column("serves_countries", JsonColumn),
    Column("daily_capacity", Integer),
    Column("cutoff", String(5)),  # "HH:MM" local time
    Column("provider", String(64), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("settings", JsonColumn, nullable=False, default=dict),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("store", JsonColumn),  # a store's settings (migration 0024); None for other kinds
)

# Kept incrementally, always equal to the sum of stock_movements (``orderhub inventory check``).
stock_levels = Table(
    "stock_levels",
    metadata,
    Column("sku", String(128), primary_key=True),
    Column("location", String(64), ForeignKey("locations.code"), primary_key=True),
    Column("on_hand", Integer, nullable=False),
    Column("reserved", Integer, nullable=False),
    Column("last_count_at", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
    CheckConstraint("reserved >= 0", name="reserved_not_negative"),
    Index("ix_stock_levels_location", "location"),
)

# Append-only: triggers refuse UPDATE and DELETE (see migration 0002).
stock_movements = Table(
    "stock_movements",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("sku", String(128), nullable=False),
    Column("location", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("on_hand_delta", Integer, nullable=False),
    Column("reserved_delta", Integer, nullable=False),
    Column("reason", String(200)),
    Column("reference", String(200)),
    Column("order_line_id", String(36)),
    Column("counted", Integer),
    Column("as_of", UTCDateTime),
    Column("stale", Boolean, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Index("ix_stock_movements_sku_location", "sku", "location"),
)

# Units of an order line held at a location; open_quantity is what is still reserved.
allocations = Table(
    "allocations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("order_id", String(36), ForeignKey("orders.id"), nullable=False),
    Column("line_id", String(36), ForeignKey("order_lines.id"), nullable=False),
    Column("plan_id", String(36), nullable=False),
    Column("sku", String(128), nullable=False),
    Column("location", String(64), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("open_quantity", Integer, nullable=False),
    Column("shipped_quantity", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("open_quantity >= 0", name="open_quantity_not_negative"),
    Index("ix_allocations_order_id", "order_id"),
    Index("ix_allocations_sku_location", "sku", "location"),
)

# Every plan a planner made for an order, with its explanation (what the API shows).
allocation_plans = Table(
    "allocation_plans",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("order_id", String(36), ForeignKey("orders.id"), nullable=False),
    Column("strategy", String(64), nullable=False),
    Column("explanation", JsonColumn, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_allocation_plans_order_id", "order_id"),
)

channel_safety_stock = Table(
    "channel_safety_stock",
    metadata,
    Column("channel_code", String(64), ForeignKey("channels.code"), primary_key=True),
    Column("sku", String(128), primary_key=True),
    Column("safety_stock", Integer, nullable=False),
)

# The available-to-sell last announced per (channel, SKU): change events compare against it.
channel_availability = Table(
    "channel_availability",
    metadata,
    Column("channel_code", String(64), primary_key=True),
    Column("sku", String(128), primary_key=True),
    Column("available", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_channel_availability_sku", "sku"),  # announce locks a SKU's figures by SKU
)

# Orders allocated per location and local day: the capacity figure planners see.
location_daily_orders = Table(
    "location_daily_orders",
    metadata,
    Column("location", String(64), primary_key=True),
    Column("day", String(10), primary_key=True),  # ISO date in the location's time zone
    Column("orders", Integer, nullable=False),
)

# B2B: per trading partner counters for outbound EDI control numbers (ISA13/GS06/ST02).
edi_control_numbers = Table(
    "edi_control_numbers",
    metadata,
    Column("channel_code", String(64), ForeignKey("channels.code"), primary_key=True),
    Column("partner", String(64), primary_key=True),  # "<ISA qualifier>:<ISA id>"
    Column("last_value", BigInteger, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# B2B: the control number an outbound document was built with, per outbox event, kept until
# the document is taken: every retry re-sends it under the same number (which the partner's
# duplicate check recognizes), however many other documents went out meanwhile (migration 0014).
edi_control_reservations = Table(
    "edi_control_reservations",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("channel_code", String(64), ForeignKey("channels.code"), primary_key=True),
    Column("partner", String(64), primary_key=True),
    Column("value", BigInteger, nullable=False),
    Column("reserved_at", UTCDateTime, nullable=False),
)

# B2B: cXML payloadIDs already received per channel (a repeat answers 409).
cxml_payloads = Table(
    "cxml_payloads",
    metadata,
    Column("channel_code", String(64), ForeignKey("channels.code"), primary_key=True),
    Column("payload_id", String(250), primary_key=True),
    Column("order_id", String(36)),
    Column("received_at", UTCDateTime, nullable=False),
)

# Pull-style marketplaces (Amazon, eBay, Walmart, Etsy, TikTok): where each channel's polling
# stands. ``window_end`` is the end of the last window read completely; the next run starts an
# overlap before it. ``next_run_at`` is the polling schedule.
marketplace_sync_state = Table(
    "marketplace_sync_state",
    metadata,
    Column("channel_code", String(64), ForeignKey("channels.code"), primary_key=True),
    Column("window_end", UTCDateTime),
    Column("next_run_at", UTCDateTime),
    Column("last_run_at", UTCDateTime),
    Column("last_result", JsonColumn, nullable=False, default=dict),
    Column("last_error", Text),
    Column("failures", Integer, nullable=False, default=0),
)

routing_rule_versions = Table(
    "routing_rule_versions",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("rules", JsonColumn, nullable=False),
    Column("author", String(200), nullable=False),
    Column("comment", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("active", Boolean, nullable=False, default=False),
    Column("activated_at", UTCDateTime),
    Column("activated_by", String(200)),
    # at most one active version, enforced by the database on both dialects
    Index(
        "uq_routing_rule_versions_one_active",
        "active",
        unique=True,
        sqlite_where=text("active = 1"),
        postgresql_where=text("active"),
    ),
)


# --- fulfilment (migration 0009) ---

fulfilment_providers = Table(
    "fulfilment_providers",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("settings", JsonColumn, nullable=False, default=dict),
    Column("secret", Text),  # sealed; signs outbound requests, verifies callbacks; never returned
    Column("locations", JsonColumn, nullable=False, default=list),  # locations it fulfils for
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

fulfilment_orders = Table(
    "fulfilment_orders",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("order_id", String(36), ForeignKey("orders.id"), nullable=False),
    Column("location", String(64), nullable=False),
    Column("provider", String(64), nullable=False),
    Column("status", String(32), nullable=False),
    Column("external_ref", String(200)),
    Column("reason", Text),
    Column("lines", JsonColumn, nullable=False),  # [{line_id, sku, quantity}]
    Column("version", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_fulfilment_orders_order_id", "order_id"),
    Index("ix_fulfilment_orders_status_location", "status", "location"),
    Index("ix_fulfilment_orders_provider_ref", "provider", "external_ref"),
)

shipments = Table(
    "shipments",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("fulfilment_id", String(36), ForeignKey("fulfilment_orders.id"), nullable=False),
    Column("order_id", String(36), nullable=False),
    Column("carrier", String(100), nullable=False),
    Column("service", String(100)),
    Column("tracking_number", String(200)),
    Column("lines", JsonColumn, nullable=False),  # {order line id: units}
    Column("shipped_at", UTCDateTime, nullable=False),
    Column("status", String(32), nullable=False),
    Column("status_at", UTCDateTime),
    Index("ix_shipments_fulfilment_id", "fulfilment_id"),
    Index("ix_shipments_tracking_number", "tracking_number"),
    Index("ix_shipments_order_id", "order_id"),  # the dashboard's search (migration 0024)
)

fulfilment_exceptions = Table(
    "fulfilment_exceptions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("order_id", String(36), nullable=False),
    Column("fulfilment_id", String(36)),
    Column("detail", Text, nullable=False),
    Column("suggested_action", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("resolution", Text),
    Column("resolved_by", String(200)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime),
    Index("ix_fulfilment_exceptions_status", "status"),
    Index("ix_fulfilment_exceptions_order_id", "order_id"),
)

# --- outbound (0011) -------------------------------------------------------------------------

scheduled_jobs = Table(
    "scheduled_jobs",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("next_run_at", UTCDateTime, nullable=False),
    Column("lease_owner", String(200)),
    Column("lease_expires_at", UTCDateTime),
    Column("last_started_at", UTCDateTime),
    Column("last_finished_at", UTCDateTime),
    Column("last_error", Text),
    Column("runs", Integer, nullable=False, default=0),
)

channel_inventory_items = Table(
    "channel_inventory_items",
    metadata,
    Column("channel_code", String(64), ForeignKey("channels.code"), primary_key=True),
    Column("sku", String(128), primary_key=True),
    Column("item", JsonColumn, nullable=False),  # the channel's own ids for this SKU's stock
)

# -- after-sale: returns, refunds and the per-order financial ledger ---------------------------
returns = Table(
    "returns",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("order_id", String(36), ForeignKey("orders.id"), nullable=False),
    Column("channel", String(64), nullable=False),
    Column("status", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("location", String(64)),  # where it was received
    Column("exchange_order_id", String(36)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_returns_order_id", "order_id"),
    Index("ix_returns_status", "status"),
)

return_lines = Table(
    "return_lines",
    metadata,
    Column("return_id", String(36), ForeignKey("returns.id"), primary_key=True),
    Column("order_line_id", String(36), primary_key=True),
    Column("sku", String(100), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("disposition", String(16)),
    CheckConstraint("quantity > 0", name="quantity_positive"),
)

refunds = Table(
    "refunds",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("order_id", String(36), ForeignKey("orders.id"), nullable=False),
    Column("return_id", String(36)),
    Column("reason", Text, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),  # what goes back to the buyer
    Column("shipping_minor", BigInteger, nullable=False),  # shipping + its tax
    Column("fees_minor", BigInteger, nullable=False),  # kept by the merchant
    Column("lines", JsonColumn, nullable=False),  # [{line_id, quantity, merchandise, ...}]
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_refunds_order_id", "order_id"),
    CheckConstraint("amount_minor >= 0", name="amount_not_negative"),
)

order_financial_entries = Table(
    "order_financial_entries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", String(36), ForeignKey("orders.id"), nullable=False),
    Column("kind", String(16), nullable=False),  # charge | refund | fee
    Column("amount_minor", BigInteger, nullable=False),  # always >= 0; kind gives the sign
    Column("currency", String(3), nullable=False),
    Column("reference", String(64)),  # refund id, exchange order id, …
    Column("note", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_order_financial_entries_order_id", "order_id"),
    CheckConstraint("amount_minor >= 0", name="amount_not_negative"),
)

# --- stores (migration 0022): one pick-up per fulfilment order of a pick-up in store order ---
pickups = Table(
    "pickups",
    metadata,
    Column("fulfilment_id", String(36), ForeignKey("fulfilment_orders.id"), primary_key=True),
    Column("order_id", String(36), ForeignKey("orders.id"), nullable=False),
    Column("location", String(64), nullable=False),
    Column("status", String(32), nullable=False),
    Column("code_hash", String(200)),  # the pick-up code, salted and hashed; never kept in clear
    Column("code_failures", Integer, nullable=False, server_default="0"),  # wrong codes (0027)
    Column("ready_at", UTCDateTime),
    Column("expires_at", UTCDateTime),
    Column("picked_up_at", UTCDateTime),
    Column("closed_at", UTCDateTime),
    Column("version", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_pickups_location_status", "location", "status"),
    Index("ix_pickups_status_expires_at", "status", "expires_at"),
    Index("ix_pickups_order_id", "order_id"),
)

# --- dashboard search (migration 0024) --------------------------------------------------------

# Case-insensitive prefix search: ``lower(column)`` indexed, queried as a range
# ``[prefix, next prefix)`` (store/search.py). On PostgreSQL the migration builds each of these
# with ``COLLATE "C"`` so the range follows code-point order whatever the database's collation;
# SQLite's default collation is binary already.
SEARCH_INDEXES: dict[str, Column[Any]] = {
    "ix_orders_lower_order_number": orders.c.order_number,
    "ix_orders_lower_external_id": orders.c.external_id,
    "ix_orders_lower_customer_name": orders.c.customer_name,
    "ix_orders_lower_customer_email": orders.c.customer_email,
    "ix_orders_lower_po_number": orders.c.po_number,
    "ix_order_lines_lower_sku": order_lines.c.sku,
    "ix_shipments_lower_tracking_number": shipments.c.tracking_number,
}
for _name, _column in SEARCH_INDEXES.items():
    Index(_name, func.lower(_column))

# --- configuration stamps (migration 0025) ----------------------------------------------------

# One row per table of configuration the processes cache (store/config_cache.py), named as the
# table: a trigger gives its stamp a new random value in the transaction of every change to the
# table, so a process holding what it read at a stamp knows, by reading the stamp, whether
# that is still what the table holds. The rows are the migration's; nothing else writes them.
config_stamps = Table(
    "config_stamps",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("stamp", BigInteger, nullable=False),
)
