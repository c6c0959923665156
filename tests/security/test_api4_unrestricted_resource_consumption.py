"""OWASP API4:2023 Unrestricted Resource Consumption: a key or an address that asks too often is
told to wait (429 with Retry-After), lists are bounded, and guessing passwords is slowed down."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from orderhub.api.app import create_app
from orderhub.api.rate_limit import TokenBuckets
from orderhub.bootstrap import Container
from orderhub.domain.access import Role
from tests.conftest import bearer, make_key
from tests.integration.dashboard_support import log_in, make_user

OUTSIDE = ("203.0.113.5", 40000)  # a client address that is not exempt


@pytest.fixture
def limited(seeded: Container) -> FastAPI:
    """A hub allowing 3 requests per key and per address, refilling one a minute."""
    seeded.settings = seeded.settings.model_copy(
        update={
            "rate_limit_key_per_second": 1 / 60,
            "rate_limit_key_burst": 3,
            "rate_limit_address_per_second": 1 / 60,
            "rate_limit_address_burst": 3,
            "rate_limit_exempt_addresses": ["127.0.0.1"],
        }
    )
    return create_app(seeded)


@pytest.fixture
def outsider(limited: FastAPI) -> Iterator[TestClient]:
    with TestClient(limited, client=OUTSIDE) as client:
        yield client


def test_a_key_past_its_rate_gets_a_429_problem_with_retry_after(
    outsider: TestClient, seeded: Container
) -> None:
    key = bearer(make_key(seeded, Role.OPERATOR))
    assert [outsider.get("/v1/orders", headers=key).status_code for _ in range(3)] == [200] * 3
    refused = outsider.get("/v1/orders", headers=key)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["title"] == "Too many requests"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["x-content-type-options"] == "nosniff"
    other = bearer(make_key(seeded, Role.OPERATOR))
    assert outsider.get("/v1/orders", headers=other).status_code == 200  # per key
    assert outsider.get("/v1/health").status_code == 200  # probes are never limited


def test_an_address_without_a_key_is_limited_and_made_up_keys_do_not_dodge_it(
    outsider: TestClient, limited: FastAPI
) -> None:
    made_up = [bearer(f"ohk_000000000000_guess{n}") for n in range(3)]
    assert [outsider.get("/v1/orders", headers=h).status_code for h in made_up] == [401] * 3
    refused = outsider.get("/login")  # the address's bucket is empty: 401s drew from it
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    with TestClient(limited, client=("198.51.100.9", 40000)) as elsewhere:
        assert elsewhere.get("/login").status_code == 200  # per address


def test_loopback_is_exempt_from_the_address_limit(limited: FastAPI) -> None:
    with TestClient(limited, client=("127.0.0.1", 40000)) as local:
        assert {local.get("/login").status_code for _ in range(6)} == {200}


def test_a_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    buckets = TokenBuckets(rate=2.0, burst=2, clock=lambda: now[0])
    assert [buckets.take("k"), buckets.take("k")] == [None, None]
    assert buckets.take("k") == pytest.approx(0.5)
    now[0] = 0.5
    assert buckets.take("k") is None
    assert buckets.take("other") is None


@pytest.mark.parametrize("path", ["/v1/orders?limit=100000", "/v1/quarantine?limit=100000"])
def test_a_list_cannot_be_asked_for_without_bound(
    client: TestClient, admin: dict[str, str], path: str
) -> None:
    answer = client.get(path, headers=admin)
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["query.limit"]


def test_password_guessing_is_slowed_to_five_tries_per_user_and_address(
    client: TestClient, seeded: Container
) -> None:
    make_user(seeded, "ops", Role.OPERATOR)
    statuses = [log_in(client, "ops", f"guess-{n}").status_code for n in range(6)]
    assert statuses == [401] * 5 + [429]
