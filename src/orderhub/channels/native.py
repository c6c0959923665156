"""The native channel: OrderHub's own JSON order schema, for apps, partners and the CLI.

Money fields take decimal strings (``"12.50"``) or integers; a JSON number with a fraction is
refused because it has already been through a binary float.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from orderhub.api.schemas.bounded import Amount, Flag, Quantity, Timestamp
from orderhub.domain.limits import MAX_DOCUMENT_LINES
from orderhub.domain.money import Money, is_currency, minor_unit_exponent
from orderhub.domain.orders import (
    HUB_METADATA_KEYS,
    Address,
    Customer,
    Delivery,
    DeliveryType,
    LineDraft,
    OrderDraft,
    Shipping,
)

SOURCE = "native"

NO_AMOUNT = Decimal(0)
"""The default of every amount a client may leave out: Pydantic hands this very object over,
so a draft gives all of an order's absent amounts one zero ``Money``."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AddressIn(_Strict):
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")
    name: str | None = Field(default=None, max_length=300)
    company: str | None = Field(default=None, max_length=300)
    line1: str | None = Field(default=None, max_length=300)
    line2: str | None = Field(default=None, max_length=300)
    city: str | None = Field(default=None, max_length=200)
    region: str | None = Field(default=None, max_length=100)
    postal_code: str | None = Field(default=None, max_length=32)
    phone: str | None = Field(default=None, max_length=64)

    def to_domain(self) -> Address:
        # The fields one by one: model_dump builds the same dict at several times the cost.
        return Address(
            country=self.country,
            name=self.name,
            company=self.company,
            line1=self.line1,
            line2=self.line2,
            city=self.city,
            region=self.region,
            postal_code=self.postal_code,
            phone=self.phone,
        )


class CustomerIn(_Strict):
    email: str | None = Field(
        default=None, max_length=320, pattern=r"^\s*[^@\s]+@[^@\s]+\.[^@\s]+\s*$"
    )
    name: str | None = Field(default=None, max_length=300)
    phone: str | None = Field(default=None, max_length=64)


class LineIn(_Strict):
    sku: str | None = Field(default=None, min_length=1, max_length=128, description="master SKU")
    channel_sku: str | None = Field(default=None, min_length=1, max_length=200)
    channel_line_id: str | None = Field(default=None, max_length=200)
    name: str | None = Field(default=None, max_length=300)
    quantity: Quantity
    unit_price: Amount
    discount: Amount = Field(default=NO_AMOUNT, description="total for the line")
    tax: Amount = Field(default=NO_AMOUNT, description="total for the line")

    @model_validator(mode="after")
    def _names_a_sku(self) -> LineIn:
        if not self.sku and not self.channel_sku:
            raise ValueError("a line needs sku or channel_sku")
        return self


class ShippingIn(_Strict):
    price: Amount = NO_AMOUNT
    tax: Amount = NO_AMOUNT
    discount: Amount = NO_AMOUNT
    method: str | None = Field(default=None, max_length=200)


class DeliveryIn(_Strict):
    """``{"type": "pickup", "location": "<store>"}``: the customer collects it at that store."""

    type: DeliveryType = DeliveryType.SHIP
    location: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")

    @model_validator(mode="after")
    def _pickup_names_a_store(self) -> DeliveryIn:
        if self.type == DeliveryType.PICKUP and not self.location:
            raise ValueError("a pick-up names the store's location code")
        if self.type == DeliveryType.SHIP and self.location:
            raise ValueError("location is for pick-up; a shipped order goes to shipping_address")
        return self

    def to_domain(self) -> Delivery:
        return Delivery(self.type, self.location)


