"""The demo's marketplaces: five channels and a simulated marketplace API to pull from.

``seed_marketplaces`` adds an Amazon, eBay, Walmart, Etsy and TikTok Shop channel (credentials
referenced from environment variables, so nothing real is called) and runs one real sync of
each against :func:`simulated_transport`, an in-process fake that answers like each API. The
orders thus go through the same client, paging, normalization and ingest as in production.
The channels take orders in only (``sync_back=False``): with no real credentials, a ship,
stock or acknowledge call could only fail and dead-letter. For the same reason the demo
worker's later polls (:func:`poll_simulated`) ask the simulated APIs too, not the real hosts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx

from orderhub.clock import utc_now
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.services.marketplace_sync import SyncReport, poll_due, sync_marketplace
from orderhub.store.unit_of_work import UnitOfWork

_ENV = {
    "AMAZON_REFRESH_TOKEN": "demo",
    "AMAZON_CLIENT_SECRET": "demo",
    "EBAY_REFRESH_TOKEN": "demo",
    "EBAY_CLIENT_SECRET": "demo",
    "WALMART_CLIENT_SECRET": "demo",
    "ETSY_REFRESH_TOKEN": "demo",
    "ETSY_SHARED_SECRET": "demo",
    "TIKTOK_APP_SECRET": "demo",
    "TIKTOK_ACCESS_TOKEN": "demo",
}


def _env(name: str) -> dict[str, str]:
    return {"env": name}


DEMO_MARKETPLACES = [
    Channel(
        code="amazon",
        name="Amazon US",
        kind=ChannelKind.AMAZON,
        sync_back=False,
        api_base_url="https://sellingpartnerapi-na.amazon.com",
        credentials={
            "refresh_token": _env("AMAZON_REFRESH_TOKEN"),
            "client_id": "amzn1.application-oa2-client.demo",
            "client_secret": _env("AMAZON_CLIENT_SECRET"),
        },
        settings={"marketplace_ids": ["ATVPDKIKX0DER"]},
    ),
    Channel(
        code="ebay",
        name="eBay",
        kind=ChannelKind.EBAY,
        sync_back=False,
        credentials={
            "refresh_token": _env("EBAY_REFRESH_TOKEN"),
            "client_id": "demo",
            "client_secret": _env("EBAY_CLIENT_SECRET"),
        },
    ),
    Channel(
        code="walmart",
        name="Walmart",
        kind=ChannelKind.WALMART,
        sync_back=False,
        credentials={"client_id": "demo", "client_secret": _env("WALMART_CLIENT_SECRET")},
    ),
    Channel(
        code="etsy",
        name="Etsy shop",
        kind=ChannelKind.ETSY,
        sync_back=False,
        credentials={
            "keystring": "demo",
            "shared_secret": _env("ETSY_SHARED_SECRET"),
            "refresh_token": _env("ETSY_REFRESH_TOKEN"),
        },
        settings={"shop_id": "12345678"},
    ),
    Channel(
        code="tiktok",
        name="TikTok Shop",
        kind=ChannelKind.TIKTOK,
        sync_back=False,
        credentials={
            "app_key": "demo",
            "app_secret": _env("TIKTOK_APP_SECRET"),
            "access_token": _env("TIKTOK_ACCESS_TOKEN"),
        },
    ),
]


def _usd(amount: str) -> dict[str, str]:
    return {"CurrencyCode": "USD", "Amount": amount}


def _answers(now: datetime) -> dict[str, Any]:
    """One order per marketplace, in each API's own format."""
    iso = (now - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    epoch = int((now - timedelta(hours=2)).timestamp())
    address = {"Name": "Sam Demo", "AddressLine1": "1 Demo Way", "City": "Seattle",
               "StateOrRegion": "WA", "PostalCode": "98101", "CountryCode": "US"}  # fmt: skip
    return {
        "/orders/v0/orders": {"payload": {"Orders": [{
            "AmazonOrderId": "113-0000001-0000001", "PurchaseDate": iso, "LastUpdateDate": iso,
            "OrderStatus": "Unshipped", "FulfillmentChannel": "MFN", "OrderTotal": _usd("44.79"),
            "ShippingAddress": address, "ShipServiceLevel": "Std US D2D Dom"}]}},
        "/orders/v0/orders/113-0000001-0000001/orderItems": {"payload": {"OrderItems": [{
            "OrderItemId": "1", "SellerSKU": "TSHIRT-BLK-M", "Title": "T-shirt",
            "QuantityOrdered": 2,
            "ItemPrice": _usd("39.80"), "ItemTax": _usd("0.00"), "ShippingPrice": _usd("4.99"),
            "PromotionDiscount": _usd("0.00")}]}},
        "/sell/fulfillment/v1/order": {"total": 1, "orders": [{
            "orderId": "12-00001-00001", "creationDate": iso, "lastModifiedDate": iso,
            "pricingSummary": {"total": {"value": "30.00", "currency": "USD"},
                               "deliveryCost": {"value": "5.00", "currency": "USD"}},
            "buyer": {"buyerRegistrationAddress": {
                "fullName": "Eve Bay", "email": "eve@example.com"}},
            "lineItems": [{
                "lineItemId": "1", "legacyItemId": "110000000001", "sku": "MUG-LOGO",
                           "title": "Mug", "quantity": 2,
                           "lineItemCost": {"value": "25.00", "currency": "USD"}}]}]},
        "/v3/orders/released": {"list": {"meta": {"totalCount": 1}, "elements": {"order": [{
            "purchaseOrderId": "1800000000001", "customerOrderId": "5000000000001",
            "customerEmailId": "relay@relay.walmart.com", "orderDate": epoch * 1000,
            "shippingInfo": {"methodCode": "Value", "postalAddress": {
                "name": "Wal Demo", "address1": "2 Demo Rd", "city": "Bentonville", "state": "AR",
                "postalCode": "72712", "country": "USA"}},
            "orderLines": {"orderLine": [{"lineNumber": "1",
                "item": {"productName": "Cap", "sku": "CAP-NAVY"},
                "charges": {"charge": [{"chargeType": "PRODUCT", "chargeName": "ItemPrice",
                    "chargeAmount": {"currency": "USD", "amount": 15},
                    "tax": {"taxName": "Tax1", "taxAmount": {"currency": "USD", "amount": 1.2}}}]},
                "orderLineQuantity": {"unitOfMeasurement": "EACH", "amount": "1"},
                "orderLineStatuses": {"orderLineStatus": [{"status": "Created"}]}}]}}]}}},
        "/v3/application/shops/12345678/receipts": {"count": 1, "results": [{
            "receipt_id": 3000000001, "status": "Paid", "name": "Etta Demo", "buyer_email": None,
            "country_iso": "US", "city": "Brooklyn", "zip": "11201", "first_line": "3 Demo St",
            "created_timestamp": epoch, "updated_timestamp": epoch,
            "grandtotal": {"amount": 2100, "divisor": 100, "currency_code": "USD"},
            "total_shipping_cost": {"amount": 300, "divisor": 100, "currency_code": "USD"},
            "discount_amt": {"amount": 100, "divisor": 100, "currency_code": "USD"},
            "transactions": [{
                "transaction_id": 1, "title": "Poster", "quantity": 2, "sku": "POSTER-A2",
                "listing_id": 1, "product_id": 1, "buyer_coupon": 0.5, "shop_coupon": 1.0,
                              "price": {"amount": 950, "divisor": 100, "currency_code": "USD"}}]}]},
        "/order/202309/orders/search": {"code": 0, "data": {"orders": [{
            "id": "576400000000000001", "status": "AWAITING_SHIPMENT", "create_time": epoch,
            "update_time": epoch, "buyer_email": "tt@example.com",
            "payment": {
                "currency": "USD", "original_shipping_fee": "0.00", "total_amount": "22.00"},
            "recipient_address": {
                "name": "Tik Demo", "region_code": "US", "postal_code": "90001"},
            "line_items": [{"id": f"5770000000000000{n}", "seller_sku": "SOCKS-3PK", "sku_id": "1",
                            "product_name": "Socks", "original_price": "11.00", "currency": "USD",
                            "seller_discount": "0", "platform_discount": "0"} for n in (1, 2)]}]}},
    }  # fmt: skip


def simulated_transport(now: datetime) -> httpx.MockTransport:
    """An in-process marketplace API: tokens for every OAuth endpoint, one order per API."""
    answers = _answers(now)

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/tokens/2021-03-01/restrictedDataToken":  # Amazon's Tokens API
            return httpx.Response(200, json={"restrictedDataToken": "demo", "expiresIn": 3600})
        if "token" in path:
            return httpx.Response(200, json={"access_token": "demo", "expires_in": 3600})
        if path in answers:
            return httpx.Response(200, content=json.dumps(answers[path]).encode())
        return httpx.Response(404, json={"errors": [{"message": f"no demo answer for {path}"}]})

    return httpx.MockTransport(handle)


def poll_simulated(
    uow_factory: Callable[[], UnitOfWork], now: datetime
) -> dict[str, SyncReport | str]:
    """The demo worker's marketplace poll: every due channel, answered by the simulated APIs
    (the channels' credentials are placeholders: the real hosts would refuse them)."""
    return poll_due(
        uow_factory, transport=simulated_transport(now), clock=lambda: now, environ=_ENV
    )


def seed_marketplaces(uow_factory: Callable[[], UnitOfWork]) -> dict[str, dict[str, int]]:
    """Add the demo marketplaces and pull one order from each simulated API."""
    with uow_factory() as uow:
        for channel in DEMO_MARKETPLACES:
            uow.channels.add(channel)
        uow.commit()
    now = utc_now()
    transport = simulated_transport(now)
    return {
        channel.code: sync_marketplace(
            uow_factory, channel=channel.code, transport=transport, environ=_ENV
        ).counts
        for channel in DEMO_MARKETPLACES
    }
