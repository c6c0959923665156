"""Outbound webhook subscriptions: who wants which events (patterns such as ``order.*``)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from orderhub.domain.errors import FieldError, ValidationFailed

_PATTERN = re.compile(r"^(\*|[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?)$")
CONSUMER_PREFIX = "webhook:"


def type_matches(pattern: str, event_type: str) -> bool:
    """``*`` is every event, ``order.*`` every event under ``order.``, else an exact type."""
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


def validate_patterns(patterns: Iterable[str]) -> tuple[str, ...]:
    cleaned = tuple(dict.fromkeys(p.strip() for p in patterns))
    if not cleaned:
        raise ValidationFailed(
            "no event types", [FieldError(("event_types",), "name at least one event type")]
        )
    bad = [
        FieldError(("event_types", i), "not an event type or `area.*` pattern", "pattern")
        for i, p in enumerate(cleaned)
        if not _PATTERN.match(p)
    ]
    if bad:
        raise ValidationFailed("invalid event types", bad)
    return cleaned


@dataclass(frozen=True)
class WebhookSubscription:
    id: str
    url: str
    event_types: tuple[str, ...]
    secret: str
    description: str | None
    created_by: str
    created_at: datetime

    @property
    def consumer(self) -> str:
        """The name its deliveries are tracked under."""
        return CONSUMER_PREFIX + self.id

    def wants(self, event_type: str) -> bool:
        return any(type_matches(p, event_type) for p in self.event_types)
