"""Order edits after placement: a new address, lines added, quantities changed, shipping changed.

An edit is checked whole before anything moves (:func:`prepare_edit`), then applied to the
order (:func:`apply_edit`), which returns the before/after difference the history keeps. The
money rules are the refund rules read the other way round:

- a quantity lowered cancels units (``cancelled_quantity``): the line keeps what was paid and
  a refund of those units gives back their exact share of discount and tax;
- a quantity raised adds units at the line's unit price, with its per-unit share of discount
  and tax (rounded half-even, as :meth:`Money.share` splits them);
- an added line takes the price of the order's line of the same SKU; any other price is an
  override (the API checks the permission, as for exchanges).

Stock, fulfilment orders and the ledger are the service's (``services/editing.py``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, replace
from decimal import Decimal
from typing import Any

from orderhub.domain import limits
from orderhub.domain.errors import Conflict, FieldError, ValidationFailed
from orderhub.domain.ids import new_id
from orderhub.domain.money import Money
from orderhub.domain.orders import (
    OPEN_STATUSES,
    Address,
    LineStatus,
    Order,
    OrderLine,
    Shipping,
    Totals,
)

_SHIPPED = (LineStatus.SHIPPED, LineStatus.DELIVERED)


@dataclass(frozen=True)
class AddLine:
    """A line to add. ``unit_price``, ``tax`` and ``discount`` (line totals) are set only to
    price it by hand: an override."""

    sku: str
    quantity: int
    unit_price: Decimal | None = None
    tax: Decimal | None = None
    discount: Decimal | None = None

    @property
    def overrides_price(self) -> bool:
        return any(x is not None for x in (self.unit_price, self.tax, self.discount))


@dataclass(frozen=True)
class ChangeLine:
    """The units of the line wanted from now on (``0`` removes the line)."""

    line_id: str
    quantity: int


@dataclass(frozen=True)
class ShippingChange:
    """What changes about shipping; ``None`` leaves that part as it is."""

    method: str | None = None
    price: Decimal | None = None
    tax: Decimal | None = None
    discount: Decimal | None = None

    @property
    def changes_money(self) -> bool:
        return any(x is not None for x in (self.price, self.tax, self.discount))


@dataclass(frozen=True)
class OrderEdit:
    shipping_address: Address | None = None
    add_lines: tuple[AddLine, ...] = ()
    change_lines: tuple[ChangeLine, ...] = ()
    shipping: ShippingChange | None = None
    reason: str | None = None

    @property
    def overrides_price(self) -> bool:
        return any(line.overrides_price for line in self.add_lines)


class EditRefused(Conflict):
    """The order cannot be edited as asked: a line shipped, a fulfilment can no longer change,
    a provider said no, or the stock is not there. Cancelling and placing a new order is the
    way out; the problem says so (``cancel_and_replace``)."""

    code = "edit_refused"

    def __init__(
        self,
        detail: str,
        *,
        order_id: str,
        lines: Collection[str] = (),
        fulfilment_id: str | None = None,
        reason: str = "edit_refused",
    ) -> None:
        super().__init__(detail)
        self.order_id = order_id
        self.lines = sorted(lines)
        self.fulfilment_id = fulfilment_id
        self.reason = reason

    def extensions(self) -> dict[str, Any]:
        found: dict[str, Any] = {"reason": self.reason, "lines": self.lines}
        if self.fulfilment_id:
            found["fulfilment_id"] = self.fulfilment_id
        found["cancel_and_replace"] = {
            "hint": "cancel the order (or the lines) and place a new order with the changes",
            "cancel": f"/v1/orders/{self.order_id}/cancel",
            "create": "/v1/orders",
        }
        return found


@dataclass(frozen=True)
class PricedLine:
    sku: str
    quantity: int
    unit_price: Money
    discount: Money
    tax: Money
    name: str | None = None


@dataclass(frozen=True)
class PreparedEdit:
    """An edit that passed every check: what :func:`apply_edit` will do."""

    edit: OrderEdit
    changes: dict[str, int]  # line id → units wanted, only the lines whose units change
    added: tuple[PricedLine, ...]
    address_changed: bool
    method_changed: bool
    money_changed: bool

    @property
    def touched(self) -> frozenset[str]:
        """Lines whose units change: their reservations go and they are routed again."""
        return frozenset(self.changes)


@dataclass(frozen=True)
class AppliedEdit:
    prepared: PreparedEdit
    new_line_ids: tuple[str, ...]
    before: Totals
    after: Totals
    diff: dict[str, Any]

    @property
    def difference(self) -> Money:
        """After − before: positive, due from the buyer; negative, owed to them."""
        return self.after.total - self.before.total


def refuse_closed(order: Order) -> None:
    """Only an open order (nothing shipped, not cancelled) can be edited."""
    if order.status in OPEN_STATUSES:
        return
    shipped = [line for line in order.lines if line.status in _SHIPPED]
    if shipped:
        names = ", ".join(f"{line.id} ({line.sku})" for line in shipped)
        raise EditRefused(
            f"these lines have shipped: {names}; the order can no longer be edited",
            order_id=order.id,
            lines=[line.id for line in shipped],
            reason="shipped",
        )
    raise EditRefused(
        f"the order is {order.status.value}: it can no longer be edited",
        order_id=order.id,
        reason=order.status.value,
    )


def _money(
    value: Decimal, currency: str, loc: tuple[str | int, ...], problems: list[FieldError]
) -> Money | None:
    try:
        return Money(value, currency)
    except ValueError:
        problems.append(FieldError(loc, f"more decimals than {currency} allows", "precision"))
        return None


def _price(
    order: Order, add: AddLine, index: int, name: str | None, problems: list[FieldError]
) -> PricedLine | None:
    c = order.currency
    loc: tuple[str | int, ...] = ("add_lines", index)
    source = next((line for line in order.lines if line.sku == add.sku), None)
    if add.unit_price is None and source is None:
        problems.append(
            FieldError(
                (*loc, "unit_price"),
                f"{add.sku!r} is not on the order: give unit_price "
                "(needs the returns:override_price permission)",
                "price_required",
            )
        )
        return None
    if add.unit_price is not None:
        unit = _money(add.unit_price, c, (*loc, "unit_price"), problems)
        discount = _money(add.discount or Decimal(0), c, (*loc, "discount"), problems)
        tax = _money(add.tax or Decimal(0), c, (*loc, "tax"), problems)
    else:
        assert source is not None
        unit = source.unit_price
        discount = (
            _money(add.discount, c, (*loc, "discount"), problems)
            if add.discount is not None
            else source.discount.share(add.quantity, source.quantity)
        )
        tax = (
            _money(add.tax, c, (*loc, "tax"), problems)
            if add.tax is not None
            else source.tax.share(add.quantity, source.quantity)
        )
    if unit is None or discount is None or tax is None:
        return None
    if discount.amount > (unit * add.quantity).amount:
        problems.append(FieldError((*loc, "discount"), "exceeds the line's gross amount"))
        return None
    return PricedLine(add.sku, add.quantity, unit, discount, tax, name)


def prepare_edit(
    order: Order,
    edit: OrderEdit,
    *,
    known_skus: Collection[str],
    names: Mapping[str, str] | None = None,
    refunded_units: Mapping[str, int] | None = None,
) -> PreparedEdit:
    """Check the whole edit against the order; raises :class:`EditRefused` (409) or
    :class:`ValidationFailed` (422, every failing field named) and changes nothing."""
    refuse_closed(order)
    refunded = refunded_units or {}
    problems: list[FieldError] = []
    changes: dict[str, int] = {}
    ids = {line.id for line in order.lines}
    for index, change in enumerate(edit.change_lines):
        loc: tuple[str | int, ...] = ("change_lines", index)
        if change.line_id not in ids:
            problems.append(
                FieldError((*loc, "line_id"), "not a line of this order", "unknown_line")
            )
            continue
        if change.line_id in changes or any(
            c.line_id == change.line_id for c in edit.change_lines[:index]
        ):
            problems.append(FieldError((*loc, "line_id"), "listed twice", "duplicate"))
            continue
        line = order.line(change.line_id)
        if change.quantity == line.open_quantity:
            continue
        if line.status == LineStatus.CANCELLED:
            problems.append(
                FieldError((*loc, "line_id"), "the line is cancelled: add a new line", "cancelled")
            )
        elif change.quantity > line.open_quantity and refunded.get(line.id, 0):
            problems.append(
                FieldError(
                    (*loc, "quantity"),
                    "units of this line were refunded: add a new line instead",
                    "refunded",
                )
            )
        elif change.quantity - line.open_quantity + line.quantity > limits.MAX_QUANTITY:
            problems.append(
                FieldError((*loc, "quantity"), f"at most {limits.MAX_QUANTITY:,}", "too_large")
            )
        else:
            changes[line.id] = change.quantity
    added: list[PricedLine] = []
    for index, add in enumerate(edit.add_lines):
        if add.sku not in known_skus:
            problems.append(FieldError(("add_lines", index, "sku"), "unknown SKU", "unknown_sku"))
            continue
        priced = _price(order, add, index, (names or {}).get(add.sku), problems)
        if priced is not None:
            added.append(priced)
    ship = edit.shipping or ShippingChange()
    for name in ("price", "tax", "discount"):
        value = getattr(ship, name)
        if value is not None:
            _money(value, order.currency, ("shipping", name), problems)
    if len(order.lines) + len(edit.add_lines) > limits.MAX_DOCUMENT_LINES:
        problems.append(
            FieldError(("add_lines",), f"at most {limits.MAX_DOCUMENT_LINES} lines", "too_long")
        )
    left = sum(changes.get(line.id, line.open_quantity) for line in order.lines)
    if not problems and left + sum(x.quantity for x in added) == 0:
        problems.append(
            FieldError(
                ("change_lines",),
                "an edit cannot remove every unit: cancel the order instead",
                "empty_order",
            )
        )
    if problems:
        raise ValidationFailed("the edit cannot be applied", problems)
    address_changed = (
        edit.shipping_address is not None and edit.shipping_address != order.shipping_address
    )
    method_changed = ship.method is not None and ship.method != order.shipping.method
    money_changed = bool(changes or added) or (
        (ship.price is not None and ship.price != order.shipping.price.amount)
        or (ship.tax is not None and ship.tax != order.shipping.tax.amount)
        or (ship.discount is not None and ship.discount != order.shipping.discount.amount)
    )
    prepared = PreparedEdit(
        edit, changes, tuple(added), address_changed, method_changed, money_changed
    )
    if not (changes or added or address_changed or method_changed or money_changed):
        raise ValidationFailed(
            "the edit changes nothing",
            [FieldError((), "give a new address, lines or shipping that differ", "empty")],
        )
    _check_total(order, prepared)
    return prepared


def _check_total(order: Order, prepared: PreparedEdit) -> None:
    """The edited order stays within the hub's bounds (the widest total, as at ingest)."""
    gross = Decimal(0)
    for line in order.lines:
        units = line.quantity + max(0, prepared.changes.get(line.id, 0) - line.open_quantity)
        gross += line.unit_price.amount * units + line.tax.amount
    for x in prepared.added:
        gross += x.unit_price.amount * x.quantity + x.tax.amount
    ship = prepared.edit.shipping or ShippingChange()
    gross += ship.price if ship.price is not None else order.shipping.price.amount
    gross += ship.tax if ship.tax is not None else order.shipping.tax.amount
    if gross > limits.MAX_ORDER_TOTAL:
        raise ValidationFailed(
            "the edited order is too large",
            [
                FieldError(
                    ("add_lines",),
                    f"the order's total would exceed {limits.MAX_ORDER_TOTAL:,}",
                    "too_large",
                )
            ],
        )


