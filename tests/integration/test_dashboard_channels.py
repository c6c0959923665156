"""A page per channel, through HTTP on SQLite and PostgreSQL: sync now, the last error and the
error history of a pull channel (Adobe Commerce against a fake API), pause and resume."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from orderhub.bootstrap import Container
from orderhub.domain.access import Role
from tests.integration.dashboard_support import signed_in, submit
from tests.support.channels import seed_channels
from tests.support.fake_magento import FakeMagento


@pytest.fixture
def magento(seeded: Container) -> FakeMagento:
    seed_channels(seeded)
    fake = FakeMagento.with_fixtures()
    seeded.http_transport = fake.transport()
    with seeded.uow(actor="test") as uow:
        channel = uow.channels.get("mage")
        channel.settings = {"sync_page_size": 2}
        uow.channels.save(channel)
        uow.commit()
    return fake


def test_sync_now_pulls_orders_and_a_failure_lands_in_the_error_history(
    client: TestClient, seeded: Container, magento: FakeMagento
) -> None:
    token = signed_in(client, seeded)
    page = client.get("/channels/mage").text
    assert "Sync now" in page
    assert "No failed runs kept." in page
    magento.fail_on_page = 2
    failed = submit(client, "/channels/mage/sync", token)
    assert failed.status_code == 502
    assert "The sync failed" in failed.text
    history = failed.text[failed.text.index('data-testid="error-history"') :]
    assert "No failed runs kept." not in history
    assert 'data-testid="last-error">' in failed.text
    magento.fail_on_page = None
    done = submit(client, "/channels/mage/sync", token)
    assert done.status_code == 200
    assert "created 1" in done.text  # page 1 came in before the failure
    assert client.get("/orders", params={"channel": "mage"}).text.count('href="/orders/0') == 3


def test_pause_and_resume_flip_the_channel_and_need_channels_write(
    client: TestClient, seeded: Container
) -> None:
    token = signed_in(client, seeded, Role.SUPPORT, "sup")
    page = client.get("/channels/web").text
    assert "Sync now" not in page  # a push channel, and support may not act
    assert submit(client, "/channels/web/pause", token).status_code == 403
    client.cookies.clear()
    token = signed_in(client, seeded, Role.OPERATOR, "op")
    paused = submit(client, "/channels/web/pause", token)
    assert "The channel is paused" in paused.text
    with seeded.uow(read_only=True) as uow:
        assert uow.channels.get("web").active is False
    submit(client, "/channels/web/resume", token)
    with seeded.uow(read_only=True) as uow:
        assert uow.channels.get("web").active is True
    refused = submit(client, "/channels/web/sync", token)
    assert refused.status_code == 422
    assert "there is nothing to pull" in refused.text
    assert client.get("/channels/nosuch").status_code == 404


def test_a_pull_channel_without_its_api_address_is_refused_with_what_to_set(
    client: TestClient, seeded: Container
) -> None:
    seed_channels(seeded)
    with seeded.uow(actor="test") as uow:
        channel = uow.channels.get("mage")
        channel.api_base_url = None
        uow.channels.save(channel)
        uow.commit()
    token = signed_in(client, seeded)
    failed = submit(client, "/channels/mage/sync", token)
    assert failed.status_code == 422
    assert "has no API address to pull from" in failed.text
    assert "api_base_url: set it (PATCH /v1/channels/mage) first" in failed.text
    with seeded.uow(read_only=True) as uow:  # refused before the channel was called
        assert uow.sync_cursors.errors("mage") == []
