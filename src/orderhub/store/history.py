"""The order history: append-only, hash-chained per order, verified by ``orderhub audit verify``.

Each event's hash is SHA-256 over the previous hash and a canonical JSON of the event, so any
edit, deletion or reordering breaks every later link. The database refuses UPDATE and DELETE on
the table by trigger; the chain catches what a trigger cannot (a restored backup, a bypass).

A chain alone cannot tell a cut-off tail from a short history, so each chain has an anchor
(``order_chain_heads``: its length and head hash, moved by the same transaction as each append)
and a periodic checkpoint (``history_checkpoints``) digests every chain's head as of a settled
point, so a chain deleted whole, anchor and all, is caught too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, exists, func, select, text, update

from orderhub.domain.events import DomainEvent
from orderhub.domain.ids import new_ids
from orderhub.store import bulk
from orderhub.store.tables import history_checkpoints, order_chain_heads, order_events

GENESIS = "0" * 64
_LAST_EVENT = (
    select(order_events.c.order_seq, order_events.c.hash)
    .where(order_events.c.order_id == bindparam("order_id"))
    .order_by(order_events.c.order_seq.desc())
    .limit(1)
)
_heads = order_chain_heads.c
_HEAD = select(_heads.event_count, _heads.head_hash).where(_heads.order_id == bindparam("order_id"))
_ANCHOR: dict[str, Any] = {
    "event_count": bindparam("anchor_count"),
    "head_hash": bindparam("anchor_hash"),
}
_NEW_ANCHOR = order_chain_heads.insert().values(order_id=bindparam("anchor_order"), **_ANCHOR)
_MOVE_ANCHOR = (
    update(order_chain_heads).where(_heads.order_id == bindparam("anchor_order")).values(**_ANCHOR)
)


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_quote = json.encoder.encode_basestring  # a str as that encoder writes it (ensure_ascii off)
# The C encoder ``_CANONICAL.encode`` builds afresh for every dict it encodes (its arguments
# as ``JSONEncoder.iterencode`` passes them; no circular check: event data is a tree).
_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)  # None without _json
_encode_dict = (
    None
    if _c_make_encoder is None
    else _c_make_encoder(None, _CANONICAL.default, _quote, None, ":", ",", True, False, True)
)


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 as is: what is hashed. One encoder for every call (what
    ``json.dumps`` with these options builds afresh each time)."""
    if _encode_dict is not None and type(value) is dict:
        return "".join(_encode_dict(value, 0))
    return _CANONICAL.encode(value)


def event_hash(
    *,
    prev_hash: str,
    event_id: str,
    order_id: str,
    order_seq: int,
    type_: str,
    data: str,
    actor: str,
    occurred_at: datetime,
) -> str:
    """SHA-256 over the previous hash and the canonical JSON of the event's fields."""
    return _ChainHasher(order_id, actor, occurred_at).hash(
        prev_hash, event_id, order_seq, type_, data
    )


class _ChainHasher:
    """:func:`event_hash` of the events of one order, actor and time: the canonical JSON of
    the event's fields spelled out, in sorted key order, its constant parts quoted once (the
    same text as :func:`canonical_json` of the dict, byte for byte — what verify recomputes)."""

    def __init__(self, order_id: str, actor: str, occurred_at: datetime) -> None:
        self._actor = '{"actor":' + _quote(actor) + ',"data":'
        self._at = (
            ',"occurred_at":'
            + _quote(occurred_at.isoformat())
            + ',"order_id":'
            + _quote(order_id)
            + ',"order_seq":'
        )

    def hash(self, prev_hash: str, event_id: str, order_seq: int, type_: str, data: str) -> str:
        body = "".join(
            (
                prev_hash,
                self._actor,
                _quote(data),
                ',"id":',
                _quote(event_id),
                self._at,
                int.__repr__(order_seq),
                ',"type":',
                _quote(type_),
                "}",
            )
        )
        return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class StoredEvent:
    id: str
    order_id: str
    order_seq: int
    type: str
    data: dict[str, Any]
    actor: str
    occurred_at: datetime
    hash: str


