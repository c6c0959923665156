"""Shipment confirmations, cancellations and inventory pushes reach the fakes as documented."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import parse_qs

import httpx
import pytest

from orderhub.channels import amazon, ebay, etsy, tiktok, walmart
from orderhub.channels._shared import Tracking, WebhookRejected
from orderhub.channels.api_client import ChannelApiError, forget_shared_state
from orderhub.domain.channels import Channel, ChannelKind
from tests.integration.test_marketplace_sync_others import TIKTOK, tiktok_handler
from tests.marketplace_fixtures import FakeMarketplace, fixture, fixture_text, text_response

SHIPPED = datetime(2022, 2, 11, 1, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    forget_shared_state()
    yield
    forget_shared_state()


def ok(request: httpx.Request) -> httpx.Response:
    if request.url.path in ("/auth/o2/token", "/identity/v1/oauth2/token", "/v3/token"):
        return text_response('{"access_token": "token", "expires_in": 3600}')
    if request.url.path == "/v3/public/oauth/token":
        return text_response('{"access_token": "token", "expires_in": 3600}')
    return httpx.Response(200, json={})


def body_of(request: httpx.Request) -> object:
    return json.loads(request.content)


AMAZON = Channel(
    "amz",
    "Amazon",
    ChannelKind.AMAZON,
    credentials={"refresh_token": "r", "client_id": "c", "client_secret": "s"},
)


def push(module: object, channel: Channel, request: object, handler=ok) -> FakeMarketplace:  # type: ignore[no-untyped-def]
    """Send ``request`` through the marketplace's own client to a fake; return the fake."""
    fake = FakeMarketplace(handler)
    api = module.client(channel, transport=fake.transport, environ={}, sleep=lambda _s: None)  # type: ignore[attr-defined]
    with api.http:
        module.send(api, request)  # type: ignore[attr-defined]
    return fake


def last_api_call(fake: FakeMarketplace) -> httpx.Request:
    return [r for r in fake.requests if "token" not in r.url.path][-1]


def test_amazon_confirm_shipment_matches_the_documented_request() -> None:
    request = amazon.confirm_shipment(
        order_id="902-1106328-1059050",
        marketplace_id="ATVPDKIKX0DER",
        tracking=Tracking("FedEx", "112345678"),
        ship_date=SHIPPED,
        items=[("79039765272157", 1)],
        shipping_method="FedEx Ground",
    )
    call = last_api_call(push(amazon, AMAZON, request))
    assert (call.method, call.url.path) == (
        "POST",
        "/orders/v0/orders/902-1106328-1059050/shipmentConfirmation",
    )
    assert call.headers["x-amz-access-token"] == "token"
    sample = fixture("amazon", "confirmShipment_request_sample.json")
    detail = sample["packageDetail"]
    for optional in ("carrierName", "shipFromSupplySourceId"):
        detail.pop(optional)
    detail["orderItems"][0].pop("transparencyCodes")
    assert body_of(call) == sample


def test_amazon_quantity_goes_out_as_a_listings_items_patch() -> None:
    request = amazon.listings_quantity(
        seller_id="A3SELLER", sku="AMZ MUG/1", marketplace_id="ATVPDKIKX0DER", quantity=7
    )
    call = last_api_call(push(amazon, AMAZON, request))
    assert call.method == "PATCH"
    assert call.url.raw_path.split(b"?")[0] == b"/listings/2021-08-01/items/A3SELLER/AMZ%20MUG%2F1"
    assert call.url.params["marketplaceIds"] == "ATVPDKIKX0DER"
    assert body_of(call) == {
        "productType": "PRODUCT",
        "patches": [
            {
                "op": "replace",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 7}],
            }
        ],
    }


EBAY = Channel(
    "ebay",
    "eBay",
    ChannelKind.EBAY,
    credentials={"refresh_token": "r", "client_id": "c", "client_secret": "s"},
)


