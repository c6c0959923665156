"""OWASP API3:2023 Broken Object Property Level Authorization: no answer, page or kept payload
shows a property the caller must not see (secrets, credentials), and no request sets a property
the caller must not set (mass assignment)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from orderhub.bootstrap import Container
from orderhub.cli import app
from orderhub.domain.access import Role
from orderhub.domain.catalog import Product
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.domain.redaction import REDACTED
from orderhub.store import tables as t
from tests.conftest import native_order
from tests.integration.dashboard_support import signed_in
from tests.unit.channels.edi_fixtures import cxml

SHARED_SECRET = "procure-shared-secret"  # in tests/fixtures/channels/cxml/procurement_…xml
HOOK = {"url": "https://93.184.215.14/hook", "event_types": ["order.*"]}


def raw_rows(container: Container, table: t.Table) -> str:
    with container.engine.connect() as conn:
        return json.dumps([list(r) for r in conn.execute(select(table))], default=str)


def quarantine_a_cxml_order(client: TestClient, container: Container) -> str:
    """A cXML buyer whose SKUs are not mapped yet: its OrderRequest waits in quarantine."""
    with container.uow(actor="test") as uow:
        uow.channels.add(
            Channel("globex", "Globex", ChannelKind.CXML, webhook_secret=SHARED_SECRET)
        )
        uow.commit()
    answer = client.post(
        "/v1/channels/globex/cxml",
        content=cxml("procurement_usd_multi_line.xml"),
        headers={"Content-Type": "text/xml"},
    )
    assert answer.status_code == 200, answer.text
    assert "held for review" in answer.text
    with container.uow(read_only=True) as uow:
        return str(uow.conn.execute(select(t.quarantine.c.id)).scalar_one())


def test_a_quarantined_cxml_shows_and_keeps_no_shared_secret_and_still_replays(
    client: TestClient, seeded: Container, admin: dict[str, str]
) -> None:
    entry_id = quarantine_a_cxml_order(client, seeded)
    listed = client.get("/v1/quarantine", headers=admin)
    assert listed.status_code == 200
    assert SHARED_SECRET not in listed.text
    assert f"<SharedSecret>{REDACTED}</SharedSecret>" in listed.json()["items"][0]["payload"]
    assert SHARED_SECRET not in client.get(f"/v1/quarantine/{entry_id}", headers=admin).text
    assert SHARED_SECRET not in raw_rows(seeded, t.quarantine)
    signed_in(client, seeded, Role.OPERATOR)
    page = client.get("/quarantine")
    assert page.status_code == 200
    assert "4500012345" in page.text
    assert SHARED_SECRET not in page.text

    with seeded.uow(actor="test") as uow:
        for sku in ("GLV-NITRILE-L", "SAFETY-GLASS-CLR"):
            uow.catalog.upsert(Product(sku, sku.title(), 100))
        uow.commit()
    replayed = client.post(f"/v1/quarantine/{entry_id}/replay", headers=admin)
    assert replayed.json()["outcome"] == "created", replayed.text


def test_an_idempotent_answer_is_kept_without_the_webhook_secret_it_showed(
    client: TestClient, seeded: Container, admin: dict[str, str]
) -> None:
    headers = admin | {"Idempotency-Key": "hook-1"}
    first = client.post("/v1/webhooks", json=HOOK, headers=headers)
    assert first.status_code == 201, first.text
    secret = first.json()["secret"]
    assert secret.startswith("whsec_")
    assert secret not in raw_rows(seeded, t.idempotency_keys)
    again = client.post("/v1/webhooks", json=HOOK, headers=headers)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["secret"] == REDACTED  # shown once means once


def test_db_upgrade_redacts_payloads_an_older_hub_kept_in_clear(
    client: TestClient,
    seeded: Container,
    admin: dict[str, str],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entry_id = quarantine_a_cxml_order(client, seeded)
    client.post("/v1/webhooks", json=HOOK, headers=admin | {"Idempotency-Key": "hook-2"})
    old_body = json.dumps({"id": "x", "secret": "whsec_T0PSECRETT0PSECRET"})
    payload = json.dumps(
        {"channel": "globex", "cxml": cxml("procurement_usd_multi_line.xml").decode()}
    )
    with seeded.engine.begin() as conn:  # as a hub before redaction wrote them
        conn.execute(
            update(t.quarantine).where(t.quarantine.c.id == entry_id).values(payload=payload)
        )
        conn.execute(update(t.idempotency_keys).values(response_body=old_body))
    assert SHARED_SECRET in raw_rows(seeded, t.quarantine)

    monkeypatch.setenv("ORDERHUB_DATABASE_URL", database_url)
    result = CliRunner().invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "redacted credentials in 2 stored payload(s)" in result.output
    assert SHARED_SECRET not in raw_rows(seeded, t.quarantine)
    assert "T0PSECRET" not in raw_rows(seeded, t.idempotency_keys)
    assert "redacted" not in CliRunner().invoke(app, ["db", "upgrade"]).output


def test_channel_secrets_and_credentials_are_never_answered(
    client: TestClient, admin: dict[str, str]
) -> None:
    body = {
        "code": "shop", "name": "Shop", "kind": "shopify", "webhook_secret": "shpss_0123456789",
        "credentials": {"access_token": "shpat_TOPSECRET"},
    }  # fmt: skip
    created = client.post("/v1/channels", json=body, headers=admin)
    assert created.status_code == 201, created.text
    for answer in (created, client.get("/v1/channels/shop", headers=admin)):
        assert "shpss_0123456789" not in answer.text
        assert "shpat_TOPSECRET" not in answer.text
        assert answer.json()["webhook_secret_set"] is True
        assert answer.json()["credential_keys"] == ["access_token"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("id", "ord_chosen"), ("status", "shipped"), ("totals", {"total": "0.00"})],
)
def test_an_order_cannot_set_what_the_hub_decides(
    client: TestClient, admin: dict[str, str], field: str, value: object
) -> None:
    answer = client.post("/v1/orders", json=native_order(**{field: value}), headers=admin)
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in answer.json()["errors"]] == [field]
