"""Editing an order in the dashboard: the form previews the cost and the route (writing
nothing), saves through the same service as the API, and refuses what the API refuses."""

from __future__ import annotations

from fastapi.testclient import TestClient

from orderhub.bootstrap import Container
from orderhub.domain.access import Role
from orderhub.services.allocation import allocate_order
from tests.conftest import native_order
from tests.integration.after_sale_support import dispatch, ship, snapshot
from tests.integration.dashboard_support import signed_in, submit
from tests.integration.edit_support import CA, NY, two_coasts, use_rules


def _order(client: TestClient, admin: dict[str, str], container: Container) -> dict[str, object]:
    two_coasts(container)
    use_rules(client, admin)
    order = client.post(
        "/v1/orders", json=native_order("D-1", shipping_address=NY), headers=admin
    ).json()
    with container.uow(actor="test") as uow:
        allocate_order(uow, order_id=order["id"])
    return dict(order)


def _fields(order: dict[str, object], **changes: str) -> dict[str, object]:
    lines = order["lines"]
    assert isinstance(lines, list)
    fields: dict[str, object] = {
        "line_id": [line["id"] for line in lines],
        "quantity": [str(line["quantity"]) for line in lines],
        **{k: v or "" for k, v in NY.items()},
        "method": "ground",
        "shipping_price": "4.99",
    }
    fields.update(changes)
    return fields


def test_the_preview_shows_the_new_total_and_the_move_then_saving_applies_it(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    order = _order(client, admin, seeded)
    token = signed_in(client, seeded, Role.SUPPORT)
    page = client.get(f"/orders/{order['id']}").text
    assert 'data-testid="edit-form"' in page
    assert 'name="add_unit_price"' not in page  # support may not set prices
    fields = _fields(order, **dict(CA.items()), add_sku="SKU-1", add_quantity="1")
    before = snapshot(seeded)
    shown = client.post(
        f"/orders/{order['id']}/edit/preview",
        data={**fields, "csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert shown.status_code == 200, shown.text
    assert 'data-testid="edit-new-total">42.39 USD' in shown.text  # 31.59 + 10.80
    assert "10.80 USD due from the buyer" in shown.text
    assert "east → west" in shown.text
    assert "(moves)" in shown.text
    assert "<html" not in shown.text  # a fragment for htmx
    after = snapshot(seeded)
    for state in (before, after):
        state.pop("web_sessions", None)
        state.pop("idempotency_keys", None)
    assert after == before
    saved = submit(client, f"/orders/{order['id']}/edit", token, fields)  # type: ignore[arg-type]
    assert saved.status_code == 200
    assert "The order was edited." in saved.text
    body = client.get(f"/v1/orders/{order['id']}", headers=admin).json()
    assert body["totals"]["total"] == "42.39"
    assert body["shipping_address"]["region"] == "CA"
    assert "order.edited" in saved.text  # the timeline shows it


def test_the_form_shows_why_an_edit_is_refused_and_needs_the_csrf_token(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    order = _order(client, admin, seeded)
    dispatch(seeded, str(order["id"]))
    ship(seeded, str(order["id"]))
    token = signed_in(client, seeded, Role.OPERATOR)
    fields = _fields(order, **dict(CA.items()))
    refused = client.post(f"/orders/{order['id']}/edit", data={**fields, "csrf_token": token})
    assert refused.status_code == 409
    assert "have shipped" in refused.text
    fragment = client.post(
        f"/orders/{order['id']}/edit/preview",
        data={**fields, "quantity": ["x", "1"], "csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert fragment.status_code == 200  # htmx swaps 2xx only: the fragment carries the reason
    assert "SKU-1 quantity: a whole number" in fragment.text
    no_token = client.post(f"/orders/{order['id']}/edit", data=fields, follow_redirects=False)
    assert no_token.status_code in (400, 403)


def test_a_warehouse_user_gets_no_edit_form_and_cannot_post_one(
    client: TestClient, admin: dict[str, str], seeded: Container
) -> None:
    order = _order(client, admin, seeded)
    token = signed_in(client, seeded, Role.WAREHOUSE, name="picker")
    assert 'data-testid="edit-form"' not in client.get(f"/orders/{order['id']}").text
    answer = client.post(
        f"/orders/{order['id']}/edit",
        data={**_fields(order, method="express"), "csrf_token": token},
        follow_redirects=False,
    )
    assert answer.status_code == 403
