"""Roles and what each may do. The table in docs/security.md is generated from this mapping."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    SUPPORT = "support"
    WAREHOUSE = "warehouse"
    CHANNEL = "channel"
    AUDITOR = "auditor"


class Permission(StrEnum):
    ORDERS_READ = "orders:read"
    ORDERS_WRITE = "orders:write"  # create orders
    ORDERS_MANAGE = "orders:manage"  # cancel, hold, release, returns
    ORDERS_EDIT = "orders:edit"  # change an open order: address, lines, shipping
    RETURNS_OVERRIDE_PRICE = "returns:override_price"  # price an exchange by hand
    CHANNELS_READ = "channels:read"
    CHANNELS_WRITE = "channels:write"
    CATALOG_READ = "catalog:read"
    CATALOG_WRITE = "catalog:write"
    INVENTORY_READ = "inventory:read"
    INVENTORY_WRITE = "inventory:write"
    FULFILMENT_WRITE = "fulfilment:write"
    ROUTING_READ = "routing:read"
    ROUTING_WRITE = "routing:write"
    QUARANTINE_READ = "quarantine:read"
    QUARANTINE_REPLAY = "quarantine:replay"
    AUDIT_READ = "audit:read"
    DELIVERIES_READ = "deliveries:read"
    DELIVERIES_RETRY = "deliveries:retry"
    WEBHOOKS_MANAGE = "webhooks:manage"
    ADMIN = "admin"  # keys, users, webhooks, deliveries


P = Permission
_READ_ALL = {P.ORDERS_READ, P.CHANNELS_READ, P.CATALOG_READ, P.INVENTORY_READ, P.ROUTING_READ}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.OPERATOR: frozenset(
        _READ_ALL
        | {
            P.ORDERS_WRITE,
            P.ORDERS_MANAGE,
            P.ORDERS_EDIT,
            P.RETURNS_OVERRIDE_PRICE,
            P.CATALOG_WRITE,
            P.INVENTORY_WRITE,
            P.FULFILMENT_WRITE,
            P.ROUTING_WRITE,
            P.QUARANTINE_READ,
            P.QUARANTINE_REPLAY,
            P.CHANNELS_WRITE,
            P.AUDIT_READ,
            P.DELIVERIES_READ,
            P.DELIVERIES_RETRY,
            P.WEBHOOKS_MANAGE,
        }
    ),
    Role.SUPPORT: frozenset(_READ_ALL | {P.ORDERS_MANAGE, P.ORDERS_EDIT, P.QUARANTINE_READ}),
    Role.WAREHOUSE: frozenset(
        {P.ORDERS_READ, P.CATALOG_READ, P.INVENTORY_READ, P.INVENTORY_WRITE, P.FULFILMENT_WRITE}
    ),
    Role.CHANNEL: frozenset(
        {P.ORDERS_READ, P.ORDERS_WRITE, P.CHANNELS_READ, P.CATALOG_READ, P.INVENTORY_READ}
    ),
    Role.AUDITOR: frozenset(_READ_ALL | {P.AUDIT_READ, P.QUARANTINE_READ}),
}


# What a channel-scoped key (any role) may still do: only actions whose answers are filtered
# to the key's channel (another channel's order is a 404), or that touch no channel's data
# (the shared catalogue and stock levels). Everything else — subscriptions to every event,
# deliveries, channel creation, stock changes, history, keys — would cross channels: 403.
CHANNEL_SCOPED_PERMISSIONS: frozenset[Permission] = frozenset(
    {
        P.ORDERS_READ,
        P.ORDERS_WRITE,
        P.ORDERS_MANAGE,
        P.ORDERS_EDIT,
        P.CHANNELS_READ,
        P.CATALOG_READ,
        P.INVENTORY_READ,
        P.QUARANTINE_READ,
    }
)


def allows(role: Role, permission: Permission, *, channel_scoped: bool = False) -> bool:
    """The permission matrix: the role's permissions, narrowed for a channel-scoped key."""
    if channel_scoped and permission not in CHANNEL_SCOPED_PERMISSIONS:
        return False
    return permission in ROLE_PERMISSIONS[role]