def test_ebay_shipping_fulfillment_and_bulk_quantity_bodies() -> None:
    ship = ebay.create_shipping_fulfillment(
        order_id="12-10002-00002",
        tracking=Tracking("USPS", "9400111899223197428490"),
        shipped_at=SHIPPED,
        lines=[("10000000002", 3)],
    )
    call = last_api_call(push(ebay, EBAY, ship))
    assert call.url.path == "/sell/fulfillment/v1/order/12-10002-00002/shipping_fulfillment"
    assert body_of(call) == {
        "lineItems": [{"lineItemId": "10000000002", "quantity": 3}],
        "shippedDate": "2022-02-11T01:00:00.000Z",
        "shippingCarrierCode": "USPS",
        "trackingNumber": "9400111899223197428490",
    }
    stock = ebay.bulk_update_quantity({"PIN": 4, "LAMP": -2})
    call = last_api_call(push(ebay, EBAY, stock))
    assert call.url.path == "/sell/inventory/v1/bulk_update_price_quantity"
    assert body_of(call) == {
        "requests": [
            {"sku": "LAMP", "shipToLocationAvailability": {"quantity": 0}},
            {"sku": "PIN", "shipToLocationAvailability": {"quantity": 4}},
        ]
    }
    with pytest.raises(ValueError, match="1 to 25"):
        ebay.bulk_update_quantity({f"S{i}": 1 for i in range(26)})


WALMART = Channel(
    "wm", "Walmart", ChannelKind.WALMART, credentials={"client_id": "c", "client_secret": "s"}
)


def test_walmart_ship_cancel_acknowledge_and_inventory_bodies_follow_the_samples() -> None:
    ship = walmart.ship_lines(
        purchase_order_id="1815367951431",
        lines=[("1", 1)],
        tracking=Tracking(
            "UPS",
            "22344",
            "http://walmart/tracking/ups?&type=MP&seller_id=12345&promise_date=03/02/2020&dzip=92840&tracking_numbers=92345",
        ),
        shipped_at=datetime.fromtimestamp(1580821866, tz=UTC),
    )
    call = last_api_call(push(walmart, WALMART, ship))
    assert call.url.path == "/v3/orders/1815367951431/shipping"
    sample_line = fixture("walmart", "shipping_request_sample.json")["orderShipment"]["orderLines"][
        "orderLine"
    ][0]
    for optional in ("intentToCancelOverride", "sellerOrderId"):
        sample_line.pop(optional)
    sample_line["orderLineStatuses"]["orderLineStatus"][0].pop("returnCenterAddress")
    assert body_of(call) == {"orderShipment": {"orderLines": {"orderLine": [sample_line]}}}

    cancel = walmart.cancel_lines(purchase_order_id="1815367951431", lines=[("1", 1)])
    call = last_api_call(push(walmart, WALMART, cancel))
    assert call.url.path == "/v3/orders/1815367951431/cancel"
    assert body_of(call) == fixture("walmart", "cancel_request_sample.json")

    call = last_api_call(push(walmart, WALMART, walmart.acknowledge("1815367951431")))
    assert (call.method, call.url.path, call.content) == (
        "POST",
        "/v3/orders/1815367951431/acknowledge",
        b"",
    )

    call = last_api_call(push(walmart, WALMART, walmart.inventory(sku="97964_KFTest", quantity=10)))
    assert (call.method, call.url.params["sku"]) == ("PUT", "97964_KFTest")
    assert body_of(call) == {"sku": "97964_KFTest", "quantity": {"unit": "EACH", "amount": 10}}


ETSY = Channel(
    "etsy",
    "Etsy",
    ChannelKind.ETSY,
    credentials={"keystring": "k", "shared_secret": "s", "refresh_token": "r"},
    settings={"shop_id": "1"},
)


def test_etsy_receipt_shipment_is_form_encoded() -> None:
    request = etsy.create_receipt_shipment(
        shop="55667788",
        receipt_id="3021745600",
        tracking=Tracking("usps", "9400111899223197428490"),
    )
    call = last_api_call(push(etsy, ETSY, request))
    assert call.url.path == "/v3/application/shops/55667788/receipts/3021745600/tracking"
    assert call.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(call.content.decode()) == {
        "tracking_code": ["9400111899223197428490"],
        "carrier_name": ["usps"],
        "send_bcc": ["false"],
    }


