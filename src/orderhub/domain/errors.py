"""One hierarchy for every error the domain and services raise.

    OrderHubError
     ├── ValidationFailed        input breaks a rule (field paths in ``fields``)
     ├── NotFound                a named thing does not exist (or is not visible)
     ├── Conflict                the request clashes with current state
     │    ├── IllegalTransition   a state machine refused a move
     │    ├── IdempotencyConflict same key, other request or still running
     │    └── ShelfShort          a shipment of more units than the shelf holds
     └── NotNormalizable         a payload that validated but cannot become an order

The API maps each class to one RFC 9457 problem type in one place (``api/problems.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One failing field: ``loc`` is the path into the request (``["lines", 0, "sku"]``)."""

    loc: tuple[str | int, ...]
    message: str
    code: str = "invalid"

    @property
    def field(self) -> str:
        """The dotted path clients see: ``lines.0.sku``."""
        return ".".join(str(part) for part in self.loc)

    def as_json(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message, "code": self.code}


class OrderHubError(Exception):
    """Base of every expected error; ``code`` is stable for clients."""

    code = "error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def extensions(self) -> dict[str, Any]:
        """Extra members of its problem document (RFC 9457 extensions); none by default."""
        return {}


class ValidationFailed(OrderHubError):
    code = "validation_failed"

    def __init__(self, detail: str, fields: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.fields = fields or []


class NotFound(OrderHubError):
    code = "not_found"


class Conflict(OrderHubError):
    code = "conflict"


class IllegalTransition(Conflict):
    code = "illegal_transition"

    def __init__(self, entity: str, current: str, target: str) -> None:
        super().__init__(f"{entity} cannot move from {current!r} to {target!r}")
        self.entity = entity
        self.current = current
        self.target = target


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"


class ShelfShort(Conflict):
    """A shipment of more units than are on hand: a count left the shelf below what was
    reserved, so the units to ship are not all there. Nothing is shipped."""

    code = "shelf_short"

    def __init__(self, *, sku: str, location: str, on_hand: int, requested: int) -> None:
        shortfall = requested - on_hand
        super().__init__(
            f"cannot ship {requested} unit(s) of {sku} from {location!r}: only {on_hand} on hand"
            f" (short by {shortfall}); count or receive the stock there first"
        )
        self.sku = sku
        self.location = location
        self.on_hand = on_hand
        self.requested = requested
        self.shortfall = shortfall

    def extensions(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "location": self.location,
            "on_hand": self.on_hand,
            "requested": self.requested,
            "shortfall": self.shortfall,
        }


@dataclass
class NormalizationProblem:
    """Why a payload could not become an order: kept with it in quarantine."""

    reason: str
    fields: list[FieldError] = field(default_factory=list)


class NotNormalizable(OrderHubError):
    code = "not_normalizable"

    def __init__(self, problem: NormalizationProblem) -> None:
        super().__init__(problem.reason)
        self.problem = problem
