"""Fixture payloads of the marketplaces and a recording fake for ``httpx.MockTransport``."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

from orderhub.bootstrap import Container
from orderhub.domain.catalog import Product
from orderhub.domain.channels import Channel
from orderhub.domain.orders import Order, OrderDraft, Totals, receive_order

FIXTURES = Path(__file__).parent / "fixtures" / "channels"


def fixture_text(channel: str, name: str) -> str:
    return (FIXTURES / channel / name).read_text()


def fixture(channel: str, name: str) -> Any:
    return json.loads(fixture_text(channel, name))


def totals_of(draft: OrderDraft) -> dict[str, str]:
    """The hub's totals of a draft, with its channel SKUs taken as master SKUs."""
    resolved = replace(
        draft, lines=tuple(replace(line, sku=line.channel_sku) for line in draft.lines)
    )
    t: Totals = receive_order(resolved).totals
    return {
        "subtotal": str(t.subtotal),
        "discount": str(t.discount),
        "shipping": str(t.shipping),
        "tax": str(t.tax),
        "total": str(t.total),
    }


Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class FakeMarketplace:
    """Answers like the marketplace (the test's handler) and records every request."""

    handler: Handler
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return self.handler(request)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def calls(self, path_part: str) -> list[httpx.Request]:
        return [r for r in self.requests if path_part in r.url.path]


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def text_response(
    text: str, status: int = 200, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(
        status,
        content=text.encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def add_channel(container: Container, channel: Channel, skus: dict[str, str]) -> None:
    with container.uow(actor="test") as uow:
        uow.channels.add(channel)
        for master in sorted(set(skus.values())):
            uow.catalog.upsert(Product(master, master.title(), 100))
        for channel_sku, master in skus.items():
            uow.catalog.map_sku(channel.code, channel_sku, master)
        uow.commit()


def order_ids(container: Container, channel: str) -> list[str]:
    with container.uow(read_only=True) as uow:
        rows = uow.conn.exec_driver_sql(
            "SELECT external_id FROM orders WHERE channel_code = ? ORDER BY external_id"
            if uow.conn.dialect.name == "sqlite"
            else "SELECT external_id FROM orders WHERE channel_code = %s ORDER BY external_id",
            (channel,),
        ).all()
    return [r[0] for r in rows]


def order_by_external(container: Container, channel: str, external_id: str) -> Order:
    with container.uow(read_only=True) as uow:
        order_id = uow.orders.id_by_external(channel, external_id)
        assert order_id is not None
        return uow.orders.get(order_id)
