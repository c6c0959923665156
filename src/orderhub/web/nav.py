"""The dashboard's navigation: one entry per page, shown only to roles that may open it.

A capability that adds a page (inventory, exceptions, routing, deliveries) appends its
:class:`NavItem` here and includes its router in :data:`orderhub.web.PAGES`.
"""

from __future__ import annotations

from dataclasses import dataclass

from orderhub.domain.access import Permission


@dataclass(frozen=True)
class NavItem:
    label: str
    path: str
    permission: Permission


NAV: list[NavItem] = [
    NavItem("Overview", "/", Permission.ORDERS_READ),
    NavItem("Orders", "/orders", Permission.ORDERS_READ),
    NavItem("Inventory", "/inventory", Permission.INVENTORY_READ),
    NavItem("Exceptions", "/exceptions", Permission.ORDERS_READ),
    NavItem("Stores", "/stores", Permission.ORDERS_READ),
    NavItem("Routing", "/routing", Permission.ROUTING_READ),
    NavItem("Quarantine", "/quarantine", Permission.QUARANTINE_READ),
    NavItem("Channels", "/channels", Permission.CHANNELS_READ),
    NavItem("Deliveries", "/deliveries", Permission.DELIVERIES_READ),
    NavItem("Reports", "/reports", Permission.ORDERS_READ),
    NavItem("Audit", "/audit", Permission.AUDIT_READ),
]
