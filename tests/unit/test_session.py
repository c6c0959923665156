"""Signed session cookies: what was signed comes back; anything else is no session."""

from __future__ import annotations

import time

from orderhub.web.session import Session, Signer

SIGNER = Signer(b"secret-one")


def test_a_signed_session_round_trips() -> None:
    session = Session(user_id="u1", username="ops", sid="s1")
    loaded = SIGNER.loads(SIGNER.dumps(session))
    assert loaded is not None
    assert (loaded.user_id, loaded.username, loaded.csrf) == ("u1", "ops", session.csrf)
    assert loaded.sid == "s1"
    assert not loaded.changed


def test_an_edited_payload_or_another_key_is_rejected() -> None:
    cookie = SIGNER.dumps(Session(user_id="u1"))
    body, signature = cookie.rsplit(".", 1)
    forged = SIGNER.dumps(Session(user_id="admin")).rsplit(".", 1)[0]
    assert SIGNER.loads(f"{forged}.{signature}") is None
    assert Signer(b"secret-two").loads(cookie) is None
    assert SIGNER.loads(body) is None
    assert SIGNER.loads("") is None
    assert SIGNER.loads("garbage.more") is None


def test_an_expired_session_is_rejected() -> None:
    cookie = SIGNER.dumps(Session(user_id="u1", expires=int(time.time()) - 1))
    assert SIGNER.loads(cookie) is None


def test_the_csrf_check_needs_the_exact_token() -> None:
    session = Session()
    assert session.csrf_matches(session.csrf)
    assert not session.csrf_matches(None)
    assert not session.csrf_matches("")
    assert not session.csrf_matches(session.csrf[:-1])
