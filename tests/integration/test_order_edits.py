"""``POST /v1/orders/{id}/edits`` through the API, on SQLite and PostgreSQL: what an edit
changes (lines, address, shipping, money, stock, routing, fulfilment orders, history) and
every way it is refused without writing anything."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from orderhub.bootstrap import Container
from orderhub.domain.access import Role
from orderhub.domain.editing import ChangeLine, EditRefused, OrderEdit, ShippingChange
from orderhub.domain.fulfilment import FulfilmentOrder, FulfilmentStatus
from orderhub.fulfilment.base import (
    Callback,
    DispatchRequest,
    DispatchResult,
    PermanentProviderError,
    ProviderUpdate,
    can_update,
)
from orderhub.fulfilment.warehouse import WarehouseProvider
from orderhub.services.allocation import allocate_order
from orderhub.services.editing import edit_order
from tests.conftest import bearer, make_key, native_order
from tests.integration.after_sale_support import dispatch, ship, snapshot
from tests.integration.edit_support import CA, NY, reserved, two_coasts, use_rules
from tests.integration.fulfilment_support import deps


def place(
    client: TestClient, admin: dict[str, str], external_id: str = "E-1", **extra: Any
) -> dict[str, Any]:
    body = native_order(external_id, shipping_address=NY, **extra)
    created = client.post("/v1/orders", json=body, headers=admin)
    assert created.status_code == 201, created.text
    return dict(created.json())


def allocated(
    client: TestClient,
    admin: dict[str, str],
    container: Container,
    external_id: str = "E-1",
    **extra: Any,
) -> dict[str, Any]:
    order = place(client, admin, external_id, **extra)
    with container.uow(actor="test") as uow:
        allocate_order(uow, order_id=order["id"])
    return dict(client.get(f"/v1/orders/{order['id']}", headers=admin).json())


def edit(client: TestClient, headers: dict[str, str], order_id: str, body: dict[str, Any]) -> Any:
    return client.post(f"/v1/orders/{order_id}/edits", json=body, headers=headers)


def history(client: TestClient, admin: dict[str, str], order_id: str) -> list[dict[str, Any]]:
    return list(client.get(f"/v1/orders/{order_id}/events", headers=admin).json())


@pytest.fixture
def coasts(seeded: Container, client: TestClient, admin: dict[str, str]) -> Container:
    two_coasts(seeded)
    use_rules(client, admin)
    return seeded


def test_an_address_across_the_country_moves_the_order_to_the_nearer_warehouse_and_says_why(
    client: TestClient, admin: dict[str, str], coasts: Container
) -> None:
    order = allocated(client, admin, coasts)
    assert {a["location"] for a in order["allocations"]} == {"east"}
    answer = edit(client, admin, order["id"], {"shipping_address": CA, "reason": "moved"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["difference"], body["balance"]) == ("0.00", "none")
    assert body["changes"]["shipping_address"]["after"]["region"] == "CA"
    routing = body["routing"]
    assert set(routing["moved"]) == {line["id"] for line in order["lines"]}
    assert all(places == ["west"] for places in routing["after"].values())
    assert "shipping address changed" in routing["explanation"]["note"]
    assert {a["location"] for a in body["order"]["allocations"] if a["open_quantity"]} == {"west"}
    held = reserved(coasts)
    assert (held[("SKU-1", "east")], held[("SKU-1", "west")]) == (0, 2)
    assert body["order"]["shipping_address"]["region"] == "CA"
    edited = [e for e in history(client, admin, order["id"]) if e["type"] == "order.edited"]
    assert len(edited) == 1
    assert edited[0]["data"]["reason"] == "moved"
    assert edited[0]["data"]["changes"]["shipping_address"]["before"]["region"] == "NY"


def test_lines_added_raised_and_removed_recompute_the_totals_and_charge_the_difference(
    client: TestClient, admin: dict[str, str], coasts: Container
) -> None:
    order = allocated(client, admin, coasts)  # 2 × 10.00 (tax 1.60) + 5.50 − 0.50; 31.59
    first, second = (line["id"] for line in order["lines"])
    answer = edit(
        client,
        admin,
        order["id"],
        {
            "change_lines": [
                {"line_id": first, "quantity": 3},  # + 10.00 + 0.80 tax (its per-unit share)
                {"line_id": second, "quantity": 0},  # − 5.00
            ],
            "add_lines": [{"sku": "SKU-3", "quantity": 1, "unit_price": "7.25", "tax": "0.58"}],
        },
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["totals"]["before"]["total"] == "31.59"
    assert body["totals"]["after"] == {
        "subtotal": "37.25",
        "discount": "0.00",
        "shipping": "4.99",
        "tax": "2.98",
        "total": "45.22",
    }
    assert (body["difference"], body["balance"]) == ("13.63", "due")
    lines = {line["sku"]: line for line in body["order"]["lines"]}
    assert (lines["SKU-1"]["quantity"], lines["SKU-1"]["tax"]) == (3, "2.40")
    assert lines["SKU-2"]["status"] == "cancelled"
    assert lines["SKU-3"]["status"] == "allocated"
    assert body["order"]["totals"]["total"] == "45.22"
    held = reserved(coasts)
    assert (held[("SKU-1", "east")], held[("SKU-2", "east")]) == (3, 0)
    assert held[("SKU-3", "east")] == 1
    ledger = client.get(f"/v1/orders/{order['id']}/ledger", headers=admin).json()
    assert [(e["kind"], e["amount"]) for e in ledger["entries"]] == [
        ("charge", "31.59"),
        ("charge", "13.63"),
    ]
    assert (ledger["order_total"], ledger["balance"], ledger["to_refund"]) == (
        "45.22",
        "45.22",
        "0.00",
    )


def test_units_taken_off_are_a_refund_owed_in_the_ledger_and_their_stock_goes_back(
    client: TestClient, admin: dict[str, str], coasts: Container
) -> None:
    order = allocated(client, admin, coasts)
    first = order["lines"][0]["id"]
    answer = edit(client, admin, order["id"], {"change_lines": [{"line_id": first, "quantity": 1}]})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["difference"], answer.json()["balance"]) == ("-10.80", "owed")
    assert reserved(coasts)[("SKU-1", "east")] == 1
    ledger = client.get(f"/v1/orders/{order['id']}/ledger", headers=admin).json()
    assert [(e["kind"], e["amount"]) for e in ledger["entries"]] == [
        ("charge", "31.59"),
        ("credit", "10.80"),
    ]
    assert (ledger["order_total"], ledger["to_refund"], ledger["credited"]) == (
        "20.79",
        "10.80",
        "10.80",
    )
    refund = client.post(
        f"/v1/orders/{order['id']}/refunds",
        json={"lines": [{"line_id": first, "quantity": 1}], "reason": "edited"},
        headers=admin,
    )
    assert refund.json()["amount"] == "10.80"  # the owed amount, to the cent


def test_a_preview_answers_the_cost_and_the_route_and_writes_nothing(
    client: TestClient, admin: dict[str, str], coasts: Container
) -> None:
    order = allocated(client, admin, coasts)
    before = snapshot(coasts)
    answer = edit(
        client,
        admin,
        order["id"],
        {"shipping_address": CA, "add_lines": [{"sku": "SKU-1", "quantity": 1}], "preview": True},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["preview"] is True
    assert body["difference"] == "10.80"  # SKU-1's price with its per-unit tax share
    assert all(places == ["west"] for places in body["routing"]["after"].values())
    assert body["order"]["shipping_address"]["region"] == "NY"  # as it is: nothing written
    after = snapshot(coasts)
    after.pop("idempotency_keys", None)
    before.pop("idempotency_keys", None)
    assert after == before


def test_a_shipped_line_is_refused_by_name_with_cancel_and_replace_offered(
    client: TestClient, admin: dict[str, str], coasts: Container
) -> None:
    order = allocated(client, admin, coasts)
    dispatch(coasts, order["id"])
    ship(coasts, order["id"])
    before = snapshot(coasts)
    answer = edit(client, admin, order["id"], {"shipping_address": CA})
    assert answer.status_code == 409, answer.text
    problem = answer.json()
    assert problem["type"].endswith("/edit_refused")
    assert problem["reason"] == "shipped"
    assert set(problem["lines"]) == {line["id"] for line in order["lines"]}
    assert order["lines"][0]["id"] in problem["detail"]
    assert problem["cancel_and_replace"]["cancel"] == f"/v1/orders/{order['id']}/cancel"
    assert snapshot(coasts) == before


def test_a_fulfilment_being_picked_can_no_longer_change(
    client: TestClient, admin: dict[str, str], coasts: Container
) -> None:
    order = allocated(client, admin, coasts)
    (fulfilment_id,) = dispatch(coasts, order["id"])
    with coasts.uow(actor="test") as uow:
        fulfilment = uow.fulfilment.get(fulfilment_id)
        fulfilment.start()
        uow.fulfilment.save(fulfilment)
        uow.commit()
    before = snapshot(coasts)
    first = order["lines"][0]["id"]
    answer = edit(client, admin, order["id"], {"change_lines": [{"line_id": first, "quantity": 1}]})
    assert answer.status_code == 409
    problem = answer.json()
    assert (problem["reason"], problem["fulfilment_id"]) == ("fulfilment_locked", fulfilment_id)
    assert "being picked" in problem["detail"]
    assert first in problem["lines"]
    assert "cancel_and_replace" in problem
    assert snapshot(coasts) == before


def test_a_dispatched_fulfilment_is_updated_in_place_when_only_the_method_changes(
    client: TestClient, admin: dict[str, str], coasts: Container
) -> None:
    order = allocated(client, admin, coasts)
    (fulfilment_id,) = dispatch(coasts, order["id"])
    answer = edit(client, admin, order["id"], {"shipping": {"method": "express"}})
    assert answer.status_code == 200, answer.text
    assert answer.json()["fulfilments"] == [
        {
            "fulfilment_id": fulfilment_id,
            "location": "east",
            "provider": "warehouse",
            "action": "updated",
        }
    ]
    with coasts.uow(read_only=True) as uow:
        assert uow.fulfilment.get(fulfilment_id).status == FulfilmentStatus.ACCEPTED
        assert uow.orders.get(order["id"]).shipping.method == "express"
    assert answer.json()["order"]["status"] == "in_fulfilment"


def test_a_changed_line_cancels_its_fulfilment_and_a_new_one_carries_the_new_quantities(
    client: TestClient, admin: dict[str, str], coasts: Container
) -> None:
    order = allocated(client, admin, coasts)
    (old,) = dispatch(coasts, order["id"])
    first = order["lines"][0]["id"]
    answer = edit(client, admin, order["id"], {"change_lines": [{"line_id": first, "quantity": 4}]})
    assert answer.status_code == 200, answer.text
    assert [f["action"] for f in answer.json()["fulfilments"]] == ["cancelled"]
    (new,) = dispatch(coasts, order["id"])  # what the order.allocated consumer does
    with coasts.uow(read_only=True) as uow:
        assert uow.fulfilment.get(old).status == FulfilmentStatus.CANCELLED
        lines = {x.line_id: x.quantity for x in uow.fulfilment.get(new).lines}
    assert lines[first] == 4
    assert len(lines) == 2
    assert reserved(coasts)[("SKU-1", "east")] == 4


def test_not_enough_stock_refuses_the_edit_and_leaves_the_order_whole(
    client: TestClient, admin: dict[str, str], coasts: Container
) -> None:
    order = allocated(client, admin, coasts)
    before = snapshot(coasts)
    first = order["lines"][0]["id"]
    answer = edit(
        client, admin, order["id"], {"change_lines": [{"line_id": first, "quantity": 50}]}
    )
    assert answer.status_code == 409
    assert answer.json()["reason"] == "insufficient_stock"
    assert first in answer.json()["lines"]
    assert snapshot(coasts) == before


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        (
            {"change_lines": [{"line_id": "nope", "quantity": 1}]},
            "change_lines.0.line_id",
            "unknown_line",
        ),
        (
            {"add_lines": [{"sku": "SKU-404", "quantity": 1, "unit_price": "1.00"}]},
            "add_lines.0.sku",
            "unknown_sku",
        ),
        (
            {"add_lines": [{"sku": "SKU-3", "quantity": 1}]},
            "add_lines.0.unit_price",
            "price_required",
        ),
        (
            {"add_lines": [{"sku": "SKU-3", "quantity": 1, "unit_price": "1.001"}]},
            "add_lines.0.unit_price",
            "precision",
        ),
        (
            {
                "add_lines": [
                    {"sku": "SKU-3", "quantity": 1, "unit_price": "1.00", "discount": "2.00"}
                ]
            },
            "add_lines.0.discount",
            "invalid",
        ),
        ({"shipping": {"price": "4.99"}}, "", "empty"),
        ({"add_lines": [{"sku": "SKU-1", "quantity": 0}]}, "add_lines.0.quantity", None),
        ({"shipping_address": {"country": "usa"}}, "shipping_address.country", None),
    ],
)
def test_a_bad_edit_names_the_field_and_writes_nothing(
    client: TestClient,
    admin: dict[str, str],
    coasts: Container,
    body: dict[str, Any],
    field: str,
    code: str | None,
) -> None:
    order = allocated(client, admin, coasts)
    before = snapshot(coasts)
    answer = edit(client, admin, order["id"], body)
    assert answer.status_code == 422, answer.text
    errors = answer.json()["errors"]
    assert field in [e["field"] for e in errors]
    if code is not None:
        assert code in [e["code"] for e in errors]
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert snapshot(coasts) == before


def test_removing_every_unit_is_refused_cancel_instead(
    client: TestClient, admin: dict[str, str], coasts: Container
) -> None:
    order = allocated(client, admin, coasts)
    zero = [{"line_id": line["id"], "quantity": 0} for line in order["lines"]]
    answer = edit(client, admin, order["id"], {"change_lines": zero})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["code"] == "empty_order"


def test_the_same_idempotency_key_replays_the_edit_instead_of_applying_it_twice(
    client: TestClient, admin: dict[str, str], coasts: Container
) -> None:
    order = allocated(client, admin, coasts)
    body = {"add_lines": [{"sku": "SKU-1", "quantity": 1}]}
    headers = {**admin, "Idempotency-Key": "edit-once"}
    first = edit(client, headers, order["id"], body)
    again = edit(client, headers, order["id"], body)
    assert first.status_code == again.status_code == 200
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json()["edit_id"] == first.json()["edit_id"]
    edited = [e for e in history(client, admin, order["id"]) if e["type"] == "order.edited"]
    assert len(edited) == 1
    assert reserved(coasts)[("SKU-1", "east")] == 3
    other = edit(client, headers, order["id"], {"add_lines": [{"sku": "SKU-2", "quantity": 1}]})
    assert other.status_code == 422  # the key was used for another request


def test_who_may_edit_and_who_may_set_a_price(
    client: TestClient, admin: dict[str, str], coasts: Container
) -> None:
    order = allocated(client, admin, coasts)
    support = bearer(make_key(coasts, Role.SUPPORT))
    warehouse = bearer(make_key(coasts, Role.WAREHOUSE))
    other_channel = bearer(make_key(coasts, Role.SUPPORT, channel="app"))
    priced = {"add_lines": [{"sku": "SKU-3", "quantity": 1, "unit_price": "1.00"}]}
    assert edit(client, warehouse, order["id"], {"shipping_address": CA}).status_code == 403
    assert edit(client, support, order["id"], priced).status_code == 403
    assert edit(client, other_channel, order["id"], {"shipping_address": CA}).status_code == 404
    assert edit(client, support, order["id"], {"shipping_address": CA}).status_code == 200


def test_units_given_back_by_an_edit_wake_the_waiting_orders_first_come_first_served(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    two_coasts(seeded, units=0)
    from tests.integration.inventory_helpers import receive

    receive(seeded, "SKU-1", "east", 2)
    receive(seeded, "SKU-2", "east", 3)
    lines = [{"sku": "SKU-1", "quantity": 2, "unit_price": "10.00"}]
    first = allocated(
        client,
        admin,
        seeded,
        "W-1",
        lines=[*lines, {"sku": "SKU-2", "quantity": 1, "unit_price": "5.00"}],
    )
    waiting = [allocated(client, admin, seeded, f"W-{n}", lines=lines) for n in (2, 3)]
    assert [w["status"] for w in waiting] == ["backordered", "backordered"]
    sku1 = next(line["id"] for line in first["lines"] if line["sku"] == "SKU-1")
    answer = edit(client, admin, first["id"], {"change_lines": [{"line_id": sku1, "quantity": 0}]})
    assert answer.status_code == 200, answer.text
    statuses = [
        client.get(f"/v1/orders/{w['id']}", headers=admin).json()["status"] for w in waiting
    ]
    assert statuses == ["allocated", "backordered"]  # the earlier one takes the units


def test_an_edit_of_a_cancelled_order_is_refused(
    client: TestClient, admin: dict[str, str], coasts: Container
) -> None:
    order = allocated(client, admin, coasts)
    client.post(f"/v1/orders/{order['id']}/cancel", json={"reason": "other"}, headers=admin)
    answer = edit(client, admin, order["id"], {"shipping_address": CA})
    assert answer.status_code == 409
    assert answer.json()["reason"] == "cancelled"


class Refusing(WarehouseProvider):
    """A location that has packed it already: it will neither change nor cancel it."""

    def update(self, fulfilment: FulfilmentOrder, request: DispatchRequest) -> None:
        raise PermanentProviderError("already packed")

    def cancel(self, fulfilment: FulfilmentOrder) -> None:
        raise PermanentProviderError("already packed")


class CancelOnly:
    """A 3PL whose API can cancel an order but not change one (no ``update``)."""

    code = "warehouse"

    def __init__(self) -> None:
        self.cancelled: list[str] = []

    def dispatch(self, request: DispatchRequest) -> DispatchResult:
        return DispatchResult(external_ref=request.fulfilment_id, accepted=True)

    def cancel(self, fulfilment: FulfilmentOrder) -> None:
        self.cancelled.append(fulfilment.id)

    def handle_callback(self, callback: Callback) -> list[ProviderUpdate]:
        return []

    def poll(
        self, open_fulfilments: Sequence[FulfilmentOrder], now: datetime
    ) -> list[ProviderUpdate]:
        return []


def test_a_provider_that_refuses_the_change_undoes_the_whole_edit(
    client: TestClient, admin: dict[str, str], coasts: Container
) -> None:
    order = allocated(client, admin, coasts)
    (fulfilment_id,) = dispatch(coasts, order["id"])
    before = snapshot(coasts)
    first = order["lines"][0]["id"]
    for wanted in (
        OrderEdit(shipping=ShippingChange(method="express")),
        OrderEdit(change_lines=(ChangeLine(first, 1),)),
    ):
        with (
            coasts.uow(actor="test") as uow,
            deps(uow, providers={"warehouse": Refusing()}) as d,
            pytest.raises(EditRefused, match="already packed") as refused,
        ):
            edit_order(uow, order_id=order["id"], edit=wanted, deps=d)
        assert refused.value.extensions()["reason"] == "provider_refused"
        assert refused.value.fulfilment_id == fulfilment_id
        assert snapshot(coasts) == before


def test_a_provider_that_cannot_update_gets_its_fulfilment_cancelled_and_recreated(
    client: TestClient, admin: dict[str, str], coasts: Container
) -> None:
    order = allocated(client, admin, coasts)
    (old,) = dispatch(coasts, order["id"])
    provider = CancelOnly()
    assert not can_update(provider)
    with coasts.uow(actor="test") as uow, deps(uow, providers={"warehouse": provider}) as d:
        outcome = edit_order(
            uow,
            order_id=order["id"],
            edit=OrderEdit(shipping=ShippingChange(method="express")),
            deps=d,
        )
    assert [f["action"] for f in outcome.fulfilments] == ["cancelled"]
    assert provider.cancelled == [old]
    (new,) = dispatch(coasts, order["id"])
    with coasts.uow(read_only=True) as uow:
        assert uow.fulfilment.get(old).status == FulfilmentStatus.CANCELLED
        assert uow.fulfilment.get(new).status == FulfilmentStatus.ACCEPTED
    assert reserved(coasts)[("SKU-1", "east")] == 2  # released and reserved again, not twice


def test_a_new_address_kept_near_the_same_warehouse_updates_its_fulfilment_in_place(
    client: TestClient, admin: dict[str, str], coasts: Container
) -> None:
    order = allocated(client, admin, coasts)
    (fulfilment_id,) = dispatch(coasts, order["id"])
    nearby = {**NY, "line1": "350 5th Ave", "postal_code": "10118"}
    answer = edit(client, admin, order["id"], {"shipping_address": nearby})
    assert answer.status_code == 200, answer.text
    assert [f["action"] for f in answer.json()["fulfilments"]] == ["updated"]
    assert answer.json()["routing"]["moved"] == []
    assert dispatch(coasts, order["id"]) == []  # the allocation's consumer adds nothing
    with coasts.uow(read_only=True) as uow:
        assert uow.fulfilment.get(fulfilment_id).status == FulfilmentStatus.ACCEPTED
    assert answer.json()["order"]["status"] == "in_fulfilment"
    assert reserved(coasts)[("SKU-1", "east")] == 2


def test_a_new_address_nearer_the_other_warehouse_moves_a_dispatched_order_there(
    client: TestClient, admin: dict[str, str], coasts: Container
) -> None:
    order = allocated(client, admin, coasts)
    (old,) = dispatch(coasts, order["id"])
    answer = edit(client, admin, order["id"], {"shipping_address": CA})
    assert answer.status_code == 200, answer.text
    assert [f["action"] for f in answer.json()["fulfilments"]] == ["cancelled"]
    (new,) = dispatch(coasts, order["id"])
    with coasts.uow(read_only=True) as uow:
        assert uow.fulfilment.get(old).status == FulfilmentStatus.CANCELLED
        assert uow.fulfilment.get(new).location == "west"
    held = reserved(coasts)
    assert (held[("SKU-1", "east")], held[("SKU-1", "west")]) == (0, 2)
