"""The 997 functional acknowledgement: which groups and sets were accepted, and why not.

One 997 transaction set per received functional group (AK1), one AK2 per transaction set, AK3
naming each bad segment and its position in the set, AK4 the bad element, AK5 the set's verdict
and AK9 the group's. Interchange envelope errors (IEA counts, control number mismatch) add a TA1
before the group and reject every group in it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from orderhub.channels.edi_x12.parser import (
    FunctionalGroup,
    Interchange,
    SegmentError,
    TransactionSet,
)
from orderhub.channels.edi_x12.writer import Elements, Partner, segment

TransactionKey = tuple[str, str]  # (GS06, ST02)


@dataclass(frozen=True)
class Verdict:
    """Summary the API returns beside the 997 text."""

    accepted: bool
    problems: tuple[str, ...]


def partner_for_reply(interchange: Interchange, partner: Partner) -> Partner:
    """Address the reply to whoever sent the interchange, from whom it was addressed."""
    return Partner(
        our_qualifier=interchange.receiver_qualifier,
        our_id=interchange.receiver_id,
        their_qualifier=interchange.sender_qualifier,
        their_id=interchange.sender_id,
        our_gs_id=interchange.groups[0].receiver if interchange.groups else None,
        their_gs_id=interchange.groups[0].sender if interchange.groups else None,
        usage=interchange.usage,
        version=partner.version,
        gs_version=interchange.groups[0].version if interchange.groups else partner.gs_version,
        delimiters=partner.delimiters,
    )


def build_997(
    interchange: Interchange,
    partner: Partner,
    *,
    control: int,
    at: datetime,
    content_errors: Mapping[TransactionKey, Sequence[SegmentError]] | None = None,
) -> str:
    """The whole 997 interchange (TA1 when the envelope is broken)."""
    extra = content_errors or {}
    reply = partner_for_reply(interchange, partner)
    d = reply.delimiters
    sets = [
        _group_ack(g, extra, envelope_broken=bool(interchange.errors)) for g in interchange.groups
    ]
    if not sets:
        sets = [[["AK1", "PO", "0"], ["AK9", "R", "0", "0", "0", "3"]]]
    number = f"{control:09d}"
    lines = [_isa(reply, number, at)]
    if interchange.errors:
        code = interchange.errors[0][0]
        ta1 = ["TA1", interchange.control, interchange.date, interchange.time, "R", code]
        lines.append(segment(d, ta1))
    gs = ["GS", "FA", reply.gs_sender, reply.gs_receiver, at.strftime("%Y%m%d"),
          at.strftime("%H%M"), str(control), "X", reply.gs_version]  # fmt: skip
    lines.append(segment(d, gs))
    for index, body in enumerate(sets, start=1):
        st_number = f"{index:04d}"
        tx: list[Elements] = [["ST", "997", st_number], *body]
        tx.append(["SE", str(len(tx) + 1), st_number])
        lines += [segment(d, s) for s in tx]
    lines.append(segment(d, ["GE", str(len(sets)), str(control)]))
    lines.append(segment(d, ["IEA", "1", number]))
    return "\n".join(lines) if d.segment != "\n" else "".join(lines)


def _isa(reply: Partner, number: str, at: datetime) -> str:
    d = reply.delimiters
    parts = ["ISA", "00", " " * 10, "00", " " * 10, reply.our_qualifier.ljust(2),
             reply.our_id.ljust(15)[:15], reply.their_qualifier.ljust(2),
             reply.their_id.ljust(15)[:15], at.strftime("%y%m%d"), at.strftime("%H%M"),
             d.repetition or "U", reply.version, number, "0", reply.usage, d.component]  # fmt: skip
    return d.element.join(parts) + d.segment


def group_status(
    group: FunctionalGroup,
    extra: Mapping[TransactionKey, Sequence[SegmentError]],
    *,
    envelope_broken: bool,
) -> tuple[str, int]:
    """AK901 (A accepted, P partially, R rejected) and how many sets were accepted."""
    accepted = sum(
        1 for tx in group.transactions if tx.accepted and not extra.get((group.control, tx.control))
    )
    if envelope_broken or group.errors:
        accepted = 0
    if accepted == len(group.transactions) and not group.errors and not envelope_broken:
        return "A", accepted
    return ("R" if accepted == 0 else "P"), accepted


def _group_ack(
    group: FunctionalGroup,
    extra: Mapping[TransactionKey, Sequence[SegmentError]],
    *,
    envelope_broken: bool,
) -> list[Elements]:
    body: list[Elements] = [["AK1", group.functional_id, group.control]]
    for tx in group.transactions:
        body += _set_ack(tx, [*tx.errors, *extra.get((group.control, tx.control), ())])
    group_codes = list(dict.fromkeys(group.errors))
    status, accepted = group_status(group, extra, envelope_broken=envelope_broken)
    received = len(group.transactions)
    declared = str(group.declared_count if group.declared_count is not None else received)
    body.append(["AK9", status, declared, str(received), str(accepted), *group_codes[:5]])
    return body


def _set_ack(tx: TransactionSet, errors: Sequence[SegmentError]) -> list[Elements]:
    out: list[Elements] = [["AK2", tx.set_id, tx.control]]
    for error in errors:
        out.append(["AK3", error.segment_id, str(error.position), "", error.code])
        if error.element is not None:
            out.append(["AK4", str(error.element), "", error.element_code or "7"])
    codes = list(dict.fromkeys(tx.set_errors))
    if errors and "5" not in codes:
        codes.append("5")
    out.append(["AK5", "R", *codes[:5]] if codes else ["AK5", "A"])
    return out


def describe(
    interchange: Interchange,
    content_errors: Mapping[TransactionKey, Sequence[SegmentError]] | None = None,
) -> Verdict:
    """Human-readable problems for the API answer and the CLI."""
    extra = content_errors or {}
    problems = [f"interchange: {message}" for _code, message in interchange.errors]
    for group in interchange.groups:
        problems += [f"group {group.control}: {m}" for m in group.messages]
        problems += [f"group {group.control}: trailer GE missing" for c in group.errors if c == "3"]
        for tx in group.transactions:
            where = f"set {tx.set_id} {tx.control}"
            for error in [*tx.errors, *extra.get((group.control, tx.control), ())]:
                problems.append(f"{where}: {error.segment_id} at {error.position}: {error.message}")
            if "1" in tx.set_errors:
                problems.append(f"{where}: transaction set not supported")
            if "2" in tx.set_errors:
                problems.append(f"{where}: SE missing")
    return Verdict(accepted=not problems, problems=tuple(problems))
