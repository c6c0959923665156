"""Each provider against a fake: the generic HTTP 3PL through httpx.MockTransport, the
simulated 3PL by its seed, the own warehouse's pick list and packing slip."""

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from orderhub.domain.fulfilment import FulfilmentLine, TrackingStatus, create_fulfilment
from orderhub.domain.orders import Address
from orderhub.fulfilment.base import (
    Accepted,
    Callback,
    DispatchLine,
    DispatchRequest,
    InvalidCallback,
    PermanentProviderError,
    ProviderError,
    Rejected,
    Shipped,
    TrackingUpdate,
    can_update,
)
from orderhub.fulfilment.http import HttpProvider, sign, signed_headers
from orderhub.fulfilment.shipstation import ShipStationProvider
from orderhub.fulfilment.simulated import SimulatedProvider
from orderhub.fulfilment.warehouse import WarehouseProvider, pick_list

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SECRET = "s3cret-s3cret-s3cret"


def request(fulfilment_id: str = "F1") -> DispatchRequest:
    return DispatchRequest(
        fulfilment_id=fulfilment_id,
        order_id="O1",
        order_number="1001",
        channel="web",
        location="3pl-east",
        placed_at=NOW,
        lines=(DispatchLine("L1", "SKU-1", 2, "One"),),
        ship_to=None,
    )


def http_provider(handler: object) -> HttpProvider:
    client = httpx.Client(transport=httpx.MockTransport(handler))  # type: ignore[arg-type]
    return HttpProvider(
        "acme", url="http://3pl.test/orders", secret=SECRET, client=client, clock=lambda: NOW
    )


def test_http_dispatch_posts_signed_json_and_reads_the_answer() -> None:
    seen: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(200, json={"reference": "ACME-9", "status": "accepted"})

    result = http_provider(handler).dispatch(request())
    (sent,) = seen
    timestamp = sent.headers["x-orderhub-timestamp"]
    assert sent.headers["x-orderhub-signature"] == sign(SECRET, timestamp, sent.content)
    body = json.loads(sent.content)
    assert body["fulfilment_id"] == "F1"
    assert body["lines"] == [{"line_id": "L1", "sku": "SKU-1", "quantity": 2, "name": "One"}]
    assert (result.external_ref, result.accepted) == ("ACME-9", True)


@pytest.mark.parametrize(
    ("status", "error"), [(503, ProviderError), (429, ProviderError), (400, PermanentProviderError)]
)
def test_http_dispatch_failures_are_retryable_or_permanent(
    status: int, error: type[Exception]
) -> None:
    provider = http_provider(lambda _r: httpx.Response(status))
    with pytest.raises(error) as caught:
        provider.dispatch(request())
    if status != 400:
        assert not isinstance(caught.value, PermanentProviderError)


def test_http_dispatch_unreachable_is_retryable() -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=req)

    with pytest.raises(ProviderError):
        http_provider(handler).dispatch(request())


def callback(payload: object, *, secret: str = SECRET, at: datetime = NOW) -> Callback:
    body = json.dumps(payload).encode()
    headers = {k.lower(): v for k, v in signed_headers(secret, body, at).items()}
    return Callback(body=body, headers=headers)


def test_http_callback_with_a_valid_signature_becomes_updates() -> None:
    provider = http_provider(lambda _r: httpx.Response(200))
    updates = provider.handle_callback(
        callback(
            {
                "events": [
                    {"type": "accepted", "fulfilment_id": "F1"},
                    {
                        "type": "shipped",
                        "fulfilment_id": "F1",
                        "carrier": "ups",
                        "tracking_number": "1Z9",
                        "shipped_at": "2026-11-24T13:00:00+01:00",
                        "lines": [{"line_id": "L1", "quantity": 1}],
                    },
                    {
                        "type": "tracking",
                        "tracking_number": "1Z9",
                        "status": "delivered",
                        "at": "2026-11-25T09:00:00Z",
                    },
                    {
                        "type": "rejected",
                        "fulfilment_id": "F2",
                        "reason": "no stock",
                        "stock_out": True,
                    },
                ]
            }
        )
    )
    assert updates == [
        Accepted("F1"),
        Shipped("F1", "ups", "1Z9", NOW, lines={"L1": 1}),
        TrackingUpdate("1Z9", TrackingStatus.DELIVERED, datetime(2026, 11, 25, 9, tzinfo=UTC)),
        Rejected("F2", "no stock", stock_out=True),
    ]


def test_http_callback_with_a_wrong_secret_or_tampered_body_is_refused() -> None:
    provider = http_provider(lambda _r: httpx.Response(200))
    with pytest.raises(InvalidCallback) as caught:
        provider.handle_callback(
            callback({"type": "accepted", "fulfilment_id": "F1"}, secret="other-secret-xxxxx")
        )
    assert caught.value.unauthorized
    good = callback({"type": "accepted", "fulfilment_id": "F1"})
    tampered = Callback(body=good.body.replace(b"F1", b"F2"), headers=good.headers)
    with pytest.raises(InvalidCallback):
        provider.handle_callback(tampered)


