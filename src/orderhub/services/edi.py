"""EDI X12 intake: an interchange's 850s become orders, and the partner gets its 997."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from orderhub.channels.edi_x12 import ack_997, parser, reader_850
from orderhub.channels.edi_x12.parser import InterchangeUnreadable
from orderhub.channels.edi_x12.stored import (
    SOURCE,
    ChannelPartnerSettings,
    channel_partner,
    stored_payload,
)
from orderhub.clock import utc_now
from orderhub.domain.channels import ChannelKind
from orderhub.domain.errors import FieldError, ValidationFailed
from orderhub.domain.limits import MAX_EDI_SEGMENTS
from orderhub.services.ingest import Incoming, ingest_batch
from orderhub.store.unit_of_work import UnitOfWork

Progress = Callable[[int, int], None]
SUPPORTED_SETS = frozenset({"850"})


class Verdict(StrEnum):
    ACCEPTED = "accepted"
    PARTIALLY_ACCEPTED = "partially_accepted"
    REJECTED = "rejected"


@dataclass(frozen=True)
class PurchaseOrderOutcome:
    po_number: str | None
    group_control: str
    transaction_control: str
    outcome: str  # created, existing, quarantined, rejected
    order_id: str | None = None
    quarantine_id: str | None = None
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class InterchangeOutcome:
    verdict: Verdict
    acknowledgement: str  # the 997 interchange
    control_number: int
    purchase_orders: list[PurchaseOrderOutcome] = field(default_factory=list)
    problems: tuple[str, ...] = ()
    segment_errors: list[dict[str, str]] = field(default_factory=list)


def receive_interchange(
    uow: UnitOfWork,
    *,
    channel: str,
    text: str,
    progress: Progress | None = None,
    now: Callable[[], datetime] = lambda: utc_now(),
) -> InterchangeOutcome:
    """Read the interchange, ingest every acceptable 850, answer with the 997."""
    found = uow.channels.get(channel)
    if found.kind != ChannelKind.EDI_X12:
        raise ValidationFailed(
            "not an EDI channel", [FieldError(("channel",), f"{channel!r} is {found.kind.value}")]
        )
    settings = channel_partner(found)
    try:
        segments = text.count(parser.delimiters_of(text.lstrip("\ufeff \t\r\n")).segment)
        if segments > MAX_EDI_SEGMENTS:
            raise ValidationFailed(
                "the interchange is too long",
                [FieldError(("body",), f"{segments:,} segments; at most {MAX_EDI_SEGMENTS:,}")],
            )
        interchange = parser.parse_interchange(text)
    except InterchangeUnreadable as error:
        raise ValidationFailed(
            "the interchange cannot be read", [FieldError(("body", "ISA"), str(error), "ISA")]
        ) from None
    for _group, tx in interchange.transactions:
        if tx.set_id not in SUPPORTED_SETS and "1" not in tx.set_errors:
            tx.set_errors.append("1")  # AK502 1: transaction set not supported
    reads = reader_850.read_purchase_orders(
        interchange,
        channel=channel,
        default_currency=settings.currency,
        id_preference=settings.id_preference,
    )
    content = {(r.group.control, r.transaction.control): r.errors for r in reads if r.errors}
    outcomes = [_rejected_set(g, t) for g, t in interchange.transactions if not t.accepted]
    outcomes += _ingest(uow, reads, interchange, settings, content)
    if progress:
        progress(len(reads), len(reads))
    control = uow.control_numbers.next(
        channel, f"{interchange.sender_qualifier}:{interchange.sender_id}"
    )
    ack = ack_997.build_997(
        interchange, settings.partner, control=control, at=now(), content_errors=content
    )
    uow.commit()
    verdict = ack_997.describe(interchange, content)
    return InterchangeOutcome(
        verdict=_verdict(interchange, content),
        acknowledgement=ack,
        control_number=control,
        purchase_orders=outcomes,
        problems=verdict.problems,
        segment_errors=_segment_errors(interchange, content),
    )


def _ingest(
    uow: UnitOfWork,
    reads: list[reader_850.Read850],
    interchange: parser.Interchange,
    settings: ChannelPartnerSettings,
    content: dict[tuple[str, str], tuple[parser.SegmentError, ...]],
) -> list[PurchaseOrderOutcome]:
    """Every readable 850 of the interchange through one batch ingest (one transaction)."""
    readable = [read for read in reads if read.draft is not None]
    items = [
        Incoming(
            read.draft,
            SOURCE,
            stored_payload(
                channel=read.draft.channel,
                currency=settings.currency,
                id_preference=settings.id_preference,
                interchange=parser.isolate(interchange, read.group, read.transaction),
            ),
        )
        for read in readable
        if read.draft is not None
    ]
    results = dict(zip(map(id, readable), ingest_batch(uow, items), strict=True))
    outcomes = []
    for read in reads:
        keys = (read.group.control, read.transaction.control)
        if read.draft is None:
            problems = tuple(e.message for e in read.errors)
            outcomes.append(PurchaseOrderOutcome(None, *keys, "rejected", problems=problems))
            continue
        result = results[id(read)]
        if isinstance(result.error, ValidationFailed):  # the hub's rules, beyond the reader's
            error = result.error
            problems = tuple(f"{f.field}: {f.message}" for f in error.fields) or (error.detail,)
            content[keys] = (parser.SegmentError("BEG", 2, "8", "; ".join(problems)),)
            outcomes.append(PurchaseOrderOutcome(None, *keys, "rejected", problems=problems))
            continue
        if result.error is not None:
            raise result.error
        problems = (
            tuple(f"{f.field}: {f.message}" for f in result.problem.fields)
            if result.problem
            else ()
        )
        outcomes.append(
            PurchaseOrderOutcome(
                read.draft.purchase_order.number if read.draft.purchase_order else None,
                *keys,
                result.outcome.value,
                order_id=result.order_id,
                quarantine_id=result.quarantine_id,
                problems=problems,
            )
        )
    return outcomes


def _rejected_set(group: parser.FunctionalGroup, tx: parser.TransactionSet) -> PurchaseOrderOutcome:
    problems = [e.message for e in tx.errors]
    if "1" in tx.set_errors:
        problems.append(f"transaction set {tx.set_id} is not supported here")
    return PurchaseOrderOutcome(
        None, group.control, tx.control, "rejected", problems=tuple(problems)
    )


def _verdict(
    interchange: parser.Interchange,
    content: dict[tuple[str, str], tuple[parser.SegmentError, ...]],
) -> Verdict:
    statuses = [
        ack_997.group_status(g, content, envelope_broken=bool(interchange.errors))[0]
        for g in interchange.groups
    ]
    if statuses and all(s == "A" for s in statuses):
        return Verdict.ACCEPTED
    if any(s in ("A", "P") for s in statuses):
        return Verdict.PARTIALLY_ACCEPTED
    return Verdict.REJECTED


def _segment_errors(
    interchange: parser.Interchange,
    content: dict[tuple[str, str], tuple[parser.SegmentError, ...]],
) -> list[dict[str, str]]:
    """Problem ``errors[]`` entries: the field is the segment, e.g. ``850.0001.CTT@31``."""
    items = [{"field": "IEA", "message": m, "code": c} for c, m in interchange.errors]
    for group, tx in interchange.transactions:
        for error in [*tx.errors, *content.get((group.control, tx.control), ())]:
            where = f"{tx.set_id}.{tx.control}.{error.segment_id}@{error.position}"
            if error.element is not None:
                where += f".{error.element:02d}"
            items.append({"field": where, "message": error.message, "code": f"AK3-{error.code}"})
        if "1" in tx.set_errors:
            message = f"transaction set {tx.set_id} is not supported here"
            items.append({"field": f"{tx.set_id}.{tx.control}.ST", "message": message,
                          "code": "AK5-1"})  # fmt: skip
        if "2" in tx.set_errors:
            items.append({"field": f"{tx.set_id}.{tx.control}.SE", "message": "SE missing",
                          "code": "AK5-2"})  # fmt: skip
    for group in interchange.groups:
        for message in group.messages:
            items.append({"field": f"GS.{group.control}.GE", "message": message, "code": "AK9"})
    return items
