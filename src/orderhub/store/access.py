"""API keys and dashboard users. Only hashes are stored, never a secret or a password.

An API key is ``ohk_<prefix>_<secret>``: the prefix finds the row, SHA-256 of the whole key is
compared in constant time. SHA-256 suffices for 256-bit random keys; passwords, which people
choose, get argon2.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, delete, select, update

from orderhub.clock import utc_now
from orderhub.domain.access import Role
from orderhub.domain.errors import Conflict, NotFound, ValidationFailed
from orderhub.domain.ids import new_id
from orderhub.store.repositories import insert_ignoring_duplicates
from orderhub.store.tables import api_keys, users, web_sessions

_hasher = PasswordHasher()


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API key or a dashboard user, with a role and an optional channel."""

    id: str
    role: Role
    channel: str | None = None
    kind: str = "api_key"

    @property
    def actor(self) -> str:
        """How history names this caller."""
        return f"{self.kind}:{self.id}"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiKeyRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def create(self, *, role: Role, channel: str | None = None, name: str | None = None) -> str:
        """Store a new key's hash and return the key itself, the only time it is seen."""
        if role == Role.CHANNEL and not channel:
            raise ValidationFailed("a channel key needs --channel")
        prefix = secrets.token_hex(6)
        token = f"ohk_{prefix}_{secrets.token_urlsafe(32)}"
        self._conn.execute(
            api_keys.insert().values(
                id=new_id(),
                prefix=prefix,
                secret_hash=_digest(token),
                role=role.value,
                channel_code=channel,
                name=name,
                created_at=utc_now(),
            )
        )
        return token

    def authenticate(self, token: str) -> Principal | None:
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != "ohk":
            return None
        row = self._conn.execute(
            select(api_keys).where(api_keys.c.prefix == parts[1], api_keys.c.revoked_at.is_(None))
        ).first()
        if row is None or not hmac.compare_digest(row.secret_hash, _digest(token)):
            return None
        return Principal(id=row.id, role=Role(row.role), channel=row.channel_code)

    def revoke(self, key_id: str) -> None:
        self._conn.execute(
            update(api_keys).where(api_keys.c.id == key_id).values(revoked_at=utc_now())
        )


class UserRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def create(self, *, username: str, password: str, role: Role) -> str:
        _check_password(password)
        user_id = new_id()
        created = insert_ignoring_duplicates(
            self._conn,
            users,
            {
                "id": user_id,
                "username": username,
                "password_hash": _hasher.hash(password),
                "role": role.value,
                "created_at": utc_now(),
            },
        )
        if not created:
            raise Conflict(f"user {username!r} exists already")
        return user_id

    def id_of(self, username: str) -> str:
        found = self._conn.execute(select(users.c.id).where(users.c.username == username)).first()
        if found is None:
            raise NotFound(f"no user {username!r}")
        return str(found.id)

    def set_password(self, username: str, password: str) -> str:
        """A new password; every session of the user ends with the old one. Returns the id."""
        _check_password(password)
        user_id = self.id_of(username)
        self._conn.execute(
            update(users).where(users.c.id == user_id).values(password_hash=_hasher.hash(password))
        )
        self._conn.execute(delete(web_sessions).where(web_sessions.c.user_id == user_id))
        return user_id

    def authenticate(self, username: str, password: str) -> Principal | None:
        row = self._conn.execute(
            select(users).where(users.c.username == username, users.c.disabled_at.is_(None))
        ).first()
        if row is None:
            _hasher.hash(password)  # same work either way: no user enumeration by timing
            return None
        try:
            _hasher.verify(row.password_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        return Principal(id=row.id, role=Role(row.role), kind="user")


def _check_password(password: str) -> None:
    if len(password) < 8:
        raise ValidationFailed("password must have at least 8 characters")
