"""Products and the per-channel SKU map (channel SKU → master SKU)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from orderhub.domain.errors import FieldError, NormalizationProblem, NotNormalizable
from orderhub.domain.orders import OrderDraft


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    weight_grams: int = 0
    attributes: dict[str, Any] = field(default_factory=dict)


class SkuCatalog(Protocol):
    """What SKU resolution needs to know; the store implements it, tests use a dict."""

    def known_skus(self, skus: set[str]) -> set[str]: ...

    def map_channel_skus(self, channel: str, channel_skus: set[str]) -> dict[str, str]: ...


def resolve_skus(draft: OrderDraft, catalog: SkuCatalog) -> OrderDraft:
    """Give every line its master SKU, or say which lines cannot be resolved.

    A line that names a channel SKU goes through the channel's SKU map; a channel SKU that is
    not mapped but equals a master SKU is taken as it is (most merchants reuse their SKUs).
    """
    channel_skus = {line.channel_sku for line in draft.lines if line.channel_sku and not line.sku}
    mapped = catalog.map_channel_skus(draft.channel, channel_skus) if channel_skus else {}
    candidates = {
        line.sku or mapped.get(line.channel_sku or "", line.channel_sku or "")
        for line in draft.lines
    }
    known = catalog.known_skus({c for c in candidates if c})
    lines, problems = [], []
    for index, line in enumerate(draft.lines):
        sku = line.sku or mapped.get(line.channel_sku or "") or line.channel_sku
        if not sku:
            problems.append(
                FieldError(("lines", index), "line has neither sku nor channel_sku", "missing_sku")
            )
        elif sku not in known:
            field_name = "sku" if line.sku else "channel_sku"
            problems.append(
                FieldError(("lines", index, field_name), f"unknown SKU {sku!r}", "unknown_sku")
            )
        lines.append(replace(line, sku=sku))
    if problems:
        raise NotNormalizable(NormalizationProblem("unknown SKU", problems))
    return replace(draft, lines=tuple(lines))
