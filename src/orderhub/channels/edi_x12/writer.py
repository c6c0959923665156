"""Writing X12: segments, the ST/SE count, and the ISA/GS envelope around outbound documents.

Every outbound interchange carries one functional group with one transaction set and uses one
control number (from the per-partner counter) for ISA13, GS06 and ST02, so a partner's
acknowledgement points straight back at the document.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from orderhub.channels.edi_x12.parser import Delimiters

Elements = Sequence[str]
STANDARD = Delimiters(
    element="*", component=">", segment="~"
)  # a segment to write: id first, then its elements


@dataclass(frozen=True)
class Partner:
    """Who we are and who the trading partner is, in ISA/GS terms (from the channel settings)."""

    our_qualifier: str
    our_id: str
    their_qualifier: str
    their_id: str
    our_gs_id: str | None = None
    their_gs_id: str | None = None
    usage: str = "P"  # ISA15: P production, T test
    version: str = "00401"  # ISA12
    gs_version: str = "004010"  # GS08
    delimiters: Delimiters = STANDARD

    @property
    def gs_sender(self) -> str:
        return self.our_gs_id or self.our_id

    @property
    def gs_receiver(self) -> str:
        return self.their_gs_id or self.their_id


def segment(delimiters: Delimiters, elements: Elements) -> str:
    """One segment with trailing empty elements dropped (X12 forbids trailing separators)."""
    items = list(elements)
    while len(items) > 1 and items[-1] == "":
        items.pop()
    for value in items:
        for reserved in (delimiters.element, delimiters.segment, delimiters.component):
            if reserved in value:
                raise ValueError(f"{value!r} contains the delimiter {reserved!r}")
    return delimiters.element.join(items) + delimiters.segment


def decimal_text(value: Decimal) -> str:
    """X12 ``R`` (real) form: no exponent, no trailing zeros, no trailing point."""
    text = f"{value.normalize():f}"
    return text if text != "-0" else "0"


def render_interchange(
    partner: Partner,
    *,
    functional_id: str,
    set_id: str,
    control: int,
    body: Sequence[Elements],
    at: datetime,
    newline: bool = True,
) -> str:
    """Wrap one transaction set body (without ST/SE) in ST/SE, GS/GE and ISA/IEA."""
    if not 0 < control <= 999_999_999:
        raise ValueError("an interchange control number has at most nine digits")
    d = partner.delimiters
    number = f"{control:09d}"
    isa = d.element.join(
        [
            "ISA",
            "00",
            " " * 10,
            "00",
            " " * 10,
            partner.our_qualifier.ljust(2),
            partner.our_id.ljust(15)[:15],
            partner.their_qualifier.ljust(2),
            partner.their_id.ljust(15)[:15],
            at.strftime("%y%m%d"),
            at.strftime("%H%M"),
            d.repetition or "U",
            partner.version,
            number,
            "0",
            partner.usage,
            d.component,
        ]
    )
    st_number = f"{control % 10_000:04d}" if control < 10_000 else str(control)
    transaction = [["ST", set_id, st_number], *body]
    transaction.append(["SE", str(len(transaction) + 1), st_number])
    lines = [isa + d.segment]
    lines.append(
        segment(
            d,
            [
                "GS",
                functional_id,
                partner.gs_sender,
                partner.gs_receiver,
                at.strftime("%Y%m%d"),
                at.strftime("%H%M"),
                str(control),
                "X",
                partner.gs_version,
            ],
        )
    )
    lines += [segment(d, s) for s in transaction]
    lines.append(segment(d, ["GE", "1", str(control)]))
    lines.append(segment(d, ["IEA", "1", number]))
    return ("\n" if newline and d.segment != "\n" else "").join(lines)
