"""Outbound channel calls: each kind's ship and stock calls reach a fake with the exact payload,
and the fake's answer decides between retry (429, 5xx) and dead letter (other 4xx)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from orderhub.channels.api_client import forget_shared_state
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.domain.money import Money
from orderhub.domain.orders import Customer, LineDraft, Order, OrderDraft, Shipping, receive_order
from orderhub.http.outbound import transports
from orderhub.services.outbound import inventory, shipments
from orderhub.services.outbound.calls import ChannelBusy
from orderhub.workers.targets import PermanentFailure

Handler = Callable[[httpx.Request], httpx.Response]
SHIPPED_AT = "2026-11-27T10:15:00+00:00"
TOKEN_PATHS = ("/auth/o2/token", "/identity/v1/oauth2/token", "/v3/token", "/v3/public/oauth/token")


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    forget_shared_state()
    yield
    forget_shared_state()


class Fake:
    """Records every request; answers tokens, then whatever ``answer`` says (200 {} default)."""

    def __init__(self, answer: Handler | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.answer = answer or (lambda _r: httpx.Response(200, json={}))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        if request.url.path in TOKEN_PATHS:
            return httpx.Response(200, json={"access_token": "token", "expires_in": 3600})
        self.requests.append(request)
        return self.answer(request)

    def transport(self) -> httpx.BaseTransport:
        return httpx.MockTransport(self)

    def calls(self) -> list[tuple[str, str, Any]]:
        return [(r.method, _target(r), _body(r)) for r in self.requests]


def _target(request: httpx.Request) -> str:
    query = f"?{request.url.query.decode()}" if request.url.query else ""
    return request.url.path + query


def _body(request: httpx.Request) -> Any:
    if not request.content:
        return None
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
    return json.loads(request.content, parse_float=Decimal)


def order_of(
    channel: str, external_id: str, lines: list[tuple[str, int]], **metadata: Any
) -> Order:
    """An order whose lines carry the given channel line ids (SKU ``SKU-<id>``)."""
    usd = Money(Decimal("10.00"), "USD")
    zero = Money.zero("USD")
    draft = OrderDraft(
        channel=channel,
        external_id=external_id,
        currency="USD",
        placed_at=datetime(2026, 11, 26, tzinfo=UTC),
        customer=Customer("buyer@example.com"),
        shipping_address=None,
        billing_address=None,
        lines=tuple(
            LineDraft(f"SKU-{cid}", qty, usd, zero, zero, channel_line_id=cid) for cid, qty in lines
        ),
        shipping=Shipping(zero, zero, zero),
        metadata=metadata,
    )
    return receive_order(draft)


def shipped(order: Order, quantities: list[int] | None = None) -> dict[str, Any]:
    """A ``shipment.created`` payload for the order's lines (all units unless told)."""
    quantities = quantities or [line.quantity for line in order.lines]
    return {
        "order_id": order.id,
        "carrier": "UPS",
        "tracking_number": "1Z999AA10123456784",
        "shipped_at": SHIPPED_AT,
        "lines": [
            {"line_id": line.id, "quantity": q}
            for line, q in zip(order.lines, quantities, strict=True)
        ],
    }


def store(kind: ChannelKind, base: str, **extra: Any) -> Channel:
    return Channel(kind.value, kind.value, kind, api_base_url=base, **extra)


