"""The history's hash spelled out by hand is the one ``json.dumps`` of the event gives: the
audit format (what ``orderhub audit verify`` recomputes) stays byte for byte what it was."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from orderhub.store.history import canonical_json, event_hash

_text = st.text(max_size=20)  # quotes, backslashes, control characters, non-ASCII
_json: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=10,
)
_zones = st.sampled_from(
    [UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))]
)


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _hash_as_before(
    prev: str,
    event_id: str,
    order_id: str,
    seq: int,
    type_: str,
    data: str,
    actor: str,
    at: datetime,
) -> str:
    body = _dumps(
        {
            "id": event_id,
            "order_id": order_id,
            "order_seq": seq,
            "type": type_,
            "data": data,
            "actor": actor,
            "occurred_at": at.isoformat(),
        }
    )
    return hashlib.sha256((prev + body).encode()).hexdigest()


@given(value=_json)
def test_canonical_json_is_json_dumps_sorted_and_compact(value: Any) -> None:
    assert canonical_json(value) == _dumps(value)


@given(
    prev=_text,
    event_id=_text,
    order_id=_text,
    seq=st.integers(min_value=0, max_value=2**40),
    type_=_text,
    payload=_json,
    actor=_text,
    at=st.datetimes(timezones=_zones),
)
def test_event_hash_is_the_hash_of_the_json_of_the_event(
    prev: str,
    event_id: str,
    order_id: str,
    seq: int,
    type_: str,
    payload: Any,
    actor: str,
    at: datetime,
) -> None:
    data = canonical_json(payload)
    expected = _hash_as_before(prev, event_id, order_id, seq, type_, data, actor, at)
    got = event_hash(
        prev_hash=prev,
        event_id=event_id,
        order_id=order_id,
        order_seq=seq,
        type_=type_,
        data=data,
        actor=actor,
        occurred_at=at,
    )
    assert got == expected


@given(value=st.dictionaries(_text, _json | st.floats(), max_size=5))
def test_canonical_json_of_event_data_is_json_dumps_sorted_and_compact(value: Any) -> None:
    """Event data (a dict) takes the encoder made once, not ``JSONEncoder.encode``."""
    assert canonical_json(value) == _dumps(value)
