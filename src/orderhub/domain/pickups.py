"""Pick-up in store (BOPIS): the store picks the order, puts it ready, hands it over on a code.

A pick-up belongs to the one fulfilment order of a pick-up order at its store and moves only
along :data:`PICKUP_TRANSITIONS`::

    picking → ready_for_pickup → picked_up
                      ↘ expired     (not collected within the store's pickup_hold_days)
    picking/ready_for_pickup → cancelled   (the order was cancelled)

The customer proves who they are with a random code the hub issues (to the channel, which
tells the customer); only a salted, slow hash of it is kept, so neither the database nor the
order's history can hand the goods to someone else.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from orderhub.domain import events
from orderhub.domain.allocation import AllocationPlan, AllocationRequest, Pick
from orderhub.domain.errors import Conflict, FieldError, IllegalTransition, ValidationFailed
from orderhub.domain.locations import Location


class PickupStatus(StrEnum):
    PICKING = "picking"
    READY = "ready_for_pickup"
    PICKED_UP = "picked_up"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


_P = PickupStatus
PICKUP_TRANSITIONS: dict[PickupStatus, frozenset[PickupStatus]] = {
    _P.PICKING: frozenset({_P.READY, _P.CANCELLED}),
    _P.READY: frozenset({_P.PICKED_UP, _P.EXPIRED, _P.CANCELLED}),
    _P.PICKED_UP: frozenset(),
    _P.EXPIRED: frozenset(),
    _P.CANCELLED: frozenset(),
}
OPEN = frozenset({_P.PICKING, _P.READY})

# No 0/O, 1/I/L: read aloud or typed from a phone without mistakes; 8 of 31 ≈ 2^39.6.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
_ITERATIONS = 120_000  # PBKDF2-SHA256: a stolen hash costs real time per guess


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(code: str) -> str:
    """What the customer shows, as compared: case, spaces and dashes do not matter."""
    return code.strip().upper().replace("-", "").replace(" ", "")


def hash_code(code: str, *, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", normalize_code(code).encode(), salt, _ITERATIONS)
    return f"pbkdf2_sha256${_ITERATIONS}${salt.hex()}${digest.hex()}"


def code_matches(code: str, stored: str | None) -> bool:
    if not stored:
        return False
    try:
        scheme, iterations, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "pbkdf2_sha256":
        return False
    candidate = hashlib.pbkdf2_hmac(
        "sha256", normalize_code(code).encode(), bytes.fromhex(salt), int(iterations)
    )
    return hmac.compare_digest(candidate.hex(), digest)


class WrongPickupCode(ValidationFailed):
    """The code shown at the counter is not this pick-up's: nothing is handed over."""

    def __init__(self) -> None:
        super().__init__(
            "the pick-up code does not match",
            [FieldError(("code",), "not this order's pick-up code", "wrong_pickup_code")],
        )


class PickupCodeLocked(Conflict):
    """Too many wrong codes were shown for this pick-up: it takes none, not even the right one,
    until the channel issues a fresh code (``POST /v1/pickups/{id}/code``)."""

    code = "pickup_code_locked"

    def __init__(self) -> None:
        super().__init__(
            f"{MAX_CODE_FAILURES} wrong pick-up codes were shown: issue the customer a fresh code"
        )


MAX_CODE_FAILURES = 5  # wrong codes a pick-up takes; 31^8 codes leave a guesser 5 in 8.5e11


