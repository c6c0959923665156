"""The dashboard's security and pages through HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from orderhub.api.app import create_app
from orderhub.bootstrap import Container, bootstrap
from orderhub.config import Settings
from orderhub.domain.access import Role
from orderhub.store import tables as t
from orderhub.store.tables import users
from orderhub.web.session import COOKIE
from tests.conftest import native_order
from tests.integration.dashboard_support import (
    PASSWORD,
    csrf_of,
    log_in,
    make_user,
    sign_in,
    signed_in,
    submit,
)

PAGES = ["/", "/orders", "/quarantine", "/channels", "/audit"]
OPERATIONS_PAGES = ["/inventory", "/exceptions", "/routing", "/deliveries", "/reports"]


def add_order(client: TestClient, admin: dict[str, str], external_id: str) -> str:
    response = client.post("/v1/orders", json=native_order(external_id), headers=admin)
    assert response.status_code == 201, response.text
    order_id: str = response.json()["id"]
    return order_id


@pytest.mark.parametrize("path", PAGES + OPERATIONS_PAGES)
def test_every_page_sends_an_anonymous_visitor_to_the_login_page(
    client: TestClient, path: str
) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(
    client: TestClient, seeded: Container
) -> None:
    make_user(seeded, "ops", Role.OPERATOR)
    for name, password in [("ops", "wrong-password"), ("nobody", PASSWORD)]:
        response = log_in(client, name, password)
        assert response.status_code == 401
        assert "Unknown username or wrong password." in response.text
    assert client.get("/", follow_redirects=False).status_code == 303


def test_the_session_cookie_is_httponly_and_samesite_lax(
    client: TestClient, seeded: Container
) -> None:
    make_user(seeded, "ops", Role.OPERATOR)
    cookie = log_in(client, "ops").headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_the_session_cookie_is_secure_when_configured(database_url: str) -> None:
    container = bootstrap(Settings(database_url=database_url, secure_cookies=True))
    try:
        with TestClient(create_app(container), base_url="https://testserver") as client:
            cookie = client.get("/login").headers["set-cookie"]
    finally:
        container.close()
    assert "; Secure" in cookie


def test_signing_in_issues_a_new_csrf_token(client: TestClient, seeded: Container) -> None:
    make_user(seeded, "ops", Role.OPERATOR)
    before = csrf_of(client.get("/login").text)
    after = sign_in(client, "ops")
    assert after != before


def test_a_post_without_the_csrf_token_changes_nothing(
    client: TestClient, seeded: Container, admin: dict[str, str]
) -> None:
    order_id = add_order(client, admin, "CSRF-1")
    signed_in(client, seeded)
    for data in ({"reason": "other"}, {"reason": "other", "csrf_token": "forged"}):
        response = client.post(f"/orders/{order_id}/cancel", data=data)
        assert response.status_code == 403
    order = client.get(f"/v1/orders/{order_id}", headers=admin).json()
    assert order["status"] == "received"


def test_login_itself_needs_the_csrf_token(client: TestClient, seeded: Container) -> None:
    make_user(seeded, "ops", Role.OPERATOR)
    client.get("/login")
    response = client.post("/login", data={"username": "ops", "password": PASSWORD})
    assert response.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 303


def test_cancel_from_the_dashboard_records_the_user_as_actor(
    client: TestClient, seeded: Container, admin: dict[str, str]
) -> None:
    order_id = add_order(client, admin, "CANCEL-1")
    token = signed_in(client, seeded, Role.SUPPORT)
    response = submit(
        client,
        f"/orders/{order_id}/cancel",
        token,
        {"reason": "customer_request"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert client.get(f"/v1/orders/{order_id}", headers=admin).json()["status"] == "cancelled"
    events = client.get(f"/v1/orders/{order_id}/events", headers=admin).json()
    assert events[-1]["type"] == "order.cancelled"
    assert events[-1]["actor"].startswith("user:")
    assert "user:ops" in client.get(f"/orders/{order_id}").text


def test_cancelling_twice_explains_the_refusal(
    client: TestClient, seeded: Container, admin: dict[str, str]
) -> None:
    order_id = add_order(client, admin, "CANCEL-2")
    token = signed_in(client, seeded)
    submit(client, f"/orders/{order_id}/cancel", token, {"reason": "other"})
    again = submit(client, f"/orders/{order_id}/cancel", token, {"reason": "other"})
    assert again.status_code == 409
    assert "Could not cancel" in again.text


@pytest.mark.parametrize(
    ("role", "path"),
    [
        (Role.WAREHOUSE, "/audit"),
        (Role.WAREHOUSE, "/quarantine"),
        (Role.WAREHOUSE, "/channels"),
        (Role.SUPPORT, "/audit"),
    ],
)
def test_a_page_outside_the_role_is_forbidden(
    client: TestClient, seeded: Container, role: Role, path: str
) -> None:
    signed_in(client, seeded, role, "someone")
    assert client.get(path).status_code == 403


def test_an_auditor_can_read_orders_but_not_cancel_them(
    client: TestClient, seeded: Container, admin: dict[str, str]
) -> None:
    order_id = add_order(client, admin, "AUDIT-1")
    token = signed_in(client, seeded, Role.AUDITOR, "audit")
    page = client.get(f"/orders/{order_id}")
    assert page.status_code == 200
    assert "Cancel order" not in page.text
    refused = submit(client, f"/orders/{order_id}/cancel", token, {"reason": "x"})
    assert refused.status_code == 403
    assert client.get(f"/v1/orders/{order_id}", headers=admin).json()["status"] == "received"


def test_a_disabled_user_is_signed_out_on_the_next_request(
    client: TestClient, seeded: Container
) -> None:
    signed_in(client, seeded)
    with seeded.uow(actor="test") as uow:
        uow.conn.execute(
            update(users).where(users.c.username == "ops").values(disabled_at=datetime.now(UTC))
        )
        uow.commit()
    assert client.get("/orders", follow_redirects=False).status_code == 303


def test_a_tampered_session_cookie_is_ignored(client: TestClient, seeded: Container) -> None:
    signed_in(client, seeded)
    value = client.cookies[COOKIE]
    body, signature = value.rsplit(".", 1)
    client.cookies.set(COOKIE, body[:-2] + "AA." + signature)
    assert client.get("/orders", follow_redirects=False).status_code == 303


def test_logout_ends_the_session(client: TestClient, seeded: Container) -> None:
    token = signed_in(client, seeded)
    assert submit(client, "/logout", token, follow_redirects=False).status_code
    assert client.get("/orders", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil"])
def test_login_never_redirects_off_site(client: TestClient, seeded: Container, target: str) -> None:
    make_user(seeded, "ops", Role.OPERATOR)
    assert log_in(client, "ops", next=target).headers["location"] == "/"


def test_order_search_finds_by_external_id_and_by_email(
    client: TestClient, seeded: Container, admin: dict[str, str]
) -> None:
    add_order(client, admin, "FIND-ME")
    other = native_order("OTHER-1", customer={"email": "someone@example.com", "name": "S"})
    client.post("/v1/orders", json=other, headers=admin)
    signed_in(client, seeded)
    by_id = client.get("/orders", params={"q": "FIND-ME"}).text
    assert "FIND-ME" in by_id
    assert "OTHER-1" not in by_id
    by_email = client.get("/orders", params={"q": "Someone@Example.com "}).text
    assert "OTHER-1" in by_email
    assert "FIND-ME" not in by_email


def test_order_list_pages_with_a_cursor(
    client: TestClient, seeded: Container, admin: dict[str, str]
) -> None:
    for number in range(27):
        add_order(client, admin, f"PAGE-{number:02d}")
    signed_in(client, seeded)
    first = client.get("/orders").text
    next_link = re.search(r'href="/orders\?(cursor=[^"]+)" rel="next"', first)
    assert next_link
    second = client.get(f"/orders?{next_link.group(1).replace('&amp;', '&')}").text
    first_ids = set(re.findall(r">(PAGE-\d\d)<", first))
    second_ids = set(re.findall(r">(PAGE-\d\d)<", second))
    assert (len(first_ids), len(second_ids)) == (25, 2)
    assert not first_ids & second_ids


def test_quarantine_replay_turns_the_payload_into_an_order(
    client: TestClient, seeded: Container, admin: dict[str, str]
) -> None:
    body = native_order("Q-1")
    body["lines"] = [{"sku": "SKU-NEW", "quantity": 1, "unit_price": "3.00"}]
    held = client.post("/v1/orders", json=body, headers=admin)
    assert held.status_code == 202
    token = signed_in(client, seeded)
    assert "SKU-NEW" in client.get("/quarantine").text
    client.post("/v1/products", json={"sku": "SKU-NEW", "name": "New"}, headers=admin)
    entry = held.json()["quarantine_id"]
    response = submit(client, f"/quarantine/{entry}/replay", token)
    assert response.status_code == 200
    assert "the payload became an order" in response.text
    listed = client.get("/v1/orders", params={"external_id": "Q-1"}, headers=admin).json()
    assert len(listed["items"]) == 1


def test_audit_verification_reports_an_intact_history(
    client: TestClient, seeded: Container, admin: dict[str, str]
) -> None:
    add_order(client, admin, "AUD-1")
    token = signed_in(client, seeded, Role.AUDITOR, "auditor")
    response = submit(client, "/audit/verify", token)
    assert "History intact: 1 events verified" in response.text


def test_pages_carry_a_content_security_policy(client: TestClient) -> None:
    headers = client.get("/login").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"


def test_the_overview_counts_todays_orders_and_draws_them(
    client: TestClient, seeded: Container, admin: dict[str, str]
) -> None:
    today = datetime.now(UTC).replace(microsecond=0).isoformat()
    for number in range(3):
        body = native_order(f"TODAY-{number}", placed_at=today, channel="app")
        assert client.post("/v1/orders", json=body, headers=admin).status_code == 201
    signed_in(client, seeded)
    live = client.get("/overview/live").text
    assert 'data-testid="orders-today">3<' in live
    assert "94.77 USD" in live  # 3 × 31.59
    assert live.count("<rect ") >= 2  # one bar and one legend swatch at least
    assert f"{datetime.now(UTC).date().isoformat()}, app: 3 orders" in live


def test_order_search_finds_a_po_number_and_filters_by_sla(
    client: TestClient, seeded: Container, admin: dict[str, str]
) -> None:
    b2b = add_order(client, admin, "EDI-1")
    late = add_order(client, admin, "LATE-1")
    add_order(client, admin, "ON-TIME-1")
    with seeded.engine.begin() as conn:  # as a B2B ingest and the SLA stamp would have set them
        conn.execute(t.orders.update().where(t.orders.c.id == b2b).values(po_number="PO-777"))
        conn.execute(
            t.orders.update()
            .where(t.orders.c.id == late)
            .values(ship_by=datetime(2026, 11, 21, 17, 0, tzinfo=UTC))
        )
    signed_in(client, seeded)
    by_po = client.get("/orders", params={"q": "PO-777"}).text
    assert "EDI-1" in by_po
    assert "LATE-1" not in by_po
    breached = client.get("/orders", params={"sla": "breached"}).text
    assert "LATE-1" in breached
    assert "ON-TIME-1" not in breached
    assert client.get("/orders", params={"sla": "lost"}).status_code == 422