AMAZON = Channel(
    "amz",
    "Amazon",
    ChannelKind.AMAZON,
    credentials={"refresh_token": "r", "client_id": "c", "client_secret": "s"},
    settings={"seller_id": "A2SELLER"},
)
EBAY = Channel(
    "ebay",
    "eBay",
    ChannelKind.EBAY,
    credentials={"refresh_token": "r", "client_id": "c", "client_secret": "s"},
)
WALMART = Channel(
    "wm", "Walmart", ChannelKind.WALMART, credentials={"client_id": "c", "client_secret": "s"}
)
ETSY = Channel(
    "etsy",
    "Etsy",
    ChannelKind.ETSY,
    credentials={"keystring": "k", "shared_secret": "s", "refresh_token": "r"},
    settings={"shop_id": "55667788"},
)
TIKTOK = Channel(
    "tiktok",
    "TikTok Shop",
    ChannelKind.TIKTOK,
    credentials={
        "app_key": "123abc",
        "app_secret": "tiktok-app-secret",
        "access_token": "TTP_seller_token",
        "shop_cipher": "ROW_cipher",
    },
    settings={"shipping_provider_ids": {"UPS": "6617675021119438849"}},
)


# --- mark shipped ----------------------------------------------------------------------------


def shopify_answer(request: httpx.Request) -> httpx.Response:
    if request.method == "GET":
        return httpx.Response(
            200,
            json={
                "fulfillment_orders": [
                    {
                        "id": 1046000778,
                        "status": "open",
                        "line_items": [
                            {"id": 1025578633, "line_item_id": 466157049, "quantity": 2},
                            {"id": 1025578634, "line_item_id": 518995019, "quantity": 1},
                        ],
                    },
                    {"id": 1046000779, "status": "closed", "line_items": []},
                ]
            },
        )
    return httpx.Response(201, json={"fulfillment": {"id": 255858046}})


def test_shopify_reads_the_fulfillment_orders_then_posts_one_fulfillment_with_tracking() -> None:
    fake = Fake(shopify_answer)
    channel = store(
        ChannelKind.SHOPIFY, "https://shop.example.test", credentials={"access_token": "shpat_x"}
    )
    order = order_of("shopify", "450789469", [("466157049", 2), ("518995019", 1)])
    assert shipments.mark_shipped(channel, order, shipped(order, [1, 1]), fake.transport)
    assert fake.calls() == [
        ("GET", "/admin/api/2024-10/orders/450789469/fulfillment_orders.json", None),
        (
            "POST",
            "/admin/api/2024-10/fulfillments.json",
            {
                "fulfillment": {
                    "line_items_by_fulfillment_order": [
                        {
                            "fulfillment_order_id": 1046000778,
                            "fulfillment_order_line_items": [
                                {"id": 1025578633, "quantity": 1},
                                {"id": 1025578634, "quantity": 1},
                            ],
                        }
                    ],
                    "tracking_info": {"company": "UPS", "number": "1Z999AA10123456784"},
                    "notify_customer": True,
                }
            },
        ),
    ]
    assert fake.requests[1].headers["X-Shopify-Access-Token"] == "shpat_x"


def test_shopify_with_nothing_left_open_sends_no_fulfillment() -> None:
    fake = Fake(lambda _r: httpx.Response(200, json={"fulfillment_orders": []}))
    channel = store(ChannelKind.SHOPIFY, "https://shop.example.test")
    order = order_of("shopify", "450789469", [("466157049", 2)])
    shipments.mark_shipped(channel, order, shipped(order), fake.transport)
    assert [method for method, _, _ in fake.calls()] == ["GET"]


def test_woocommerce_completes_the_order_and_adds_a_customer_tracking_note() -> None:
    fake = Fake()
    channel = store(ChannelKind.WOOCOMMERCE, "https://woo.example.test")
    order = order_of("woocommerce", "727", [("315", 1)])
    shipments.mark_shipped(channel, order, shipped(order), fake.transport)
    assert fake.calls() == [
        ("PUT", "/wp-json/wc/v3/orders/727", {"status": "completed"}),
        (
            "POST",
            "/wp-json/wc/v3/orders/727/notes",
            {"note": "Shipped with UPS, tracking number 1Z999AA10123456784", "customer_note": True},
        ),
    ]


