"""The inventory page's search, low-stock filter and stock forms (adjust, receive, transfer),
through HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient

from orderhub.bootstrap import Container
from orderhub.domain.access import Role
from tests.integration.dashboard_support import signed_in, submit
from tests.integration.inventory_helpers import add_locations, levels, receive


def stock_rows(html: str) -> list[str]:
    table = html[html.index('data-testid="stock-table"') : html.index('data-testid="ats-table"')]
    return [part.split('"')[0] for part in table.split('<a href="/inventory/')[1:]]


def test_search_and_the_low_stock_filter_narrow_the_skus(
    client: TestClient, seeded: Container
) -> None:
    add_locations(seeded, ("east", 1))
    receive(seeded, "SKU-1", "east", 50)
    receive(seeded, "SKU-2", "east", 3)
    receive(seeded, "SKU-3", "east", 9)
    signed_in(client, seeded, Role.WAREHOUSE, "wh")
    assert stock_rows(client.get("/inventory").text) == ["SKU-1", "SKU-2", "SKU-3"]
    assert stock_rows(client.get("/inventory", params={"q": "sku-2"}).text) == ["SKU-2"]
    assert stock_rows(client.get("/inventory", params={"q": "thr"}).text) == ["SKU-3"]  # name
    assert stock_rows(client.get("/inventory", params={"low": "5"}).text) == ["SKU-2"]
    assert stock_rows(client.get("/inventory", params={"low": "10"}).text) == ["SKU-2", "SKU-3"]


def test_receive_adjust_and_transfer_change_the_levels(
    client: TestClient, seeded: Container
) -> None:
    add_locations(seeded, ("east", 1), ("west", 2))
    token = signed_in(client, seeded, Role.WAREHOUSE, "wh")
    receipt = {"sku": "SKU-1", "location": "east", "quantity": "10", "reference": "PO-9"}
    done = submit(client, "/inventory/receive", token, receipt)
    assert "The receipt was booked" in done.text
    submit(client, "/inventory/adjust", token,
           {"sku": "SKU-1", "location": "east", "delta": "-2", "reason": "damaged"})  # fmt: skip
    moved = submit(client, "/inventory/transfer", token,
                   {"sku": "SKU-1", "from": "east", "to": "west", "quantity": "3"})  # fmt: skip
    assert "The units were moved." in moved.text
    assert levels(seeded)[("SKU-1", "east")] == (5, 0)
    assert levels(seeded)[("SKU-1", "west")] == (3, 0)
    ledger = client.get("/inventory/SKU-1").text
    assert "transfer to west" in ledger
    assert "damaged" in ledger
    assert "user:wh" in ledger


def test_a_transfer_of_more_than_is_on_hand_moves_nothing(
    client: TestClient, seeded: Container
) -> None:
    add_locations(seeded, ("east", 1), ("west", 2))
    receive(seeded, "SKU-1", "east", 2)
    token = signed_in(client, seeded, Role.WAREHOUSE, "wh")
    refused = submit(client, "/inventory/transfer", token,
                     {"sku": "SKU-1", "from": "east", "to": "west", "quantity": "5"})  # fmt: skip
    assert refused.status_code == 422
    assert "Refused, nothing changed" in refused.text
    assert levels(seeded) == {("SKU-1", "east"): (2, 0)}


def test_stock_forms_need_inventory_write(client: TestClient, seeded: Container) -> None:
    add_locations(seeded, ("east", 1))
    token = signed_in(client, seeded, Role.SUPPORT, "sup")
    assert "Adjust, receive or transfer" not in client.get("/inventory").text
    refused = submit(client, "/inventory/receive", token,
                     {"sku": "SKU-1", "location": "east", "quantity": "1"})  # fmt: skip
    assert refused.status_code == 403
    assert levels(seeded) == {}
