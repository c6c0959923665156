"""B2B intake through the HTTP API: EDI 850 → orders and a 997; cXML OrderRequest → Response."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from orderhub.bootstrap import Container
from orderhub.channels.edi_x12.parser import parse_interchange
from orderhub.domain.access import Role
from orderhub.domain.catalog import Product
from orderhub.domain.channels import Channel, ChannelKind
from tests.conftest import bearer, make_key
from tests.unit.channels.edi_fixtures import cxml, edi

EDI = {"Content-Type": "application/edi-x12"}
XML = {"Content-Type": "text/xml"}
VICS_SKUS = ["AB3542", "RD5322", "XY5266", "VX2332", "RV0524", "DX1875"]


def add_b2b_channels(container: Container) -> None:
    with container.uow(actor="test") as uow:
        uow.channels.add(Channel("acme", "Acme Hardware (EDI)", ChannelKind.EDI_X12))
        uow.channels.add(Channel("xyz", "XYZ Retail (EDI)", ChannelKind.EDI_X12))
        uow.channels.add(
            Channel("tesco", "Tesco (cXML)", ChannelKind.CXML, webhook_secret="tesco-shared-secret")
        )
        uow.channels.add(
            Channel("globex", "Globex", ChannelKind.CXML, webhook_secret="procure-shared-secret")
        )
        for sku in [*VICS_SKUS, "BOLT-M8", "WASHER-10", "CASE-6", "GLOVES-L", "GLASSES"]:
            uow.catalog.upsert(Product(sku, sku.title(), 100))
        for channel, channel_sku, sku in [
            ("acme", "012345678905", "BOLT-M8"),
            ("acme", "036000291452", "WASHER-10"),
            ("tesco", "596394", "CASE-6"),
            ("globex", "GLV-NITRILE-L", "GLOVES-L"),
            ("globex", "SAFETY-GLASS-CLR", "GLASSES"),
        ]:
            uow.catalog.map_sku(channel, channel_sku, sku)
        uow.commit()


def post_edi(client: TestClient, code: str, name: str, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    return client.post(f"/v1/channels/{code}/edi", content=edi(name), headers={**headers, **EDI})


def test_an_interchange_of_three_pos_becomes_three_orders_and_an_accepting_997(
    client: TestClient, seeded: Container, admin: dict[str, str]
) -> None:
    add_b2b_channels(seeded)
    key = bearer(make_key(seeded, Role.CHANNEL, "acme"))
    response = post_edi(client, "acme", "distributor_pipe_two_groups_three_pos.edi", key)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["verdict"] == "accepted"
    assert [(p["po_number"], p["outcome"]) for p in body["purchase_orders"]] == [
        ("PO-7001", "created"), ("PO-7002", "quarantined"), ("PO-8100", "created"),
    ]  # fmt: skip
    ack = parse_interchange(body["acknowledgement"])
    assert [s.elements for _g, t in ack.transactions for s in t.body if s.id == "AK9"] == [
        ("A", "2", "2", "2"), ("A", "1", "1", "1"),
    ]  # fmt: skip
    order_id = body["purchase_orders"][0]["order_id"]
    order = client.get(f"/v1/orders/{order_id}", headers=admin).json()
    assert order["external_id"] == "PO-7001"
    assert [
        (line["sku"], line["quantity"], line["unit_price"], line["discount"])
        for line in order["lines"]
    ] == [
        ("BOLT-M8", 3, "1.24", "0.02"), ("WASHER-10", 10, "4.50", "0.00"),
    ]  # fmt: skip
    assert order["totals"]["total"] == "48.70"
    assert order["purchase_order"] == {
        "number": "PO-7001",
        "order_date": "2026-11-20",
        "payment_terms": {"net_days": 30, "discount_percent": "2", "discount_days": 10,
                          "description": "2% 10 NET 30"},
        "requested_ship_date": "2026-12-01",
        "requested_delivery_date": "2026-12-05",
        "bill_to_differs": True,
        "buyer_name": "ACME HARDWARE INC",
        "contacts": [
            {"role": "BD", "name": "Dana Buyer", "email": "Dana.Buyer@Example.com",
             "phone": "555-0100"},
            {"role": "ST:RE", "name": "Sam Receiver", "email": None, "phone": "555-0101"},
        ],
    }  # fmt: skip


def test_a_quarantined_po_replays_after_its_gtin_is_mapped(
    client: TestClient, seeded: Container, admin: dict[str, str]
) -> None:
    add_b2b_channels(seeded)
    body = post_edi(client, "acme", "distributor_pipe_two_groups_three_pos.edi", admin).json()
    held = body["purchase_orders"][1]
    assert held["problems"] == ["lines.0.channel_sku: unknown SKU '10012345678902'"]
    mapped = client.post(
        "/v1/channels/acme/sku-map",
        json={"mappings": [{"channel_sku": "10012345678902", "sku": "CASE-6"}]},
        headers=admin,
    )
    assert mapped.status_code == 200
    replay = client.post(f"/v1/quarantine/{held['quarantine_id']}/replay", headers=admin).json()
    assert replay["outcome"] == "created"
    order = client.get(f"/v1/orders/{replay['order_id']}", headers=admin).json()
    assert (order["external_id"], order["lines"][0]["sku"]) == ("PO-7002", "CASE-6")
    assert order["purchase_order"]["number"] == "PO-7002"


def test_posting_the_same_interchange_again_creates_nothing_new(
    client: TestClient, seeded: Container, admin: dict[str, str]
) -> None:
    add_b2b_channels(seeded)
    first = post_edi(client, "xyz", "vics_850_tilde_newlines.edi", admin).json()
    with seeded.uow() as uow:
        for sku in VICS_SKUS:
            uow.catalog.map_sku("xyz", sku, sku)
        uow.commit()
    again = post_edi(client, "xyz", "vics_850_newline_terminator.edi", admin).json()
    third = post_edi(client, "xyz", "vics_850_tilde_newlines.edi", admin).json()
    assert first["purchase_orders"][0]["outcome"] == "created"  # SKUs equal master SKUs
    assert [again["purchase_orders"][0]["outcome"], third["purchase_orders"][0]["outcome"]] == [
        "existing", "existing",
    ]  # fmt: skip


def test_a_bad_interchange_is_rejected_with_a_997_naming_the_segment(
    client: TestClient, seeded: Container, admin: dict[str, str]
) -> None:
    add_b2b_channels(seeded)
    response = post_edi(client, "xyz", "bad_ctt_line_count.edi", admin)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert (problem["status"], problem["verdict"]) == (422, "rejected")
    assert problem["errors"] == [
        {"field": "850.000000010.CTT@31.01", "message": "CTT01 says 5 lines, the order has 6",
         "code": "AK3-8"},
    ]  # fmt: skip
    assert "AK3*CTT*31**8~" in problem["acknowledgement"]
    assert "AK5*R*5~" in problem["acknowledgement"]
    listed = client.get("/v1/orders", headers=admin).json()
    assert listed["items"] == []


def test_the_997_alone_when_asked_for_edi(
    client: TestClient, seeded: Container, admin: dict[str, str]
) -> None:
    add_b2b_channels(seeded)
    response = client.post(
        "/v1/channels/xyz/edi",
        content=edi("bad_se_segment_count.edi"),
        headers={**admin, **EDI, "Accept": "application/edi-x12"},
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/edi-x12")
    ack = parse_interchange(response.text)
    body = [(s.id, s.elements) for _g, t in ack.transactions for s in t.body]
    assert ("AK3", ("SE", "33", "", "8")) in body
    assert ("AK5", ("R", "4", "5")) in body


def test_unreadable_isa_is_a_problem_naming_the_isa(
    client: TestClient, seeded: Container, admin: dict[str, str]
) -> None:
    add_b2b_channels(seeded)
    response = client.post("/v1/channels/xyz/edi", content="GS*PO~", headers={**admin, **EDI})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.ISA"


def test_channel_keys_may_post_only_to_their_channel(client: TestClient, seeded: Container) -> None:
    add_b2b_channels(seeded)
    other = bearer(make_key(seeded, Role.CHANNEL, "xyz"))
    warehouse = bearer(make_key(seeded, Role.WAREHOUSE))
    assert post_edi(client, "acme", "vics_850_tilde_newlines.edi", other).status_code == 403
    assert post_edi(client, "acme", "vics_850_tilde_newlines.edi", warehouse).status_code == 403
    assert post_edi(client, "acme", "vics_850_tilde_newlines.edi", {}).status_code == 401


def test_997_control_numbers_increase_per_trading_partner(
    client: TestClient, seeded: Container, admin: dict[str, str]
) -> None:
    add_b2b_channels(seeded)
    controls = []
    for code, name in [
        ("xyz", "vics_850_tilde_newlines.edi"),
        ("xyz", "vics_850_newline_terminator.edi"),
        ("acme", "distributor_pipe_two_groups_three_pos.edi"),
        ("xyz", "bad_ctt_line_count.edi"),
    ]:
        ack = post_edi(client, code, name, admin).json()["acknowledgement"]
        controls.append((code, parse_interchange(ack).control))
    assert controls == [
        ("xyz", "000000001"), ("xyz", "000000002"), ("acme", "000000001"), ("xyz", "000000003"),
    ]  # fmt: skip


def post_cxml(client: TestClient, code: str, body: bytes):  # type: ignore[no-untyped-def]
    return client.post(f"/v1/channels/{code}/cxml", content=body, headers=XML)


def cxml_status(text: str) -> str | None:
    marker = 'Status code="'
    return text[text.index(marker) + len(marker) :].split('"', 1)[0]


def test_cxml_order_request_is_taken_once_per_payload_id(
    client: TestClient, seeded: Container, admin: dict[str, str]
) -> None:
    add_b2b_channels(seeded)
    body = cxml("procurement_usd_multi_line.xml")
    first = post_cxml(client, "globex", body)
    assert first.status_code == 200, first.text
    assert cxml_status(first.text) == "200"
    order = client.get(first.headers["location"], headers=admin).json()
    assert (order["external_id"], order["currency"], order["totals"]["total"]) == (
        "4500012345",
        "USD",
        "146.73",
    )
    assert [line["sku"] for line in order["lines"]] == ["GLOVES-L", "GLASSES"]
    assert order["purchase_order"]["requested_ship_date"] == "2026-12-01"
    again = post_cxml(client, "globex", body)
    assert (again.status_code, cxml_status(again.text)) == (409, "409")
    assert again.headers["location"] == first.headers["location"]


def test_cxml_shared_secret_must_match_the_channel(client: TestClient, seeded: Container) -> None:
    add_b2b_channels(seeded)
    body = cxml("retail_gbp_single_line.xml")
    wrong = body.replace(b"tesco-shared-secret", b"tesco-shared-secreX")
    refused = post_cxml(client, "tesco", wrong)
    assert refused.status_code == 401
    assert post_cxml(client, "globex", body).status_code == 401
    unknown = post_cxml(client, "nowhere", body)
    status = re.compile(r"<Status .*</Status>")  # the rest is a fresh payloadID and time
    assert unknown.status_code == 401
    assert status.findall(unknown.text) == status.findall(refused.text)  # codes stay unknown
    assert post_cxml(client, "xyz", body).status_code == 401  # an EDI channel takes no cXML
    taken = post_cxml(client, "tesco", body)
    assert (taken.status_code, cxml_status(taken.text)) == (200, "200")


def test_cxml_bad_requests_answer_400_with_a_reason(client: TestClient, seeded: Container) -> None:
    add_b2b_channels(seeded)
    body = cxml("retail_gbp_single_line.xml").replace(b'quantity="2.0000"', b'quantity="two"')
    response = post_cxml(client, "tesco", body)
    assert (response.status_code, cxml_status(response.text)) == (400, "400")
    assert "ItemOut[1]@quantity" in response.text
    truncated = (
        b"<cXML><Header><Sender><Credential><SharedSecret>tesco-shared-secret</SharedSecret>"
    )
    assert post_cxml(client, "tesco", truncated).status_code == 400
    assert post_cxml(client, "tesco", b"<cXML").status_code == 401  # no secret: not parsed


def test_orders_are_found_by_po_number_and_requested_ship_date(
    client: TestClient, seeded: Container, admin: dict[str, str]
) -> None:
    add_b2b_channels(seeded)
    post_edi(client, "acme", "distributor_pipe_two_groups_three_pos.edi", admin)

    def found(query: str) -> list[str]:
        page = client.get(f"/v1/orders?{query}", headers=admin).json()
        return sorted(order["external_id"] for order in page["items"])

    assert found("po_number=PO-8100") == ["PO-8100"]
    assert found("ship_by=2026-12-01") == ["PO-7001"]
    assert found("ship_by=2026-11-30") == []


def test_a_partly_bad_interchange_takes_the_good_pos_and_says_which_failed(
    client: TestClient, seeded: Container, admin: dict[str, str]
) -> None:
    add_b2b_channels(seeded)
    text = edi("distributor_pipe_two_groups_three_pos.edi").replace("CTT|2|30", "CTT|2|31")
    response = client.post("/v1/channels/acme/edi", content=text, headers={**admin, **EDI})
    assert response.status_code == 200
    body = response.json()
    assert body["verdict"] == "partially_accepted"
    assert [(p["po_number"], p["outcome"]) for p in body["purchase_orders"]] == [
        ("PO-7001", "created"), ("PO-7002", "quarantined"), (None, "rejected"),
    ]  # fmt: skip
    assert body["problems"] == [
        "set 850 0101: CTT at 8: CTT02 hash total 31 differs from 30",
    ]


def test_transaction_sets_other_than_850_are_rejected_as_unsupported(
    client: TestClient, seeded: Container, admin: dict[str, str]
) -> None:
    add_b2b_channels(seeded)
    response = post_edi(client, "acme", "asn_856_not_an_order.edi", admin)
    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"] == [
        {"field": "856.0008.ST", "message": "transaction set 856 is not supported here",
         "code": "AK5-1"},
    ]  # fmt: skip
    assert "AK5*R*1~" in problem["acknowledgement"]
    assert "AK9*R*1*1*0~" in problem["acknowledgement"]


def test_the_b2b_endpoints_are_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/v1/openapi.json").json()["paths"]
    assert (
        "application/edi-x12" in paths["/v1/channels/{code}/edi"]["post"]["requestBody"]["content"]
    )
    assert "text/xml" in paths["/v1/channels/{code}/cxml"]["post"]["requestBody"]["content"]