def insert(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Write chained rows (of any number of orders) in one statement, and move each chain's
    anchor to its new head in the same transaction (one INSERT for the chains this starts, one
    UPDATE for those it extends)."""
    if not rows:
        return
    bulk.insert_rows(conn, order_events, rows)
    heads: dict[str, dict[str, Any]] = {}
    started: set[str] = set()
    for row in rows:  # in chain order per order
        order_id = row["order_id"]
        if row["order_seq"] == 1:
            started.add(order_id)
        heads[order_id] = {
            "anchor_order": order_id,
            "anchor_count": row["order_seq"],
            "anchor_hash": row["hash"],
        }
    new = [
        {"order_id": key, "event_count": head["anchor_count"], "head_hash": head["anchor_hash"]}
        for key, head in heads.items()
        if key in started
    ]
    moved = [head for order_id, head in heads.items() if order_id not in started]
    bulk.insert_rows(conn, order_chain_heads, new)
    if moved:
        conn.execute(_MOVE_ANCHOR, moved)


def chain(
    conn: Connection,
    order_id: str,
    recorded: Sequence[DomainEvent],
    *,
    actor: str,
    occurred_at: datetime,
    new_order: bool = False,
    head: tuple[int, str] | None = None,
) -> list[dict[str, Any]]:
    """The history rows that chain ``recorded`` onto the order's history, not yet written: a
    unit of work writes every order's rows with one :func:`insert` at commit. Each row's
    ``data`` is the event's :func:`canonical_json` (what is hashed), which the unit of work
    stores in the outbox too rather than encode the event again.

    The caller holds the order's row (its version bump), so no other writer extends this
    chain concurrently; the unique (order_id, order_seq) constraint is the backstop. A
    ``new_order`` inserted in this transaction has no history yet: no need to look. ``head``:
    the chain's length and head hash as rows queued in this transaction left it (not written
    yet). The chain continues from its anchor, not from the last stored event, so a cut-off
    tail stays a gap.
    """
    seq, prev = head if head is not None else _head(conn, order_id, new_order=new_order)
    rows = []
    hasher = _ChainHasher(order_id, actor, occurred_at)
    for event, event_id in zip(recorded, new_ids(len(recorded)), strict=True):
        seq += 1
        body = canonical_json(event.data())
        digest = hasher.hash(prev, event_id, seq, event.type, body)
        rows.append(
            {
                "id": event_id,
                "order_id": order_id,
                "order_seq": seq,
                "type": event.type,
                "data": body,
                "actor": actor,
                "occurred_at": occurred_at,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    return rows


def heads(conn: Connection, order_ids: Sequence[str]) -> dict[str, tuple[int, str]]:
    """:func:`_head` of the anchored chains of several orders, in one statement (those with no
    anchor are left out: :func:`chain` anchors each when it reads it)."""
    if not order_ids:
        return {}
    rows = conn.execute(
        select(_heads.order_id, _heads.event_count, _heads.head_hash).where(
            _heads.order_id.in_(list(order_ids))
        )
    )
    return {row.order_id: (row.event_count, row.head_hash) for row in rows}


def _head(conn: Connection, order_id: str, *, new_order: bool) -> tuple[int, str]:
    """The chain's length and head hash, read from its anchor. A chain found without one (never
    anchored) is anchored at its last stored event here, so :func:`insert` has a row to move."""
    if new_order:
        return 0, GENESIS
    head = conn.execute(_HEAD, {"order_id": order_id}).first()
    if head is not None:
        return head.event_count, head.head_hash
    last = conn.execute(_LAST_EVENT, {"order_id": order_id}).first()
    if last is None:
        return 0, GENESIS
    anchor = {"anchor_order": order_id, "anchor_count": last.order_seq, "anchor_hash": last.hash}
    conn.execute(_NEW_ANCHOR, anchor)
    return last.order_seq, last.hash


def events_of(conn: Connection, order_id: str) -> list[StoredEvent]:
    rows = conn.execute(
        select(order_events)
        .where(order_events.c.order_id == order_id)
        .order_by(order_events.c.order_seq)
    )
    return [
        StoredEvent(
            r.id,
            r.order_id,
            r.order_seq,
            r.type,
            json.loads(r.data),
            r.actor,
            r.occurred_at,
            r.hash,
        )
        for r in rows
    ]


@dataclass(frozen=True)
class ChainBreak:
    """A broken chain: the order and its first bad (or missing) event; no order when a
    checkpoint no longer matches (a chain deleted whole names no order)."""

    order_id: str | None
    order_seq: int | None
    event_id: str | None
    problem: str


def verify(conn: Connection, *, batch: int = 5000) -> Iterator[ChainBreak | int]:
    """Yield the running count of checked events, and a :class:`ChainBreak` for each bad chain:
    an edited or reordered event, a tail missing from its anchor, an anchor without events, and
    a latest checkpoint the chains no longer add up to."""
    checked = 0
    chain: _Chain | None = None
    stmt = (
        select(order_events, _heads.event_count, _heads.head_hash)
        .select_from(
            order_events.outerjoin(order_chain_heads, _heads.order_id == order_events.c.order_id)
        )
        .order_by(order_events.c.order_id, order_events.c.order_seq)
        .execution_options(yield_per=batch)
    )
    for row in conn.execute(stmt):
        if chain is None or row.order_id != chain.order_id:
            if chain is not None and (cut := chain.truncation()) is not None:
                yield cut
            chain = _Chain(row.order_id, row.event_count, row.head_hash)
        checked += 1
        if (problem := chain.follow(row)) is not None:
            yield problem
        if checked % batch == 0:
            yield checked
    if chain is not None and (cut := chain.truncation()) is not None:
        yield cut
    yield from _anchors_without_events(conn)
    latest = latest_checkpoint(conn)
    if latest is not None and (mismatch := _checkpoint_mismatch(conn, latest)) is not None:
        yield ChainBreak(None, None, None, mismatch)
    yield checked


class _Chain:
    """One order's chain while :func:`verify` walks it: the next expected link and its anchor."""

    def __init__(self, order_id: str, anchor_count: int | None, anchor_hash: str | None) -> None:
        self.order_id = order_id
        self.anchor_count = anchor_count
        self.anchor_hash = anchor_hash
        self.expected_seq, self.prev = 1, GENESIS
        self.broken = False

    def follow(self, row: Any) -> ChainBreak | None:
        """Check one event against the link before it; the first bad one breaks the chain."""
        if self.broken:
            return None
        problem = None
        if row.order_seq != self.expected_seq:
            problem = f"sequence gap: expected {self.expected_seq}, found {row.order_seq}"
        elif row.prev_hash != self.prev:
            problem = "prev_hash does not match the previous event's hash"
        elif row.hash != event_hash(
            prev_hash=self.prev,
            event_id=row.id,
            order_id=row.order_id,
            order_seq=row.order_seq,
            type_=row.type,
            data=row.data,
            actor=row.actor,
            occurred_at=row.occurred_at,
        ):
            problem = "hash does not match the event's content"
        self.expected_seq, self.prev = row.order_seq + 1, row.hash
        if problem is None:
            return None
        self.broken = True
        return ChainBreak(row.order_id, row.order_seq, row.id, problem)

    def truncation(self) -> ChainBreak | None:
        """At the chain's end: does it reach the head its anchor recorded?"""
        if self.broken:
            return None
        last = self.expected_seq - 1
        if self.anchor_count is None:
            problem = "no anchor: the chain's length and head are not recorded"
        elif last < self.anchor_count:
            missing = self.anchor_count - last
            problem = (
                f"truncated: {missing} event(s) missing after seq {last} "
                f"(the anchor records {self.anchor_count})"
            )
        elif last > self.anchor_count or self.prev != self.anchor_hash:
            problem = f"the head (seq {last}) does not match its anchor ({self.anchor_count})"
        else:
            return None
        return ChainBreak(self.order_id, last + 1, None, problem)