def test_bigcommerce_ships_to_the_order_address_kept_in_the_metadata() -> None:
    fake = Fake()
    channel = store(ChannelKind.BIGCOMMERCE, "https://api.bigcommerce.test/stores/abc")
    order = order_of("bigcommerce", "118", [("16", 2)], order_address_ids=[9])
    shipments.mark_shipped(channel, order, shipped(order), fake.transport)
    assert fake.calls() == [
        (
            "POST",
            "/stores/abc/v2/orders/118/shipments",
            {
                "order_address_id": 9,
                "tracking_number": "1Z999AA10123456784",
                "items": [{"order_product_id": 16, "quantity": 2}],
                "shipping_provider": "ups",
            },
        )
    ]


def test_a_bigcommerce_order_without_an_address_id_is_refused_for_good() -> None:
    channel = store(ChannelKind.BIGCOMMERCE, "https://api.bigcommerce.test/stores/abc")
    order = order_of("bigcommerce", "118", [("16", 2)])
    with pytest.raises(PermanentFailure):
        shipments.mark_shipped(channel, order, shipped(order), Fake().transport)


def test_magento_creates_a_shipment_with_the_track() -> None:
    fake = Fake(lambda _r: httpx.Response(200, json="123"))
    channel = store(ChannelKind.MAGENTO, "https://mage.example.test/rest/default")
    order = order_of("magento", "3", [("7", 1)])
    shipments.mark_shipped(channel, order, shipped(order), fake.transport)
    assert fake.calls() == [
        (
            "POST",
            "/rest/default/V1/order/3/ship",
            {
                "items": [{"order_item_id": 7, "qty": 1}],
                "notify": True,
                "tracks": [
                    {"track_number": "1Z999AA10123456784", "title": "UPS", "carrier_code": "ups"}
                ],
            },
        )
    ]


def test_amazon_confirms_the_shipment_in_the_orders_marketplace() -> None:
    fake = Fake()
    order = order_of(
        "amz", "902-3159896-1390916", [("52986411826454", 1)], marketplace_id="A1F83G8C2ARO7P"
    )
    shipments.mark_shipped(AMAZON, order, shipped(order), fake.transport)
    assert fake.calls() == [
        (
            "POST",
            "/orders/v0/orders/902-3159896-1390916/shipmentConfirmation",
            {
                "marketplaceId": "A1F83G8C2ARO7P",
                "packageDetail": {
                    "packageReferenceId": "1",
                    "carrierCode": "UPS",
                    "trackingNumber": "1Z999AA10123456784",
                    "shipDate": "2026-11-27T10:15:00.000Z",
                    "orderItems": [{"orderItemId": "52986411826454", "quantity": 1}],
                },
            },
        )
    ]


def test_ebay_creates_a_shipping_fulfillment_for_the_shipped_line_items() -> None:
    fake = Fake(lambda _r: httpx.Response(201))
    order = order_of("ebay", "12-34567-89012", [("10012345678901", 3)])
    shipments.mark_shipped(EBAY, order, shipped(order, [2]), fake.transport)
    assert fake.calls() == [
        (
            "POST",
            "/sell/fulfillment/v1/order/12-34567-89012/shipping_fulfillment",
            {
                "lineItems": [{"lineItemId": "10012345678901", "quantity": 2}],
                "shippedDate": "2026-11-27T10:15:00.000Z",
                "shippingCarrierCode": "UPS",
                "trackingNumber": "1Z999AA10123456784",
            },
        )
    ]


def test_walmart_ships_the_line_numbers_with_tracking() -> None:
    fake = Fake()
    order = order_of("wm", "1796277083022", [("1", 1)])
    shipments.mark_shipped(WALMART, order, shipped(order), fake.transport)
    [(method, path, body)] = fake.calls()
    assert (method, path) == ("POST", "/v3/orders/1796277083022/shipping")
    [line] = body["orderShipment"]["orderLines"]["orderLine"]
    [status] = line["orderLineStatuses"]["orderLineStatus"]
    assert line["lineNumber"] == "1"
    assert status["statusQuantity"] == {"unitOfMeasurement": "EACH", "amount": "1"}
    assert status["trackingInfo"] == {
        "shipDateTime": int(datetime.fromisoformat(SHIPPED_AT).timestamp() * 1000),
        "carrierName": {"carrier": "UPS"},
        "methodCode": "Standard",
        "trackingNumber": "1Z999AA10123456784",
    }


