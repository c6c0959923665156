"""Money: an exact ``Decimal`` amount in an ISO 4217 currency, at that currency's minor unit.

Floats are refused outright: a binary float cannot hold most prices exactly, and a silently
rounded cent is how reconciliations drift. Amounts with more decimals than the currency allows are
refused too; callers that need rounding call :meth:`Money.rounded` and say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import cache
from typing import Self

# ISO 4217 minor units for every active currency code whose exponent is not 2.
_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE = "BHD IQD JOD KWD LYD OMR TND"
_FOUR = "CLF UYW"
# Active ISO 4217 codes with the usual two-decimal minor unit.
_TWO = """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN
    BZD CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP
    GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL
    MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK
    PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB
    TJS TMT TOP TRY TTD TWD TZS UAH USD UZS VES WST XCD YER ZAR ZMW ZWL"""

_EXPONENTS: dict[str, int] = {
    code: exponent
    for codes, exponent in ((_ZERO, 0), (_TWO, 2), (_THREE, 3), (_FOUR, 4))
    for code in codes.split()
}


def minor_unit_exponent(currency: str) -> int:
    """Decimal places of ``currency``'s minor unit (JPY 0, USD 2, KWD 3)."""
    try:
        return _EXPONENTS[currency]
    except KeyError:
        raise ValueError(f"unknown ISO 4217 currency {currency!r}") from None


_new = object.__new__
_set = object.__setattr__


@cache
def _quantum(currency: str) -> Decimal:
    """The currency's minor unit as a Decimal (0.01 for USD); every Money is built with it,
    an order's totals build dozens: worked out once per currency."""
    return Decimal(1).scaleb(-minor_unit_exponent(currency))


def is_currency(code: str) -> bool:
    return code in _EXPONENTS


def to_decimal(value: object) -> Decimal:
    """Parse a channel amount (``"12.50"``, ``12``, ``Decimal``) exactly; floats are refused."""
    if type(value) is str:  # the usual case, first: a JSON amount such as "12.50"
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"not a decimal amount: {value!r}") from None
        if not result.is_finite():
            raise ValueError(f"amount must be finite: {value!r}")
        return result
    if isinstance(value, (bool, float)):
        raise TypeError(f"money must not be a float or bool: {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int | str):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"not a decimal amount: {value!r}") from None
    else:
        raise TypeError(f"cannot read money from {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"amount must be finite: {value!r}")
    return result


@dataclass(frozen=True, slots=True, init=False)
class Money:
    amount: Decimal
    currency: str

    def __init__(self, amount: Decimal, currency: str) -> None:
        """The generated ``__init__`` plus ``__post_init__`` in one frame: an order ingested
        builds a score of Money."""
        if not isinstance(amount, Decimal):
            raise TypeError(f"Money amount must be Decimal, got {type(amount).__name__}")
        quantized = amount.quantize(_quantum(currency))
        if amount != quantized:
            raise ValueError(
                f"{amount} has more decimals than {currency} allows "
                f"({minor_unit_exponent(currency)})"
            )
        _set(self, "amount", quantized)
        _set(self, "currency", currency)

    @classmethod
    def of(cls, value: object, currency: str) -> Self:
        return cls(to_decimal(value), currency)

    @classmethod
    def zero(cls, currency: str) -> Self:
        return cls(Decimal(0), currency)

    @classmethod
    def rounded(cls, value: Decimal, currency: str) -> Self:
        """Round half to even (banker's rounding) to the currency's minor unit."""
        return cls(value.quantize(_quantum(currency), rounding=ROUND_HALF_EVEN), currency)

    def share(self, units: int, of: int) -> Self:
        """The part of this amount that belongs to ``units`` of ``of`` units, rounded half-even:
        how a line's discount and tax are split between its units (refunds, cancellations)."""
        return type(self).rounded(self.amount * units / of, self.currency)

    @classmethod
    def from_minor(cls, minor: int, currency: str) -> Self:
        return cls(Decimal(minor).scaleb(-minor_unit_exponent(currency)), currency)

    @property
    def minor(self) -> int:
        """The amount in minor units (cents): how it is stored."""
        return int(self.amount.scaleb(_EXPONENTS[self.currency]))  # known: it was built

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise ValueError(f"currency mismatch: {self.currency} vs {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return exact_sum(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return exact_sum(self.amount - other.amount, self.currency)

    def __mul__(self, quantity: int) -> Money:
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise TypeError("Money can only be multiplied by an integer quantity")
        return exact_sum(self.amount * quantity, self.currency)

    def __neg__(self) -> Money:
        return exact_sum(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def is_negative(self) -> bool:
        return self.amount < 0

    def __str__(self) -> str:
        """The API's form: a plain decimal string such as ``"52.48"``."""
        return f"{self.amount:f}"


def total(amounts: list[Money], currency: str) -> Money:
    """Sum that is well defined for an empty list."""
    result = Money.zero(currency)
    for amount in amounts:
        result = result + amount
    return result


_EXACT_BELOW = 23
"""An amount whose adjusted exponent (position of its leading digit) is below this has at most
27 digits at any minor unit (at most 4 decimals): exact in the default 28-digit context."""


def exact_sum(amount: Decimal, currency: str) -> Money:
    """Money from the sum, difference, negation or integer multiple of amounts already at
    ``currency``'s minor unit: exact Decimal arithmetic leaves it at that unit, so quantizing
    it again (the constructor) is skipped on the hot path: an order's totals add dozens. Only
    an amount too long to be exact in the context takes the constructor, which refuses it as
    it always did."""
    if amount.adjusted() >= _EXACT_BELOW:
        return Money(amount, currency)
    money: Money = _new(Money)
    _set(money, "amount", amount)
    _set(money, "currency", currency)
    return money
