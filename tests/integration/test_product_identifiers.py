"""Product identifiers through the API (create, list, get; check digits; uniqueness) and SKU
resolution by barcode for EDI 850 lines and partner CSV rows, on SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient

from orderhub.bootstrap import Container
from orderhub.channels import csv_import
from orderhub.domain.catalog import Product
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.services.channel_orders import receive_all
from tests.unit.channels.edi_fixtures import edi

EDI = {"Content-Type": "application/edi-x12"}


def test_a_product_keeps_its_identifiers_in_create_list_and_get(
    client: TestClient, admin: dict[str, str]
) -> None:
    body = {
        "sku": "BOOK-1",
        "name": "Book",
        "identifiers": {"isbn": "0-306-40615-2", "ean": "4006381333931", "mpn": "ED-1"},
    }
    created = client.post("/v1/products", json=body, headers=admin)
    assert created.status_code == 201, created.text
    expected = {
        "gtin": None,
        "upc": None,
        "ean": "4006381333931",
        "isbn": "0306406152",
        "mpn": "ED-1",
    }
    assert created.json()["identifiers"] == expected
    assert client.get("/v1/products/BOOK-1", headers=admin).json()["identifiers"] == expected
    listed = client.get("/v1/products", params={"sku_prefix": "BOOK"}, headers=admin).json()
    assert [p["identifiers"] for p in listed["items"]] == [expected]
    replaced = client.post(
        "/v1/products", json={"sku": "BOOK-1", "name": "Book", "identifiers": {}}, headers=admin
    )
    assert replaced.status_code == 200
    assert client.get("/v1/products/BOOK-1", headers=admin).json()["identifiers"]["ean"] is None


def test_a_wrong_check_digit_is_a_problem_naming_the_identifier(
    client: TestClient, admin: dict[str, str]
) -> None:
    body = {"sku": "MUG-9", "name": "Mug", "identifiers": {"upc": "036000291453", "gtin": "1"}}
    answer = client.post("/v1/products", json=body, headers=admin)
    assert answer.status_code == 422
    problem = answer.json()
    fields = {e["field"]: e["message"] for e in problem["errors"]}
    assert set(fields) == {"identifiers.upc", "identifiers.gtin"}
    assert "check digit is 3" in fields["identifiers.upc"]
    assert client.get("/v1/products/MUG-9", headers=admin).status_code == 404


def test_a_barcode_identifies_one_product_whatever_length_it_is_given_in(
    client: TestClient, admin: dict[str, str]
) -> None:
    first = {"sku": "MUG-1", "name": "Mug", "identifiers": {"upc": "036000291452"}}
    assert client.post("/v1/products", json=first, headers=admin).status_code == 201
    same_number = {"sku": "MUG-2", "name": "Mug", "identifiers": {"gtin": "00036000291452"}}
    answer = client.post("/v1/products", json=same_number, headers=admin)
    assert answer.status_code == 422
    (error,) = answer.json()["errors"]
    assert error["field"] == "identifiers.gtin"
    assert "MUG-1" in error["message"]
    assert client.get("/v1/products/MUG-2", headers=admin).status_code == 404


def test_edi_lines_are_resolved_by_their_upc_and_gtin_when_no_sku_map_knows_them(
    client: TestClient, seeded: Container, admin: dict[str, str]
) -> None:
    with seeded.uow(actor="test") as uow:
        uow.channels.add(Channel("acme", "Acme Hardware (EDI)", ChannelKind.EDI_X12))
        uow.catalog.upsert(Product("BOLT-M8", "Bolt", 10, {}, {"upc": "012345678905"}))
        uow.catalog.upsert(Product("WASHER-10", "Washer", 5, {}, {"upc": "036000291452"}))
        uow.catalog.upsert(Product("CASE-6", "Case", 900, {}, {"gtin": "10012345678902"}))
        uow.commit()
    response = client.post(
        "/v1/channels/acme/edi",
        content=edi("distributor_pipe_two_groups_three_pos.edi"),
        headers={**admin, **EDI},
    )
    assert response.status_code == 200, response.text
    outcomes = [(p["po_number"], p["outcome"]) for p in response.json()["purchase_orders"]]
    assert outcomes == [("PO-7001", "created"), ("PO-7002", "created"), ("PO-8100", "created")]
    order_id = response.json()["purchase_orders"][2]["order_id"]
    order = client.get(f"/v1/orders/{order_id}", headers=admin).json()
    # BOLT-M8 is the vendor's part number (VP) and a product SKU; the second line is by UPC.
    assert [(line["sku"], line["quantity"]) for line in order["lines"]] == [
        ("BOLT-M8", 24),
        ("WASHER-10", 6),
    ]


CSV = """order_id,placed_at,currency,sku,quantity,unit_price,gtin,mpn
C-1,2026-11-23T08:30:00Z,USD,PARTNER-A,2,12.50,00036000291452,
C-1,2026-11-23T08:30:00Z,USD,PARTNER-B,1,3.00,,WX-7
"""


def test_csv_rows_are_resolved_by_their_gtin_and_mpn_columns(seeded: Container) -> None:
    with seeded.uow(actor="test") as uow:
        uow.channels.add(Channel("partner", "Partner (CSV)", ChannelKind.CSV))
        uow.catalog.upsert(Product("MUG", "Mug", 300, {}, {"upc": "036000291452"}))
        uow.catalog.upsert(Product("CLIP", "Clip", 5, {}, {"mpn": "WX-7"}))
        uow.commit()
    items = list(csv_import.read_orders("partner", CSV))
    (result,) = receive_all(lambda: seeded.uow(actor="test"), items)
    assert result.outcome.value == "created", result
    with seeded.uow(read_only=True) as uow:
        order = uow.orders.get(str(result.order_id))
    assert [(line.sku, line.quantity) for line in order.lines] == [("MUG", 2), ("CLIP", 1)]