def test_etsy_creates_the_receipt_shipment_form_encoded() -> None:
    fake = Fake()
    order = order_of("etsy", "1234567890", [("2345678901", 1)])
    shipments.mark_shipped(ETSY, order, shipped(order), fake.transport)
    assert fake.calls() == [
        (
            "POST",
            "/v3/application/shops/55667788/receipts/1234567890/tracking",
            {"tracking_code": "1Z999AA10123456784", "carrier_name": "UPS", "send_bcc": "false"},
        )
    ]


def test_tiktok_ships_every_unit_line_item_with_the_carriers_provider_id() -> None:
    fake = Fake(lambda _r: httpx.Response(200, json={"code": 0, "data": {}}))
    order = order_of(
        "tiktok", "576461413038785752", [("5764610001", 2)],
        line_item_ids={"1729": ["5764610001", "5764610002"]},
    )  # fmt: skip
    shipments.mark_shipped(TIKTOK, order, shipped(order), fake.transport)
    [(method, path, body)] = fake.calls()
    assert (method, path.split("?")[0]) == (
        "POST",
        "/fulfillment/202309/orders/576461413038785752/packages",
    )
    assert body == {
        "order_line_item_ids": ["5764610001", "5764610002"],
        "tracking_number": "1Z999AA10123456784",
        "shipping_provider_id": "6617675021119438849",
    }


def test_a_tiktok_carrier_without_a_provider_id_is_refused_for_good() -> None:
    order = order_of("tiktok", "5764", [("1", 1)])
    unknown = {**shipped(order), "carrier": "Pony Express"}
    with pytest.raises(PermanentFailure):
        shipments.mark_shipped(TIKTOK, order, unknown, Fake().transport)


def test_channels_without_a_ship_call_or_an_api_url_are_left_alone() -> None:
    fake = Fake()
    order = order_of("web", "1", [("1", 1)])
    native = Channel("web", "Web", ChannelKind.NATIVE)
    unconnected = Channel("shop", "Shop", ChannelKind.SHOPIFY)
    assert not shipments.mark_shipped(native, order, shipped(order), fake.transport)
    assert not shipments.mark_shipped(unconnected, order, shipped(order), fake.transport)
    assert fake.requests == []


@pytest.mark.parametrize(
    "channel",
    [
        store(ChannelKind.SHOPIFY, "https://shop.example.test", credentials={"access_token": "t"}),
        store(ChannelKind.WOOCOMMERCE, "https://woo.example.test"),
        AMAZON, EBAY, WALMART, ETSY, TIKTOK,
    ],
    ids=lambda c: c.kind.value,
)  # fmt: skip
def test_a_channel_without_sync_back_is_neither_told_of_shipments_nor_sent_stock(
    channel: Channel,
) -> None:
    fake = Fake()
    quiet = replace(channel, sync_back=False)
    order = order_of(quiet.code, "1", [("1", 1)])
    item = {"inventory_item_id": 1, "location_id": 2, "product_id": 3, "sku_id": 4, "listing_id": 5}
    assert not shipments.mark_shipped(quiet, order, shipped(order), fake.transport)
    assert not push(quiet, item, fake)
    assert fake.requests == []
    assert shipments.mark_shipped(channel, order, shipped(order), fake.transport)  # the control
    assert fake.requests


