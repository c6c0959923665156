"""The order page's after-sale part through HTTP, on SQLite and PostgreSQL: returns, refunds
and the ledger shown; a return started, moved along and refunded from the page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from fastapi.testclient import TestClient

from orderhub.bootstrap import Container
from orderhub.domain.access import Role
from tests.integration.after_sale_support import on_hand, shipped_order, stock_up
from tests.integration.dashboard_support import signed_in, submit


@pytest.fixture
def stocked(seeded: Container) -> Container:
    stock_up(seeded)
    return seeded


def line_of(container: Container, order_id: str, sku: str) -> str:
    with container.uow(read_only=True) as uow:
        return next(x.id for x in uow.orders.get(order_id).lines if x.sku == sku)


def return_ids(container: Container, order_id: str) -> list[str]:
    with container.uow(read_only=True) as uow:
        return [r.rma.id for r in uow.after_sale.search_returns(order_id=order_id)[0]]


def delivered_order(container: Container) -> str:
    return shipped_order(container, delivered_at=datetime.now(UTC) - timedelta(days=2))


def start_return(
    client: TestClient, token: str, order_id: str, units: dict[str, str], reason: str = "wrong size"
) -> httpx.Response:
    """Post the order page's return form: ``units`` maps line ids to quantities."""
    fields = {f"qty-{line}": qty for line, qty in units.items()}
    return submit(
        client,
        f"/orders/{order_id}/returns",
        token,
        {**fields, "reason": reason},
        follow_redirects=False,
    )


def test_a_return_started_on_the_page_is_listed_moved_along_refunded_and_booked(
    client: TestClient, stocked: Container
) -> None:
    token = signed_in(client, stocked)
    order_id = delivered_order(stocked)
    line = line_of(stocked, order_id, "SKU-1")  # 2 × 10.00, tax 1.60
    page = client.get(f"/orders/{order_id}").text
    assert 'data-testid="start-return"' in page
    assert f'name="qty-{line}"' in page
    assert "No returns." in page
    started = start_return(client, token, order_id, {line: "1"})
    assert started.status_code == 303, started.text
    [rma] = return_ids(stocked, order_id)
    page = client.get(started.headers["location"]).text
    assert "The return was requested." in page
    assert "reason: wrong size" in page
    assert re.search(r'data-testid="return-status">requested<', page)
    assert "SKU-1 × 1" in page
    before = on_hand(stocked, "SKU-1")
    for action, data in [
        ("authorize", {}),
        ("receive", {"location": "east"}),
        ("inspect", {}),
        ("refund", {}),
    ]:
        assert f'data-testid="return-action-{action}"' in page
        moved = submit(
            client,
            f"/orders/{order_id}/returns/{rma}/{action}",
            token,
            data,
            follow_redirects=False,
        )
        assert moved.status_code == 303, (action, moved.text)
        page = client.get(f"/orders/{order_id}").text
    assert on_hand(stocked, "SKU-1") == before + 1  # inspect restocked where it was received
    assert re.search(r'data-testid="return-status">refunded<', page)
    assert "refunded 10.80 USD" in page
    assert 'data-testid="refunds"' in page
    assert "return: wrong size" in page
    assert re.search(r'data-testid="ledger-refunded">10.80 USD<', page)
    charged = re.search(r'data-testid="ledger-charged">([\d,.]+) USD<', page)
    balance = re.search(r'data-testid="ledger-balance">([\d,.]+) USD<', page)
    assert charged
    assert balance
    amount = [Decimal(m.group(1).replace(",", "")) for m in (charged, balance)]
    assert amount[0] - Decimal("10.80") == amount[1]
    assert 'data-testid="return-action-close"' in page


def test_a_return_the_policy_refuses_shows_the_reason_next_to_the_line(
    client: TestClient, stocked: Container
) -> None:
    token = signed_in(client, stocked)
    order_id = delivered_order(stocked)
    line = line_of(stocked, order_id, "SKU-1")
    response = start_return(client, token, order_id, {line: "5"})
    assert response.status_code == 422
    assert re.search(r'data-testid="field-error">between 1 and 2 can be returned<', response.text)
    assert f'name="qty-{line}" type="number" min="0" max="2" value="5"' in response.text
    assert return_ids(stocked, order_id) == []


def test_a_return_with_no_units_is_refused_inline(client: TestClient, stocked: Container) -> None:
    token = signed_in(client, stocked)
    order_id = delivered_order(stocked)
    response = start_return(client, token, order_id, {})
    assert response.status_code == 422
    assert "choose at least one unit to return" in response.text
    assert return_ids(stocked, order_id) == []


def test_a_step_the_return_cannot_take_from_its_status_is_refused_with_a_message(
    client: TestClient, stocked: Container
) -> None:
    token = signed_in(client, stocked)
    order_id = delivered_order(stocked)
    line = line_of(stocked, order_id, "SKU-1")
    start_return(client, token, order_id, {line: "1"})
    [rma] = return_ids(stocked, order_id)
    response = submit(client, f"/orders/{order_id}/returns/{rma}/refund", token)
    assert response.status_code == 409
    assert 'role="alert"' in response.text


def test_starting_a_return_without_the_csrf_token_is_refused(
    client: TestClient, stocked: Container
) -> None:
    signed_in(client, stocked)
    order_id = delivered_order(stocked)
    line = line_of(stocked, order_id, "SKU-1")
    response = client.post(
        f"/orders/{order_id}/returns", data={f"qty-{line}": "1", "reason": "wrong size"}
    )
    assert response.status_code == 403
    assert return_ids(stocked, order_id) == []


def test_an_auditor_sees_the_returns_but_may_not_start_or_move_one(
    client: TestClient, stocked: Container
) -> None:
    ops_token = signed_in(client, stocked)
    order_id = delivered_order(stocked)
    line = line_of(stocked, order_id, "SKU-1")
    start_return(client, ops_token, order_id, {line: "1"})
    [rma] = return_ids(stocked, order_id)
    client.cookies.clear()
    token = signed_in(client, stocked, Role.AUDITOR, "eve")
    page = client.get(f"/orders/{order_id}").text
    assert "reason: wrong size" in page
    assert 'data-testid="start-return"' not in page
    assert "return-action-" not in page
    started = start_return(client, token, order_id, {line: "1"}, reason="again")
    assert started.status_code == 403
    moved = submit(client, f"/orders/{order_id}/returns/{rma}/authorize", token)
    assert moved.status_code == 403
    assert return_ids(stocked, order_id) == [rma]
    with stocked.uow(read_only=True) as uow:
        assert uow.after_sale.get_return(rma).rma.status.value == "requested"
