"""Dashboard sign-in: server-side sessions and the attempts the sign-in rate limit counts.

A signed-in session's id lives in the (signed) cookie; the table keeps only its SHA-256, the
user and the expiry. A session is valid while its row exists, has not expired and its user is
not disabled: logout deletes the row, a password change or a revocation deletes all the user's.

Each sign-in attempt is counted and recorded under one lock *before* the password is checked:
concurrent guesses are admitted one after another, so no more than the limit of them are ever
checked per window, per username and per address.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, delete, insert, select, text

from orderhub.domain.access import Role
from orderhub.domain.ids import new_id
from orderhub.store.access import Principal
from orderhub.store.tables import login_attempts, users, web_sessions


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def start(self, user_id: str, *, now: datetime, lifetime: timedelta) -> str:
        """A new session for ``user_id``; returns its id, the only time it is seen."""
        self._conn.execute(delete(web_sessions).where(web_sessions.c.expires_at <= now))
        session_id = secrets.token_urlsafe(32)
        self._conn.execute(
            insert(web_sessions).values(
                id_hash=_digest(session_id),
                user_id=user_id,
                created_at=now,
                expires_at=now + lifetime,
            )
        )
        return session_id

    def principal(self, session_id: str, *, now: datetime) -> Principal | None:
        """The signed-in user of a live session, or None (ended, expired, user disabled)."""
        row = self._conn.execute(
            select(users.c.id, users.c.role)
            .join(web_sessions, web_sessions.c.user_id == users.c.id)
            .where(
                web_sessions.c.id_hash == _digest(session_id),
                web_sessions.c.expires_at > now,
                users.c.disabled_at.is_(None),
            )
        ).first()
        return Principal(id=row.id, role=Role(row.role), kind="user") if row else None

    def end(self, session_id: str) -> None:
        self._conn.execute(
            delete(web_sessions).where(web_sessions.c.id_hash == _digest(session_id))
        )

    def end_all(self, user_id: str) -> int:
        """End every session of the user; returns how many there were."""
        result = self._conn.execute(delete(web_sessions).where(web_sessions.c.user_id == user_id))
        return result.rowcount


@dataclass(frozen=True)
class AttemptLimits:
    """Failed sign-ins allowed per window: per (username, address) — the one a guesser meets;
    per username from every address — a higher ceiling, so that a few failures from one place
    cannot lock a user (the admin included) out everywhere; and per address over every username
    (one machine trying many names)."""

    per_user_and_address: int
    per_user: int
    per_address: int


class LoginAttemptRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def admit(
        self,
        *,
        username: str,
        address: str,
        now: datetime,
        limits: AttemptLimits,
        window: timedelta,
    ) -> int | None:
        """Count one more attempt and return None when it is within ``limits``; else the
        seconds until one more will be let in, and nothing is recorded (a refused attempt
        checked no password, so hammering does not push the end of the wait further out).

        Counting and recording happen under one lock (SQLite's single writer; on PostgreSQL a
        self-exclusive table lock), so concurrent guesses are admitted one after another: up to
        the limit of them are checked, and never none of them.
        """
        if self._conn.dialect.name == "postgresql":
            self._conn.execute(text("LOCK TABLE login_attempts IN SHARE ROW EXCLUSIVE MODE"))
        c = login_attempts.c
        self._conn.execute(delete(login_attempts).where(c.attempted_at <= now - window))
        waits: list[float] = []
        scopes = (
            (and_(c.username == username, c.address == address), limits.per_user_and_address),
            (c.username == username, limits.per_user),
            (c.address == address, limits.per_address),
        )
        for scope, limit in scopes:
            earlier = list(
                self._conn.execute(
                    select(c.attempted_at).where(scope).order_by(c.attempted_at)
                ).scalars()
            )
            if len(earlier) >= limit:  # once one of them leaves the window, there is room again
                waits.append((earlier[len(earlier) - limit] + window - now).total_seconds())
        if waits:
            return max(1, math.ceil(max(waits)))
        self._conn.execute(
            insert(login_attempts).values(
                id=new_id(), username=username, address=address, attempted_at=now
            )
        )
        return None

    def clear(self, username: str) -> None:
        """A successful sign-in: the username's failed attempts no longer count, anywhere."""
        self._conn.execute(delete(login_attempts).where(login_attempts.c.username == username))
