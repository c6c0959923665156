"""Channel credentials, webhook and provider secrets (and ShipStation's API key and secret in
the provider settings) are sealed in the database, still work, never come back in answers,
move to a new key on rotation, and old clear rows keep working."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from orderhub.bootstrap import Container, bootstrap
from orderhub.channels import etsy as etsy_module
from orderhub.channels.api_client import forget_shared_state
from orderhub.cli import app
from orderhub.config import Settings
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.store import tables as t
from orderhub.store.fulfilment import ProviderConfig
from orderhub.store.secret_box import SecretKeyError, UnreadableSecret
from tests.support.channels import fixture_text, sign

runner = CliRunner()
WEBHOOK_SECRET = "shpss_sealed_secret_0123456789"
TOKEN = "shpat_TOPSECRET_token_42"
SS_KEY, SS_SECRET = "ss-api-key-7f3a9c", "ss-api-secret-0b8e2d"
SHIPSTATION = ProviderConfig(
    "ss", "ShipStation", "shipstation",
    {"api_key": SS_KEY, "api_secret": SS_SECRET, "store_id": 42},
)  # fmt: skip
SHOPIFY = "shopify/orders_create_tax_included_presentment.json"


def raw_rows(container: Container, table: t.Table) -> str:
    """Every stored value of ``table``, as one text to search for secrets."""
    with container.engine.connect() as conn:
        return json.dumps([list(r) for r in conn.execute(select(table))], default=str)


def shopify_webhook(client: TestClient, secret: str, code: str = "shop") -> int:
    body = fixture_text(SHOPIFY).encode()
    headers = {"X-Shopify-Hmac-Sha256": sign(body, secret), "X-Shopify-Topic": "orders/create"}
    return client.post(f"/v1/channels/{code}/webhooks", content=body, headers=headers).status_code


def test_channel_secrets_are_sealed_at_rest_and_never_answered(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    created = client.post(
        "/v1/channels",
        headers=admin,
        json={
            "code": "shop", "name": "Shop", "kind": "shopify", "webhook_secret": "first-secret-1",
            "credentials": {"access_token": TOKEN, "refresh_token": {"env": "SHOP_REFRESH"}},
        },
    )  # fmt: skip
    assert created.status_code == 201, created.text
    patched = client.patch(
        "/v1/channels/shop", headers=admin, json={"webhook_secret": WEBHOOK_SECRET}
    )
    answers = [created.text, patched.text]
    answers += [client.get(p, headers=admin).text for p in ("/v1/channels", "/v1/channels/shop")]
    for answer in answers:
        for secret in ("first-secret-1", WEBHOOK_SECRET, TOKEN, "SHOP_REFRESH"):
            assert secret not in answer
    assert patched.json()["webhook_secret_set"] is True
    assert patched.json()["credential_keys"] == ["access_token", "refresh_token"]

    stored = raw_rows(seeded, t.channels)
    for secret in ("first-secret-1", WEBHOOK_SECRET, TOKEN, "SHOP_REFRESH", "access_token"):
        assert secret not in stored
    with seeded.engine.connect() as conn:
        row = conn.execute(select(t.channels).where(t.channels.c.code == "shop")).one()
    assert row.webhook_secret.startswith("fernet:")
    assert row.credentials.startswith("fernet:")

    # The hub itself still reads them: the patched secret verifies, the first one no longer.
    assert shopify_webhook(client, WEBHOOK_SECRET) == 200
    assert shopify_webhook(client, "first-secret-1") == 401
    with seeded.uow(read_only=True) as uow:
        assert uow.channels.get("shop").credentials["access_token"] == TOKEN


def test_an_etsy_shared_secret_is_sealed_at_rest_and_sent_in_the_api_key(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    shared = "etsy-shared-0f9e8d7c"
    created = client.post(
        "/v1/channels",
        headers=admin,
        json={
            "code": "etsy", "name": "Etsy", "kind": "etsy", "settings": {"shop_id": "1"},
            "credentials": {"keystring": "etsy-key", "shared_secret": shared,
                            "refresh_token": "12345678.r"},
        },
    )  # fmt: skip
    assert created.status_code == 201, created.text
    assert created.json()["credential_keys"] == ["keystring", "refresh_token", "shared_secret"]
    assert shared not in raw_rows(seeded, t.channels)
    with seeded.uow(read_only=True) as uow:
        channel = uow.channels.get("etsy")
    seen: list[httpx.Request] = []

    def etsy(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/oauth/token"):
            return httpx.Response(200, json={"access_token": "12345678.a", "expires_in": 3600})
        return httpx.Response(200, json={"count": 0, "results": []})

    forget_shared_state()
    api = etsy_module.client(channel, transport=httpx.MockTransport(etsy), environ={})
    api.call("GET", "/v3/application/shops/1/receipts", api="etsy")
    forget_shared_state()
    assert seen[-1].headers["x-api-key"] == f"etsy-key:{shared}"


def test_webhook_subscription_and_provider_secrets_are_sealed_at_rest(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    hook = client.post(
        "/v1/webhooks",
        headers=admin,
        json={"url": "https://93.184.215.14/hook", "event_types": ["order.*"]},
    )
    assert hook.status_code == 201, hook.text
    provider_secret = "provider-secret-0123456789"
    provider = client.post(
        "/v1/providers",
        headers=admin,
        json={"code": "sim", "name": "Sim", "kind": "simulated", "secret": provider_secret},
    )
    assert provider.status_code == 201, provider.text
    assert hook.json()["secret"] not in raw_rows(seeded, t.webhook_subscriptions)
    assert provider_secret not in raw_rows(seeded, t.fulfilment_providers)
    with seeded.uow(read_only=True) as uow:
        assert uow.webhooks.get(hook.json()["id"]).secret == hook.json()["secret"]
        assert uow.fulfilment.provider("sim").secret == provider_secret


def test_shipstation_api_key_and_secret_are_sealed_at_rest_and_never_answered(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    settings = {"api_key": SS_KEY, "api_secret": SS_SECRET, "base_url": "https://ss.test"}
    created = client.post(
        "/v1/providers",
        headers=admin,
        json={"code": "ss", "name": "ShipStation", "kind": "shipstation", "settings": settings},
    )
    assert created.status_code == 201, created.text
    listed = client.get("/v1/providers", headers=admin)
    for answer in (created.text, listed.text):
        assert SS_KEY not in answer
        assert SS_SECRET not in answer
    assert listed.json()["items"][0]["settings"] == {
        "api_key": "***", "api_secret": "***", "base_url": "https://ss.test"
    }  # fmt: skip

    stored = raw_rows(seeded, t.fulfilment_providers)
    assert SS_KEY not in stored
    assert SS_SECRET not in stored
    with seeded.engine.connect() as conn:
        row = conn.execute(select(t.fulfilment_providers.c.settings)).one()
    assert row.settings["api_key"].startswith("fernet:")
    assert row.settings["base_url"] == "https://ss.test"  # the rest stays readable
    with seeded.uow(read_only=True) as uow:
        assert uow.fulfilment.provider("ss").settings == settings


def test_provider_settings_stored_in_clear_keep_working_until_db_upgrade_seals_them(
    seeded: Container, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with seeded.uow(actor="test") as uow:
        uow.fulfilment.add_provider(SHIPSTATION)
        uow.commit()
    with seeded.engine.begin() as conn:  # as a hub before sealing them wrote it
        conn.execute(update(t.fulfilment_providers).values(settings=SHIPSTATION.settings))
    assert SS_SECRET in raw_rows(seeded, t.fulfilment_providers)
    with seeded.uow(read_only=True) as uow:
        assert uow.fulfilment.provider("ss").settings == SHIPSTATION.settings

    monkeypatch.setenv("ORDERHUB_DATABASE_URL", database_url)
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "encrypted 2 secret(s)" in result.output
    stored = raw_rows(seeded, t.fulfilment_providers)
    assert SS_KEY not in stored
    assert SS_SECRET not in stored
    with seeded.uow(read_only=True) as uow:
        assert uow.fulfilment.provider("ss").settings == SHIPSTATION.settings
    assert "encrypted" not in runner.invoke(app, ["db", "upgrade"]).output


def test_secrets_stored_in_clear_keep_working_until_db_upgrade_seals_them(
    client: TestClient, seeded: Container, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with seeded.uow(actor="test") as uow:
        uow.channels.add(Channel("shop", "Shop", ChannelKind.SHOPIFY))
        uow.commit()
    with seeded.engine.begin() as conn:  # as a hub before encryption wrote it
        conn.execute(
            update(t.channels)
            .where(t.channels.c.code == "shop")
            .values(webhook_secret=WEBHOOK_SECRET, credentials={"access_token": TOKEN})
        )
    assert WEBHOOK_SECRET in raw_rows(seeded, t.channels)
    assert shopify_webhook(client, WEBHOOK_SECRET) == 200
    with seeded.uow(read_only=True) as uow:
        assert uow.channels.get("shop").credentials == {"access_token": TOKEN}

    monkeypatch.setenv("ORDERHUB_DATABASE_URL", database_url)
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "encrypted 2 secret(s)" in result.output
    stored = raw_rows(seeded, t.channels)
    assert WEBHOOK_SECRET not in stored
    assert TOKEN not in stored
    assert shopify_webhook(client, WEBHOOK_SECRET) == 200
    again = runner.invoke(app, ["db", "upgrade"])
    assert "encrypted" not in again.output  # nothing left in clear


def test_rotation_moves_every_secret_to_the_first_key_so_the_old_one_can_go(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()

    def hub(keys: str) -> Container:
        return bootstrap(Settings(database_url=database_url, secret_key=keys))

    with hub(old) as before, before.uow(actor="test") as uow:
        uow.channels.add(
            Channel("shop", "Shop", ChannelKind.SHOPIFY, webhook_secret=WEBHOOK_SECRET,
                    credentials={"access_token": TOKEN})
        )  # fmt: skip
        uow.fulfilment.add_provider(SHIPSTATION)
        uow.commit()
    monkeypatch.setenv("ORDERHUB_DATABASE_URL", database_url)
    monkeypatch.setenv("ORDERHUB_SECRET_KEY", Fernet.generate_key().decode())
    refused = runner.invoke(app, ["secrets", "rotate"])  # a key that opens nothing
    assert refused.exit_code == 1
    assert "opens with none of the keys" in refused.output

    monkeypatch.setenv("ORDERHUB_SECRET_KEY", f"{new},{old}")
    rotated = runner.invoke(app, ["secrets", "rotate"])
    assert rotated.exit_code == 0, rotated.output
    assert "2 in channels" in rotated.output
    assert "2 in fulfilment providers" in " ".join(rotated.output.split())  # rich wraps
    with hub(new) as after, after.uow(read_only=True) as uow:
        channel = uow.channels.get("shop")
        provider = uow.fulfilment.provider("ss")
    assert channel.webhook_secret == WEBHOOK_SECRET
    assert channel.credentials == {"access_token": TOKEN}
    assert provider.settings == SHIPSTATION.settings
    with hub(old) as stale, stale.uow(read_only=True) as uow, pytest.raises(UnreadableSecret):
        uow.channels.get("shop")
    with hub(old) as stale, stale.uow(read_only=True) as uow, pytest.raises(UnreadableSecret):
        uow.fulfilment.provider("ss")


def test_without_a_key_postgres_refuses_to_start_and_sqlite_makes_a_private_key_file(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "var" / "secret.key"
    settings = Settings(database_url=database_url, secret_key=None, secret_key_file=key_file)
    monkeypatch.delenv("ORDERHUB_SECRET_KEY")
    monkeypatch.setenv("ORDERHUB_DATABASE_URL", database_url)
    monkeypatch.setenv("ORDERHUB_SECRET_KEY_FILE", str(key_file))
    if database_url.startswith("postgresql"):
        with pytest.raises(SecretKeyError, match="ORDERHUB_SECRET_KEY is not set"):
            bootstrap(settings)
        result = runner.invoke(app, ["db", "upgrade"])
        assert result.exit_code == 2
        assert "ORDERHUB_SECRET_KEY is not set" in result.output
        assert not key_file.exists()
        return
    with bootstrap(settings) as container, container.uow(actor="test") as uow:
        uow.channels.add(Channel("shop", "Shop", ChannelKind.SHOPIFY, webhook_secret="s3cret-1"))
        uow.commit()
    assert key_file.stat().st_mode & 0o777 == 0o600
    with bootstrap(settings) as again, again.uow(read_only=True) as uow:
        assert uow.channels.get("shop").webhook_secret == "s3cret-1"
