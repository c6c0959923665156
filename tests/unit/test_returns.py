"""Returns: policy checks and the RMA state machine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orderhub.domain.errors import IllegalTransition, ValidationFailed
from orderhub.domain.orders import receive_order
from orderhub.domain.returns import Disposition, ReturnPolicy, ReturnStatus, request_return
from tests.unit.test_orders import draft

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _order_and_lines() -> tuple[object, str, str]:
    order = receive_order(draft())
    return order, order.lines[0].id, order.lines[1].id


def test_a_return_inside_the_window_is_requested_and_records_an_event() -> None:
    order, a, _b = _order_and_lines()
    rma = request_return(
        order, {a: 1}, reason="too small", policy=ReturnPolicy(window_days=30),
        delivered_at=NOW - timedelta(days=29), now=NOW, shipped={a: 2}, already_returned={},
    )  # fmt: skip
    assert rma.status == ReturnStatus.REQUESTED
    assert rma.events[0].data()["units"] == {a: 1}


def test_policy_refuses_late_returns_non_returnable_skus_and_too_many_units() -> None:
    order, a, b = _order_and_lines()
    with pytest.raises(ValidationFailed) as error:
        request_return(
            order, {a: 2, b: 1}, reason="x",
            policy=ReturnPolicy(window_days=14, non_returnable_skus=frozenset({"B"})),
            delivered_at=NOW - timedelta(days=15), now=NOW, shipped={a: 2, b: 1},
            already_returned={a: 1},
        )  # fmt: skip
    codes = {(f.field, f.code) for f in error.value.fields}
    assert codes == {
        ("lines", "window_closed"),
        ("lines.0.quantity", "quantity"),
        ("lines.1.line_id", "not_returnable"),
    }


def test_the_lifecycle_runs_in_order_and_inspection_decides_restock() -> None:
    order, a, b = _order_and_lines()
    rma = request_return(
        order, {a: 2, b: 1}, reason="damaged", policy=ReturnPolicy(), delivered_at=None,
        now=NOW, shipped={a: 2, b: 1}, already_returned={},
    )  # fmt: skip
    with pytest.raises(IllegalTransition):
        rma.receive()
    rma.authorize()
    rma.ship_back(tracking="1Z999")
    rma.receive()
    with pytest.raises(ValidationFailed):
        rma.inspect({a: Disposition.RESTOCK})
    rma.inspect({a: Disposition.RESTOCK, b: Disposition.DAMAGED})
    assert rma.restock == {"A": 2}
    rma.close()
    assert [e.data()["to_status"] for e in rma.events[1:]] == [
        "authorized", "in_transit", "received", "inspected", "closed",
    ]  # fmt: skip