def _anchors_without_events(conn: Connection) -> Iterator[ChainBreak]:
    """Chains whose every event is gone while their anchor remains."""
    orphans = select(order_chain_heads).where(
        ~exists().where(order_events.c.order_id == _heads.order_id)
    )
    for row in conn.execute(orphans.order_by(_heads.order_id)):
        problem = f"truncated: all {row.event_count} event(s) missing (the anchor records them)"
        yield ChainBreak(row.order_id, 1, None, problem)


# -- checkpoints ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    id: int | None
    taken_at: datetime
    up_to_seq: int
    chains: int
    events: int
    digest: str


@dataclass(frozen=True)
class _Digest:
    chains: int
    events: int
    digest: str


def _digest_as_of(conn: Connection, up_to_seq: int) -> _Digest:
    """SHA-256 over every chain's (order, length, head) as of global ``seq`` ``up_to_seq``:
    events are only ever appended, so this never changes unless history was cut."""
    e = order_events.c
    last = (
        select(e.order_id, func.max(e.seq).label("last_seq"))
        .where(e.seq <= up_to_seq)
        .group_by(e.order_id)
        .subquery()
    )
    heads = (
        select(e.order_id, e.order_seq, e.hash)
        .join_from(order_events, last, e.seq == last.c.last_seq)
        .order_by(e.order_id)
    )
    sha, chains, events = hashlib.sha256(), 0, 0
    for row in conn.execute(heads.execution_options(yield_per=5000)):
        sha.update(f"{row.order_id} {row.order_seq} {row.hash}\n".encode())
        chains, events = chains + 1, events + row.order_seq
    return _Digest(chains, events, sha.hexdigest())


