"""The process's API key cache: what the event loop may answer without the database."""

from __future__ import annotations

from orderhub.api.deps import PrincipalCache
from orderhub.domain.access import Role
from orderhub.store.access import Principal

ADMIN = Principal(id="k1", role=Role.ADMIN)


def test_fresh_answers_only_what_a_look_up_put_there_and_only_until_it_expires() -> None:
    now = [0.0]
    cache = PrincipalCache(5.0, clock=lambda: now[0])
    assert cache.fresh("ohk_a_b") is None  # never looked up: the caller must ask the database
    assert cache.get("ohk_a_b", lambda _token: ADMIN) == ADMIN
    assert cache.fresh("ohk_a_b") == ADMIN
    assert cache.fresh("ohk_a_c") is None
    now[0] = 5.0
    assert cache.fresh("ohk_a_b") is None  # expired: look it up again (it may be revoked)


def test_fresh_never_answers_when_caching_is_off() -> None:
    cache = PrincipalCache(0)
    assert cache.get("ohk_a_b", lambda _token: ADMIN) == ADMIN
    assert cache.fresh("ohk_a_b") is None


def test_a_failed_look_up_is_not_remembered() -> None:
    cache = PrincipalCache(5.0)
    assert cache.get("ohk_a_b", lambda _token: None) is None
    assert cache.fresh("ohk_a_b") is None
