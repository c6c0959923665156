"""Dashboard sign-in: server-side sessions that logout, a password change or a revocation end at
once, and the failed sign-in rate limit per username and per address — SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from orderhub.api.app import create_app
from orderhub.bootstrap import Container
from orderhub.cli import app as cli
from orderhub.domain.access import Role
from orderhub.store import tables as t
from orderhub.web.session import COOKIE
from tests.integration.test_dashboard_web import PASSWORD, csrf_of, make_user, sign_in

runner = CliRunner()
LIMIT = 5  # Settings.login_max_failures' default, per (username, address)
ADDRESS_LIMIT = 20  # Settings.login_max_failures_per_address' default
WINDOW = 900  # Settings.login_window_seconds' default


@pytest.fixture
def web(seeded: Container) -> FastAPI:
    """One app (one cookie-signing secret) for several browsers."""
    make_user(seeded, "ops", Role.OPERATOR)
    make_user(seeded, "boss", Role.ADMIN)
    return create_app(seeded)


@pytest.fixture
def browser(web: FastAPI) -> Iterator[TestClient]:
    with TestClient(web) as client:
        yield client


def another_browser(web: FastAPI, address: str = "testclient") -> TestClient:
    return TestClient(web, client=(address, 50000))


def signed_in(client: TestClient) -> bool:
    return client.get("/orders", follow_redirects=False).status_code == 200


def attempt(client: TestClient, name: str, password: str) -> httpx.Response:
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": name, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    monkeypatch.setenv("ORDERHUB_DATABASE_URL", database_url)


# --- server-side sessions ---------------------------------------------------------------------


def test_logout_ends_the_session_so_a_copied_cookie_no_longer_works(
    web: FastAPI, browser: TestClient
) -> None:
    token = sign_in(browser, "ops")
    copied = browser.cookies[COOKIE]
    browser.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    with another_browser(web) as thief:
        thief.cookies.set(COOKIE, copied)
        assert not signed_in(thief)
        # The dead session is dropped, so the login page shows its form instead of bouncing.
        assert thief.get("/login", follow_redirects=False).status_code == 200


def test_a_password_change_ends_every_session_of_that_user_only(
    web: FastAPI, browser: TestClient, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sign_in(browser, "ops")
    with another_browser(web) as laptop, another_browser(web) as admin:
        sign_in(laptop, "ops")
        sign_in(admin, "boss")
        cli_env(monkeypatch, database_url)
        new_password = "a-brand-new-password"
        changed = runner.invoke(
            cli, ["user", "password", "ops"], input=f"{new_password}\n{new_password}\n"
        )
        assert changed.exit_code == 0, changed.output
        assert not signed_in(browser)
        assert not signed_in(laptop)
        assert signed_in(admin)
    assert attempt(browser, "ops", PASSWORD).status_code == 401
    assert attempt(browser, "ops", new_password).status_code == 303
    assert signed_in(browser)


def test_revoking_a_users_sessions_signs_them_out_everywhere(
    web: FastAPI, browser: TestClient, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sign_in(browser, "ops")
    with another_browser(web) as laptop:
        sign_in(laptop, "ops")
        cli_env(monkeypatch, database_url)
        revoked = runner.invoke(cli, ["user", "revoke-sessions", "ops"])
        assert revoked.exit_code == 0, revoked.output
        assert "ended 2 session(s) of ops" in revoked.output
        assert not signed_in(browser)
        assert not signed_in(laptop)
    assert runner.invoke(cli, ["user", "revoke-sessions", "nobody"]).exit_code == 2
    sign_in(browser, "ops")  # the user may sign in again
    assert signed_in(browser)


def test_a_session_ends_server_side_when_its_time_is_up(
    browser: TestClient, seeded: Container
) -> None:
    sign_in(browser, "ops")
    with seeded.engine.begin() as conn:
        conn.execute(update(t.web_sessions).values(expires_at=datetime.now(UTC)))
    assert not signed_in(browser)


def test_the_session_table_keeps_only_a_hash_of_the_cookies_session_id(
    browser: TestClient, seeded: Container
) -> None:
    sign_in(browser, "ops")
    with seeded.engine.connect() as conn:
        [stored] = conn.execute(select(t.web_sessions.c.id_hash)).scalars()
    assert len(stored) == 64
    assert stored not in browser.cookies[COOKIE]


# --- the sign-in rate limit -------------------------------------------------------------------


def age_attempts(container: Container, seconds: int) -> None:
    """Move every recorded attempt ``seconds`` into the past."""
    c = t.login_attempts.c
    with container.engine.begin() as conn:
        for attempt_id, at in conn.execute(select(c.id, c.attempted_at)).all():
            conn.execute(
                update(t.login_attempts)
                .where(c.id == attempt_id)
                .values(attempted_at=at - timedelta(seconds=seconds))
            )


def test_after_five_failures_the_username_is_refused_with_retry_after_until_the_window_passes(
    browser: TestClient, seeded: Container
) -> None:
    for _ in range(LIMIT):
        assert attempt(browser, "ops", "wrong-password").status_code == 401
    refused = attempt(browser, "ops", PASSWORD)  # even the right password is not checked now
    assert refused.status_code == 429
    assert 0 < int(refused.headers["retry-after"]) <= WINDOW
    assert "Too many failed sign-ins" in refused.text
    assert not signed_in(browser)
    age_attempts(seeded, WINDOW - 60)
    again = attempt(browser, "ops", PASSWORD)
    assert again.status_code == 429
    assert int(again.headers["retry-after"]) <= 60  # refused attempts did not push it further
    age_attempts(seeded, 61)
    assert attempt(browser, "ops", PASSWORD).status_code == 303


def test_five_failures_from_one_address_do_not_lock_the_admin_out_elsewhere(
    web: FastAPI, browser: TestClient
) -> None:
    for _ in range(LIMIT):
        assert attempt(browser, "boss", "wrong-password").status_code == 401
    assert attempt(browser, "boss", PASSWORD).status_code == 429  # that address: locked
    with another_browser(web, "203.0.113.9") as elsewhere:
        assert attempt(elsewhere, "boss", PASSWORD).status_code == 303


def test_the_per_username_ceiling_holds_across_addresses(web: FastAPI, seeded: Container) -> None:
    seeded.settings = seeded.settings.model_copy(update={"login_max_failures_per_user": 8})
    for number in range(8):
        with another_browser(web, f"203.0.113.{number}") as guesser:
            assert attempt(guesser, "ops", "wrong-password").status_code == 401
    with another_browser(web, "198.51.100.7") as elsewhere:
        assert attempt(elsewhere, "ops", PASSWORD).status_code == 429
        assert attempt(elsewhere, "boss", PASSWORD).status_code == 303  # other users unaffected


def test_the_address_limit_holds_across_usernames(web: FastAPI, browser: TestClient) -> None:
    for number in range(ADDRESS_LIMIT):
        assert attempt(browser, f"guess{number}", "wrong-password").status_code == 401
    assert attempt(browser, "boss", PASSWORD).status_code == 429
    with another_browser(web, "203.0.113.9") as elsewhere:
        assert attempt(elsewhere, "boss", PASSWORD).status_code == 303


def test_a_successful_sign_in_resets_the_usernames_failures(browser: TestClient) -> None:
    for _ in range(LIMIT - 1):
        assert attempt(browser, "ops", "wrong-password").status_code == 401
    assert attempt(browser, "ops", PASSWORD).status_code == 303
    token = csrf_of(browser.get("/orders").text)
    browser.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    for _ in range(LIMIT - 1):
        assert attempt(browser, "ops", "wrong-password").status_code == 401
    assert attempt(browser, "ops", PASSWORD).status_code == 303


def test_concurrent_guesses_get_no_more_password_checks_than_the_limit(
    live_server: str, seeded: Container
) -> None:
    make_user(seeded, "ops", Role.OPERATOR)
    statuses: list[int] = []
    ready = threading.Barrier(12)

    def guess(number: int) -> None:
        with httpx.Client(base_url=live_server) as client:
            token = csrf_of(client.get("/login").text)
            ready.wait()
            response = client.post(
                "/login",
                data={"username": "ops", "password": f"guess-{number}", "csrf_token": token},
            )
            statuses.append(response.status_code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(set(statuses)) == [401, 429]
    assert statuses.count(401) <= LIMIT  # passwords actually checked
    with seeded.engine.connect() as conn:
        counted = conn.execute(select(func.count()).select_from(t.login_attempts)).scalar_one()
    assert counted == statuses.count(401)  # refused guesses are not kept
