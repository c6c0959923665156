"""Products, their identifiers (GTIN, UPC, EAN, ISBN, MPN) and SKU resolution: the per-channel
SKU map (channel SKU → master SKU), then the product identifiers a line carries.

Identifier rules (pure, no I/O):

* GTIN-8, GTIN-12 (UPC-A), GTIN-13 (EAN-13) and GTIN-14 end in the GS1 check digit: the other
  digits, from the right, weigh 3, 1, 3, 1…; the check digit brings the sum to a multiple of 10.
* ISBN-13 is an EAN-13 starting 978 or 979; ISBN-10 ends in a mod-11 check (``X`` = 10), the
  digits weighing 10 down to 1. An ISBN-10 is the ISBN-13 ``978`` + its first nine digits.
* Every barcode is also known by its GTIN-14 (zeros in front; an ISBN-10 as its ISBN-13), so a
  UPC on one channel and the same number as an EAN or GTIN-14 on another find one product.
* An MPN is the manufacturer's part number: free text, no check.

Spaces and hyphens are dropped from barcodes (ISBNs are printed with hyphens).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from orderhub.domain.errors import (
    FieldError,
    NormalizationProblem,
    NotNormalizable,
    ValidationFailed,
)
from orderhub.domain.orders import LineDraft, OrderDraft

IDENTIFIER_KINDS = ("gtin", "upc", "ean", "isbn", "mpn")
GTIN_LENGTHS = {"gtin": (8, 12, 13, 14), "upc": (12,), "ean": (13,)}
MPN_MAX = 70
_SEPARATORS = re.compile(r"[\s-]")


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    weight_grams: int = 0
    attributes: dict[str, Any] = field(default_factory=dict)
    identifiers: dict[str, str] = field(default_factory=dict)  # kind → normalized value


def gs1_check_digit(body: str) -> int:
    """The GS1 check digit of ``body`` (every digit of the code but the last)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def isbn10_check_digit(body: str) -> str:
    """The ISBN-10 check character of its first nine digits (``X`` for 10)."""
    total = sum(int(d) * w for d, w in zip(body, range(10, 1, -1), strict=True))
    check = (11 - total % 11) % 11
    return "X" if check == 10 else str(check)


def _gtin_problem(code: str, lengths: tuple[int, ...]) -> str | None:
    if not code.isdigit() or len(code) not in lengths:
        return f"must be {' or '.join(map(str, lengths))} digits"
    expected = gs1_check_digit(code[:-1])
    if int(code[-1]) != expected:
        return f"check digit is {code[-1]}, the digits before it give {expected}"
    return None


def _isbn_problem(code: str) -> str | None:
    if len(code) == 13:
        if not code.startswith(("978", "979")):
            return "an ISBN-13 starts with 978 or 979"
        return _gtin_problem(code, (13,))
    if len(code) != 10 or not code[:9].isdigit() or not re.fullmatch(r"[0-9X]", code[9]):
        return "must be an ISBN-10 (nine digits and a check digit or X) or an ISBN-13"
    expected = isbn10_check_digit(code[:9])
    if code[9] != expected:
        return f"check digit is {code[9]}, the digits before it give {expected}"
    return None


def normalize_identifier(kind: str, value: str) -> str:
    """The stored form: barcodes without spaces or hyphens (ISBN ``x`` as ``X``)."""
    if kind == "mpn":
        return value.strip()
    return _SEPARATORS.sub("", value).upper()


def identifier_problem(kind: str, value: str) -> str | None:
    """Why ``value`` is not a valid identifier of ``kind``, or None when it is."""
    if kind not in IDENTIFIER_KINDS:
        return f"unknown identifier kind (one of {', '.join(IDENTIFIER_KINDS)})"
    code = normalize_identifier(kind, value)
    if kind == "mpn":
        return None if 0 < len(code) <= MPN_MAX else f"must be 1 to {MPN_MAX} characters"
    if kind == "isbn":
        return _isbn_problem(code)
    return _gtin_problem(code, GTIN_LENGTHS[kind])


def validate_identifiers(identifiers: Mapping[str, str]) -> dict[str, str]:
    """The identifiers normalized; ValidationFailed names every invalid one."""
    problems = [
        FieldError(("identifiers", kind), problem, "invalid_identifier")
        for kind, value in identifiers.items()
        if (problem := identifier_problem(kind, str(value)))
    ]
    if problems:
        raise ValidationFailed("invalid product identifiers", problems)
    return {kind: normalize_identifier(kind, str(v)) for kind, v in identifiers.items()}


