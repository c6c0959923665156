"""Deliveries: one row per (outbox event, consumer), claimed by workers with leases.

The claim is the heart of scale-out. On PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets many workers
take disjoint batches without waiting on each other; on SQLite (``BEGIN IMMEDIATE``, one writer)
the same statement runs without the clause. A claimed delivery carries a lease: if its worker
dies, the lease runs out and the delivery is due again. A delivery is only claimable while no
earlier delivery of the same stream for the same consumer is still open (pending or in flight),
which keeps each stream's events in order per consumer; a dead one no longer holds the line.

Every statement of the relay's hot path stays O(batch) however many deliveries are pending:

- the claim walks due work in (``next_attempt_at``, ``event_seq``) order on a partial index of
  pending deliveries and stops at the first not yet due, and checks each candidate's ordering
  with one probe of the open-per-(consumer, stream) index; expired leases come from their own
  index. Statuses are SQL literals (:func:`_status_in`), not parameters, so the planner can use
  the partial indexes (SQLite never can behind a parameter; PostgreSQL not once it prepares);
- a failing delivery pushes the later deliveries of its (consumer, stream) back to its own retry
  time (:func:`mark_failed`), so deliveries that could not run anyway are not due and the claim
  never walks past them; when it succeeds or dies, they are due again.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    and_,
    bindparam,
    func,
    literal,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from orderhub.domain.errors import Conflict, NotFound
from orderhub.domain.ids import new_id
from orderhub.store import bulk, statistics
from orderhub.store.db import is_postgres
from orderhub.store.one_of import one_of
from orderhub.store.queries import keyset_page
from orderhub.store.tables import channels, deliveries, orders, outbox, processed_events

FANOUT_LOCK_KEY = 0x0D0E11FE  # pg advisory lock: one fan-out at a time keeps streams in order
FAN_OUT_LIMIT = 500  # outbox events fanned out per call (and transaction), at most


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    DELIVERED = "delivered"
    DEAD = "dead"


OPEN = (DeliveryStatus.PENDING.value, DeliveryStatus.IN_FLIGHT.value)


def _status_in(column: Any, *statuses: DeliveryStatus) -> ColumnElement[bool]:
    """``column`` is one of ``statuses``, the values written into the SQL as literals.

    The delivery indexes are partial (``WHERE status = 'pending'`` …): a planner may only use
    one when it can see the value, which a bound parameter hides (SQLite always, PostgreSQL
    once psycopg prepares the statement). The values are this module's constants.
    """
    literals: list[ColumnElement[str]] = [literal_column(f"'{s.value}'") for s in statuses]
    if len(literals) == 1:
        return column == literals[0]  # type: ignore[no-any-return]
    return column.in_(literals)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Claimed:
    """A delivery this worker holds the lease on, with the event it carries."""

    id: str
    consumer: str
    attempts: int
    event_seq: int
    event_id: str
    event_type: str
    stream: str
    data: dict[str, Any]
    actor: str
    occurred_at: datetime


@dataclass(frozen=True)
class Delivery:
    id: str
    event_id: str
    event_type: str
    stream: str
    consumer: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    lease_owner: str | None
    lease_expires_at: datetime | None
    delivered_at: datetime | None
    delivered_by: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class DeliveryFilter:
    status: DeliveryStatus | None = None
    consumer: str | None = None
    event_type: str | None = None
    event_id: str | None = None
    stream: str | None = None


# Hot-path statements built once (building a Core statement costs more than running it).
_o, _c = outbox.c, deliveries.c
_NEW_EVENTS = (
    select(_o.seq, _o.id, _o.type, _o.stream)
    .where(_o.fanned_out == False)  # noqa: E712
    .order_by(_o.seq)
    .limit(bindparam("limit", type_=Integer))
)
_FANNED_OUT = update(outbox).where(one_of(_o.seq, "seqs")).values(fanned_out=True)
_CHANNEL_KINDS = select(channels.c.code, channels.c.kind, channels.c.sync_back)
# The channel an event names, extracted by the database: not its whole data decoded here (an
# ``order.received`` carries the order).
_NAMED_CHANNEL = select(_o.seq, _o.data["channel"].as_string()).where(one_of(_o.seq, "seqs"))
_ORDER_CHANNELS = select(orders.c.id, orders.c.channel_code).where(one_of(orders.c.id, "ids"))


def fan_out(
    conn: Connection,
    *,
    consumers_for: Callable[[str], Sequence[str]],
    now: datetime,
    limit: int = FAN_OUT_LIMIT,
    channel_scope: Mapping[str, Collection[str]] | None = None,
    superseded: Mapping[str, Collection[str]] | None = None,
) -> int:
    """Create the deliveries of up to ``limit`` new outbox events, oldest first; idempotent.

    Runs under one lock at a time (a PostgreSQL advisory lock; SQLite has one writer anyway) so
    deliveries appear in outbox order; returns how many events were fanned out (0 if busy).
    ``channel_scope`` names the consumers that call the event's channel back, each with the
    channel kinds it has calls for: an event of a channel of another kind, or whose
    ``sync_back`` is false, gets no delivery for it (it would do nothing); only the events
    of a type such a consumer wants are looked into (their channel read), the others keep
    every delivery without it. ``superseded``
    names the consumers whose delivery of an event is needless once a later event of the same
    stream, of one of the types given, is in the outbox (``inventory.allocate`` of an
    ``order.received`` the ingest allocated itself): in the same batch, it gets none.
    """
    if (
        is_postgres(conn)
        and not conn.execute(select(func.pg_try_advisory_xact_lock(FANOUT_LOCK_KEY))).scalar()
    ):
        return 0
    rows = conn.execute(_NEW_EVENTS, {"limit": limit}).all()
    if not rows:
        return 0
    scope = channel_scope or {}
    scoped = [row for row in rows if any(c in scope for c in consumers_for(row.type))]
    kind_of = _channel_kind_of(conn, scoped) if scoped else {}

    def wanted(seq: int, consumer: str) -> bool:
        kinds = scope.get(consumer)
        if kinds is None or seq not in kind_of:  # not a channel's consumer, or no channel
            return True
        kind = kind_of[seq]
        return kind is not None and kind in kinds

    needless = _superseded_in(rows, superseded) if superseded else set()
    pending = DeliveryStatus.PENDING.value
    new = [
        {
            "id": new_id(),
            "event_id": event_id,
            "event_seq": seq,
            "event_type": event_type,
            "stream": stream,
            "consumer": consumer,
            "status": pending,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for seq, event_id, event_type, stream in rows
        for consumer in consumers_for(event_type)
        if wanted(seq, consumer) and (seq, consumer) not in needless
    ]
    if new:
        bulk.insert_rows(conn, deliveries, new)
    conn.execute(_FANNED_OUT, {"seqs": [r.seq for r in rows]})
    statistics.after_fan_out(conn, newest_seq=rows[-1].seq, deliveries=len(new))
    return len(rows)


def _superseded_in(
    rows: Sequence[Any], superseded: Mapping[str, Collection[str]]
) -> set[tuple[int, str]]:
    """The (outbox seq, consumer) pairs that a later event of the same stream among ``rows``
    makes needless, by ``superseded`` (consumer → the event types that do)."""
    later: dict[str, set[str]] = {}  # stream → the types of its events after the row at hand
    needless: set[tuple[int, str]] = set()
    for seq, _, event_type, stream in reversed(rows):
        after = later.get(stream)
        if after is None:  # the stream's last event: nothing follows it
            later[stream] = {event_type}
            continue
        needless.update(
            (seq, consumer) for consumer, types in superseded.items() if not after.isdisjoint(types)
        )
        after.add(event_type)
    return needless


def _channel_kind_of(conn: Connection, rows: Sequence[Any]) -> dict[int, str | None]:
    """For each outbox seq among ``rows`` whose event concerns a known channel, that channel's
    kind (None when it takes no sync back). An event concerns a channel when it names it
    (``order.received``, ``inventory.available_changed``) or is on the stream of one of its
    orders (``order:<id>``); two reads for the whole batch."""
    kinds: dict[str, str | None] = {
        code: kind if sync_back else None for code, kind, sync_back in conn.execute(_CHANNEL_KINDS)
    }
    named = conn.execute(_NAMED_CHANNEL, {"seqs": [r.seq for r in rows]})
    code_of = {seq: code for seq, code in named if code in kinds}
    on_orders = {
        r.seq: r.stream.removeprefix("order:")
        for r in rows
        if r.seq not in code_of and r.stream.startswith("order:")
    }
    if on_orders:
        order_channel = dict(conn.execute(_ORDER_CHANNELS, {"ids": set(on_orders.values())}).all())
        code_of.update(
            (seq, order_channel[order_id])
            for seq, order_id in on_orders.items()
            if order_channel.get(order_id) in kinds
        )
    return {seq: kinds[code] for seq, code in code_of.items()}


def claim(
    conn: Connection,
    *,
    owner: str,
    now: datetime,
    lease_seconds: float,
    limit: int,
    max_attempts: int,
) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries to ``owner`` (commit right after): expired leases
    first (a dead worker's batch), then pending deliveries oldest due first."""
    _bury_abandoned(conn, now=now, max_attempts=max_attempts)
    ids = _claimable(conn, _EXPIRED, now, limit)
    if len(ids) < limit:
        ids += _claimable(conn, _DUE, now, limit - len(ids))
    if not ids:
        return []
    until = now + timedelta(seconds=lease_seconds)
    conn.execute(_LEASE, {"ids": ids, "owner": owner, "until": until, "now": now})
    rows = conn.execute(_CLAIMED, {"ids": ids}).all()
    return [
        Claimed(
            id=r.id,
            consumer=r.consumer,
            attempts=r.attempts,
            event_seq=r.event_seq,
            event_id=r.event_id,
            event_type=r.type,
            stream=r.stream,
            data=r.data,
            actor=r.actor,
            occurred_at=r.occurred_at,
        )
        for r in rows
    ]


