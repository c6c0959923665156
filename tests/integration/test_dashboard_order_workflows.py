"""The order page's workflows through HTTP, on SQLite and PostgreSQL: cancelling some units
with a confirmation step, notes and tags, the packing slip, and a return's receive location."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from orderhub.bootstrap import Container
from orderhub.domain.access import Role
from orderhub.services import returns
from orderhub.store import history
from tests.integration.after_sale_support import shipped_order, stock_up
from tests.integration.dashboard_support import signed_in, submit
from tests.integration.fulfilment_support import place_order
from tests.integration.inventory_helpers import add_locations


def lines_of(container: Container, order_id: str) -> dict[str, tuple[int, int]]:
    with container.uow(read_only=True) as uow:
        return {
            ln.sku: (ln.quantity, ln.cancelled_quantity) for ln in uow.orders.get(order_id).lines
        }


def line_id(container: Container, order_id: str, sku: str) -> str:
    with container.uow(read_only=True) as uow:
        return next(ln.id for ln in uow.orders.get(order_id).lines if ln.sku == sku)


def test_cancelling_units_asks_first_then_cancels_and_the_totals_follow(
    client: TestClient, seeded: Container
) -> None:
    token = signed_in(client, seeded)
    order_id = place_order(seeded, "L-1")  # SKU-1 × 2 at 10.00 (+1.60 tax), SKU-2 × 1; 31.59
    page = client.get(f"/orders/{order_id}").text
    assert "Cancel some units" in page
    field = f"units-{line_id(seeded, order_id, 'SKU-1')}"
    fields = {field: "1", "reason": "customer_request"}
    asked = submit(client, f"/orders/{order_id}/cancel-lines", token, fields)
    assert asked.status_code == 200
    assert "Cancel these units of order L-1?" in asked.text
    total_after = re.search(r'data-testid="total-after">([^<]+)<', asked.text)
    assert total_after is not None
    assert total_after.group(1) == "20.79 USD"  # 31.59 − 10.00 − 0.80 tax
    assert lines_of(seeded, order_id)["SKU-1"] == (2, 0)  # nothing yet
    done = submit(client, f"/orders/{order_id}/cancel-lines", token, {**fields, "confirm": "yes"})
    assert "The units were cancelled" in done.text
    assert lines_of(seeded, order_id)["SKU-1"] == (2, 1)
    assert 'data-testid="order-total">20.79 USD' in done.text
    assert 'data-testid="ledger-to-refund">10.80 USD' in done.text  # charged, not yet refunded
    assert "1 cancelled" in done.text


def test_cancelling_more_units_than_are_open_is_refused(
    client: TestClient, seeded: Container
) -> None:
    token = signed_in(client, seeded)
    order_id = place_order(seeded, "L-2")
    field = f"units-{line_id(seeded, order_id, 'SKU-2')}"
    refused = submit(client, f"/orders/{order_id}/cancel-lines", token,
                     {field: "5", "reason": "customer_request", "confirm": "yes"})  # fmt: skip
    assert refused.status_code == 422
    assert "cancel between 0 and 1" in refused.text
    assert lines_of(seeded, order_id)["SKU-2"] == (1, 0)
    client.cookies.clear()
    token = signed_in(client, seeded, Role.AUDITOR, "aud")
    forbidden = submit(client, f"/orders/{order_id}/cancel-lines", token,
                       {field: "1", "reason": "customer_request", "confirm": "yes"})  # fmt: skip
    assert forbidden.status_code == 403


def test_notes_and_tags_are_saved_shown_and_recorded_in_the_history(
    client: TestClient, seeded: Container
) -> None:
    token = signed_in(client, seeded)
    order_id = place_order(seeded, "N-1")
    done = submit(client, f"/orders/{order_id}/notes", token,
                  {"notes": "Gift: no invoice in the box", "tags": "VIP, gift ,vip"})  # fmt: skip
    assert "Notes and tags saved." in done.text
    assert "Gift: no invoice in the box" in done.text
    assert re.search(r'data-testid="hub-tags">.*gift.*vip', done.text)
    again = submit(client, f"/orders/{order_id}/notes", token,
                   {"notes": "Gift: no invoice in the box", "tags": "gift, vip"})  # fmt: skip
    assert "Nothing changed." in again.text
    with seeded.uow(read_only=True) as uow:
        events = [
            e for e in history.events_of(uow.conn, order_id) if e.type == "order.notes_changed"
        ]
        assert len(events) == 1
        assert events[0].data["tags"] == ["gift", "vip"]
        assert uow.orders.get(order_id).metadata["hub"]["notes"] == "Gift: no invoice in the box"


def test_the_packing_slip_is_a_print_page_with_what_is_left_to_pack(
    client: TestClient, seeded: Container
) -> None:
    signed_in(client, seeded, Role.WAREHOUSE, "wh")
    order_id = place_order(seeded, "S-1")
    slip = client.get(f"/orders/{order_id}/packing-slip")
    assert slip.status_code == 200
    assert '<body class="slip">' in slip.text
    assert "/static/print.css" in slip.text
    assert "Order S-1" in slip.text
    assert "<code>SKU-1</code>" in slip.text
    assert 'class="topbar"' not in slip.text  # no navigation on paper
    assert client.get("/static/print.js").status_code == 200


def test_a_returns_receive_location_defaults_to_where_it_shipped_from(
    client: TestClient, seeded: Container
) -> None:
    stock_up(seeded)
    add_locations(seeded, ("aaa-first", 9))  # sorts first, so a plain list would pick it
    signed_in(client, seeded)
    order_id = shipped_order(seeded, "R-1")
    with seeded.uow(actor="test") as uow:
        rma_id = returns.open_return(
            uow, order_id=order_id, units={line_id(seeded, order_id, "SKU-2"): 1}, reason="size"
        )
        returns.act(uow, return_id=rma_id, action=returns.Action("authorize"))
    page = client.get(f"/orders/{order_id}").text
    assert '<option value="east" selected>east (shipped from here)</option>' in page
