"""Polling the marketplaces against local fakes: paging, held orders, restarts, rate limits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import httpx
import pytest

from orderhub.bootstrap import Container
from orderhub.channels import registry
from orderhub.channels.api_client import forget_shared_state
from orderhub.domain.catalog import Product
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.services.ingest import Outcome, replay_quarantined
from orderhub.services.marketplace_sync import poll_due, sync_marketplace
from tests.marketplace_fixtures import (
    FakeMarketplace,
    add_channel,
    fixture_text,
    order_by_external,
    order_ids,
    text_response,
)

NOW = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
ENV = {"OH_AMZ_REFRESH": "Atzr|from-the-environment"}
B_ID = "902-8745147-1934268"


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    forget_shared_state()
    yield
    forget_shared_state()


AMAZON = Channel(
    code="amz",
    name="Amazon US",
    kind=ChannelKind.AMAZON,
    api_base_url="https://sellingpartnerapi-na.amazon.com",
    credentials={
        "refresh_token": {"env": "OH_AMZ_REFRESH"},
        "client_id": "amzn1.application-oa2-client.test",
        "client_secret": "secret",
    },
    settings={"marketplace_ids": ["ATVPDKIKX0DER"]},
)
AMAZON_SKUS = {"NABetaASINB00551Q3CS": "CARD", "AMZ-MUG": "MUG", "AMZ-TEE": "TEE"}


class AmazonFake:
    """Orders in two pages; order B's items in two pages; a switch to fail mid-sync."""

    RDT = "Atz.sprdt|IQEBLjAsAhRmHjNgHpi0U-Dme37rR6CuUpSR"

    def __init__(self) -> None:
        self.fail_items_of: str | None = None
        self.pending_now_unshipped = False
        self.rate_limited_once = False
        self.rdt_refused = False  # the app lacks the restricted roles
        self.fake = FakeMarketplace(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        path, query = request.url.path, parse_qs(request.url.query.decode())
        if path == "/auth/o2/token":
            return text_response(fixture_text("amazon", "lwa_token.json"))
        if path == "/tokens/2021-03-01/restrictedDataToken":
            return self.restricted_data_token(request)
        if path == "/orders/v0/orders":
            if self.rate_limited_once:
                self.rate_limited_once = False
                return httpx.Response(429, headers={"Retry-After": "7"}, json={"errors": []})
            page = "getOrders_page2.json" if "NextToken" in query else "getOrders_page1.json"
            text = fixture_text("amazon", page)
            if self.pending_now_unshipped:
                text = text.replace('"OrderStatus": "Pending"', '"OrderStatus": "Unshipped"')
            if request.headers["x-amz-access-token"] != self.RDT:
                text = self.without_pii(text)
            return text_response(text, headers={"x-amzn-RateLimit-Limit": "0.0167"})
        if request.headers["x-amz-access-token"] != "Atza|IwEBIA-test-1":
            return httpx.Response(403, json={"errors": [{"code": "Unauthorized"}]})
        order_id = path.split("/")[4]
        if order_id == self.fail_items_of:
            raise RuntimeError("the process died here")
        if order_id == B_ID:
            page = "page2" if query.get("NextToken") == ["ITEMS-PAGE-2"] else "page1"
            return text_response(fixture_text("amazon", f"getOrderItems_{B_ID}_{page}.json"))
        if order_id == "902-3333333-0000001":  # the formerly Pending order, now paid
            body = fixture_text("amazon", "getOrderItems_902-1845936-5435065.json")
            return text_response(body.replace("902-1845936-5435065", order_id))
        return text_response(fixture_text("amazon", f"getOrderItems_{order_id}.json"))

    def restricted_data_token(self, request: httpx.Request) -> httpx.Response:
        """Tokens API 2021-03-01 createRestrictedDataToken, bought with the LWA token."""
        if request.headers["x-amz-access-token"] != "Atza|IwEBIA-test-1":
            return httpx.Response(403, json={"errors": [{"code": "Unauthorized"}]})
        if self.rdt_refused:
            body = {
                "errors": [
                    {"code": "Unauthorized", "message": "Access to requested resource is denied."}
                ]
            }
            return httpx.Response(403, json=body)
        (resource,) = json.loads(request.content)["restrictedResources"]
        assert resource == {
            "method": "GET",
            "path": "/orders/v0/orders",
            "dataElements": ["buyerInfo", "shippingAddress"],
        }
        return httpx.Response(200, json={"restrictedDataToken": self.RDT, "expiresIn": 3600})

    @staticmethod
    def without_pii(text: str) -> str:
        """getOrders without an RDT: no buyer name or email, no name, street or phone."""
        page = json.loads(text)
        for order in page["payload"].get("Orders", []):
            ship_to = order.get("ShippingAddress") or {}
            for name in ("Name", "AddressLine1", "AddressLine2", "AddressLine3", "Phone"):
                ship_to.pop(name, None)
            for name in ("BuyerEmail", "BuyerName"):
                (order.get("BuyerInfo") or {}).pop(name, None)
        return json.dumps(page)


def run(
    container: Container,
    code: str,
    fake: FakeMarketplace,
    *,
    now: datetime = NOW,
    sleeps: list[float] | None = None,
):  # type: ignore[no-untyped-def]
    return sync_marketplace(
        lambda: container.uow(actor="test"),
        channel=code,
        transport=fake.transport,
        clock=lambda: now,
        sleep=(sleeps.append if sleeps is not None else lambda _s: None),
        environ=ENV,
    )


def test_amazon_sync_pages_orders_and_items_holds_pending_and_marks_fba(
    container: Container,
) -> None:
    add_channel(container, AMAZON, AMAZON_SKUS)
    amazon = AmazonFake()
    report = run(container, "amz", amazon.fake)
    assert report.counts == {"created": 3}
    assert order_ids(container, "amz") == ["902-1845936-5435065", "902-4444444-0000002", B_ID]
    two_pages = order_by_external(container, "amz", B_ID)
    assert [(line.sku, line.quantity) for line in two_pages.lines] == [("MUG", 3), ("TEE", 1)]
    assert str(two_pages.totals.total) == "51.58"
    fba = order_by_external(container, "amz", "902-4444444-0000002")
    assert fba.metadata["fulfilled_by_marketplace"] is True
    assert fba.metadata["skip_allocation"] is True
    # Pending: neither created nor were its items asked for.
    assert not amazon.fake.calls("902-3333333-0000001")
    # One token for the whole run, bought with the refresh token from the environment.
    (token_call,) = amazon.fake.calls("/auth/o2/token")
    assert parse_qs(token_call.content.decode())["refresh_token"] == [ENV["OH_AMZ_REFRESH"]]
    item_calls = amazon.fake.calls("/orderItems")
    assert all(r.headers["x-amz-access-token"] == "Atza|IwEBIA-test-1" for r in item_calls)
    order_calls = amazon.fake.calls("/orders/v0/orders")
    assert {
        r.headers["x-amz-access-token"] for r in order_calls if not r.url.path.endswith("Items")
    } == {AmazonFake.RDT}
    first = amazon.fake.calls("/orders/v0/orders")[0]
    assert first.url.params["LastUpdatedAfter"] == "2026-11-23T14:00:00Z"
    assert first.url.params["LastUpdatedBefore"] == "2026-11-26T13:58:00Z"


def test_a_pending_amazon_order_is_created_once_it_becomes_unshipped(container: Container) -> None:
    add_channel(container, AMAZON, AMAZON_SKUS)
    amazon = AmazonFake()
    run(container, "amz", amazon.fake)
    amazon.pending_now_unshipped = True
    report = run(container, "amz", amazon.fake, now=NOW + timedelta(minutes=5))
    assert report.counts == {"existing": 3, "created": 1}
    assert "902-3333333-0000001" in order_ids(container, "amz")
    # The second window starts an overlap before the first one's end.
    assert report.since == NOW - timedelta(minutes=2) - timedelta(minutes=15)


def test_a_restart_mid_sync_loses_and_duplicates_nothing(container: Container) -> None:
    add_channel(container, AMAZON, AMAZON_SKUS)
    amazon = AmazonFake()
    amazon.fail_items_of = B_ID  # after page 1 went through, on page 2
    with pytest.raises(RuntimeError):
        run(container, "amz", amazon.fake)
    assert order_ids(container, "amz") == ["902-1845936-5435065"]
    with container.uow(read_only=True) as uow:
        state = uow.marketplace_sync.get("amz")
    assert state.window_end is None
    assert state.failures == 1
    amazon.fail_items_of = None
    report = run(container, "amz", amazon.fake, now=NOW + timedelta(minutes=1))
    assert report.counts == {"existing": 1, "created": 2}
    assert report.since == NOW + timedelta(minutes=1) - timedelta(days=3)  # same start again
    assert order_ids(container, "amz") == ["902-1845936-5435065", "902-4444444-0000002", B_ID]
    with container.uow(read_only=True) as uow:
        state = uow.marketplace_sync.get("amz")
        events = uow.conn.exec_driver_sql(
            "SELECT count(*) FROM order_events WHERE type = 'order.received'"
        ).scalar_one()
    assert events == 3
    assert state.window_end == NOW + timedelta(minutes=1) - timedelta(minutes=2)
    assert state.failures == 0


def test_an_unmapped_sku_waits_in_quarantine_once_and_replays_after_mapping(
    container: Container,
) -> None:
    add_channel(container, AMAZON, {"AMZ-MUG": "MUG", "AMZ-TEE": "TEE"})
    amazon = AmazonFake()
    run(container, "amz", amazon.fake)
    report = run(container, "amz", amazon.fake, now=NOW + timedelta(minutes=5))  # overlap re-reads
    assert report.counts["quarantined"] == 2  # the CARD orders, again
    with container.uow(read_only=True) as uow:
        rows = uow.conn.exec_driver_sql(
            "SELECT id, attempts FROM quarantine WHERE status = 'open' ORDER BY external_id"
        ).all()
    assert [r[1] for r in rows] == [2, 2]  # one entry per order, seen twice
    with container.uow(actor="test") as uow:
        uow.catalog.upsert(Product("CARD", "Card", 10))
        uow.catalog.map_sku("amz", "NABetaASINB00551Q3CS", "CARD")
        uow.commit()
    with container.uow(actor="test") as uow:
        result = replay_quarantined(uow, entry_id=rows[0][0], parsers=registry.PAYLOAD_PARSERS)
    assert result.outcome == Outcome.CREATED
    assert str(order_by_external(container, "amz", "902-1845936-5435065").totals.total) == "11.01"


def test_429_retry_after_is_honoured_and_the_emptied_bucket_paces_the_next_call(
    container: Container,
) -> None:
    add_channel(container, AMAZON, AMAZON_SKUS)
    amazon = AmazonFake()
    amazon.rate_limited_once = True
    sleeps: list[float] = []
    report = run(container, "amz", amazon.fake, sleeps=sleeps)
    assert report.counts == {"created": 3}
    assert 7.0 in sleeps
    # After a 429 our bucket is empty too: the next getOrders waits one token (1/0.0167 s).
    assert any(59 < s < 61 for s in sleeps)
    # getOrders: the 429, page 1, page 2; then items: one page each for two orders, two for B
    assert len(amazon.fake.calls("/orders/v0/orders")) == 3 + 4


def test_the_polling_schedule_runs_due_channels_and_backs_off_after_failures(
    container: Container,
) -> None:
    add_channel(container, AMAZON, AMAZON_SKUS)
    amazon = AmazonFake()
    factory = lambda: container.uow(actor="test")  # noqa: E731
    amazon.fail_items_of = B_ID
    first = poll_due(
        factory,
        transport=amazon.fake.transport,
        clock=lambda: NOW,
        sleep=lambda _s: None,
        environ=ENV,
    )
    assert isinstance(first["amz"], str)
    with container.uow(read_only=True) as uow:
        assert uow.marketplace_sync.due({"amazon"}, NOW + timedelta(minutes=4)) == []
        assert uow.marketplace_sync.due({"amazon"}, NOW + timedelta(minutes=5)) == ["amz"]
    amazon.fail_items_of = None
    later = NOW + timedelta(minutes=5)
    second = poll_due(
        factory,
        transport=amazon.fake.transport,
        clock=lambda: later,
        sleep=lambda _s: None,
        environ=ENV,
    )
    assert not isinstance(second["amz"], str)
    assert (
        poll_due(factory, transport=amazon.fake.transport, clock=lambda: later, environ=ENV) == {}
    )


def test_a_merchant_fulfilled_amazon_order_arrives_with_the_buyer_name_and_street(
    container: Container,
) -> None:
    add_channel(container, AMAZON, AMAZON_SKUS)
    amazon = AmazonFake()
    run(container, "amz", amazon.fake)
    (rdt_call,) = amazon.fake.calls("/tokens/2021-03-01/restrictedDataToken")
    assert rdt_call.method == "POST"
    mfn = order_by_external(container, "amz", "902-1845936-5435065")
    assert mfn.shipping_address is not None
    assert (mfn.shipping_address.name, mfn.shipping_address.line1) == ("Jane Doe", "1 Main St")


def test_without_the_restricted_roles_amazon_orders_still_come_in_without_pii(
    container: Container,
) -> None:
    add_channel(container, AMAZON, AMAZON_SKUS)
    amazon = AmazonFake()
    amazon.rdt_refused = True
    assert run(container, "amz", amazon.fake).counts == {"created": 3}
    mfn = order_by_external(container, "amz", "902-1845936-5435065")
    assert mfn.shipping_address is not None
    assert (mfn.shipping_address.line1, mfn.shipping_address.city) == (None, "SEATTLE")
    assert len(amazon.fake.calls("/restrictedDataToken")) == 1  # not asked again per page


def orders_2026_handler(request: httpx.Request) -> httpx.Response:
    """Orders API v2026-01-01 searchOrders: PII by role, no RDT; pages by paginationToken."""
    path, params = request.url.path, request.url.params
    if path == "/auth/o2/token":
        return text_response(fixture_text("amazon", "lwa_token.json"))
    if path != "/orders/2026-01-01/orders" or request.method != "GET":
        return httpx.Response(404, json={"errors": [{"code": "NotFound"}]})
    if request.headers["x-amz-access-token"] != "Atza|IwEBIA-test-1":
        return httpx.Response(403, json={"errors": [{"code": "Unauthorized"}]})
    if ("createdAfter" in params) == ("lastUpdatedAfter" in params):  # exactly one of the two
        return httpx.Response(400, json={"errors": [{"code": "InvalidInput"}]})
    included = set(params.get("includedData", "").split(","))
    if not {"BUYER", "RECIPIENT", "PROCEEDS"} <= included:
        return httpx.Response(400, json={"errors": [{"code": "InvalidInput"}]})
    page = "2" if params.get("paginationToken") == "2YgYW55IGNhcm5hbCBwbGVhc3VyZS4" else "1"
    return text_response(fixture_text("amazon", f"searchOrders_2026-01-01_page{page}.json"))


def test_amazon_orders_api_2026_01_01_reads_orders_buyer_and_address_in_one_call_per_page(
    container: Container,
) -> None:
    channel = replace(AMAZON, settings={**AMAZON.settings, "orders_api_version": "2026-01-01"})
    add_channel(container, channel, AMAZON_SKUS)
    fake = FakeMarketplace(orders_2026_handler)
    assert run(container, "amz", fake).counts == {"created": 2}  # the PENDING one held back
    first, second = fake.calls("/orders/2026-01-01/orders")
    assert first.url.params["lastUpdatedAfter"] == "2026-11-23T14:00:00Z"
    assert first.url.params["lastUpdatedBefore"] == "2026-11-26T13:58:00Z"
    assert first.url.params["marketplaceIds"] == "ATVPDKIKX0DER"
    assert second.url.params["paginationToken"] == "2YgYW55IGNhcm5hbCBwbGVhc3VyZS4"
    assert not fake.calls("/restrictedDataToken")
    mugs = order_by_external(container, "amz", "113-2026001-0000001")
    (line,) = mugs.lines
    assert (line.sku, line.quantity, str(line.unit_price)) == ("MUG", 2, "12.99")
    assert (str(line.discount), str(line.tax)) == ("2.00", "1.91")
    assert str(mugs.totals.total) == mugs.metadata["channel_total"] == "31.28"
    assert mugs.shipping_address is not None
    assert (mugs.shipping_address.name, mugs.shipping_address.line1) == ("Jane Doe", "1 Main St")
    assert mugs.metadata["marketplace_id"] == "ATVPDKIKX0DER"
    fba = order_by_external(container, "amz", "113-2026003-0000003")
    assert fba.metadata["skip_allocation"] is True
    assert "113-2026002-0000002" not in order_ids(container, "amz")
