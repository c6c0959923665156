"""UUIDv7 ids: time-ordered, so newest first by id is newest first by arrival."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from orderhub.domain import ids
from orderhub.domain.ids import new_id, new_ids


def test_an_id_is_a_version_7_uuid_in_canonical_form() -> None:
    value = new_id()
    parsed = uuid.UUID(value)
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    assert str(parsed) == value


def test_an_id_stamped_with_a_moment_carries_it_and_sorts_by_it() -> None:
    at = datetime(2026, 3, 1, 12, 30, 15, 123000, tzinfo=UTC)
    stamped = uuid.UUID(new_id(at))
    assert stamped.int >> 80 == int(at.timestamp() * 1000)
    later = [new_id(at + timedelta(milliseconds=n)) for n in range(1, 50)]
    assert sorted(later) == later
    assert new_id(at) < later[0] < new_id()


def test_ids_made_together_are_distinct_version_7_uuids_of_now() -> None:
    before = int(datetime.now(UTC).timestamp() * 1000)
    made = new_ids(5)
    after = int(datetime.now(UTC).timestamp() * 1000)
    assert len(set(made)) == 5
    for value in made:
        parsed = uuid.UUID(value)
        assert (parsed.version, parsed.variant, str(parsed)) == (7, uuid.RFC_4122, value)
        assert before <= parsed.int >> 80 <= after


def test_ids_made_together_are_spelled_as_one_made_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """``new_ids`` formats the millisecond once; each id is what ``_uuid7`` spells."""
    random = bytes(range(256))[:70]
    now_ns = 1_780_000_000_123_456_789
    monkeypatch.setattr(ids.os, "urandom", lambda n: random[:n])
    monkeypatch.setattr(ids.time, "time_ns", lambda: now_ns)
    made = new_ids(7)
    millis = now_ns // 1_000_000
    assert made == [
        ids._uuid7(millis, int.from_bytes(random[start : start + 10], "big"))
        for start in range(0, 70, 10)
    ]
    assert new_ids(0) == []