def latest_checkpoint(conn: Connection) -> Checkpoint | None:
    c = history_checkpoints.c
    row = conn.execute(select(history_checkpoints).order_by(c.id.desc()).limit(1)).first()
    if row is None:
        return None
    return Checkpoint(row.id, row.taken_at, row.up_to_seq, row.chains, row.events, row.digest)


def _checkpoint_mismatch(conn: Connection, checkpoint: Checkpoint) -> str | None:
    """Why the chains no longer add up to ``checkpoint`` (None: they do)."""
    now = _digest_as_of(conn, checkpoint.up_to_seq)
    if now.digest == checkpoint.digest:
        return None
    return (
        f"checkpoint {checkpoint.id} of {checkpoint.taken_at.isoformat()} covered "
        f"{checkpoint.chains} chain(s) and {checkpoint.events} event(s) up to seq "
        f"{checkpoint.up_to_seq}; they now add up to {now.chains} chain(s) and {now.events} "
        f"event(s): {_what_changed(checkpoint, now)}"
    )


def _what_changed(checkpoint: Checkpoint, now: _Digest) -> str:
    if now.chains < checkpoint.chains:
        return f"{checkpoint.chains - now.chains} chain(s) deleted whole"
    if now.events < checkpoint.events:
        return f"{checkpoint.events - now.events} event(s) deleted"
    return "a chain head was rewritten"


def settled_seq(conn: Connection) -> int:
    """The newest ``order_events.seq`` below which no transaction can still add an event.

    On PostgreSQL a transaction may hold a smaller seq than one already committed: the SHARE
    lock waits for every transaction writing the table to end (the caller commits right after,
    releasing it). SQLite has one writer, so what it sees is settled.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("LOCK TABLE order_events IN SHARE MODE"))
    return int(conn.execute(select(func.coalesce(func.max(order_events.c.seq), 0))).scalar_one())


class CheckpointRefused(Exception):
    """The previous checkpoint no longer matches: history was cut since; nothing is written."""


def write_checkpoint(conn: Connection, *, up_to_seq: int, now: datetime, actor: str) -> Checkpoint:
    """Digest every chain as of ``up_to_seq`` (from :func:`settled_seq`) and store it, after
    checking the previous checkpoint still matches, so a cut between two checkpoints is
    reported instead of being sealed into the next one."""
    previous = latest_checkpoint(conn)
    if previous is not None and (mismatch := _checkpoint_mismatch(conn, previous)) is not None:
        raise CheckpointRefused(mismatch)
    taken = _digest_as_of(conn, up_to_seq)
    values = {
        "taken_at": now,
        "up_to_seq": up_to_seq,
        "chains": taken.chains,
        "events": taken.events,
        "digest": taken.digest,
        "actor": actor,
    }
    new_id_ = conn.execute(history_checkpoints.insert().values(**values)).inserted_primary_key
    assert new_id_ is not None
    return Checkpoint(int(new_id_[0]), now, up_to_seq, taken.chains, taken.events, taken.digest)
