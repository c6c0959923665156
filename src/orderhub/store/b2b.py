"""B2B storage: per-partner EDI control numbers (and their reservations per outbound
document), seen cXML payload ids."""

from __future__ import annotations

from sqlalchemy import Connection, delete, select, update

from orderhub.clock import utc_now
from orderhub.store import tables as t
from orderhub.store.repositories import insert_ignoring_duplicates

MAX_CONTROL_NUMBER = 999_999_999  # ISA13 has nine digits


class ControlNumberRepository:
    """Outbound control numbers: unique and increasing per (channel, trading partner)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def next(self, channel: str, partner: str) -> int:
        """Reserve the next number; the guarded UPDATE serializes concurrent callers."""
        c = t.edi_control_numbers.c
        insert_ignoring_duplicates(
            self._conn,
            t.edi_control_numbers,
            {"channel_code": channel, "partner": partner, "last_value": 0, "updated_at": utc_now()},
        )
        value: int = self._conn.execute(
            update(t.edi_control_numbers)
            .where(
                c.channel_code == channel,
                c.partner == partner,
                c.last_value < MAX_CONTROL_NUMBER,
            )
            .values(last_value=c.last_value + 1, updated_at=utc_now())
            .returning(c.last_value)
        ).scalar_one()
        return value

    def reserve(self, channel: str, partner: str, *, event_id: str) -> int:
        """The number reserved for the document answering ``event_id``: the next one the first
        time, the same one on every retry until :meth:`release` (the document was taken)."""
        r = t.edi_control_reservations.c
        held = select(r.value).where(
            r.event_id == event_id, r.channel_code == channel, r.partner == partner
        )
        found = self._conn.execute(held).scalar()
        if found is not None:
            return int(found)
        insert_ignoring_duplicates(  # a concurrent run's reservation wins; ours is a gap
            self._conn,
            t.edi_control_reservations,
            {
                "event_id": event_id,
                "channel_code": channel,
                "partner": partner,
                "value": self.next(channel, partner),
                "reserved_at": utc_now(),
            },
        )
        return int(self._conn.execute(held).scalar_one())

    def release(self, event_id: str) -> None:
        """The document answering ``event_id`` was taken: its reservation is done with."""
        r = t.edi_control_reservations.c
        self._conn.execute(delete(t.edi_control_reservations).where(r.event_id == event_id))

    def last(self, channel: str, partner: str) -> int:
        c = t.edi_control_numbers.c
        found = self._conn.execute(
            select(c.last_value).where(c.channel_code == channel, c.partner == partner)
        ).scalar()
        return int(found or 0)


class CxmlPayloadRepository:
    """cXML payloadIDs already taken in: the same id again is a duplicate (409)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def claim(self, channel: str, payload_id: str) -> bool:
        """True when the id is new for the channel (and is now taken)."""
        return insert_ignoring_duplicates(
            self._conn,
            t.cxml_payloads,
            {"channel_code": channel, "payload_id": payload_id, "received_at": utc_now()},
        )

    def attach_order(self, channel: str, payload_id: str, order_id: str) -> None:
        c = t.cxml_payloads.c
        self._conn.execute(
            update(t.cxml_payloads)
            .where(c.channel_code == channel, c.payload_id == payload_id)
            .values(order_id=order_id)
        )

    def order_of(self, channel: str, payload_id: str) -> str | None:
        c = t.cxml_payloads.c
        return self._conn.execute(
            select(c.order_id).where(c.channel_code == channel, c.payload_id == payload_id)
        ).scalar()