def test_etsy_inventory_update_sends_every_product_back_with_exact_prices() -> None:
    current = json.loads(fixture_text("etsy", "getListingInventory.json"), parse_float=Decimal)
    request = etsy.update_listing_inventory(
        listing_id="1572338400", current=current, quantities={"ETSY-NAPKIN": 2}
    )
    call = last_api_call(push(etsy, ETSY, request))
    assert (call.method, call.url.path) == ("PUT", "/v3/application/listings/1572338400/inventory")
    assert b'"price": 12.5,' in call.content  # a JSON number from exact text, not a float repr
    sent = json.loads(call.content, parse_float=Decimal)
    assert [p["offerings"][0]["quantity"] for p in sent["products"]] == [2, 3]
    assert [p["offerings"][0]["price"] for p in sent["products"]] == [Decimal(12), Decimal("12.5")]
    assert sent["products"][1]["property_values"] == [
        {
            "property_id": 200,
            "property_name": "Primary color",
            "scale_id": None,
            "value_ids": [1],
            "values": ["Blue"],
        }
    ]
    assert sent["quantity_on_property"] == [200]


def test_tiktok_ship_package_and_inventory_are_signed_and_match_the_docs() -> None:
    ship = tiktok.ship_package(
        order_id="576461413038785752",
        line_item_ids=["2321312321311"],
        tracking_number="6617675021119438849",
        shipping_provider_id="12312312321323432",
    )

    def handler(r):
        return (
            tiktok_handler(r) if "/orders/" in r.url.path and r.method == "GET" else _tiktok_ok(r)
        )

    call = last_api_call(push(tiktok, TIKTOK, ship, handler))
    assert call.url.path == "/fulfillment/202309/orders/576461413038785752/packages"
    assert body_of(call) == json.loads(
        '{"order_line_item_ids":["2321312321311"],"tracking_number":"6617675021119438849","shipping_provider_id":"12312312321323432"}'
    )
    stock = tiktok.update_inventory(
        product_id="1729382561353664372",
        sku_id="1729592969712207013",
        quantity=999,
        warehouse_id="7068517275539719942",
    )
    call = last_api_call(push(tiktok, TIKTOK, stock, handler))
    assert call.url.path == "/product/202309/products/1729382561353664372/inventory/update"
    assert body_of(call) == {
        "skus": [
            {
                "id": "1729592969712207013",
                "inventory": [{"warehouse_id": "7068517275539719942", "quantity": 999}],
            }
        ]
    }


def _tiktok_ok(request: httpx.Request) -> httpx.Response:
    params = dict(request.url.params.items())
    expected = tiktok.sign(
        secret="tiktok-app-secret", path=request.url.path, params=params, body=request.content
    )
    if params.get("sign") != expected:
        return text_response('{"code": 106001, "message": "invalid sign"}', status=401)
    return text_response('{"code": 0, "data": {}, "message": "Success"}')


def test_tiktok_webhook_is_verified_then_the_order_is_fetched_and_cancel_means_cancelled() -> None:
    body = fixture_text("tiktok", "webhook_order_status_cancel.json").encode()
    signature = tiktok.webhook_signature(app_key="123abc", secret="tiktok-app-secret", body=body)
    tiktok.verify(
        app_key="123abc",
        secret="tiktok-app-secret",
        body=body,
        headers={"authorization": signature},
    )
    with pytest.raises(WebhookRejected):
        tiktok.verify(
            app_key="123abc",
            secret="tiktok-app-secret",
            body=body + b" ",
            headers={"authorization": signature},
        )
    with pytest.raises(WebhookRejected):
        tiktok.verify(app_key="123abc", secret="tiktok-app-secret", body=body, headers={})
    fake = FakeMarketplace(tiktok_handler)
    api = tiktok.client(TIKTOK, transport=fake.transport, environ={})
    with api.http:
        (item,) = tiktok.read_webhook(api, "tiktok", body)
    assert fake.requests[0].url.params["ids"] == "576461413038785752"
    assert item.cancelled
    assert item.draft is not None
    assert item.draft.external_id == "576461413038785752"


def test_a_refusal_in_a_200_body_is_an_error_on_tiktok() -> None:
    refuse = lambda _r: text_response('{"code": 12052990, "message": "Check failed"}')  # noqa: E731
    request = tiktok.update_inventory(product_id="1", sku_id="2", quantity=1)
    with pytest.raises(ChannelApiError, match="12052990"):
        push(tiktok, TIKTOK, request, refuse)