_d = deliveries.alias("d")
_earlier = deliveries.alias("e")
# The ordering check, one probe of ix_deliveries_open_stream per candidate.
_BLOCKED = (
    select(literal(1))
    .where(
        _earlier.c.consumer == _d.c.consumer,
        _earlier.c.stream == _d.c.stream,
        _earlier.c.event_seq < _d.c.event_seq,
        _status_in(_earlier.c.status, DeliveryStatus.PENDING, DeliveryStatus.IN_FLIGHT),
    )
    .exists()
)


_NOW = bindparam("now", type_=deliveries.c.updated_at.type)
# In-flight deliveries whose lease ran out, by ix_deliveries_leased.
_EXPIRED = (
    select(_d.c.id)
    .where(
        _status_in(_d.c.status, DeliveryStatus.IN_FLIGHT),
        _d.c.lease_expires_at <= _NOW,
        ~_BLOCKED,
    )
    .order_by(_d.c.lease_expires_at)
    .limit(bindparam("limit", type_=Integer))
    .with_for_update(skip_locked=True, of=_d)
)
# Pending deliveries that are due, oldest first, by ix_deliveries_due.
_DUE = (
    select(_d.c.id)
    .where(
        _status_in(_d.c.status, DeliveryStatus.PENDING),
        _d.c.next_attempt_at <= _NOW,
        ~_BLOCKED,
    )
    .order_by(_d.c.next_attempt_at, _d.c.event_seq)
    .limit(bindparam("limit", type_=Integer))
    .with_for_update(skip_locked=True, of=_d)
)
# A delivery whose worker died on its last allowed attempt is dead, not run again.
_BURY = (
    update(deliveries)
    .where(
        _status_in(_c.status, DeliveryStatus.IN_FLIGHT),
        _c.lease_expires_at <= _NOW,
        _c.attempts >= bindparam("max_attempts", type_=Integer),
    )
    .values(
        status=DeliveryStatus.DEAD.value,
        last_error="lease expired on the last attempt (worker died?)",
        lease_owner=None,
        lease_expires_at=None,
        updated_at=_NOW,
    )
)
_IDS = one_of(_c.id, "ids")
_LEASE = (
    update(deliveries)
    .where(_IDS)
    .values(
        status=DeliveryStatus.IN_FLIGHT.value,
        lease_owner=bindparam("owner"),
        lease_expires_at=bindparam("until", type_=_c.lease_expires_at.type),
        attempts=_c.attempts + 1,
        updated_at=_NOW,
    )
)
_CLAIMED = (
    select(_c.id, _c.consumer, _c.attempts, _c.event_seq, _o.id.label("event_id"), _o.type)
    .add_columns(_o.stream, _o.data, _o.actor, _o.occurred_at)
    .join_from(deliveries, outbox, _o.id == _c.event_id)
    .where(_IDS)
    .order_by(_c.event_seq)
)


