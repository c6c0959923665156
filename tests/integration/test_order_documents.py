"""The read path's orders (``queries.order_documents``, what ``GET /v1/orders`` and
``GET /v1/orders/{id}`` answer) are byte for byte what the ``OrderOut`` model serializes, for
seeded orders in every state and for one with every optional part (a purchase order, a
pick-up, metadata, a billing address, partly cancelled lines)."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter
from pydantic_core import to_json
from sqlalchemy import select

from orderhub.api.app import create_app
from orderhub.api.routes.orders import order_outs
from orderhub.api.schemas.orders import OrderOut
from orderhub.bootstrap import Container
from orderhub.demo.bulk import seed_orders
from orderhub.domain.access import Role
from orderhub.domain.money import Money
from orderhub.domain.orders import (
    Address,
    Contact,
    Customer,
    Delivery,
    DeliveryType,
    LineStatus,
    Order,
    OrderLine,
    OrderStatus,
    PaymentTerms,
    PurchaseOrder,
    Shipping,
)
from orderhub.store import queries
from orderhub.store import tables as t
from tests.conftest import bearer, make_key

PAGE = TypeAdapter(list[OrderOut])


@pytest.fixture
def hub(container: Container) -> Container:
    seed_orders(container, orders=150, days=30, batch=50, rng=random.Random(5))
    usd = "USD"

    def m(amount: str) -> Money:
        return Money(Decimal(amount), usd)

    order = Order(
        id="0000-every-part",
        channel="web",
        external_id="B2B-1",
        currency=usd,
        placed_at=datetime(2026, 11, 3, 9, 15, 0, 123456, tzinfo=UTC),
        customer=Customer(email="buyer@example.com", name="Buyer", phone="+1 555", id=None),
        shipping_address=Address(country="US", name="Dock 4", city="Newark", postal_code="07102"),
        billing_address=Address(country="US", company="Accounts Ltd", line1="1 Main St"),
        lines=[
            OrderLine(
                id="0000-line-1",
                sku="TSHIRT-BLK-M",
                quantity=3,
                unit_price=m("9.99"),
                discount=m("1.00"),
                tax=m("2.00"),
                status=LineStatus.OPEN,
                channel_sku="CH-1",
                channel_line_id="L1",
                name="Tee",
                cancelled_quantity=1,
            ),
            OrderLine(
                id="0000-line-2",
                sku="MUG-LOGO",
                quantity=1,
                unit_price=m("5.00"),
                discount=m("0.00"),
                tax=m("0.35"),
                status=LineStatus.CANCELLED,
                cancelled_quantity=1,
            ),
        ],
        shipping=Shipping(price=m("4.99"), tax=m("0.40"), discount=m("0.99"), method="ground"),
        status=OrderStatus.ON_HOLD,
        hold_reason="credit check",
        metadata={"note": "gate 2", "tags": ["b2b", 1, None], "nested": {"x": 1.5}},
        purchase_order=PurchaseOrder(
            number="PO-77",
            order_date=date(2026, 11, 2),
            payment_terms=PaymentTerms(net_days=30, discount_percent=Decimal("2.50")),
            requested_ship_date=date(2026, 11, 10),
            contacts=(Contact(role="buyer", name="Pat", email="pat@example.com"),),
            buyer_name="Pat",
        ),
        delivery=Delivery(DeliveryType.PICKUP, "london"),
    )
    # The same without a purchase order or cancelled units, in a currency without decimals:
    # no domain object is built for such an order (queries._plain_document).
    yen = "JPY"
    plain = dataclasses.replace(
        order,
        id="0000-plain",
        external_id="PLAIN-1",
        currency=yen,
        lines=[
            dataclasses.replace(
                line,
                id=f"{line.id}-plain",
                unit_price=Money(line.unit_price.amount * 100, yen),
                discount=Money(line.discount.amount * 100, yen),
                tax=Money(line.tax.amount * 100, yen),
                status=LineStatus.OPEN,
                cancelled_quantity=0,
            )
            for line in order.lines
        ],
        shipping=Shipping(
            price=Money(Decimal(500), yen), tax=Money(Decimal(40), yen), discount=Money.zero(yen)
        ),
        prices_include_tax=True,
        purchase_order=None,
    )
    with container.uow(actor="test") as uow:
        uow.orders.add_new([order, plain])
        uow.commit()
    return container


def test_documents_serialize_exactly_as_the_model(hub: Container) -> None:
    with hub.engine.connect() as conn:
        ids = list(conn.execute(select(t.orders.c.id).order_by(t.orders.c.id.desc())).scalars())
        documents = queries.order_documents(conn, [*ids, "no-such-order"])
    with hub.uow(read_only=True) as uow:
        models = order_outs(uow, ids)
    assert len(documents) == len(ids) == len(models) == 152
    assert to_json(documents) == PAGE.dump_json(models)  # same fields, order and values
    # What the comparison covers: every state and every optional part.
    statuses = {d["status"] for d in documents}
    assert {"delivered", "shipped", "cancelled", "on_hold"} <= statuses
    assert any(d["shipments"] for d in documents)
    assert any(a.get("explanation") for d in documents for a in d["allocations"])
    every_part = next(d for d in documents if d["id"] == "0000-every-part")
    assert every_part["purchase_order"]["payment_terms"]["discount_percent"] == "2.50"
    assert every_part["delivery"] == {"type": "pickup", "location": "london"}
    assert every_part["totals"]["subtotal"] == "19.98"  # the cancelled units are not counted
    plain = next(d for d in documents if d["id"] == "0000-plain")
    assert plain["totals"] == {
        "subtotal": "3497",
        "discount": "100",
        "shipping": "500",
        "tax": "275",
        "total": "3897",
    }
    assert plain["billing_address"]["company"] == "Accounts Ltd"


def test_the_list_and_the_order_answer_what_the_model_gives(hub: Container) -> None:
    admin = bearer(make_key(hub, Role.ADMIN))
    with TestClient(create_app(hub)) as api:
        first = api.get("/v1/orders", params={"limit": 40}, headers=admin)
        second = api.get(
            "/v1/orders", params={"limit": 40, "cursor": first.json()["next_cursor"]}, headers=admin
        )
        one = api.get("/v1/orders/0000-every-part", headers=admin)
        missing = api.get("/v1/orders/no-such-order", headers=admin)
    assert first.status_code == second.status_code == one.status_code == 200
    assert first.headers["content-type"] == "application/json"
    with hub.uow(read_only=True) as uow:
        for page in (first, second):
            ids = [item["id"] for item in page.json()["items"]]
            assert len(ids) == 40
            expected = PAGE.dump_json(order_outs(uow, ids))
            assert page.content.startswith(b'{"items":' + expected + b',"next_cursor":')
        assert one.content == order_outs(uow, ["0000-every-part"])[0].model_dump_json().encode()
    assert missing.status_code == 404


def test_a_channel_key_sees_only_its_channel(hub: Container) -> None:
    with hub.engine.connect() as conn:
        other = conn.execute(
            select(t.orders.c.id).where(t.orders.c.channel_code != "web").limit(1)
        ).scalar_one()
    web = bearer(make_key(hub, Role.CHANNEL, channel="web"))
    with TestClient(create_app(hub)) as api:
        assert api.get(f"/v1/orders/{other}", headers=web).status_code == 404
        assert api.get("/v1/orders/0000-every-part", headers=web).status_code == 200
        listed = api.get("/v1/orders", params={"channel": "amazon"}, headers=web).json()
        assert listed == {"items": [], "next_cursor": None}
        own = api.get("/v1/orders", headers=web).json()["items"]
        assert own
        assert {item["channel"] for item in own} == {"web"}