class NativeOrder(_Strict):
    channel: str = Field(min_length=1, max_length=64)
    external_id: str = Field(min_length=1, max_length=200)
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217")
    placed_at: Timestamp
    customer: CustomerIn
    shipping_address: AddressIn | None = None
    billing_address: AddressIn | None = None
    lines: list[LineIn] = Field(min_length=1, max_length=MAX_DOCUMENT_LINES)
    shipping: ShippingIn = Field(default_factory=ShippingIn)
    prices_include_tax: Flag = False
    metadata: dict[str, Any] = Field(default_factory=dict)
    delivery: DeliveryIn | None = None

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str, _info: ValidationInfo) -> str:
        if not is_currency(value):
            raise ValueError(f"unknown ISO 4217 currency {value!r}")
        return value

    @model_validator(mode="after")
    def _no_hub_flags(self) -> NativeOrder:
        """The hub's own flags (``skip_allocation`` …) are set by its adapters, never a client."""
        if HUB_METADATA_KEYS.isdisjoint(self.metadata):
            return self
        taken = sorted(HUB_METADATA_KEYS & self.metadata.keys())
        if taken:
            raise ValidationError.from_exception_data(
                "NativeOrder",
                [
                    InitErrorDetails(
                        type=PydanticCustomError(
                            "reserved_key", "{key} is set by the hub, not by clients", {"key": key}
                        ),
                        loc=("metadata", key),
                        input=self.metadata[key],
                    )
                    for key in taken
                ],
            )
        return self

    @model_validator(mode="after")
    def _amounts_fit_currency(self) -> NativeOrder:
        if not is_currency(self.currency):
            return self
        if _all_fit(self, Money.zero(self.currency).amount):  # 0.00: the minor unit
            return self
        places = minor_unit_exponent(self.currency)
        quantum = Decimal(1).scaleb(-places)
        too_fine: list[tuple[str | int, ...]] = [
            ("lines", i, name)
            for i, line in enumerate(self.lines)
            for name in ("unit_price", "discount", "tax")
            if _too_fine(getattr(line, name), places, quantum)
        ] + [
            ("shipping", name)
            for name in ("price", "tax", "discount")
            if _too_fine(getattr(self.shipping, name), places, quantum)
        ]
        if too_fine:
            raise ValidationError.from_exception_data(
                "NativeOrder",
                [
                    InitErrorDetails(
                        type=PydanticCustomError(
                            "decimal_places",
                            "{currency} amounts take at most {places} decimals",
                            {"currency": self.currency, "places": places},
                        ),
                        loc=loc,
                        input=None,
                    )
                    for loc in too_fine
                ],
            )
        return self

    def to_draft(self) -> OrderDraft:
        # An order has a dozen amounts and a batch a thousand orders: each is Money by its
        # constructor (it quantizes to the minor unit), but those left out share one zero.
        cur = self.currency
        zero = Money.zero(cur)

        def money(value: Decimal) -> Money:
            return zero if value is NO_AMOUNT else Money(value, cur)

        shipping = self.shipping
        customer = self.customer
        return OrderDraft(
            channel=self.channel,
            external_id=self.external_id,
            currency=cur,
            placed_at=self.placed_at,
            customer=Customer(email=customer.email, name=customer.name, phone=customer.phone),
            shipping_address=self.shipping_address.to_domain() if self.shipping_address else None,
            billing_address=self.billing_address.to_domain() if self.billing_address else None,
            lines=tuple(
                [
                    LineDraft(
                        sku=line.sku,
                        channel_sku=line.channel_sku,
                        channel_line_id=line.channel_line_id,
                        name=line.name,
                        quantity=line.quantity,
                        unit_price=money(line.unit_price),
                        discount=money(line.discount),
                        tax=money(line.tax),
                    )
                    for line in self.lines
                ]
            ),
            shipping=Shipping(
                price=money(shipping.price),
                tax=money(shipping.tax),
                discount=money(shipping.discount),
                method=shipping.method,
            ),
            prices_include_tax=self.prices_include_tax,
            metadata=self.metadata,
            delivery=self.delivery.to_domain() if self.delivery else None,
        )


def _all_fit(order: NativeOrder, quantum: Decimal) -> bool:
    """Whether every amount of ``order`` is at ``quantum`` already (rounding leaves it equal):
    the usual order, answered in one loop; one that is not, or cannot be rounded, is looked
    at amount by amount by :func:`_too_fine` to name each field."""
    shipping = order.shipping
    try:
        for line in order.lines:
            for value in (line.unit_price, line.discount, line.tax):
                if value.quantize(quantum) != value:
                    return False
        for value in (shipping.price, shipping.tax, shipping.discount):
            if value.quantize(quantum) != value:
                return False
    except InvalidOperation:
        return False
    return True


def _decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _too_fine(value: Decimal, places: int, quantum: Decimal) -> bool:
    """More significant decimals than ``places`` (``quantum`` = 10**-places), as
    :func:`_decimals` counts them: then rounding to the quantum changes the value, which is
    cheaper to find out. A bounded amount (``Amount``) always fits the context to round in;
    anything else is counted."""
    try:
        return value.quantize(quantum) != value
    except InvalidOperation:
        return _decimals(value) > places


def parse(payload: str) -> OrderDraft:
    """Re-read a stored native payload (quarantine replay)."""
    return NativeOrder.model_validate_json(payload).to_draft()