def _claimable(conn: Connection, stmt: Any, now: datetime, limit: int) -> list[str]:
    """The ids ``stmt`` (:data:`_EXPIRED` or :data:`_DUE`) finds, up to ``limit``, locked;
    rows another worker is claiming are skipped."""
    return list(conn.execute(stmt, {"now": now, "limit": limit}).scalars())


def _bury_abandoned(conn: Connection, *, now: datetime, max_attempts: int) -> None:
    conn.execute(_BURY, {"now": now, "max_attempts": max_attempts})


def renew_leases(
    conn: Connection, ids: Sequence[str], *, owner: str, now: datetime, lease_seconds: float
) -> int:
    """Extend ``owner``'s leases on ``ids`` to ``now + lease_seconds``; a delivery already
    taken over (or done) is left alone. Returns how many were renewed."""
    c = deliveries.c
    result = conn.execute(
        update(deliveries)
        .where(
            c.id.in_(ids),
            _status_in(c.status, DeliveryStatus.IN_FLIGHT),
            c.lease_owner == owner,
        )
        .values(lease_expires_at=now + timedelta(seconds=lease_seconds), updated_at=now)
    )
    return result.rowcount


def _held(delivery_id: str, owner: str) -> Any:
    c = deliveries.c
    return and_(
        c.id == delivery_id,
        _status_in(c.status, DeliveryStatus.IN_FLIGHT),
        c.lease_owner == owner,
    )


