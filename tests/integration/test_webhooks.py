"""Outbound webhooks: subscriptions through the API, signed deliveries, the SSRF guard."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from standardwebhooks import Webhook

from orderhub.api.app import create_app
from orderhub.bootstrap import Container, bootstrap
from orderhub.config import Settings
from orderhub.domain.access import Role
from orderhub.services.webhooks import new_secret
from orderhub.store import tables
from orderhub.workers.relay import Worker
from tests.conftest import bearer, make_key
from tests.integration.delivery_support import Pinged, Receiver, emit, receiver


@pytest.fixture
def hooks() -> Iterator[Receiver]:
    with receiver() as r:
        yield r


def hub(database_url: str, allowed: list[str]) -> Container:
    return bootstrap(Settings(database_url=database_url, outbound_allowed_hosts=allowed))


def subscribe(api: TestClient, key: dict[str, str], url: str, types: list[str]) -> dict[str, str]:
    response = api.post("/v1/webhooks", json={"url": url, "event_types": types}, headers=key)
    assert response.status_code == 201, response.text
    body: dict[str, str] = response.json()
    return body


def test_subscriptions_show_their_secret_once_and_can_be_listed_and_deleted(
    database_url: str,
) -> None:
    container = hub(database_url, [])
    key = bearer(make_key(container, Role.OPERATOR))
    with TestClient(create_app(container)) as api:
        created = subscribe(api, key, "https://example.com/in", ["order.*", "inventory.adjusted"])
        assert created["secret"].startswith("whsec_")
        listed = api.get("/v1/webhooks", headers=key).json()["items"]
        assert [s["id"] for s in listed] == [created["id"]]
        assert "secret" not in listed[0]
        assert listed[0]["event_types"] == ["order.*", "inventory.adjusted"]
        given = new_secret()
        mine = api.post(
            "/v1/webhooks",
            json={"url": "https://example.com/2", "event_types": ["*"], "secret": given},
            headers=key,
        ).json()
        assert mine["secret"] == given
        assert api.delete(f"/v1/webhooks/{created['id']}", headers=key).status_code == 204
        assert api.get(f"/v1/webhooks/{created['id']}", headers=key).status_code == 404
        assert api.delete(f"/v1/webhooks/{created['id']}", headers=key).status_code == 404
    container.close()


def test_invalid_subscriptions_are_refused_with_field_paths(database_url: str) -> None:
    container = hub(database_url, [])
    key = bearer(make_key(container, Role.ADMIN))
    with TestClient(create_app(container)) as api:
        bad_type = api.post(
            "/v1/webhooks",
            json={"url": "https://example.com/", "event_types": ["order.*", "Order Placed"]},
            headers=key,
        )
        assert bad_type.status_code == 422
        assert [e["field"] for e in bad_type.json()["errors"]] == ["event_types.1"]
        bad_url = api.post(
            "/v1/webhooks", json={"url": "ftp://x/", "event_types": ["*"]}, headers=key
        )
        assert [e["field"] for e in bad_url.json()["errors"]] == ["url"]
        bad_secret = api.post(
            "/v1/webhooks",
            json={"url": "https://x/", "event_types": ["*"], "secret": "whsec_short"},
            headers=key,
        )
        assert [e["field"] for e in bad_secret.json()["errors"]] == ["secret"]
        support = bearer(make_key(container, Role.SUPPORT))
        assert api.get("/v1/webhooks", headers=support).status_code == 403
    container.close()


def test_matching_events_are_delivered_signed_per_standard_webhooks(
    database_url: str, hooks: Receiver
) -> None:
    container = hub(database_url, ["127.0.0.1"])
    key = bearer(make_key(container, Role.ADMIN))
    with TestClient(create_app(container)) as api:
        sub = subscribe(api, key, hooks.url, ["order.*"])
        subscribe(api, key, hooks.url + "/other", ["inventory.*"])
    emit(container, Pinged(key="a", n=1), Pinged(key="a", n=2))
    relay = Worker(container, consumers=[])
    while relay.run_once():
        pass
    assert [r.path for r in hooks.received] == ["/hook", "/hook"]
    verifier = Webhook(sub["secret"])
    bodies = [verifier.verify(r.body, r.headers) for r in hooks.received]
    assert [(b["type"], b["data"]["n"]) for b in bodies] == [
        ("order.pinged", 1),
        ("order.pinged", 2),
    ]
    assert [r.headers["webhook-id"] for r in hooks.received] == [b["id"] for b in bodies]
    assert all(r.headers["webhook-signature"].startswith("v1,") for r in hooks.received)
    with pytest.raises(Exception, match="signature"):
        Webhook(new_secret()).verify(hooks.received[0].body, hooks.received[0].headers)
    relay.close()
    container.close()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost:8080/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
    ],
)
def test_a_private_loopback_or_link_local_url_is_refused_when_subscribing(
    database_url: str, url: str
) -> None:
    container = hub(database_url, [])
    key = bearer(make_key(container, Role.ADMIN))
    with TestClient(create_app(container)) as api:
        refused = api.post("/v1/webhooks", json={"url": url, "event_types": ["*"]}, headers=key)
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        [error] = refused.json()["errors"]
        assert (error["field"], error["code"]) == ("url", "url_not_public")
        assert "ORDERHUB_OUTBOUND_ALLOWED_HOSTS" in error["message"]
        assert api.get("/v1/webhooks", headers=key).json()["items"] == []
    container.close()


def test_the_outbound_allow_list_lets_its_addresses_and_names_subscribe_and_no_others(
    database_url: str,
) -> None:
    container = hub(database_url, ["127.0.0.1", "localhost"])
    key = bearer(make_key(container, Role.ADMIN))
    with TestClient(create_app(container)) as api:
        subscribe(api, key, "http://127.0.0.1:9/hook", ["*"])
        subscribe(api, key, "http://localhost:9/hook", ["*"])
        metadata = api.post(
            "/v1/webhooks",
            json={"url": "http://169.254.169.254/", "event_types": ["*"]},
            headers=key,
        )
        assert metadata.status_code == 422
        assert len(api.get("/v1/webhooks", headers=key).json()["items"]) == 2
    container.close()


def test_a_failing_subscriber_is_retried_and_a_refused_target_never_reached(
    database_url: str, hooks: Receiver
) -> None:
    allowed = hub(database_url, ["127.0.0.1"])
    key = bearer(make_key(allowed, Role.ADMIN))
    with TestClient(create_app(allowed)) as api:
        subscribe(api, key, hooks.url, ["order.pinged"])
    allowed.close()
    # Every delivery is checked again: once 127.0.0.1 is no longer allowed (or a name has come
    # to resolve to a private address), the target is never reached.
    container = hub(database_url, [])
    emit(container, Pinged(key="a", n=1))
    relay = Worker(container, consumers=[])
    assert relay.run_once() == 1
    d = tables.deliveries.c
    with container.engine.connect() as conn:
        status, error = conn.execute(select(d.status, d.last_error)).one()
    assert status == "pending"
    assert "OutboundRefused" in error
    assert hooks.received == []
    relay.close()
    container.close()


def test_a_subscriber_answering_an_error_is_retried(database_url: str, hooks: Receiver) -> None:
    container = hub(database_url, ["127.0.0.1"])
    key = bearer(make_key(container, Role.ADMIN))
    with TestClient(create_app(container)) as api:
        subscribe(api, key, hooks.url, ["order.pinged"])
    emit(container, Pinged(key="a", n=1))
    hooks.status = 503
    relay = Worker(container, consumers=[])
    assert relay.run_once() == 1
    d = tables.deliveries.c
    with container.engine.connect() as conn:
        assert conn.execute(select(d.status, d.last_error)).one() == (
            "pending",
            f"RuntimeError: HTTP 503 from {hooks.url}",
        )
    relay.close()
    container.close()


def test_deliveries_of_a_deleted_subscription_die_with_a_reason(
    database_url: str, hooks: Receiver
) -> None:
    container = hub(database_url, ["127.0.0.1"])
    key = bearer(make_key(container, Role.ADMIN))
    relay = Worker(container, consumers=[])
    with TestClient(create_app(container)) as api:
        sub = subscribe(api, key, hooks.url, ["order.pinged"])
        emit(container, Pinged(key="a", n=1))
        relay.fan_out(relay.targets())
        api.delete(f"/v1/webhooks/{sub['id']}", headers=key)
    assert relay.run_once() == 1
    d = tables.deliveries.c
    with container.engine.connect() as conn:
        status, error = conn.execute(select(d.status, d.last_error)).one()
    assert status == "dead"
    assert "removed" in error
    assert hooks.received == []
    relay.close()
    container.close()
