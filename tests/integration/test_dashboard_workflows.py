"""Dashboard workflows through HTTP, on SQLite and PostgreSQL: bulk actions with confirmation,
fixing quarantine in place, quarantine closing itself, and order numbers instead of ids."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select

from orderhub.bootstrap import Container
from orderhub.domain.access import Role
from orderhub.store import tables as t
from tests.conftest import bearer, make_key, native_order
from tests.integration.dashboard_support import signed_in, submit
from tests.integration.fulfilment_support import place_order
from tests.integration.inventory_helpers import add_locations, receive


def status_of(container: Container, order_id: str) -> str:
    with container.uow(read_only=True) as uow:
        return uow.orders.get(order_id).status.value


def quarantined(client: TestClient, key: str, external_id: str = "Q-1") -> str:
    body = native_order(external_id)
    body["lines"] = [{"channel_sku": "WEB-MUG", "quantity": 1, "unit_price": "12.00"}]
    answer = client.post("/v1/orders", json=body, headers=bearer(key)).json()
    assert answer["status"] == "quarantined"
    return str(answer["quarantine_id"])


def entry_status(container: Container, entry_id: str) -> tuple[str, str | None]:
    with container.uow(read_only=True) as uow:
        entry = uow.quarantine.get(entry_id)
    return entry.status.value, entry.order_id


# --- bulk orders -----------------------------------------------------------------------------


def test_bulk_hold_asks_first_then_holds_each_and_reports_each_outcome(
    client: TestClient, seeded: Container
) -> None:
    token = signed_in(client, seeded)
    received = [place_order(seeded, f"B-{n}") for n in range(2)]
    add_locations(seeded, ("east", 1))
    receive(seeded, "SKU-1", "east", 5)
    receive(seeded, "SKU-2", "east", 5)
    allocated = place_order(seeded, "B-9")
    with seeded.uow(actor="test") as uow:
        from orderhub.services.allocation import allocate_order

        allocate_order(uow, order_id=allocated)
    ids = [*received, allocated]
    asked = client.post(
        "/orders/bulk",
        data={"ids": ids, "action": "hold", "reason": "fraud check", "csrf_token": token},
    )
    assert asked.status_code == 200
    assert "Put on hold 3 order(s)?" in asked.text
    assert "B-9" in asked.text  # orders named by their numbers
    assert [status_of(seeded, i) for i in ids] == ["received", "received", "allocated"]
    done = client.post(
        "/orders/bulk",
        data={"ids": ids, "action": "hold", "reason": "fraud check", "confirm": "yes",
              "csrf_token": token},
    )  # fmt: skip
    assert done.status_code == 200
    assert "2 of 3 done; 1 refused" in done.text
    assert "cannot move from" in done.text  # the allocated order's own refusal
    assert [status_of(seeded, i) for i in ids] == ["on_hold", "on_hold", "allocated"]
    released = client.post(
        "/orders/bulk",
        data={"ids": received, "action": "release", "confirm": "yes", "csrf_token": token},
    )
    assert "2 of 2 done" in released.text


def test_bulk_cancel_needs_one_of_the_reasons_and_cancels_each(
    client: TestClient, seeded: Container
) -> None:
    token = signed_in(client, seeded)
    ids = [place_order(seeded, f"C-{n}") for n in range(2)]
    fields = {"ids": ids, "action": "cancel", "confirm": "yes", "csrf_token": token}
    asked = client.post("/orders/bulk", data={**fields, "reason": "made up"})
    assert "Cancel reason" in asked.text  # asked again, with the list of reasons
    assert [status_of(seeded, i) for i in ids] == ["received", "received"]
    done = client.post("/orders/bulk", data={**fields, "reason": "customer_request"})
    assert "2 of 2 done" in done.text
    assert [status_of(seeded, i) for i in ids] == ["cancelled", "cancelled"]


def test_bulk_actions_need_the_permission_and_the_csrf_token(
    client: TestClient, seeded: Container
) -> None:
    order_id = place_order(seeded, "D-1")
    token = signed_in(client, seeded, Role.AUDITOR, "aud")
    fields = {"ids": [order_id], "action": "hold", "reason": "x", "confirm": "yes"}
    assert client.post("/orders/bulk", data={**fields, "csrf_token": token}).status_code == 403
    discard = {**fields, "action": "discard", "csrf_token": token}
    assert client.post("/quarantine/bulk", data=discard).status_code == 403
    assert client.post("/exceptions/bulk", data={**fields, "csrf_token": token}).status_code == 403
    client.cookies.clear()
    signed_in(client, seeded, Role.OPERATOR, "op2")
    assert client.post("/orders/bulk", data=fields).status_code == 403  # no CSRF token
    assert status_of(seeded, order_id) == "received"


def test_bulk_resolve_exceptions_names_orders_by_number(
    client: TestClient, seeded: Container
) -> None:
    token = signed_in(client, seeded)
    order_id = place_order(seeded, "SHOP-1042")
    with seeded.uow(actor="test") as uow:
        made = [
            uow.fulfilment.raise_exception(
                kind="stock_out",
                order_id=order_id,
                fulfilment_id=None,
                detail=f"bin {n}",
                suggested_action="recount",
                now=datetime.now(UTC),
            )
            for n in range(2)
        ]
        uow.commit()
    ids = [e if isinstance(e, str) else e.id for e in made]
    page = client.get("/exceptions").text
    assert "SHOP-1042" in page
    assert order_id[:8] + "…" not in page
    done = client.post(
        "/exceptions/bulk",
        data={"ids": ids, "resolution": "recounted", "confirm": "yes", "csrf_token": token},
    )
    assert "2 of 2 done" in done.text
    with seeded.uow(read_only=True) as uow:
        assert uow.fulfilment.exceptions(status="open") == []


# --- quarantine ------------------------------------------------------------------------------


def test_bulk_discard_sets_discarded_and_replay_reports_each(
    client: TestClient, seeded: Container
) -> None:
    key = make_key(seeded, Role.ADMIN)
    token = signed_in(client, seeded)
    first, second = quarantined(client, key, "Q-1"), quarantined(client, key, "Q-2")
    discard = {"ids": [first], "action": "discard", "csrf_token": token}
    asked = client.post("/quarantine/bulk", data=discard)
    assert "Discard 1 quarantined payload(s)?" in asked.text
    assert entry_status(seeded, first) == ("open", None)
    client.post("/quarantine/bulk", data={**discard, "confirm": "yes"})
    assert entry_status(seeded, first) == ("discarded", None)
    replay = {"ids": [first, second], "action": "replay", "confirm": "yes", "csrf_token": token}
    replayed = client.post("/quarantine/bulk", data=replay)
    assert "0 of 2 done" in replayed.text
    assert "is discarded" in replayed.text
    assert "still cannot become an order" in replayed.text


def test_mapping_the_sku_from_the_entry_replays_it_into_an_order(
    client: TestClient, seeded: Container
) -> None:
    key = make_key(seeded, Role.ADMIN)
    token = signed_in(client, seeded)
    entry_id = quarantined(client, key)
    page = client.get(f"/quarantine/{entry_id}").text
    assert "Map WEB-MUG to catalogue SKU" in page
    refused = submit(client, f"/quarantine/{entry_id}/map-sku", token,
                     {"channel_sku": "WEB-MUG", "sku": "NOPE"})  # fmt: skip
    assert refused.status_code == 422
    done = submit(client, f"/quarantine/{entry_id}/map-sku", token,
                  {"channel_sku": "WEB-MUG", "sku": "SKU-1"})  # fmt: skip
    assert "the payload became an order" in done.text
    status, order_id = entry_status(seeded, entry_id)
    assert status == "replayed"
    assert order_id is not None
    assert f'href="/orders/{order_id}"' in done.text  # linked to the order it became


def test_creating_the_product_from_the_entry_replays_it(
    client: TestClient, seeded: Container
) -> None:
    key = make_key(seeded, Role.ADMIN)
    token = signed_in(client, seeded)
    entry_id = quarantined(client, key)
    done = submit(client, f"/quarantine/{entry_id}/product", token,
                  {"sku": "WEB-MUG", "name": "Logo mug"})  # fmt: skip
    assert "the payload became an order" in done.text
    with seeded.uow(read_only=True) as uow:
        assert uow.catalog.get("WEB-MUG") is not None
    assert entry_status(seeded, entry_id)[0] == "replayed"


def test_editing_the_payload_saves_it_and_replays_and_bad_json_is_refused(
    client: TestClient, seeded: Container
) -> None:
    key = make_key(seeded, Role.ADMIN)
    token = signed_in(client, seeded)
    entry_id = quarantined(client, key)
    bad = submit(client, f"/quarantine/{entry_id}/payload", token, {"payload": "{not json"})
    assert bad.status_code == 422
    assert "does not parse" in bad.text
    with seeded.uow(read_only=True) as uow:
        payload = json.loads(uow.quarantine.get(entry_id).payload)
    payload["lines"][0] = {"sku": "SKU-2", "quantity": 1, "unit_price": "12.00"}
    done = submit(client, f"/quarantine/{entry_id}/payload", token,
                  {"payload": json.dumps(payload)})  # fmt: skip
    assert "the payload became an order" in done.text
    status, order_id = entry_status(seeded, entry_id)
    assert status == "replayed"
    with seeded.uow(read_only=True) as uow:
        assert order_id is not None
        assert [line.sku for line in uow.orders.get(order_id).lines] == ["SKU-2"]


def test_discarding_one_entry_needs_the_replay_permission(
    client: TestClient, seeded: Container
) -> None:
    key = make_key(seeded, Role.ADMIN)
    entry_id = quarantined(client, key)
    token = signed_in(client, seeded, Role.SUPPORT, "sup")  # may read quarantine, not act
    assert submit(client, f"/quarantine/{entry_id}/discard", token).status_code == 403
    client.cookies.clear()
    token = signed_in(client, seeded, Role.OPERATOR, "op")
    done = submit(client, f"/quarantine/{entry_id}/discard", token)
    assert "will not become an order" in done.text
    assert entry_status(seeded, entry_id) == ("discarded", None)
    again = submit(client, f"/quarantine/{entry_id}/discard", token)
    assert again.status_code == 409


def test_an_entry_closes_itself_when_the_same_order_arrives_fixed(
    client: TestClient, seeded: Container
) -> None:
    key = make_key(seeded, Role.ADMIN)
    entry_id = quarantined(client, key, "Q-7")
    fixed = native_order("Q-7")  # the channel fixed the SKU and sent the order again
    answer = client.post("/v1/orders", json=fixed, headers=bearer(key)).json()
    assert entry_status(seeded, entry_id) == ("replayed", answer["id"])


def test_quarantine_filters_by_channel(client: TestClient, seeded: Container) -> None:
    key = make_key(seeded, Role.ADMIN)
    signed_in(client, seeded)
    quarantined(client, key, "Q-WEB")
    assert "Q-WEB" in client.get("/quarantine", params={"channel": "web"}).text
    assert "Q-WEB" not in client.get("/quarantine", params={"channel": "app"}).text


# --- readable ids ----------------------------------------------------------------------------


def test_the_ledger_links_reservations_by_order_number_and_names_people(
    client: TestClient, seeded: Container
) -> None:
    signed_in(client, seeded, Role.OPERATOR, "olga")
    add_locations(seeded, ("east", 1))
    receive(seeded, "SKU-1", "east", 5)
    order_id = place_order(
        seeded, "WEB-4711", lines=[{"sku": "SKU-1", "quantity": 1, "unit_price": "2.00"}]
    )
    with seeded.uow(actor="test") as uow:
        from orderhub.services.allocation import allocate_order

        allocate_order(uow, order_id=order_id)
        user_id = uow.conn.execute(
            select(t.users.c.id).where(t.users.c.username == "olga")
        ).scalar_one()
    with seeded.uow(actor=f"user:{user_id}") as uow:
        from orderhub.services.inventory import StockAdjustment, adjust_stock

        adjust_stock(uow, items=[StockAdjustment("SKU-1", "east", delta=1, reason="found one")])
    html = client.get("/inventory/SKU-1").text
    assert f'<a href="/orders/{order_id}">WEB-4711</a>' in html
    assert "user:olga" in html
    assert user_id not in html
