"""Pull-style sync of Adobe Commerce against a fake search API, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from orderhub.bootstrap import Container
from tests.support.channels import seed_channels
from tests.support.fake_magento import F, FakeMagento


@pytest.fixture
def magento(client: TestClient, seeded: Container) -> Iterator[FakeMagento]:
    seed_channels(seeded)
    fake = FakeMagento.with_fixtures()
    seeded.http_transport = fake.transport()
    with seeded.uow(actor="test") as uow:
        channel = uow.channels.get("mage")
        channel.settings = {"sync_page_size": 2, "sync_overlap_seconds": 600}
        uow.channels.save(channel)
        uow.commit()
    return fake


def sync(client: TestClient, admin: dict[str, str]) -> dict[str, object]:
    response = client.post("/v1/channels/mage/sync", headers=admin)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_first_sync_pulls_every_page_and_stores_the_cursor(
    client: TestClient, admin: dict[str, str], magento: FakeMagento
) -> None:
    report = sync(client, admin)
    assert report["since"] is None
    assert report["cursor"] == "2026-11-22T13:00:01Z"
    assert report["counts"] == {"created": 3}
    listed = client.get("/v1/orders?channel=mage", headers=admin).json()["items"]
    by_external = {o["external_id"]: o for o in listed}
    assert by_external["101"]["totals"]["total"] == "86.73"
    assert by_external["102"]["status"] == "cancelled"
    assert by_external["103"]["totals"]["total"] == "121.65"
    assert len(magento.requests) == 2


def test_the_next_sync_asks_from_the_cursor_minus_the_overlap_and_duplicates_nothing(
    client: TestClient, admin: dict[str, str], magento: FakeMagento
) -> None:
    sync(client, admin)
    magento.requests.clear()
    report = sync(client, admin)
    assert report["since"] == "2026-11-22T12:50:01Z"
    assert magento.requests[0].url.params[f"{F}[value]"] == "2026-11-22 12:50:01"
    assert report["counts"] == {"unchanged": 1}  # 103 falls in the overlap window again
    assert report["cursor"] == "2026-11-22T13:00:01Z"
    assert len(client.get("/v1/orders?channel=mage", headers=admin).json()["items"]) == 3


def test_a_channel_side_change_is_applied_on_the_next_sync(
    client: TestClient, admin: dict[str, str], magento: FakeMagento
) -> None:
    sync(client, admin)
    magento.update(103, state="canceled", status="canceled", updated_at="2026-11-22 14:00:00")
    report = sync(client, admin)
    assert report["counts"] == {"cancelled": 1}
    assert report["cursor"] == "2026-11-22T14:00:00Z"
    listed = client.get("/v1/orders?channel=mage", headers=admin).json()["items"]
    assert {o["external_id"]: o["status"] for o in listed}["103"] == "cancelled"


def test_a_failed_page_leaves_the_cursor_where_it_was(
    client: TestClient, admin: dict[str, str], magento: FakeMagento
) -> None:
    magento.fail_on_page = 2
    assert client.post("/v1/channels/mage/sync", headers=admin).status_code == 502
    magento.fail_on_page = None
    report = sync(client, admin)
    assert report["since"] is None  # no cursor was stored by the failed run
    assert report["counts"] == {"unchanged": 2, "created": 1}


def test_push_style_channels_cannot_be_synced(
    client: TestClient, admin: dict[str, str], magento: FakeMagento
) -> None:
    response = client.post("/v1/channels/shop/sync", headers=admin)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "kind"


def test_a_channel_with_no_api_address_is_refused_naming_the_field_and_nothing_recorded(
    client: TestClient, admin: dict[str, str], seeded: Container, magento: FakeMagento
) -> None:
    with seeded.uow(actor="test") as uow:
        channel = uow.channels.get("mage")
        channel.api_base_url = None
        uow.channels.save(channel)
        uow.commit()
    response = client.post("/v1/channels/mage/sync", headers=admin)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "api_base_url"
    with seeded.uow(actor="test") as uow:
        assert uow.sync_cursors.get("mage") is None
    assert magento.requests == []


def test_sync_needs_an_api_key(client: TestClient, magento: FakeMagento) -> None:
    assert client.post("/v1/channels/mage/sync").status_code == 401
