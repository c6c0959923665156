"""Using the dashboard from integration tests: users, the login form and CSRF-guarded forms."""

from __future__ import annotations

import re
from collections.abc import Mapping

import httpx
from fastapi.testclient import TestClient

from orderhub.bootstrap import Container
from orderhub.domain.access import Role

PASSWORD = "a-long-password"


def make_user(container: Container, name: str, role: Role) -> None:
    with container.uow(actor="test") as uow:
        uow.users.create(username=name, password=PASSWORD, role=role)
        uow.commit()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def log_in(
    client: TestClient, name: str, password: str = PASSWORD, **fields: str
) -> httpx.Response:
    """Post the login form with the login page's CSRF token; the answer, redirect not followed."""
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": name, "password": password, "csrf_token": token, **fields},
        follow_redirects=False,
    )


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Sign in through the form; returns the new session's CSRF token."""
    response = log_in(client, name, password)
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/orders").text)


def signed_in(
    client: TestClient, container: Container, role: Role = Role.OPERATOR, name: str = "ops"
) -> str:
    """A new user of ``role``, signed in; returns the session's CSRF token."""
    make_user(container, name, role)
    return sign_in(client, name)


def submit(
    client: TestClient,
    path: str,
    token: str,
    fields: Mapping[str, str] | None = None,
    *,
    follow_redirects: bool = True,
) -> httpx.Response:
    """Post a dashboard form with the session's CSRF token."""
    return client.post(
        path, data={**(fields or {}), "csrf_token": token}, follow_redirects=follow_redirects
    )
