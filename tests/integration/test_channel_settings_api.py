"""Channel settings through the API: an ``api_base_url`` with a user name or password is
refused and never shown."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from orderhub.bootstrap import Container
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.store import tables as t


def problem_fields(response: Any) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return [error["field"] for error in response.json()["errors"]]


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
