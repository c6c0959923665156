"""Connector helpers the marketplace modules need, mirroring ``channels/base.py`` of the
``channels`` branch (same names, same signatures) until the integrator unifies them.

Merge note: every name here exists in ``orderhub.channels.base`` on the ``channels`` branch;
after the merge, ``from orderhub.channels._shared import X`` becomes
``from orderhub.channels.base import X`` and this module is deleted.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_DOWN, Decimal
from typing import Any

# The same classes as every connector's, so the webhook route's 401 catches TikTok's rejections
# and its orders go through ``receive_all`` like the others.
from orderhub.channels.base import ChannelOrder as ChannelOrder
from orderhub.channels.base import WebhookRejected as WebhookRejected
from orderhub.domain.errors import FieldError, NormalizationProblem, NotNormalizable
from orderhub.domain.money import Money, minor_unit_exponent, to_decimal
from orderhub.domain.orders import Address, OrderDraft


@dataclass(frozen=True)
class OutboundRequest:
    """A call to make on the channel: built purely here, sent later by the outbox worker.

    ``path`` is relative to the channel's ``api_base_url``; ``body`` is plain JSON.
    """

    method: str
    path: str
    body: dict[str, Any] | list[Any] | None = None


@dataclass(frozen=True)
class Tracking:
    """What a shipment tells the channel: carrier, tracking number and optional URL."""

    carrier: str
    number: str
    url: str | None = None


def envelope(channel: str, **parts: str) -> str:
    """Wrap the channel's raw text (kept verbatim as strings) with the channel code."""
    return json.dumps({"channel": channel, **parts}, sort_keys=True)


def open_envelope(payload: str) -> tuple[str, dict[str, str]]:
    data = json.loads(payload)
    channel = data.pop("channel")
    return str(channel), {str(k): v for k, v in data.items()}


def loads(raw: str | bytes) -> Any:
    """JSON with every fractional number read as ``Decimal`` from its text."""
    try:
        return json.loads(raw, parse_float=Decimal)
    except (ValueError, TypeError) as error:
        raise NotNormalizable(NormalizationProblem(f"not valid JSON: {error}")) from None


def dumps(data: Any) -> str:
    """JSON text of data read by :func:`loads`: a ``Decimal`` is written as its exact text.

    Used to keep one order out of a page of many: numbers become decimal strings, which every
    normalizer here reads exactly like the numbers they were.
    """
    return json.dumps(data, sort_keys=True, default=_exact)


def _exact(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot serialize {type(value).__name__}")


def dec(value: Any, *, field: str = "amount") -> Decimal:
    """A channel amount as Decimal: strings, ints and Decimals (from ``loads``); not floats."""
    if value is None or value == "":
        return Decimal(0)
    try:
        return to_decimal(value)
    except (TypeError, ValueError) as error:
        raise NotNormalizable(
            NormalizationProblem("bad amount", [FieldError((field,), str(error), "bad_amount")])
        ) from None


def money(value: Any, currency: str, *, field: str = "amount") -> Money:
    """Exact money: more decimals than the currency has (beyond zeros) is an error."""
    amount = dec(value, field=field)
    try:
        return Money(amount, currency)
    except ValueError as error:
        raise NotNormalizable(
            NormalizationProblem("bad amount", [FieldError((field,), str(error), "bad_amount")])
        ) from None


def unit_price_of(line_total: Money, quantity: int) -> Money:
    """A unit price whose multiple covers ``line_total`` (rounded up to the minor unit)."""
    quantum = Decimal(1).scaleb(-minor_unit_exponent(line_total.currency))
    unit = (line_total.amount / quantity).quantize(quantum, rounding=ROUND_CEILING)
    return Money(unit, line_total.currency)


def allocate(amount: Money, weights: Sequence[Money]) -> list[Money]:
    """Split ``amount`` over lines in proportion to ``weights``, to the cent, summing exactly."""
    currency = amount.currency
    total_weight = sum((w.amount for w in weights), Decimal(0))
    if not weights or total_weight == 0:
        return [Money.zero(currency) for _ in weights]
    quantum = Decimal(1).scaleb(-minor_unit_exponent(currency))
    exact = [amount.amount * w.amount / total_weight for w in weights]
    shares = [e.quantize(quantum, rounding=ROUND_DOWN) for e in exact]
    left = int((amount.amount - sum(shares, Decimal(0))) / quantum)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in order[:left]:
        shares[i] += quantum
    return [Money(s, currency) for s in shares]


def quantity(value: Any, *, field: str = "quantity") -> int:
    """A whole quantity from an int, ``"2"`` or ``Decimal("2.0000")``."""
    amount = dec(value, field=field)
    if amount != amount.to_integral_value() or amount <= 0:
        raise NotNormalizable(
            NormalizationProblem(
                "bad quantity",
                [
                    FieldError(
                        (field,), f"{amount} is not a positive whole quantity", "bad_quantity"
                    )
                ],
            )
        )
    return int(amount)


def parse_iso(value: str) -> datetime:
    """ISO 8601 with ``Z`` or an offset; without one it is taken as UTC."""
    text_ = value.strip().replace(" ", "T", 1)
    if text_.endswith("Z"):
        text_ = text_[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text_)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def from_epoch(value: Any, *, millis: bool = False) -> datetime:
    """Epoch seconds (Etsy, TikTok) or milliseconds (Walmart) as an aware UTC datetime."""
    number = int(value)
    return datetime.fromtimestamp(number / 1000 if millis else number, tz=UTC)


def iso_z(moment: datetime) -> str:
    """``2026-11-27T03:00:00Z``: the form every marketplace accepts in date filters."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def text(value: Any) -> str | None:
    """A trimmed string, or None for empty values."""
    if value is None:
        return None
    cleaned = str(value).strip()
    return cleaned or None


def address(
    *,
    country: Any,
    name: str | None = None,
    company: Any = None,
    line1: Any = None,
    line2: Any = None,
    city: Any = None,
    region: Any = None,
    postal_code: Any = None,
    phone: Any = None,
) -> Address | None:
    """An :class:`Address`, or None when the channel gave no country (no address at all)."""
    code = text(country)
    if not code:
        return None
    return Address(
        country=code.upper(),
        name=text(name),
        company=text(company),
        line1=text(line1),
        line2=text(line2),
        city=text(city),
        region=text(region),
        postal_code=text(postal_code),
        phone=text(phone),
    )


def problem_of(error: Exception, external_id: str | None) -> NormalizationProblem:
    """Why a payload could not become a draft, for quarantine."""
    if isinstance(error, NotNormalizable):
        return error.problem
    where = f" (order {external_id})" if external_id else ""
    return NormalizationProblem(f"unreadable payload{where}: {error!r}")


def channel_order(
    channel: str, source: str, external_id: str | None, payload: str, build: Any
) -> ChannelOrder:
    """Run ``build()`` (payload → draft); a failure becomes a quarantinable ChannelOrder."""
    try:
        draft: OrderDraft = build()
    except (NotNormalizable, KeyError, TypeError, ValueError, ArithmeticError) as error:
        return ChannelOrder(
            channel, source, external_id, payload, problem=problem_of(error, external_id)
        )
    return ChannelOrder(channel, source, external_id, payload, draft=draft)
