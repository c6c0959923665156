"""Idempotency-Key replay (Stripe semantics) and the natural key, also under concurrency."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, inspect, select

from orderhub.bootstrap import Container
from orderhub.domain.access import Role
from orderhub.store import idempotency
from orderhub.store.tables import idempotency_keys, order_events, orders
from tests.conftest import bearer, make_key, native_order
from tests.integration.dashboard_support import signed_in
from tests.support.asgi import post_scope

PARALLEL = 8


def _count(container: Container, table: object) -> int:
    with container.uow(read_only=True) as uow:
        return int(uow.conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_the_first_response_is_replayed(client: TestClient, admin: dict[str, str]) -> None:
    headers = admin | {"Idempotency-Key": "key-1"}
    first = client.post("/v1/orders", json=native_order(), headers=headers)
    second = client.post("/v1/orders", json=native_order(), headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers


def test_the_same_key_with_another_body_is_422(client: TestClient, admin: dict[str, str]) -> None:
    headers = admin | {"Idempotency-Key": "key-2"}
    client.post("/v1/orders", json=native_order("A"), headers=headers)
    other = client.post("/v1/orders", json=native_order("B"), headers=headers)
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "header.Idempotency-Key"


def test_a_validation_failure_is_replayed_too(client: TestClient, admin: dict[str, str]) -> None:
    headers = admin | {"Idempotency-Key": "key-3"}
    body = native_order(currency="usd")
    assert client.post("/v1/orders", json=body, headers=headers).status_code == 422
    again = client.post("/v1/orders", json=body, headers=headers)
    assert again.status_code == 422
    assert again.headers["idempotent-replayed"] == "true"


def test_keys_are_scoped_to_the_caller(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    other = bearer(make_key(seeded, Role.OPERATOR))
    shared = {"Idempotency-Key": "shared"}
    first = client.post("/v1/orders", json=native_order("S-1"), headers=admin | shared)
    second = client.post("/v1/orders", json=native_order("S-2"), headers=other | shared)
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]


def test_an_unauthenticated_attempt_does_not_burn_the_key(
    client: TestClient, seeded: Container
) -> None:
    refused = client.post("/v1/orders", json=native_order(), headers={"Idempotency-Key": "k"})
    assert refused.status_code == 401
    assert _count(seeded, idempotency_keys) == 0


def test_a_claim_in_progress_blocks_until_its_lock_expires(seeded: Container) -> None:
    now = datetime.now(UTC)

    def claim(at: datetime) -> str:
        return idempotency.claim(
            seeded.engine,
            principal="p",
            key="k",
            request_hash="h",
            now=at,
            ttl=timedelta(hours=24),
            lock=timedelta(seconds=60),
        ).outcome

    assert claim(now) == "proceed"
    assert claim(now + timedelta(seconds=1)) == "in_progress"
    assert claim(now + timedelta(seconds=61)) == "proceed"  # the first holder died: take over
    assert claim(now + timedelta(hours=25)) == "proceed"  # expired keys are forgotten


def _fire(url: str, headers: dict[str, str], body: dict[str, object]) -> list[httpx.Response]:
    def post(_: int) -> httpx.Response:
        with httpx.Client(base_url=url, timeout=30) as http:
            return http.post("/v1/orders", json=body, headers=headers)

    with ThreadPoolExecutor(PARALLEL) as pool:
        return list(pool.map(post, range(PARALLEL)))


def test_parallel_duplicates_with_one_key_make_one_order(
    live_server: str, admin: dict[str, str], seeded: Container
) -> None:
    responses = _fire(live_server, admin | {"Idempotency-Key": "race"}, native_order("RACE-1"))
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, statuses
    assert 201 in statuses
    ids = {r.json()["id"] for r in responses if r.status_code == 201}
    assert len(ids) == 1
    assert _count(seeded, orders) == 1
    assert _count(seeded, order_events) == 1


def test_parallel_duplicates_without_a_key_make_one_order(
    live_server: str, admin: dict[str, str], seeded: Container
) -> None:
    responses = _fire(live_server, admin, native_order("RACE-2"))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 1, statuses
    assert statuses.count(200) == PARALLEL - 1, statuses
    assert len({r.json()["id"] for r in responses}) == 1
    assert _count(seeded, orders) == 1
    assert _count(seeded, order_events) == 1


def test_pruning_expired_keys_uses_an_index(container: Container) -> None:
    """Every claim deletes the expired keys first: without an index on ``expires_at`` that was
    a scan of every key of the last 24 hours, on every request that carried one."""
    indexed = {
        tuple(index["column_names"])
        for index in inspect(container.engine).get_indexes("idempotency_keys")
    }
    assert ("expires_at",) in indexed


def test_a_revoked_key_gets_no_replay_of_its_stored_answers(
    client: TestClient, seeded: Container
) -> None:
    client.app.state.principals.ttl = 0  # type: ignore[attr-defined]  # revocation at once
    key = make_key(seeded, Role.OPERATOR)
    headers = bearer(key) | {"Idempotency-Key": "before-revocation"}
    assert client.post("/v1/orders", json=native_order(), headers=headers).status_code == 201
    with seeded.uow(actor="test") as uow:
        principal = uow.api_keys.authenticate(key)
        assert principal is not None
        uow.api_keys.revoke(principal.id)
        uow.commit()
    again = client.post("/v1/orders", json=native_order(), headers=headers)
    assert again.status_code == 401
    assert "idempotent-replayed" not in again.headers


def test_an_anonymous_request_never_gets_a_signed_in_users_page(
    client: TestClient, seeded: Container
) -> None:
    token = signed_in(client, seeded, Role.ADMIN, name="boss")
    headers = {"Idempotency-Key": "dash-1", "X-CSRF-Token": token}
    first = client.post("/audit/verify", headers=headers)
    assert first.status_code == 200
    assert token in first.text  # the page carries the admin's CSRF token
    assert client.post("/audit/verify", headers=headers).headers["idempotent-replayed"] == "true"
    with TestClient(client.app) as stranger:  # no session cookie, same key and body
        answer = stranger.post(
            "/audit/verify", headers={"Idempotency-Key": "dash-1"}, follow_redirects=False
        )
    assert "idempotent-replayed" not in answer.headers
    assert token not in answer.text
    assert answer.status_code == 403  # its own answer: the form's CSRF token is missing


def test_two_dashboard_users_with_one_key_each_get_their_own_answer(
    client: TestClient, seeded: Container
) -> None:
    boss = signed_in(client, seeded, Role.ADMIN, name="boss")
    first = client.post("/audit/verify", headers={"Idempotency-Key": "k", "X-CSRF-Token": boss})
    with TestClient(client.app) as other:
        auditor = signed_in(other, seeded, Role.AUDITOR, name="auditor")
        second = other.post(
            "/audit/verify", headers={"Idempotency-Key": "k", "X-CSRF-Token": auditor}
        )
    assert (first.status_code, second.status_code) == (200, 200)
    assert "idempotent-replayed" not in second.headers
    assert boss not in second.text
    assert auditor in second.text


def test_the_answer_is_stored_before_the_client_has_all_of_it(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    """A client that retries the moment its answer arrives must get the replay, not a 409 for
    a request still in progress: the answer is stored before its last bytes are sent."""
    body = json.dumps(native_order("early-replay")).encode()
    headers = [(k.lower().encode(), v.encode()) for k, v in admin.items()]
    headers += [(b"content-type", b"application/json"), (b"idempotency-key", b"key-early")]
    scope = post_scope("/v1/orders", headers, app=client.app)
    stored_when_sent: list[int | None] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            with seeded.uow(read_only=True) as uow:
                found = uow.conn.execute(
                    select(idempotency_keys.c.response_status).where(
                        idempotency_keys.c.key == "key-early"
                    )
                )
                stored_when_sent.append(found.scalar_one())

    client.portal.call(client.app, scope, receive, send)  # type: ignore[union-attr]

    assert stored_when_sent == [201]
