"""One redaction function for every kept or shown payload: credentials go, the rest stays."""

from __future__ import annotations

import json

from orderhub.channels import base, cxml, shopify
from orderhub.channels.edi_x12 import stored
from orderhub.domain.redaction import REDACTED, redact
from tests.support.channels import fixture_text
from tests.unit.channels.edi_fixtures import cxml as cxml_fixture
from tests.unit.channels.edi_fixtures import edi


def test_credential_members_of_json_are_replaced_at_any_depth() -> None:
    text = json.dumps(
        {
            "webhook_secret": "s3cr3t-value",
            "credentials": {"access_token": "shpat_abc", "Client-Secret": "cs-1"},
            "lines": [{"sku": "A", "password": "hunter22"}],
            "next_page_token": "page-2",
            "secret_set": True,
        }
    )
    data = json.loads(redact(text))
    assert data["webhook_secret"] == REDACTED
    assert data["credentials"] == {"access_token": REDACTED, "Client-Secret": REDACTED}
    assert data["lines"] == [{"sku": "A", "password": REDACTED}]
    assert data["next_page_token"] == "page-2"  # paging, not a credential
    assert data["secret_set"] is True


def test_the_hubs_own_secrets_are_replaced_wherever_they_stand() -> None:
    text = "note: ohk_0123456789ab_" + "x" * 43 + " and whsec_" + "A" * 32
    assert redact(text) == f"note: ohk_0123456789ab_{REDACTED} and whsec_{REDACTED}"


def test_a_quarantined_cxml_keeps_its_order_but_not_its_shared_secret() -> None:
    body = cxml_fixture("procurement_usd_multi_line.xml").decode()
    payload = redact(cxml.stored_payload("globex", body))
    assert "procure-shared-secret" not in payload
    assert f"<SharedSecret>{REDACTED}</SharedSecret>" in payload
    assert cxml.parse_stored(payload) == cxml.parse_stored(cxml.stored_payload("globex", body))


def test_an_edi_interchange_loses_its_isa_passwords_and_still_reads() -> None:
    text = edi("vics_850_tilde_newlines.edi")
    isa = "ISA*01*PASSWORD01*01*SECURITY01*"
    text = isa + text.split("*", 5)[5]
    payload = stored.stored_payload(
        channel="acme", currency="USD", id_preference=("UP",), interchange=text
    )
    redacted = redact(payload)
    assert "PASSWORD01" not in redacted
    assert "SECURITY01" not in redacted
    assert "ISA*01*          *01*          *" in redacted
    assert stored.parse_stored(redacted) == stored.parse_stored(payload)


def test_a_kept_shopify_body_loses_its_order_tokens_and_still_reads() -> None:
    body = fixture_text("shopify/orders_create_tax_included_presentment.json")
    data = json.loads(body)
    data.update(token="order-status-token-1", cart_token="cart-token-2")
    payload = base.envelope("shop", order=json.dumps(data), topic="orders/create")
    redacted = redact(payload)
    assert "order-status-token-1" not in redacted
    assert "cart-token-2" not in redacted
    assert shopify.parse(redacted) == shopify.parse(payload)
    kept = json.loads(base.open_envelope(redacted)[1]["order"])
    assert kept == data | {"token": REDACTED, "cart_token": REDACTED}
