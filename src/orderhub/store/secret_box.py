"""Secrets at rest: channel credentials and webhook secrets, webhook-subscription and provider
secrets are stored encrypted with Fernet (AES-128-CBC + HMAC-SHA256, ``cryptography``).

Keys: ``ORDERHUB_SECRET_KEY`` holds one or more Fernet keys separated by commas — the first
encrypts, every one decrypts (a :class:`~cryptography.fernet.MultiFernet`). Without it the key
file ``ORDERHUB_SECRET_KEY_FILE`` (one key a line) is read; a SQLite hub creates that file with
mode 0600 when it is missing, a PostgreSQL hub refuses to start (:class:`SecretKeyError`).

A sealed text is ``fernet:<token>``; sealed credentials are that text in the JSON column. Values
written before encryption existed are read as they are, sealed by ``orderhub db upgrade`` and
re-sealed under the first key by ``orderhub secrets rotate`` (:func:`reseal`).
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Connection, Table, select, update

PREFIX = "fernet:"


class SecretKeyError(RuntimeError):
    """No usable key: none configured where the hub may not make one (PostgreSQL), or a
    configured one is not a Fernet key."""


class UnreadableSecret(RuntimeError):
    """A stored secret was sealed with a key that is no longer configured."""


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


class SecretBox:
    """Seals and opens stored secrets; values stored before encryption open as they are."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("at least one key")
        self._fernet = MultiFernet([Fernet(key) for key in keys])
        # Channels are read on every webhook and allocation; a token opens once per process.
        self._open_token = functools.lru_cache(maxsize=4096)(self._decrypt)

    def seal(self, plain: str) -> str:
        return PREFIX + self._fernet.encrypt(plain.encode()).decode()

    def open(self, stored: str) -> str:
        return self._open_token(stored.removeprefix(PREFIX)) if is_sealed(stored) else stored

    def seal_json(self, value: Any) -> str:
        return self.seal(json.dumps(value, separators=(",", ":"), sort_keys=True))

    def open_json(self, stored: Any) -> Any:
        return json.loads(self.open(stored)) if is_sealed(stored) else stored

    def reseal(self, stored: str) -> str:
        """``stored`` sealed under the first key (a clear value is sealed as it is)."""
        if not is_sealed(stored):
            return self.seal(stored)
        try:
            return PREFIX + self._fernet.rotate(stored.removeprefix(PREFIX).encode()).decode()
        except InvalidToken:
            raise UnreadableSecret("a stored secret opens with none of the keys") from None

    def _decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise UnreadableSecret(
                "a stored secret opens with none of the keys in ORDERHUB_SECRET_KEY"
            ) from None


def parse_keys(text: str) -> list[bytes]:
    """Fernet keys separated by commas, spaces or lines; the first is the one that encrypts."""
    keys = [k.encode() for k in re.split(r"[\s,]+", text) if k]
    for position, key in enumerate(keys, 1):
        try:
            Fernet(key)
        except ValueError:
            raise SecretKeyError(
                f"secret key {position} is not a Fernet key (32 url-safe base64-encoded bytes)"
            ) from None
    if not keys:
        raise SecretKeyError("no secret key given")
    return keys


def load_secret_box(configured: str | None, key_file: Path, *, may_create: bool) -> SecretBox:
    """The configured keys, else the key file's; the file is created only if ``may_create``."""
    if configured:
        return SecretBox(parse_keys(configured))
    if not key_file.exists():
        if not may_create:
            raise SecretKeyError(
                "ORDERHUB_SECRET_KEY is not set and there is no key file at "
                f"{key_file}: generate a key with `orderhub secrets generate-key` and set it"
            )
        _create_key_file(key_file)
    return SecretBox(parse_keys(key_file.read_text(encoding="ascii")))


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process made it first
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(Fernet.generate_key().decode() + "\n")


def reseal(
    conn: Connection,
    table: Table,
    columns: Mapping[str, str],
    box: SecretBox,
    *,
    rotate: bool,
) -> int:
    """Seal every clear value of ``columns`` (name → ``"text"`` or ``"json"``) in ``table``;
    with ``rotate`` re-seal the sealed ones under the first key too. Returns the values changed.
    """
    key = next(iter(table.primary_key.columns))
    changed = 0
    for row in conn.execute(select(key, *(table.c[n] for n in columns)).order_by(key)).all():
        values: dict[str, Any] = {}
        for name, kind in columns.items():
            stored = row._mapping[name]
            if not stored or (is_sealed(stored) and not rotate):
                continue  # no secret here, or sealed already
            if kind == "json" and not is_sealed(stored):
                values[name] = box.seal_json(stored)
            else:
                values[name] = box.reseal(stored)
        if values:
            conn.execute(update(table).where(key == row[0]).values(**values))
            changed += len(values)
    return changed