def test_a_refusal_never_repeats_a_user_and_password_of_the_api_base_url() -> None:
    fake = Fake(lambda _r: httpx.Response(400, json={"errors": "nope"}))
    channel = store(ChannelKind.WOOCOMMERCE, "https://ck_key:cs_secret@woo.example.test")
    order = order_of("woocommerce", "727", [("315", 1)])
    with pytest.raises(PermanentFailure) as refused:
        shipments.mark_shipped(channel, order, shipped(order), fake.transport)
    assert "cs_secret" not in str(refused.value)
    assert "ck_key" not in str(refused.value)
    assert "https://***@woo.example.test/wp-json/wc/v3/orders/727" in str(refused.value)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_throttling_and_server_errors_are_retried_by_the_worker(status: int) -> None:
    fake = Fake(lambda _r: httpx.Response(status, headers={"Retry-After": "30"}))
    channel = store(ChannelKind.WOOCOMMERCE, "https://woo.example.test")
    order = order_of("woocommerce", "727", [("315", 1)])
    with pytest.raises(ChannelBusy):
        shipments.mark_shipped(channel, order, shipped(order), fake.transport)
    assert len(fake.requests) == 1  # one attempt: the worker's backoff does the waiting


@pytest.mark.parametrize("status", [400, 404, 422])
def test_other_client_errors_dead_letter_at_once(status: int) -> None:
    fake = Fake(lambda _r: httpx.Response(status, json={"errors": "nope"}))
    channel = store(ChannelKind.WOOCOMMERCE, "https://woo.example.test")
    order = order_of("woocommerce", "727", [("315", 1)])
    with pytest.raises(PermanentFailure):
        shipments.mark_shipped(channel, order, shipped(order), fake.transport)


def test_marketplace_refusals_are_judged_the_same_way() -> None:
    order = order_of("ebay", "12-34567-89012", [("100", 1)])
    busy = Fake(lambda _r: httpx.Response(429))
    with pytest.raises(ChannelBusy):
        shipments.mark_shipped(EBAY, order, shipped(order), busy.transport)
    forget_shared_state()
    bad = Fake(lambda _r: httpx.Response(400, json={"errors": []}))
    with pytest.raises(PermanentFailure):
        shipments.mark_shipped(EBAY, order, shipped(order), bad.transport)


# --- available to sell ---------------------------------------------------------------------


def push(channel: Channel, item: dict[str, Any] | None, fake: Fake, available: int = 7) -> bool:
    return inventory.push_available(
        channel, sku="MUG-1", available=available, item=item, transport=fake.transport
    )


def test_shopify_sets_the_available_level_of_the_mapped_inventory_item() -> None:
    fake = Fake()
    channel = store(ChannelKind.SHOPIFY, "https://shop.example.test")
    assert push(channel, {"inventory_item_id": 808950810, "location_id": 655441491}, fake)
    assert fake.calls() == [
        (
            "POST",
            "/admin/api/2024-10/inventory_levels/set.json",
            {"location_id": 655441491, "inventory_item_id": 808950810, "available": 7},
        )
    ]


def test_a_sku_not_listed_on_the_channel_or_without_its_ids_is_not_pushed() -> None:
    fake = Fake()
    assert not push(store(ChannelKind.SHOPIFY, "https://shop.example.test"), None, fake)
    assert not push(TIKTOK, {"product_id": "1"}, fake)
    assert not push(EBAY, None, fake)
    assert fake.requests == []


def test_woocommerce_sets_the_variations_stock_quantity() -> None:
    fake = Fake()
    push(store(ChannelKind.WOOCOMMERCE, "https://woo.example.test"),
         {"product_id": 22, "variation_id": 733}, fake, available=-2)  # fmt: skip
    assert fake.calls() == [
        (
            "PUT",
            "/wp-json/wc/v3/products/22/variations/733",
            {"manage_stock": True, "stock_quantity": 0},
        )
    ]


