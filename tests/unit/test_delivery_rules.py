"""Pure rules of delivery: backoff with jitter, webhook event-type patterns."""

from __future__ import annotations

import random

import pytest

from orderhub.domain.errors import ValidationFailed
from orderhub.domain.webhooks import type_matches, validate_patterns
from orderhub.workers.relay import backoff_seconds


def test_backoff_doubles_per_attempt_within_its_jitter_band() -> None:
    rng = random.Random(1)
    for attempt, full in [(1, 2.0), (2, 4.0), (3, 8.0), (6, 64.0)]:
        delays = {backoff_seconds(attempt, base=2.0, cap=1000.0, rng=rng) for _ in range(50)}
        assert all(full / 2 <= d <= full for d in delays)
        assert len(delays) > 1, "jittered, so retries of many deliveries spread out"


def test_backoff_is_capped() -> None:
    assert backoff_seconds(40, base=2.0, cap=60.0, rng=random.Random(1)) <= 60.0


@pytest.mark.parametrize(
    ("pattern", "event_type", "expected"),
    [
        ("order.*", "order.received", True),
        ("order.*", "order.line_status_changed", True),
        ("order.*", "orders.received", False),
        ("order.*", "inventory.adjusted", False),
        ("order.received", "order.received", True),
        ("order.received", "order.cancelled", False),
        ("*", "inventory.adjusted", True),
    ],
)
def test_event_type_patterns(pattern: str, event_type: str, expected: bool) -> None:
    assert type_matches(pattern, event_type) is expected


def test_patterns_are_validated_and_deduplicated() -> None:
    assert validate_patterns(["order.*", " order.* ", "*"]) == ("order.*", "*")
    with pytest.raises(ValidationFailed) as caught:
        validate_patterns(["order.*", "order*", "ORDER.x"])
    assert [f.field for f in caught.value.fields] == ["event_types.1", "event_types.2"]
