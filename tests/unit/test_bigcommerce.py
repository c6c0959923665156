import json
from decimal import Decimal

import httpx
import pytest

from orderhub.channels import bigcommerce
from orderhub.channels.base import Tracking, WebhookRejected
from orderhub.domain.money import Money
from tests.support.channels import SECRET, fixture_text, totals_of

WEBHOOK = fixture_text("bigcommerce/webhook_store_order_created.json").encode()


def fake_store(requests: list[httpx.Request]) -> httpx.MockTransport:
    """Replays the V2 order, products and shipping addresses of order 250."""
    files = {
        "/stores/abc123/v2/orders/250": "bigcommerce/order_250.json",
        "/stores/abc123/v2/orders/250/products": "bigcommerce/order_250_products.json",
        "/stores/abc123/v2/orders/250/shippingaddresses": (
            "bigcommerce/order_250_shipping_addresses.json"
        ),
    }

    def handle(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if request.headers.get("X-Auth-Token") != "bc-token":
            return httpx.Response(401)
        name = files.get(request.url.path)
        if name is None:
            return httpx.Response(404)
        return httpx.Response(200, text=fixture_text(name))

    return httpx.MockTransport(handle)


def usd(value: str) -> Money:
    return Money(Decimal(value), "USD")


def read_250() -> bigcommerce.ChannelOrder:
    requests: list[httpx.Request] = []
    with httpx.Client(
        base_url="https://api.bigcommerce.test/stores/abc123",
        headers={"X-Auth-Token": "bc-token"},
        transport=fake_store(requests),
    ) as client:
        [item] = bigcommerce.read_webhook("bc", WEBHOOK, {}, client=client)
    assert [r.url.path.rsplit("/", 1)[-1] for r in requests] == [
        "250", "products", "shippingaddresses",
    ]  # fmt: skip
    return item


def test_a_thin_webhook_fetches_the_order_and_normalizes_it_to_the_exact_total() -> None:
    item = read_250()
    draft = item.draft
    assert draft is not None
    assert not item.cancelled
    assert draft.currency == "USD"  # transactional; EUR is only the display currency
    assert draft.metadata["display_currency"] == "EUR"
    totals = totals_of(draft)
    assert totals.subtotal == usd("111.98")
    assert totals.discount == usd("1.59")
    assert totals.shipping == usd("13.59")  # 11.09 shipping + 2.50 fee
    assert totals.tax == usd("10.15")
    assert totals.total == usd("134.13") == usd(draft.metadata["channel_total"])


def test_bundled_pick_list_product_is_a_zero_priced_line_and_gift_certificate_a_payment() -> None:
    draft = read_250().draft
    assert draft is not None
    towel, brewer = draft.lines
    assert (towel.channel_sku, towel.quantity, towel.unit_price) == ("S-ORAN", 2, usd("55.99"))
    assert (brewer.channel_sku, brewer.unit_price) == ("ABS", usd("0.00"))
    assert draft.metadata["bundle_parents"] == {"66": "65"}
    assert draft.metadata["gift_certificate_amount"] == "20.00"
    assert draft.customer.email == "janedoe@example.com"
    assert draft.shipping_address is not None
    assert draft.shipping_address.city == "San Antonio"


def test_the_replay_envelope_holds_all_three_resources() -> None:
    item = read_250()
    assert bigcommerce.parse(item.payload) == item.draft


def test_other_scopes_fetch_nothing() -> None:
    body = json.dumps({"scope": "store/product/updated", "data": {"id": 1}}).encode()
    assert bigcommerce.order_id_of(body) is None


def test_the_custom_secret_header_authenticates_the_delivery() -> None:
    bigcommerce.verify(secret=SECRET, body=WEBHOOK, headers={"x-orderhub-webhook-secret": SECRET})
    with pytest.raises(WebhookRejected):
        bigcommerce.verify(secret=SECRET, body=WEBHOOK, headers={"x-orderhub-webhook-secret": "x"})


def test_outbound_shipment_cancel_and_absolute_inventory_bodies() -> None:
    shipment = bigcommerce.mark_shipped(
        "250", order_address_id=151, items={65: 2, 66: 2}, tracking=Tracking("UPS", "1Z9")
    )
    assert (shipment.method, shipment.path) == ("POST", "/v2/orders/250/shipments")
    assert shipment.body == {
        "order_address_id": 151,
        "tracking_number": "1Z9",
        "items": [{"order_product_id": 65, "quantity": 2}, {"order_product_id": 66, "quantity": 2}],
        "shipping_provider": "ups",
    }
    other = bigcommerce.mark_shipped("250", order_address_id=151, items={65: 1},
                                     tracking=Tracking("DHL", "JD1"))  # fmt: skip
    assert other.body is not None
    assert other.body["tracking_carrier"] == "dhl"
    assert bigcommerce.cancel("250").body == {"status_id": 5}
    adjust = bigcommerce.set_inventory([(1, "S-ORAN", 12), (2, "ABS", -1)], reason="OrderHub ATS")
    assert (adjust.method, adjust.path) == ("PUT", "/v3/inventory/adjustments/absolute")
    assert adjust.body == {
        "reason": "OrderHub ATS",
        "items": [
            {"location_id": 1, "sku": "S-ORAN", "quantity": 12},
            {"location_id": 2, "sku": "ABS", "quantity": 0},
        ],
    }
