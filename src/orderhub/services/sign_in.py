"""Signing in to the dashboard: the rate limit, the password check, the server-side session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from orderhub.clock import utc_now
from orderhub.store.access import Principal
from orderhub.store.sign_in import AttemptLimits
from orderhub.store.unit_of_work import UnitOfWork, UnitOfWorkFactory


class TooManyAttempts(Exception):
    """The (username, address), the username or the address used up its failed sign-ins."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class SignedIn:
    principal: Principal
    session_id: str


def sign_in(
    uow: UnitOfWorkFactory,
    *,
    username: str,
    password: str,
    address: str,
    limits: AttemptLimits,
    window: timedelta,
    lifetime: timedelta,
) -> SignedIn | None:
    """A new session, or None for a wrong username or password; :class:`TooManyAttempts` when
    attempts in ``window`` already failed up to one of ``limits`` (per username and address,
    per username, per address).

    Success clears the username's failed attempts (from any address); an address's failures
    against other usernames keep counting.
    """
    now = utc_now()
    with uow(actor="web:login") as tx:
        wait = tx.login_attempts.admit(
            username=username, address=address, now=now, limits=limits, window=window
        )
        tx.commit()
    if wait is not None:
        raise TooManyAttempts(wait)
    with uow(read_only=True) as tx:  # argon2 takes a while: no write lock meanwhile
        principal = tx.users.authenticate(username, password)
    if principal is None:
        return None  # the attempt stays counted
    with uow(actor="web:login") as tx:
        tx.login_attempts.clear(username)
        session_id = tx.web_sessions.start(principal.id, now=utc_now(), lifetime=lifetime)
        tx.commit()
    return SignedIn(principal, session_id)


def sign_out(uow: UnitOfWork, *, session_id: str) -> None:
    """End one session (logout)."""
    uow.web_sessions.end(session_id)
    uow.commit()


def revoke_sessions(uow: UnitOfWork, *, username: str) -> int:
    """End every session of a user (their cookies stop working at once); returns how many."""
    ended = uow.web_sessions.end_all(uow.users.id_of(username))
    uow.commit()
    return ended


def change_password(uow: UnitOfWork, *, username: str, password: str) -> None:
    """Set a new password; every session signed in with the old one ends."""
    uow.users.set_password(username, password)
    uow.commit()