def match_key(kind: str, value: str) -> str:
    """The key a line's barcode is looked up by: its GTIN-14 (an MPN is its own key)."""
    code = normalize_identifier(kind, value)
    if kind == "mpn":
        return f"mpn:{code}"
    if kind == "isbn" and len(code) == 10:
        body = "978" + code[:9]
        code = body + str(gs1_check_digit(body))
    return code.zfill(14)


def barcode_key(value: str) -> str | None:
    """A barcode from a channel line (any GTIN length, or an ISBN) as its match key; None when
    it is not a valid barcode (then it is not looked up at all)."""
    code = normalize_identifier("gtin", value)
    if len(code) == 10 and identifier_problem("isbn", code) is None:
        return match_key("isbn", code)
    if identifier_problem("gtin", code) is None:
        return match_key("gtin", code)
    return None


class SkuCatalog(Protocol):
    """What SKU resolution needs to know; the store implements it, tests use a dict."""

    def known_skus(self, skus: set[str]) -> set[str]: ...

    def map_channel_skus(self, channel: str, channel_skus: set[str]) -> dict[str, str]: ...

    def skus_by_identifier(self, keys: set[str]) -> dict[str, str]:
        """Match key (see :func:`match_key`) → the SKU of the product that has it."""
        ...


def resolve_skus(draft: OrderDraft, catalog: SkuCatalog) -> OrderDraft:
    """Give every line its master SKU, or say which lines cannot be resolved.

    A line that names a channel SKU goes through the channel's SKU map; a channel SKU that is
    not mapped but equals a master SKU is taken as it is (most merchants reuse their SKUs).
    A line still unresolved is looked up by its barcodes (``identifiers``, and the channel SKU
    when it is a valid barcode itself) and then its MPN, among the products' identifiers.
    """
    channel_skus = {line.channel_sku for line in draft.lines if line.channel_sku and not line.sku}
    mapped = catalog.map_channel_skus(draft.channel, channel_skus) if channel_skus else {}
    candidates = {
        line.sku or mapped.get(line.channel_sku or "", line.channel_sku or "")
        for line in draft.lines
    }
    known = catalog.known_skus({c for c in candidates if c})
    by_identifier = _identified(draft, catalog, mapped, known)
    lines, problems = [], []
    for index, line in enumerate(draft.lines):
        sku = line.sku or mapped.get(line.channel_sku or "") or line.channel_sku
        if (not sku or sku not in known) and index in by_identifier:
            sku = by_identifier[index]
            known = known | {sku}
        if not sku:
            problems.append(
                FieldError(("lines", index), "line has neither sku nor channel_sku", "missing_sku")
            )
        elif sku not in known:
            field_name = "sku" if line.sku else "channel_sku"
            problems.append(
                FieldError(("lines", index, field_name), f"unknown SKU {sku!r}", "unknown_sku")
            )
        # A line that named its master SKU stays as it is (drafts are frozen): replacing each
        # line of a batch of orders cost more than resolving them.
        lines.append(line if line.sku == sku else replace(line, sku=sku))
    if problems:
        raise NotNormalizable(NormalizationProblem("unknown SKU", problems))
    if all(new is old for new, old in zip(lines, draft.lines, strict=True)):
        return draft
    return replace(draft, lines=tuple(lines))


def _line_keys(line: LineDraft) -> list[str]:
    """A line's lookup keys: its barcodes, its channel SKU when it is a barcode, its MPN."""
    keys: list[str] = []
    for value in (*line.identifiers, line.channel_sku or ""):
        key = barcode_key(value) if value else None
        if key and key not in keys:
            keys.append(key)
    if line.mpn and line.mpn.strip():
        keys.append(match_key("mpn", line.mpn))
    return keys


def _identified(
    draft: OrderDraft, catalog: SkuCatalog, mapped: dict[str, str], known: set[str]
) -> dict[int, str]:
    """Line index → SKU found by identifier, for the lines the SKU map did not resolve."""
    pending = {
        index: _line_keys(line)
        for index, line in enumerate(draft.lines)
        if (line.sku or mapped.get(line.channel_sku or "") or line.channel_sku) not in known
    }
    wanted = {key for keys in pending.values() for key in keys}
    found = catalog.skus_by_identifier(wanted) if wanted else {}
    return _first_found(pending, found)


def _first_found(pending: dict[int, list[str]], found: dict[str, str]) -> dict[int, str]:
    """Each line's SKU by the first of its keys that a product has."""
    result: dict[int, str] = {}
    for index, keys in pending.items():
        for key in keys:
            if key in found:
                result[index] = found[key]
                break
    return result