def mark_delivered(conn: Connection, claimed: Claimed, *, owner: str, now: datetime) -> bool:
    """Record success; False if the lease was lost meanwhile (another worker took over)."""
    return mark_all_delivered(conn, [claimed], owner=owner, now=now) == 1


_DELIVERED = (
    update(deliveries)
    .where(
        _IDS,
        _status_in(_c.status, DeliveryStatus.IN_FLIGHT),
        _c.lease_owner == bindparam("owner"),
    )
    .values(
        status=DeliveryStatus.DELIVERED.value,
        delivered_at=_NOW,
        delivered_by=bindparam("owner"),
        last_error=None,
        lease_owner=None,
        lease_expires_at=None,
        updated_at=_NOW,
    )
)


def mark_all_delivered(
    conn: Connection, done: Sequence[Claimed], *, owner: str, now: datetime
) -> int:
    """Record the success of every delivery in ``done`` with one statement; returns how many
    this worker still held (a lost lease leaves its delivery to the new owner)."""
    if not done:
        return 0
    params = {"ids": [claimed.id for claimed in done], "owner": owner, "now": now}
    result = conn.execute(_DELIVERED, params)
    for claimed in done:
        if claimed.attempts > 1:  # it failed before, so it may have pushed its successors back
            _reschedule_successors(conn, claimed, at=now, back=False)
    return result.rowcount


def mark_failed(
    conn: Connection,
    claimed: Claimed,
    *,
    owner: str,
    now: datetime,
    error: str,
    retry_at: datetime | None,
) -> bool:
    """Schedule the next attempt at ``retry_at``, or mark the delivery dead when None.

    The later deliveries of its (consumer, stream) cannot run before it: they are pushed back
    to ``retry_at`` so the claim does not walk past them meanwhile; a dead delivery no longer
    holds the line, so they are due at once.
    """
    status = DeliveryStatus.PENDING if retry_at is not None else DeliveryStatus.DEAD
    result = conn.execute(
        update(deliveries)
        .where(_held(claimed.id, owner))
        .values(
            status=status.value,
            next_attempt_at=retry_at or now,
            last_error=error[:2000],
            lease_owner=None,
            lease_expires_at=None,
            updated_at=now,
        )
    )
    _reschedule_successors(conn, claimed, at=retry_at or now, back=retry_at is not None)
    return result.rowcount == 1


def _reschedule_successors(conn: Connection, claimed: Claimed, *, at: datetime, back: bool) -> None:
    """Make the pending deliveries after ``claimed`` in its (consumer, stream) due no earlier
    (``back``) or no later than ``at``; by ix_deliveries_open_stream, so only that stream's open
    deliveries are read."""
    params = {
        "b_consumer": claimed.consumer,
        "b_stream": claimed.stream,
        "b_seq": claimed.event_seq,
        "at": at,
    }
    conn.execute(_PUSH_BACK if back else _BRING_FORWARD, params)


def _rescheduling(back: bool) -> Any:
    """The statement of :func:`_reschedule_successors` (``back`` or forward), built once."""
    c, at = deliveries.c, bindparam("at", type_=deliveries.c.next_attempt_at.type)
    return (
        update(deliveries)
        .where(
            c.consumer == bindparam("b_consumer"),
            c.stream == bindparam("b_stream"),
            c.event_seq > bindparam("b_seq", type_=c.event_seq.type),
            _status_in(c.status, DeliveryStatus.PENDING, DeliveryStatus.IN_FLIGHT),
            _status_in(c.status, DeliveryStatus.PENDING),
            c.next_attempt_at < at if back else c.next_attempt_at > at,
        )
        .values(next_attempt_at=at)
    )