def test_http_callback_replayed_after_the_tolerance_is_refused() -> None:
    provider = http_provider(lambda _r: httpx.Response(200))
    old = callback({"type": "accepted", "fulfilment_id": "F1"}, at=NOW - timedelta(minutes=6))
    with pytest.raises(InvalidCallback):
        provider.handle_callback(old)


def test_simulated_rejects_everything_at_rate_one_and_nothing_at_zero() -> None:
    assert SimulatedProvider(reject_rate=1.0).dispatch(request()).accepted is False
    assert SimulatedProvider(reject_rate=1.0).dispatch(request()).stock_out is True
    assert SimulatedProvider(reject_rate=0.0).dispatch(request()).accepted is True


def test_simulated_rejects_about_the_configured_fraction_and_repeats_itself_by_seed() -> None:
    provider = SimulatedProvider(seed=7, reject_rate=0.3)
    answers = [provider.dispatch(request(f"F{i}")).accepted for i in range(400)]
    assert 0.22 < answers.count(False) / 400 < 0.38
    again = SimulatedProvider(seed=7, reject_rate=0.3)
    assert answers == [again.dispatch(request(f"F{i}")).accepted for i in range(400)]


def test_simulated_outages_raise_a_retryable_error() -> None:
    with pytest.raises(ProviderError):
        SimulatedProvider(fail_rate=1.0).dispatch(request())


def test_simulated_ships_after_the_delay_with_a_plausible_tracking_number_then_delivers() -> None:
    provider = SimulatedProvider(
        seed=1, ship_after=timedelta(minutes=30), deliver_after=timedelta(hours=24)
    )
    f = create_fulfilment(
        order_id="O",
        location="sim",
        provider="simulated",
        lines=[FulfilmentLine("L1", "S", 2)],
        now=NOW,
    )
    f.mark_dispatched(external_ref="SIM-1")
    f.accept()
    assert provider.poll([f], NOW + timedelta(minutes=29)) == []
    (shipped,) = provider.poll([f], NOW + timedelta(minutes=31))
    assert isinstance(shipped, Shipped)
    assert shipped.tracking_number
    assert len(shipped.tracking_number) >= 10
    assert shipped.lines is None  # everything still owed
    parcel = f.ship(
        lines={"L1": 2},
        carrier=shipped.carrier,
        tracking_number=shipped.tracking_number,
        shipped_at=shipped.shipped_at,
    )
    assert provider.poll([f], parcel.shipped_at + timedelta(hours=19)) == [
        TrackingUpdate(
            shipped.tracking_number,
            TrackingStatus.OUT_FOR_DELIVERY,
            parcel.shipped_at + timedelta(hours=19),
        )
    ]
    (delivered,) = provider.poll([f], parcel.shipped_at + timedelta(hours=25))
    assert isinstance(delivered, TrackingUpdate)
    assert delivered.status == TrackingStatus.DELIVERED


def test_pick_list_sums_units_per_sku_over_fulfilments_and_skips_shipped_units() -> None:
    a = create_fulfilment(
        order_id="O1",
        location="w",
        provider="warehouse",
        lines=[FulfilmentLine("L1", "B", 2), FulfilmentLine("L2", "A", 1)],
        now=NOW,
    )
    b = create_fulfilment(
        order_id="O2",
        location="w",
        provider="warehouse",
        lines=[FulfilmentLine("L3", "B", 3)],
        now=NOW,
    )
    b.mark_dispatched(external_ref=None)
    b.ship(lines={"L3": 1}, carrier="ups", tracking_number="T", shipped_at=NOW)
    listed = pick_list([a, b])
    assert [(x["sku"], x["quantity"]) for x in listed] == [("A", 1), ("B", 4)]


def test_which_providers_change_a_fulfilment_in_place_and_how_shipstation_does() -> None:
    seen: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(200, json={"orderId": 77})

    client = httpx.Client(transport=httpx.MockTransport(handler))
    shipstation = ShipStationProvider(
        "ss", api_key="k", api_secret="s", webhook_token="t", client=client,
        base_url="http://ss.test",
    )  # fmt: skip
    assert can_update(shipstation)
    assert can_update(WarehouseProvider())
    assert not can_update(http_provider(handler))
    assert not can_update(SimulatedProvider("sim"))
    fulfilment = create_fulfilment(
        order_id="O1", location="3pl-east", provider="ss",
        lines=[FulfilmentLine("L1", "SKU-1", 2)], now=NOW,
    )  # fmt: skip
    moved = replace(
        request(fulfilment.id),
        ship_to=Address("US", region="CA", postal_code="94105"),
        shipping_method="express",
    )
    shipstation.update(fulfilment, moved)
    (sent,) = seen
    body = json.loads(sent.content)
    assert (sent.method, sent.url.path) == ("POST", "/orders/createorder")
    assert body["orderKey"] == fulfilment.id  # the same key: ShipStation updates, not adds
    assert (body["shipTo"]["state"], body["requestedShippingService"]) == ("CA", "express")
