"""Sealing stored secrets: what is sealed opens with any configured key, and only with one."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from orderhub.store.secret_box import (
    SecretBox,
    SecretKeyError,
    UnreadableSecret,
    is_sealed,
    load_secret_box,
    parse_keys,
)

OLD, NEW = Fernet.generate_key(), Fernet.generate_key()


def test_a_sealed_secret_hides_the_value_and_opens_to_it() -> None:
    box = SecretBox([OLD])
    sealed = box.seal("shpss_very_secret")
    assert is_sealed(sealed)
    assert "shpss_very_secret" not in sealed
    assert box.open(sealed) == "shpss_very_secret"
    assert box.seal("shpss_very_secret") != sealed  # a fresh IV every time


def test_credentials_are_sealed_as_one_json_text() -> None:
    box = SecretBox([OLD])
    sealed = box.seal_json({"access_token": "tok", "refresh": {"env": "REFRESH"}})
    assert isinstance(sealed, str)
    assert "tok" not in sealed
    assert "REFRESH" not in sealed
    assert box.open_json(sealed) == {"access_token": "tok", "refresh": {"env": "REFRESH"}}


def test_values_stored_before_encryption_open_as_they_are() -> None:
    box = SecretBox([OLD])
    assert box.open("plain-old-secret") == "plain-old-secret"
    assert box.open_json({"access_token": "tok"}) == {"access_token": "tok"}
    assert is_sealed(box.reseal("plain-old-secret"))
    assert box.open(box.reseal("plain-old-secret")) == "plain-old-secret"


def test_every_key_opens_the_first_seals_and_reseal_moves_to_the_first() -> None:
    sealed_old = SecretBox([OLD]).seal("s3cret")
    both = SecretBox([NEW, OLD])
    assert both.open(sealed_old) == "s3cret"
    with pytest.raises(UnreadableSecret):
        SecretBox([OLD]).open(both.seal("x"))  # the first key, NEW, sealed it
    moved = both.reseal(sealed_old)
    assert SecretBox([NEW]).open(moved) == "s3cret"
    with pytest.raises(UnreadableSecret):
        SecretBox([NEW]).open(sealed_old)


def test_keys_are_parsed_from_commas_or_lines_and_a_bad_one_is_named() -> None:
    assert parse_keys(f"{NEW.decode()}, {OLD.decode()}") == [NEW, OLD]
    assert parse_keys(f"{NEW.decode()}\n{OLD.decode()}\n") == [NEW, OLD]
    with pytest.raises(SecretKeyError, match="secret key 2 is not a Fernet key"):
        parse_keys(f"{NEW.decode()},not-a-key")
    with pytest.raises(SecretKeyError):
        parse_keys(" , ")


def test_a_missing_key_file_is_made_private_only_where_allowed(tmp_path: Path) -> None:
    key_file = tmp_path / "var" / "secret.key"
    with pytest.raises(SecretKeyError, match="ORDERHUB_SECRET_KEY"):
        load_secret_box(None, key_file, may_create=False)
    assert not key_file.exists()
    sealed = load_secret_box(None, key_file, may_create=True).seal("x")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load_secret_box(None, key_file, may_create=False).open(sealed) == "x"


def test_a_configured_key_wins_over_the_key_file(tmp_path: Path) -> None:
    key_file = tmp_path / "secret.key"
    key_file.write_text(OLD.decode())
    sealed = load_secret_box(NEW.decode(), key_file, may_create=False).seal("x")
    assert SecretBox([NEW]).open(sealed) == "x"