_PUSH_BACK, _BRING_FORWARD = _rescheduling(back=True), _rescheduling(back=False)


def take_receipt(conn: Connection, *, consumer: str, event_id: str, now: datetime) -> bool:
    """Record that ``consumer`` processes ``event_id``; False if it already did.

    One ``INSERT … ON CONFLICT DO NOTHING`` in the consumer's own transaction: a concurrent
    second run (a worker that outlived its lease) waits for the first and then does nothing.
    """
    return bool(take_receipts(conn, [(consumer, event_id)], now=now))


def take_receipts(
    conn: Connection, keys: Sequence[tuple[str, str]], *, now: datetime
) -> set[tuple[str, str]]:
    """:func:`take_receipt` for several (consumer, event id) pairs in one statement; returns
    the pairs taken now (the others were processed before)."""
    if not keys:
        return set()
    rows = [{"consumer": c, "event_id": e, "processed_at": now} for c, e in keys]
    result = conn.execute(_TAKE_RECEIPTS[conn.dialect.name], rows)
    return {(consumer, event_id) for consumer, event_id in result}


def _taking_receipts(dialect_insert: Any) -> Any:
    """INSERT … ON CONFLICT DO NOTHING RETURNING the receipts taken: one statement for any
    number of them (executed with many parameter sets, SQLAlchemy's "insertmanyvalues" sends
    them as one multi-row INSERT), compiled once rather than once per batch size."""
    p = processed_events.c
    return (
        dialect_insert(processed_events).on_conflict_do_nothing().returning(p.consumer, p.event_id)
    )


_TAKE_RECEIPTS = {
    "postgresql": _taking_receipts(pg_insert),
    "sqlite": _taking_receipts(sqlite_insert),
}


def drop_receipts(conn: Connection, keys: Collection[tuple[str, str]]) -> None:
    """Remove receipts taken in this transaction for work that was then not done in it (undone,
    or left for the next transaction): the delivery's next run must do the work."""
    p = processed_events.c
    for consumer in {c for c, _ in keys}:
        conn.execute(
            processed_events.delete().where(
                p.consumer == consumer, p.event_id.in_([e for c, e in keys if c == consumer])
            )
        )


def has_receipt(conn: Connection, *, consumer: str, event_id: str) -> bool:
    """Whether ``consumer`` already processed ``event_id`` (a read: takes no lock)."""
    p = processed_events.c
    found = conn.execute(
        select(literal(1)).where(p.consumer == consumer, p.event_id == event_id)
    ).first()
    return found is not None


def _delivery(row: Any) -> Delivery:
    values = dict(row._mapping)
    values["status"] = DeliveryStatus(values["status"])
    values.pop("event_seq", None)
    return Delivery(**values)


def get(conn: Connection, delivery_id: str) -> Delivery:
    row = conn.execute(select(deliveries).where(deliveries.c.id == delivery_id)).first()
    if row is None:
        raise NotFound(f"delivery {delivery_id} not found")
    return _delivery(row)


def page(
    conn: Connection, filters: DeliveryFilter, *, limit: int, cursor: str | None
) -> tuple[list[Delivery], str | None]:
    """One page of deliveries, newest first, and the next page's cursor (or None)."""
    c = deliveries.c
    stmt = select(deliveries)
    for column, value in (
        (c.status, filters.status.value if filters.status else None),
        (c.consumer, filters.consumer),
        (c.event_type, filters.event_type),
        (c.event_id, filters.event_id),
        (c.stream, filters.stream),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    rows, next_cursor = keyset_page(conn, stmt, c.id, limit=limit, cursor=cursor, newest_first=True)
    return [_delivery(row) for row in rows], next_cursor


def retry(conn: Connection, delivery_id: str, *, now: datetime) -> Delivery:
    """Re-drive a dead (or waiting) delivery now, with a fresh attempt budget."""
    current = get(conn, delivery_id)
    if current.status not in (DeliveryStatus.DEAD, DeliveryStatus.PENDING):
        raise Conflict(f"delivery {delivery_id} is {current.status.value}; only dead or pending")
    conn.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery_id, deliveries.c.status == current.status.value)
        .values(
            status=DeliveryStatus.PENDING.value, attempts=0, next_attempt_at=now, updated_at=now
        )
    )
    return get(conn, delivery_id)


def counts(conn: Connection) -> dict[str, int]:
    """Deliveries per status (for metrics and the benchmark)."""
    c = deliveries.c
    rows = conn.execute(select(c.status, func.count()).group_by(c.status)).all()
    return {str(status): int(count) for status, count in rows}