def _address_json(address: Address | None) -> dict[str, Any] | None:
    return None if address is None else {k: v for k, v in asdict(address).items() if v is not None}


def _shipping_json(shipping: Shipping) -> dict[str, Any]:
    return {
        "method": shipping.method,
        "price": str(shipping.price),
        "tax": str(shipping.tax),
        "discount": str(shipping.discount),
    }


def totals_json(totals: Totals) -> dict[str, str]:
    return {
        "subtotal": str(totals.subtotal),
        "discount": str(totals.discount),
        "shipping": str(totals.shipping),
        "tax": str(totals.tax),
        "total": str(totals.total),
    }


def apply_edit(order: Order, prepared: PreparedEdit) -> AppliedEdit:
    """Change the order as prepared; returns the before/after difference. Line and order
    statuses change only where units are cancelled (the service routes the rest)."""
    before = order.totals
    old_shipping, old_address = order.shipping, order.shipping_address
    line_diff = []
    for line_id, wanted in prepared.changes.items():
        line = order.line(line_id)
        was = line.open_quantity
        if wanted < was:
            line.cancelled_quantity += was - wanted
            if line.open_quantity == 0:
                order.set_line_status(line.id, LineStatus.CANCELLED)
        else:
            more = wanted - was
            line.discount = line.discount + line.discount.share(more, line.quantity)
            line.tax = line.tax + line.tax.share(more, line.quantity)
            line.quantity += more
        line_diff.append({"line_id": line.id, "sku": line.sku, "before": was, "after": wanted})
    new_ids = []
    added = []
    for x in prepared.added:
        line = OrderLine(new_id(), x.sku, x.quantity, x.unit_price, x.discount, x.tax, name=x.name)
        order.lines.append(line)
        new_ids.append(line.id)
        added.append(
            {
                "line_id": line.id,
                "sku": x.sku,
                "quantity": x.quantity,
                "unit_price": str(x.unit_price),
                "discount": str(x.discount),
                "tax": str(x.tax),
            }
        )
    edit = prepared.edit
    if prepared.address_changed:
        order.shipping_address = edit.shipping_address
    if edit.shipping is not None:
        s, c = edit.shipping, order.currency
        order.shipping = replace(
            order.shipping,
            method=s.method if s.method is not None else order.shipping.method,
            price=Money(s.price, c) if s.price is not None else order.shipping.price,
            tax=Money(s.tax, c) if s.tax is not None else order.shipping.tax,
            discount=Money(s.discount, c) if s.discount is not None else order.shipping.discount,
        )
    after = order.totals
    diff: dict[str, Any] = {}
    if line_diff:
        diff["lines"] = line_diff
    if added:
        diff["added_lines"] = added
    if prepared.address_changed:
        diff["shipping_address"] = {
            "before": _address_json(old_address),
            "after": _address_json(order.shipping_address),
        }
    if order.shipping != old_shipping:
        diff["shipping"] = {
            "before": _shipping_json(old_shipping),
            "after": _shipping_json(order.shipping),
        }
    diff["totals"] = {"before": totals_json(before), "after": totals_json(after)}
    return AppliedEdit(prepared, tuple(new_ids), before, after, diff)
