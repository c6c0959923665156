"""Property: whatever hostile value lands in whatever field of whatever write endpoint, the
answer is a 422 problem naming that field, never a 5xx, and nothing is written (issue #15).

The endpoints come from the app's route table (``hostile_requests.write_operations``), so a new
write endpoint is covered as soon as it exists. Bounded: a few hundred requests per database.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderhub.bootstrap import Container
from tests.integration.hostile_requests import (
    HOSTILE,
    SPECIFIC,
    UNSTORABLE,
    Operation,
    Slot,
    write_operations,
)
from tests.integration.input_support import row_counts


def _send(
    client: TestClient, op: Operation, hostile: list[tuple[Slot, Any]], headers: dict[str, str]
) -> Any:
    url, query, body = op.request(hostile)
    if body is not None:
        headers = {**headers, "Content-Type": "application/json"}
    return client.request(op.method, url, params=query, content=body, headers=headers)


def _assert_refused(response: Any, op: Operation, hostile: list[tuple[Slot, Any]]) -> None:
    where = f"{op} with " + ", ".join(f"{value!r} at {slot.field}" for slot, value in hostile)
    assert response.status_code == 422, f"{where}: {response.status_code} {response.text}"
    assert response.headers["content-type"] == "application/problem+json", where
    named = [error["field"] for error in response.json().get("errors", [])]
    assert any(
        name == slot.field or name.startswith(f"{slot.field}.")
        for name in named
        for slot, _value in hostile
    ), f"{where}: the problem names {named}"


@pytest.fixture
def operations(client: TestClient) -> list[Operation]:
    found = write_operations(client.app)  # type: ignore[arg-type]
    assert len(found) >= 30, "the route table lost its write endpoints"
    return found


def test_every_write_endpoint_refuses_every_hostile_value_in_every_field(
    client: TestClient, admin: dict[str, str], seeded: Container, operations: list[Operation]
) -> None:
    """The sweep: each slot of each endpoint with every value its kind must refuse and one of
    the unstorable ones (in turn), so no field is left to chance."""
    before = row_counts(seeded)
    turn = 0
    for op in operations:
        assert op.slots, f"{op} has nothing to test"
        for slot in op.slots:
            turn += 1
            values = [*SPECIFIC[slot.kind], UNSTORABLE[turn % len(UNSTORABLE)]]
            for value in HOSTILE[slot.kind] if slot.kind in ("key", "param") else values:
                _assert_refused(_send(client, op, [(slot, value)], admin), op, [(slot, value)])
    assert row_counts(seeded) == before


class Hub:
    """The fixtures the property needs, with a short repr: Hypothesis prints its arguments
    (field by field for a dataclass, hence a plain class)."""

    def __init__(
        self,
        client: TestClient,
        admin: dict[str, str],
        container: Container,
        operations: list[Operation],
    ) -> None:
        self.client = client
        self.admin = admin
        self.container = container
        self.operations = operations

    def __repr__(self) -> str:
        return f"<hub with {len(self.operations)} write endpoints>"


@pytest.fixture
def hub(
    client: TestClient, admin: dict[str, str], seeded: Container, operations: list[Operation]
) -> Hub:
    return Hub(client, admin, seeded, operations)


Pick = tuple[int, int]  # (slot, value): indices taken modulo what the operation has


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    which=st.integers(0, 999),
    picks=st.lists(st.tuples(st.integers(0, 999), st.integers(0, 99)), min_size=1, max_size=3),
)
def test_hostile_values_together_are_refused_with_nothing_written(
    hub: Hub, which: int, picks: list[Pick]
) -> None:
    """Up to three hostile fields in one request of any write endpoint: still a 422 naming one
    of them, and nothing written. (Indices are drawn as plain integers, so that what is drawn
    never depends on the route table.)"""
    op = hub.operations[which % len(hub.operations)]
    hostile = []
    for slot_index, value_index in picks:
        slot = op.slots[slot_index % len(op.slots)]
        values = HOSTILE[slot.kind]
        hostile.append((slot, values[value_index % len(values)]))
    before = row_counts(hub.container)
    _assert_refused(_send(hub.client, op, hostile, hub.admin), op, hostile)
    assert row_counts(hub.container) == before, f"{op} wrote something"
