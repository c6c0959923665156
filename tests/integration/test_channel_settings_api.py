"""Channel settings through the API: ``sync_back`` is set, checked and shown (API and
dashboard); an ``api_base_url`` with a user name or password is refused and never shown."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from orderhub.bootstrap import Container
from orderhub.domain.access import Role
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.store import tables as t
from tests.integration.test_dashboard_web import make_user, sign_in

WALMART = {"code": "wm", "name": "Walmart", "kind": "walmart"}


def problem_fields(response: Any) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return [error["field"] for error in response.json()["errors"]]


def test_sync_back_is_set_on_create_changed_by_patch_and_shown(
    client: TestClient, admin: dict[str, str]
) -> None:
    created = client.post("/v1/channels", headers=admin, json={**WALMART, "sync_back": False})
    assert created.status_code == 201, created.text
    assert created.json()["sync_back"] is False
    assert client.get("/v1/channels/wm", headers=admin).json()["sync_back"] is False
    listed = {
        c["code"]: c["sync_back"] for c in client.get("/v1/channels", headers=admin).json()["items"]
    }
    assert listed == {"wm": False, "web": True, "app": True}  # channels sync back by default

    patched = client.patch("/v1/channels/wm", headers=admin, json={"sync_back": True})
    assert patched.status_code == 200, patched.text
    assert client.get("/v1/channels/wm", headers=admin).json()["sync_back"] is True
    client.patch("/v1/channels/wm", headers=admin, json={"name": "Walmart US"})
    assert client.get("/v1/channels/wm", headers=admin).json()["sync_back"] is True


@pytest.mark.parametrize(
    ("method", "body", "field"),
    [
        ("post", {**WALMART, "sync_back": "sometimes"}, "sync_back"),
        ("post", {**WALMART, "sync_back": "no"}, "sync_back"),  # a boolean, not a word
        ("post", {**WALMART, "settings": {"sync_back": False}}, "settings"),
        ("patch", {"sync_back": None}, "sync_back"),
        ("patch", {"sync_back": 0}, "sync_back"),
        ("patch", {"active": None}, "active"),  # was a 500
        ("patch", {"settings": {"sync_back": False}}, "settings"),
    ],
)
def test_a_bad_sync_back_is_a_problem_naming_the_field(
    client: TestClient, admin: dict[str, str], method: str, body: dict[str, Any], field: str
) -> None:
    if method == "patch":
        assert client.post("/v1/channels", headers=admin, json=WALMART).status_code == 201
        response = client.patch("/v1/channels/wm", headers=admin, json=body)
    else:
        response = client.post("/v1/channels", headers=admin, json=body)
    assert problem_fields(response) == [field]
    if method == "patch":
        assert client.get("/v1/channels/wm", headers=admin).json()["sync_back"] is True


def test_the_dashboard_channels_page_says_which_channels_take_no_sync_back(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    client.post("/v1/channels", headers=admin, json={**WALMART, "sync_back": False})
    make_user(seeded, "ops", Role.OPERATOR)
    sign_in(client, "ops")
    html = client.get("/channels").text
    assert '<th scope="col">Sync back</th>' in html
    assert 'data-testid="sync-back-wm">no<br><span class="muted small"' in html
    assert "orders in only" in html
    assert 'data-testid="sync-back-web">yes</td>' in html


@pytest.mark.parametrize(
    "url",
    [
        "https://key:secret@shop.example/api",
        "https://key@shop.example/api",
        "https://:secret@shop.example/api",
    ],
)
def test_an_api_base_url_with_a_user_or_password_is_refused(
    client: TestClient, admin: dict[str, str], url: str
) -> None:
    shop = {"code": "shop", "name": "Shop", "kind": "woocommerce"}
    refused = client.post("/v1/channels", headers=admin, json={**shop, "api_base_url": url})
    assert problem_fields(refused) == ["api_base_url"]
    assert "secret" not in refused.text

    assert client.post("/v1/channels", headers=admin, json=shop).status_code == 201
    patched = client.patch("/v1/channels/shop", headers=admin, json={"api_base_url": url})
    assert problem_fields(patched) == ["api_base_url"]
    assert client.get("/v1/channels/shop", headers=admin).json()["api_base_url"] is None
    ok = client.patch(
        "/v1/channels/shop", headers=admin, json={"api_base_url": "https://shop.example/api"}
    )
    assert ok.json()["api_base_url"] == "https://shop.example/api"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/api",
        "http://[::ffff:127.0.0.1]:8080/api",
        "http://2130706433/api",
        "http://169.254.169.254/latest",
        "http://10.0.0.7/rest/default",
        "http://localhost./api",
    ],
)
def test_an_api_base_url_the_outbound_guard_would_refuse_is_refused_when_saved(
    client: TestClient, admin: dict[str, str], seeded: Container, url: str
) -> None:
    shop = {"code": "shop", "name": "Shop", "kind": "woocommerce"}
    refused = client.post("/v1/channels", headers=admin, json={**shop, "api_base_url": url})
    assert problem_fields(refused) == ["api_base_url"]
    assert refused.json()["errors"][0]["code"] == "url_not_public"
    assert client.post("/v1/channels", headers=admin, json=shop).status_code == 201
    patched = client.patch("/v1/channels/shop", headers=admin, json={"api_base_url": url})
    assert problem_fields(patched) == ["api_base_url"]
    assert client.get("/v1/channels/shop", headers=admin).json()["api_base_url"] is None


def test_an_address_the_operator_allowed_is_saved(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    seeded.settings = seeded.settings.model_copy(update={"outbound_allowed_hosts": ["127.0.0.1"]})
    shop = {"code": "shop", "name": "Shop", "kind": "woocommerce"}
    body = {**shop, "api_base_url": "http://127.0.0.1:8080/api"}
    assert client.post("/v1/channels", headers=admin, json=body).status_code == 201


def test_a_user_and_password_stored_before_the_check_are_never_shown(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    with seeded.uow(actor="test") as uow:
        uow.channels.add(Channel("shop", "Shop", ChannelKind.WOOCOMMERCE))
        uow.commit()
    with seeded.engine.begin() as conn:  # as an older hub let it in
        conn.execute(
            update(t.channels)
            .where(t.channels.c.code == "shop")
            .values(api_base_url="https://ck_key:cs_secret@shop.example/wp-json")
        )
    answers = [
        client.get("/v1/channels/shop", headers=admin),
        client.get("/v1/channels", headers=admin),
        client.patch("/v1/channels/shop", headers=admin, json={"safety_stock": 1}),
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert "ck_key" not in answer.text
        assert "cs_secret" not in answer.text
    assert answers[0].json()["api_base_url"] == "https://***@shop.example/wp-json"
    with seeded.uow(read_only=True) as uow:  # the hub itself still has it to call with
        assert uow.channels.get("shop").api_base_url == (
            "https://ck_key:cs_secret@shop.example/wp-json"
        )