def test_bigcommerce_and_magento_set_absolute_quantities_by_sku() -> None:
    fake = Fake()
    push(store(ChannelKind.BIGCOMMERCE, "https://bc.test/stores/abc"),
         {"location_id": 1, "sku": "MUG-BC"}, fake)  # fmt: skip
    push(store(ChannelKind.MAGENTO, "https://mage.test/rest/default"), {}, fake)
    assert fake.calls() == [
        (
            "PUT",
            "/stores/abc/v3/inventory/adjustments/absolute",
            {
                "reason": "OrderHub available-to-sell",
                "items": [{"location_id": 1, "sku": "MUG-BC", "quantity": 7}],
            },
        ),
        (
            "POST",
            "/rest/default/V1/inventory/source-items",
            {
                "sourceItems": [
                    {"sku": "MUG-1", "source_code": "default", "quantity": 7, "status": 1}
                ]
            },
        ),
    ]


def test_marketplaces_take_the_quantity_in_their_own_inventory_calls() -> None:
    fake = Fake(lambda r: httpx.Response(200, json={"code": 0, "data": {}}))
    for channel in (AMAZON, EBAY, WALMART):
        push(channel, {}, fake)
    push(TIKTOK, {"product_id": "1729", "sku_id": "2729", "warehouse_id": "7068"}, fake)
    calls = fake.calls()
    assert calls[0] == (
        "PATCH",
        "/listings/2021-08-01/items/A2SELLER/MUG-1?marketplaceIds=ATVPDKIKX0DER",
        {
            "productType": "PRODUCT",
            "patches": [
                {
                    "op": "replace",
                    "path": "/attributes/fulfillment_availability",
                    "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 7}],
                }
            ],
        },
    )
    assert calls[1] == (
        "POST",
        "/sell/inventory/v1/bulk_update_price_quantity",
        {"requests": [{"sku": "MUG-1", "shipToLocationAvailability": {"quantity": 7}}]},
    )
    assert calls[2] == (
        "PUT",
        "/v3/inventory?sku=MUG-1",
        {"sku": "MUG-1", "quantity": {"unit": "EACH", "amount": 7}},
    )
    method, path, body = calls[3]
    assert (method, path.split("?")[0]) == (
        "POST",
        "/product/202309/products/1729/inventory/update",
    )
    assert body == {
        "skus": [{"id": "2729", "inventory": [{"warehouse_id": "7068", "quantity": 7}]}]
    }


def test_etsy_reads_the_listing_inventory_and_writes_it_back_with_the_new_quantity() -> None:
    current = {
        "products": [
            {
                "sku": "MUG-1",
                "property_values": [],
                "offerings": [
                    {"price": {"amount": 1250, "divisor": 100}, "quantity": 1, "is_enabled": True}
                ],
            }
        ]
    }

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=current if request.method == "GET" else {})

    fake = Fake(answer)
    push(ETSY, {"listing_id": "987"}, fake)
    assert [(m, p) for m, p, _ in fake.calls()] == [
        ("GET", "/v3/application/listings/987/inventory"),
        ("PUT", "/v3/application/listings/987/inventory"),
    ]
    assert fake.calls()[1][2] == {
        "products": [
            {
                "sku": "MUG-1",
                "property_values": [],
                "offerings": [{"price": Decimal("12.5"), "quantity": 7, "is_enabled": True}],
            }
        ]
    }


def test_without_an_injected_transport_calls_go_through_the_ssrf_guard() -> None:
    channel = store(ChannelKind.WOOCOMMERCE, "http://127.0.0.1:9")
    order = order_of("woocommerce", "727", [("315", 1)])
    guarded = transports(None, [])
    with pytest.raises(PermanentFailure, match=r"127\.0\.0\.1"):
        shipments.mark_shipped(channel, order, shipped(order), guarded)


def test_an_allowed_private_address_is_let_through_and_its_outage_retried() -> None:
    channel = store(ChannelKind.WOOCOMMERCE, "http://127.0.0.1:9")  # nothing listens on 9
    order = order_of("woocommerce", "727", [("315", 1)])
    with pytest.raises(ChannelBusy):
        shipments.mark_shipped(channel, order, shipped(order), transports(None, ["127.0.0.1"]))
