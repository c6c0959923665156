"""What every channel connector shares: the inbound Protocol and the exact-money helpers.

A connector turns its channel's own text into :class:`ChannelOrder` items (a normalized
``OrderDraft`` plus what the channel says happened to the order: created, updated, cancelled).
The raw text is kept in an *envelope* that also names the channel, so that quarantine replay
(``PayloadParser = Callable[[str], OrderDraft]``) re-reads exactly what the channel sent.

Money is parsed from the text, never through a binary float: bodies are read with
``json.loads(raw, parse_float=Decimal)``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_DOWN, Decimal
from typing import Any, Protocol

from orderhub.domain.errors import FieldError, NormalizationProblem, NotNormalizable
from orderhub.domain.money import Money, minor_unit_exponent, to_decimal
from orderhub.domain.orders import Address, OrderDraft


class WebhookRejected(Exception):
    """The delivery is not authentic (bad or missing signature): answer 401, store nothing."""


@dataclass(frozen=True)
class ChannelOrder:
    """One order as a channel reported it: the draft, or why it could not be normalized."""

    channel: str
    source: str
    external_id: str | None
    payload: str  # the envelope, replayable through channels.registry
    draft: OrderDraft | None = None
    problem: NormalizationProblem | None = None
    cancelled: bool = False
    cancel_reason: str = "cancelled on the channel"


class InboundChannel(Protocol):
    """A push-style connector: verify a webhook, then read the orders it carries."""

    source: str

    def verify(self, *, secret: str, body: bytes, headers: Mapping[str, str]) -> None:
        """Raise :class:`WebhookRejected` unless the delivery is authentic."""
        ...

    def parse(self, payload: str) -> OrderDraft:
        """Re-read an envelope (quarantine replay); raises ``NotNormalizable``."""
        ...


# --- envelopes ---------------------------------------------------------------------------


def envelope(channel: str, **parts: str) -> str:
    """Wrap the channel's raw text (kept verbatim as strings) with the channel code."""
    return json.dumps({"channel": channel, **parts}, sort_keys=True)


def open_envelope(payload: str) -> tuple[str, dict[str, str]]:
    data = json.loads(payload)
    channel = data.pop("channel")
    return str(channel), {str(k): v for k, v in data.items()}


@dataclass(frozen=True)
class Delivery:
    """What a webhook delivery says about itself: the platform's id for it (the same on every
    retry, so a repeat can be recognised) and when the platform sent it. Either may be absent."""

    id: str | None = None
    sent_at: datetime | None = None


def maybe_time(parse: Callable[[Any], datetime], value: Any) -> datetime | None:
    """``parse(value)``, or None when the value is absent or unreadable: a delivery's time is a
    hint for refusing stale repeats, never a reason to lose an order."""
    if value is None or value == "":
        return None
    try:
        return parse(value)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def json_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, or an empty one when it is not."""
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def loads(raw: str | bytes) -> Any:
    """JSON with every fractional number read as ``Decimal`` from its text."""
    try:
        return json.loads(raw, parse_float=Decimal)
    except (ValueError, TypeError) as error:
        raise NotNormalizable(NormalizationProblem(f"not valid JSON: {error}")) from None


# --- signatures --------------------------------------------------------------------------


def hmac_sha256_base64(secret: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def require_hmac_base64(
    *, secret: str, body: bytes, headers: Mapping[str, str], header: str
) -> None:
    """Compare ``header`` with the base64 HMAC-SHA256 of the raw body, in constant time."""
    given = headers.get(header.lower(), "").strip()
    if not given or not hmac.compare_digest(
        given.encode(), hmac_sha256_base64(secret, body).encode()
    ):
        raise WebhookRejected(f"{header} does not match the body")


# --- money -------------------------------------------------------------------------------


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


def money_rounded(value: Any, currency: str, *, field: str = "amount") -> Money:
    """For channels that send four decimals (BigCommerce): round half-even to the minor unit."""
    return Money.rounded(dec(value, field=field), currency)


def unit_price_of(line_total: Money, quantity: int) -> Money:
    """A unit price whose multiple covers ``line_total`` (rounded up to the minor unit).

    When the line total does not divide evenly, the few cents of difference go to the line's
    discount, so the line's net amount stays exactly the channel's.
    """
    quantum = Decimal(1).scaleb(-minor_unit_exponent(line_total.currency))
    unit = (line_total.amount / quantity).quantize(quantum, rounding=ROUND_CEILING)
    return Money(unit, line_total.currency)


def allocate(amount: Money, weights: Sequence[Money]) -> list[Money]:
    """Split ``amount`` over lines in proportion to ``weights``, to the cent, summing exactly.

    Largest remainder: every share is rounded down, then the cents left over go to the lines
    with the largest remainders (earliest first on ties). Zero weights get nothing.
    """
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


def quantity(value: Any, *, field: str = "quantity", positive: bool = False) -> int:
    """A whole quantity from an int, ``"2"`` or ``Decimal("2.0000")``.

    The marketplace connectors ask for ``positive``: a line of zero or fewer units is then a
    bad quantity here (most of them divide by it); the web-store connectors leave that to the
    order's own checks.
    """
    amount = dec(value, field=field)
    if amount == amount.to_integral_value() and (amount > 0 or not positive):
        return int(amount)
    reason, rule = (
        ("bad quantity", "positive whole") if positive else ("fractional quantity", "whole")
    )
    raise NotNormalizable(
        NormalizationProblem(
            reason, [FieldError((field,), f"{amount} is not a {rule} quantity", "bad_quantity")]
        )
    )


# --- dates and addresses -----------------------------------------------------------------


def parse_iso(value: str, *, naive_is_utc: bool = True) -> datetime:
    """ISO 8601 with an offset, or without one (WooCommerce ``_gmt``, Magento): taken as UTC."""
    text = value.strip().replace(" ", "T", 1)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        if not naive_is_utc:
            raise ValueError(f"{value!r} has no time zone")
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def text(value: Any) -> str | None:
    """A trimmed string, or None for empty values."""
    if value is None:
        return None
    cleaned = str(value).strip()
    return cleaned or None


def full_name(*parts: Any) -> str | None:
    return text(" ".join(p for p in (text(x) for x in parts) if p))


def address(
    *,
    country: Any,
    name: Any = None,
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


# --- outbound ------------------------------------------------------------------------------


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


def checked(draft: OrderDraft) -> OrderDraft:
    """Note in the metadata whether the hub's total equals the total the channel stated.

    A mismatch is not refused (the channel is the record of what the buyer paid) but is kept
    visible as ``channel_total_matches: false`` so normalization drift shows up in reports.
    """
    stated = draft.metadata.get("channel_total")
    if stated is None:
        return draft
    c = draft.currency
    subtotal = sum((ln.unit_price.amount * ln.quantity for ln in draft.lines), Decimal(0))
    discount = sum((ln.discount.amount for ln in draft.lines), draft.shipping.discount.amount)
    tax = sum((ln.tax.amount for ln in draft.lines), draft.shipping.tax.amount)
    grand = subtotal - discount + draft.shipping.price.amount
    if not draft.prices_include_tax:
        grand += tax
    matches = Money(grand, c) == Money(dec(stated), c)
    return replace(draft, metadata={**draft.metadata, "channel_total_matches": matches})