@dataclass
class Pickup:
    fulfilment_id: str
    order_id: str
    location: str
    created_at: datetime
    status: PickupStatus = PickupStatus.PICKING
    code_hash: str | None = None
    code_failures: int = 0  # wrong codes shown since the code was issued
    ready_at: datetime | None = None
    expires_at: datetime | None = None
    picked_up_at: datetime | None = None
    closed_at: datetime | None = None
    version: int = 0
    events: list[events.DomainEvent] = field(default_factory=list, repr=False, compare=False)

    @property
    def code_locked(self) -> bool:
        return self.code_failures >= MAX_CODE_FAILURES

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    def overdue(self, now: datetime) -> bool:
        """Ready, and its collection window has passed (the worker will expire it)."""
        return (
            self.status == PickupStatus.READY
            and self.expires_at is not None
            and now >= self.expires_at
        )

    def _move(self, target: PickupStatus) -> None:
        if target not in PICKUP_TRANSITIONS[self.status]:
            raise IllegalTransition("pickup", self.status.value, target.value)
        self.status = target

    def issue_code(self) -> str:
        """A fresh code for the customer (the previous one stops working); returned once."""
        if not self.is_open:
            raise IllegalTransition("pickup", self.status.value, "a new code")
        code = new_code()
        self.code_hash = hash_code(code)
        self.code_failures = 0
        return code

    def mark_ready(self, *, now: datetime, hold_days: int) -> None:
        self._move(PickupStatus.READY)
        self.ready_at = now
        self.expires_at = now + timedelta(days=hold_days)
        self.events.append(
            events.OrderReadyForPickup(
                self.order_id, self.fulfilment_id, self.location, self.expires_at
            )
        )

    def hand_over(self, *, code: str, now: datetime) -> None:
        """The customer is at the counter: the code must match, or nothing moves but the count
        of wrong codes (the caller keeps it); after :data:`MAX_CODE_FAILURES` no code is taken."""
        if self.status != PickupStatus.READY:
            raise IllegalTransition("pickup", self.status.value, PickupStatus.PICKED_UP.value)
        if self.code_locked:
            raise PickupCodeLocked
        if not code_matches(code, self.code_hash):
            self.code_failures += 1
            raise WrongPickupCode
        self._move(PickupStatus.PICKED_UP)
        self.picked_up_at = self.closed_at = now
        self.events.append(events.OrderPickedUp(self.order_id, self.fulfilment_id, self.location))

    def expire(self, *, now: datetime) -> None:
        self._move(PickupStatus.EXPIRED)
        self.closed_at = now
        self.events.append(
            events.OrderPickupExpired(self.order_id, self.fulfilment_id, self.location)
        )

    def cancel(self, *, now: datetime) -> None:
        if not self.is_open:
            return
        self._move(PickupStatus.CANCELLED)
        self.closed_at = now


PICKUP_SHORT = "pickup_out_of_stock"
PICKUP_UNAVAILABLE = "pickup_unavailable"


def plan_pickup(request: AllocationRequest, store: Location) -> AllocationPlan:
    """Every line from the customer's store, or no plan: a pick-up is never sent elsewhere.

    ``request.available`` is what channels may take there (its safety stock already kept
    back). Lines of one SKU share that SKU's units."""
    explanation: dict[str, Any] = {"planner": "pickup", "location": store.code, "chosen": None}
    if not store.takes_pickups:
        explanation["unroutable"] = f"{store.code} does not take pick-up orders now"
        explanation["reason"] = PICKUP_UNAVAILABLE
        return AllocationPlan((), explanation, "pickup")
    left = dict(request.available)
    picks: list[Pick] = []
    missing: list[dict[str, Any]] = []
    for line in request.lines:
        have = left.get((line.sku, store.code), 0)
        if have < line.quantity:
            missing.append(
                {"line_id": line.line_id, "sku": line.sku, "short": line.quantity - have}
            )
            continue
        left[(line.sku, store.code)] = have - line.quantity
        picks.append(Pick(line.line_id, line.sku, store.code, line.quantity))
    if missing:
        explanation["unroutable"] = f"{store.code} does not hold the whole order"
        explanation["reason"] = PICKUP_SHORT
        explanation["missing"] = missing
        return AllocationPlan((), explanation, "pickup")
    explanation["chosen"] = {"location": store.code, "pickup": True}
    return AllocationPlan(tuple(picks), explanation, "pickup")
