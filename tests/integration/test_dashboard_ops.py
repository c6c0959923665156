"""The dashboard's operations pages through HTTP, on SQLite and PostgreSQL: order detail with
the routing explanation and its actions, inventory, exceptions, routing, deliveries, reports."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from orderhub.bootstrap import Container
from orderhub.channels.native import NativeOrder
from orderhub.domain.access import Role
from orderhub.services.allocation import allocate_order
from orderhub.services.ingest import ingest_order
from orderhub.store import tables as t
from tests.conftest import native_order
from tests.integration.dashboard_support import signed_in, submit
from tests.integration.inventory_helpers import add_locations, place, receive


@pytest.fixture
def stocked(seeded: Container) -> Container:
    add_locations(seeded, ("east", 1), ("west", 2))
    receive(seeded, "SKU-1", "east", 10)
    receive(seeded, "SKU-2", "west", 10)
    return seeded


def allocated_order(container: Container, number: int = 1) -> str:
    order_id = place(container, number, [("SKU-1", 1)])
    with container.uow(actor="test") as uow:
        assert allocate_order(uow, order_id=order_id).status.value == "allocated"
    return order_id


def status_of(container: Container, order_id: str) -> str:
    with container.uow(read_only=True) as uow:
        return uow.orders.get(order_id).status.value


def test_order_detail_explains_the_routing_decision_and_its_costs(
    client: TestClient, stocked: Container
) -> None:
    signed_in(client, stocked)
    order_id = allocated_order(stocked)
    html = client.get(f"/orders/{order_id}").text
    assert 'data-testid="routing-explanation"' in html
    assert "Candidates" in html
    assert "<strong>east</strong>" in html
    assert "holds the whole order, single shipment" in html
    assert 'data-testid="cost-breakdown"' in html
    assert "Re-route" in html


def test_hold_and_release_move_the_order_and_release_routes_it(
    client: TestClient, seeded: Container
) -> None:
    token = signed_in(client, seeded)
    order_id = place(seeded, 1, [("SKU-1", 1)])  # no locations: stays received
    response = submit(
        client, f"/orders/{order_id}/hold", token, {"reason": "fraud check"}, follow_redirects=False
    )
    assert response.status_code == 303
    assert status_of(seeded, order_id) == "on_hold"
    add_locations(seeded, ("east", 1))
    receive(seeded, "SKU-1", "east", 5)
    submit(client, f"/orders/{order_id}/release", token)
    assert status_of(seeded, order_id) == "allocated"


def test_holding_an_allocated_order_is_refused_with_a_message(
    client: TestClient, stocked: Container
) -> None:
    token = signed_in(client, stocked)
    order_id = allocated_order(stocked)
    response = submit(client, f"/orders/{order_id}/hold", token, {"reason": "late"})
    assert response.status_code == 409
    assert "cannot move from" in response.text
    assert status_of(stocked, order_id) == "allocated"


def test_releasing_an_order_that_is_not_on_hold_is_refused(
    client: TestClient, stocked: Container
) -> None:
    token = signed_in(client, stocked)
    order_id = allocated_order(stocked)
    response = submit(client, f"/orders/{order_id}/release", token)
    assert response.status_code == 409
    assert status_of(stocked, order_id) == "allocated"


def test_reroute_releases_the_reservation_and_routes_again_to_new_stock(
    client: TestClient, stocked: Container
) -> None:
    token = signed_in(client, stocked)
    order_id = allocated_order(stocked)
    with stocked.uow(actor="test") as uow:  # east closes: only west can take it now
        uow.conn.execute(
            update(t.locations).where(t.locations.c.code == "east").values(active=False)
        )
        uow.commit()
    receive(stocked, "SKU-1", "west", 3)
    response = submit(client, f"/orders/{order_id}/reroute", token, follow_redirects=False)
    assert response.status_code == 303
    with stocked.uow(read_only=True) as uow:
        held = {(a.location, a.open_quantity) for a in uow.stock.allocations(order_id)}
        east = {level.location: level.reserved for level in uow.stock.levels(["SKU-1"])}
    assert held == {("east", 0), ("west", 1)}
    assert east == {"east": 0, "west": 1}
    assert status_of(stocked, order_id) == "allocated"


def test_order_actions_need_the_manage_permission_and_the_csrf_token(
    client: TestClient, stocked: Container
) -> None:
    order_id = allocated_order(stocked)
    token = signed_in(client, stocked, Role.AUDITOR, "aud")
    assert submit(client, f"/orders/{order_id}/reroute", token).status_code == 403
    submit(client, "/logout", token)
    signed_in(client, stocked)
    assert client.post(f"/orders/{order_id}/reroute", data={}).status_code == 403
    assert status_of(stocked, order_id) == "allocated"


def test_inventory_shows_levels_available_to_sell_and_the_ledger(
    client: TestClient, stocked: Container
) -> None:
    signed_in(client, stocked)
    allocated_order(stocked)
    page = client.get("/inventory").text
    assert "10 / 1 / <strong>9</strong>" in page  # SKU-1 at east: on hand / reserved / available
    ledger = client.get("/inventory/SKU-1").text.split('data-testid="ledger"')[1]
    assert ledger.count("<td>east</td>") == 2  # the receipt and the reservation
    assert "reservation" in ledger
    assert "receipt" in ledger
    assert client.get("/inventory/NOPE").status_code == 404


def test_inventory_shows_product_identifiers_and_exports_them(
    client: TestClient, stocked: Container
) -> None:
    with stocked.uow(actor="test") as uow:
        product = uow.catalog.get("SKU-1")
        assert product is not None
        ids = {"upc": "036000291452", "mpn": "WX-2210-B"}
        uow.catalog.upsert(replace(product, identifiers=ids))
        uow.commit()
    signed_in(client, stocked)
    page = client.get("/inventory").text
    assert "UPC <code>036000291452</code> · MPN <code>WX-2210-B</code>" in page
    assert "UPC <code>036000291452</code>" in client.get("/inventory/SKU-1").text
    exported = client.get("/inventory.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = {r["sku"]: r for r in csv.DictReader(io.StringIO(exported.text))}
    assert (rows["SKU-1"]["upc"], rows["SKU-1"]["mpn"], rows["SKU-1"]["gtin"]) == (
        "036000291452",
        "WX-2210-B",
        "",
    )
    assert (rows["SKU-1"]["east_on_hand"], rows["SKU-2"]["west_available"]) == ("10", "10")


def raise_exception(container: Container, order_id: str) -> str:
    with container.uow(actor="test") as uow:
        found = uow.fulfilment.raise_exception(
            kind="stock_out", order_id=order_id, fulfilment_id=None, detail="east: none left",
            suggested_action="recount and re-route", now=datetime.now(UTC),
        )  # fmt: skip
        uow.commit()
    return found


def test_an_exception_is_listed_and_resolved_by_the_person_who_resolved_it(
    client: TestClient, stocked: Container
) -> None:
    token = signed_in(client, stocked, Role.WAREHOUSE, "ware")
    exception_id = raise_exception(stocked, allocated_order(stocked))
    page = client.get("/exceptions").text
    assert "recount and re-route" in page
    assert "stock out" in page
    response = submit(
        client,
        f"/exceptions/{exception_id}/resolve",
        token,
        {"resolution": "found 4 on the shelf"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    with stocked.uow(read_only=True) as uow:
        resolved = uow.fulfilment.exception(exception_id)
    assert resolved.status == "resolved"
    assert resolved.resolution == "found 4 on the shelf"
    assert resolved.resolved_by.startswith("user:")
    assert "found 4 on the shelf" in client.get("/exceptions?status=resolved").text
    assert "recount and re-route" not in client.get("/exceptions").text


def test_a_role_without_fulfilment_rights_cannot_resolve(
    client: TestClient, stocked: Container
) -> None:
    token = signed_in(client, stocked, Role.AUDITOR, "aud")
    exception_id = raise_exception(stocked, allocated_order(stocked))
    response = submit(client, f"/exceptions/{exception_id}/resolve", token, {"resolution": "x"})
    assert response.status_code == 403
    with stocked.uow(read_only=True) as uow:
        assert uow.fulfilment.exception(exception_id).status == "open"


def test_routing_simulate_plans_without_reserving(client: TestClient, stocked: Container) -> None:
    token = signed_in(client, stocked)
    response = submit(
        client,
        "/routing/simulate",
        token,
        {"channel": "web", "country": "US", "lines": "SKU-1 2\nSKU-2 1"},
    )
    assert response.status_code == 200, response.text
    assert 'data-testid="simulate-result"' in response.text
    assert "from <strong>east</strong>" in response.text
    assert "from <strong>west</strong>" in response.text
    with stocked.uow(read_only=True) as uow:
        assert all(level.reserved == 0 for level in uow.stock.all_levels())


def test_routing_simulate_reports_bad_input_and_bad_draft_rules(
    client: TestClient, stocked: Container
) -> None:
    token = signed_in(client, stocked)
    base = {"channel": "web", "country": "US"}
    bad_qty = submit(client, "/routing/simulate", token, {**base, "lines": "SKU-1 0"})
    assert bad_qty.status_code == 422
    assert "quantity must be" in bad_qty.text
    bad_rules = submit(
        client, "/routing/simulate", token, {**base, "lines": "SKU-1", "draft": '{"nonsense": 1}'}
    )
    assert bad_rules.status_code == 422
    assert "draft rules" in bad_rules.text


def test_routing_shows_a_diff_between_two_versions(
    client: TestClient, stocked: Container, admin: dict[str, str]
) -> None:
    current = client.get("/v1/routing/rules", headers=admin).json()["rules"]
    for penalty in ("EUR", "GBP"):
        rules = {**current, "currency": penalty}
        saved = client.put("/v1/routing/rules", json={"rules": rules}, headers=admin)
        assert saved.status_code == 200, saved.text
    signed_in(client, stocked)
    page = client.get("/routing?a=1&b=2").text
    assert 'data-testid="rules-diff"' in page
    assert '<span class="del">-  &#34;currency&#34;: &#34;EUR&#34;,</span>' in page
    assert '<span class="add">+  &#34;currency&#34;: &#34;GBP&#34;,</span>' in page


def test_reports_give_rates_per_channel_as_json_and_csv(
    client: TestClient, stocked: Container, admin: dict[str, str]
) -> None:
    allocated_order(stocked, 1)
    place(stocked, 2, [("SKU-3", 1)])  # nothing anywhere: stays unfilled
    params = {"from": "2026-11-20", "to": "2026-11-20"}
    body = client.get("/v1/reports/fill-rate", params=params, headers=admin).json()
    assert body["rows"] == [
        {"channel": "web", "orders": 2, "ordered_units": 2, "filled_units": 1, "fill_rate": 0.5}
    ]
    returns = client.get("/v1/reports/return-rate", params=params, headers=admin).json()
    assert returns["rows"][0]["return_rate"] == 0.0  # nothing returned yet
    got = client.get("/v1/reports/split-rate", params={**params, "format": "csv"}, headers=admin)
    assert got.headers["content-type"].startswith("text/csv")
    assert list(csv.reader(io.StringIO(got.text))) == [
        ["channel", "routed_orders", "split_orders", "split_rate"],
        ["web", "1", "0", "0.0"],
    ]


def test_reconciliation_lists_orders_whose_channel_total_differs(
    client: TestClient, seeded: Container, admin: dict[str, str]
) -> None:
    for number, matches in ((1, True), (2, False)):
        # The flags a channel adapter sets (channels/base.py), which a client's metadata may not.
        draft = NativeOrder.model_validate(native_order(f"R-{number}")).to_draft()
        flags = {"channel_total": "99.00", "channel_total_matches": matches}
        with seeded.uow(actor="test") as uow:
            ingest_order(uow, draft=replace(draft, metadata=flags), source="test", payload="{}")
    params = {"from": "2026-11-20", "to": "2026-11-20"}
    found = client.get("/v1/reports/reconciliation", params=params, headers=admin).json()
    rows = found["channels"]["web"]
    assert [(r["external_id"], r["channel_total"], r["hub_total"]) for r in rows] == [
        ("R-2", "99.00", "31.59")
    ]
    assert rows[0]["difference"] == "-67.41"


def test_overview_counts_sla_breaches_and_open_exceptions(
    client: TestClient, stocked: Container
) -> None:
    order_id = allocated_order(stocked)
    with stocked.uow(actor="test") as uow:
        channel = uow.channels.get("web")
        channel.sla = {"ship_within_days": 1}
        uow.channels.save(channel)
        uow.conn.execute(update(t.orders).where(t.orders.c.id == order_id)
                         .values(ship_by=datetime(2026, 1, 1, tzinfo=UTC)))  # fmt: skip
        uow.commit()
    raise_exception(stocked, order_id)
    signed_in(client, stocked)
    page = client.get("/").text
    assert '<span data-testid="sla-breached">1</span>' in page
    assert 'data-testid="open-exceptions" aria-label="1 open exceptions">1</a>' in page
    assert 'data-testid="lead-time-chart"' in page
