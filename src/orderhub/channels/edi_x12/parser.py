"""A small ANSI X12 reader: delimiters from the ISA, envelopes, and their control checks.

Why our own: the maintained Python X12 libraries (pyx12, linuxforhealth-x12) are built around the
HIPAA health-care transactions; the general ones are unmaintained or very new. The envelope rules
are few and fixed, so they are written out here and tested against real partners' files.

Delimiters are never assumed: the element separator is the character at index 3 of the ISA, the
component separator at index 104, the segment terminator at index 105 (newlines after it are
layout, not data) and, from version 00402 on, the repetition separator at index 82.

Errors do not stop the reading: each is recorded at the level the 997 reports it — the
interchange (TA1), the functional group (AK9), the transaction set (AK5) or one segment
(AK3/AK4) — so a partner learns about every problem at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ISA_LENGTH = 106  # "ISA" + 16 fixed-width elements + the segment terminator


class InterchangeUnreadable(ValueError):
    """The text does not start with a readable ISA: no acknowledgement can be addressed."""


@dataclass(frozen=True)
class Delimiters:
    element: str = "*"
    component: str = ">"
    segment: str = "~"
    repetition: str | None = None


@dataclass(frozen=True)
class Segment:
    """One segment; ``seg[1]`` is its first element (X12 numbering), ``""`` when absent."""

    id: str
    elements: tuple[str, ...]
    position: int = 0  # 1-based position within its transaction set (ST = 1); 0 outside one

    def __getitem__(self, index: int) -> str:
        return self.elements[index - 1] if 0 < index <= len(self.elements) else ""

    def components(self, index: int, delimiters: Delimiters) -> list[str]:
        return self[index].split(delimiters.component)


@dataclass(frozen=True)
class SegmentError:
    """A syntax or content error in one segment: AK3 (and AK4 when ``element`` is set)."""

    segment_id: str
    position: int
    code: str  # AK304: 1 unrecognized, 2 unexpected, 3 mandatory missing, 8 element errors
    message: str
    element: int | None = None  # AK401: element position in the segment
    element_code: str | None = None  # AK403: 1 missing, 4 too short, 6 bad char, 7 code, 8 date


@dataclass
class TransactionSet:
    set_id: str  # ST01, e.g. "850"
    control: str  # ST02
    segments: list[Segment]  # ST … SE inclusive
    errors: list[SegmentError] = field(default_factory=list)
    set_errors: list[str] = field(default_factory=list)  # AK502 codes

    @property
    def body(self) -> list[Segment]:
        """The segments between ST and SE."""
        return [s for s in self.segments if s.id not in ("ST", "SE")]

    @property
    def accepted(self) -> bool:
        return not self.errors and not self.set_errors


@dataclass
class FunctionalGroup:
    functional_id: str  # GS01, e.g. "PO"
    sender: str  # GS02
    receiver: str  # GS03
    control: str  # GS06
    version: str  # GS08
    date: str = ""  # GS04 CCYYMMDD
    time: str = ""  # GS05
    transactions: list[TransactionSet] = field(default_factory=list)
    declared_count: int | None = None  # GE01
    errors: list[str] = field(default_factory=list)  # AK905 codes
    messages: list[str] = field(default_factory=list)


@dataclass
class Interchange:
    delimiters: Delimiters
    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    date: str  # ISA09 YYMMDD
    time: str  # ISA10 HHMM
    version: str  # ISA12
    control: str  # ISA13
    usage: str  # ISA15: P production, T test
    header: tuple[str, ...] = ()  # the ISA elements as sent (fixed width)
    groups: list[FunctionalGroup] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (TA105 code, message)

    @property
    def transactions(self) -> list[tuple[FunctionalGroup, TransactionSet]]:
        return [(g, t) for g in self.groups for t in g.transactions]


def delimiters_of(text: str) -> Delimiters:
    """Read the delimiters from the fixed ISA positions."""
    if len(text) < ISA_LENGTH or not text.startswith("ISA"):
        raise InterchangeUnreadable("an interchange starts with a 106-character ISA segment")
    element = text[3]
    if element.isalnum() or element.isspace():
        raise InterchangeUnreadable(f"ISA: {element!r} cannot be the element separator")
    if text[:105].count(element) != 16:
        raise InterchangeUnreadable("ISA: expected 16 elements of fixed width")
    version = text[84:89]
    repetition = text[82] if version >= "00402" and not text[82].isalnum() else None
    return Delimiters(
        element=element, component=text[104], segment=text[105], repetition=repetition
    )


def split_segments(text: str, delimiters: Delimiters) -> list[Segment]:
    """Every segment, in order; line breaks around terminators are layout and dropped."""
    segments = []
    for raw in text.split(delimiters.segment):
        cleaned = raw.strip("\r\n")
        if not cleaned.strip():
            continue
        parts = cleaned.split(delimiters.element)
        segments.append(Segment(parts[0].strip(), tuple(parts[1:])))
    return segments


def parse_interchange(text: str) -> Interchange:
    """Read one interchange; envelope and count errors are recorded, not raised."""
    text = text.lstrip("\ufeff \t\r\n")
    delimiters = delimiters_of(text)
    segments = split_segments(text, delimiters)
    isa = segments[0]
    interchange = Interchange(
        delimiters=delimiters,
        sender_qualifier=isa[5],
        sender_id=isa[6].strip(),
        receiver_qualifier=isa[7],
        receiver_id=isa[8].strip(),
        date=isa[9],
        time=isa[10],
        version=isa[12],
        control=isa[13],
        usage=isa[15],
        header=isa.elements,
    )
    _Walker(interchange).walk(segments[1:])
    return interchange


_ENVELOPE = frozenset({"ISA", "GS", "ST", "SE", "GE", "IEA"})


class _Walker:
    """Folds the flat segment list into groups and transaction sets, checking the trailers."""

    def __init__(self, interchange: Interchange) -> None:
        self.ix = interchange
        self.group: FunctionalGroup | None = None
        self.tx: TransactionSet | None = None
        self.closed = False

    def walk(self, segments: list[Segment]) -> None:
        for segment in segments:
            handler = (
                getattr(self, f"_on_{segment.id.lower()}", None)
                if segment.id in _ENVELOPE
                else None
            )
            if self.closed:
                self.ix.errors.append(("022", f"{segment.id} after IEA"))
            elif handler is not None:
                handler(segment)
            elif self.tx is not None:
                self._add_to_tx(segment)
            else:
                self.ix.errors.append(("022", f"{segment.id} outside a transaction set"))
        if self.tx is not None:
            self.tx.set_errors.append("2")  # trailer missing
        if self.group is not None:
            self.group.errors.append("3")
        if not self.closed:
            self.ix.errors.append(("023", "IEA missing: the interchange ends early"))

    def _add_to_tx(self, segment: Segment) -> Segment:
        assert self.tx is not None
        placed = Segment(segment.id, segment.elements, len(self.tx.segments) + 1)
        self.tx.segments.append(placed)
        if not (2 <= len(segment.id) <= 3 and segment.id.isalnum() and segment.id.isupper()):
            self.tx.errors.append(
                SegmentError(segment.id, placed.position, "1", f"{segment.id!r} is no segment id")
            )
        return placed

    def _on_gs(self, segment: Segment) -> None:
        if self.group is not None:
            self.group.errors.append("3")
        self.group = FunctionalGroup(
            functional_id=segment[1],
            sender=segment[2],
            receiver=segment[3],
            control=segment[6],
            version=segment[8],
            date=segment[4],
            time=segment[5],
        )
        self.ix.groups.append(self.group)

    def _on_st(self, segment: Segment) -> None:
        if self.group is None:
            self.ix.errors.append(("022", "ST outside a functional group"))
            return
        if self.tx is not None:
            self.tx.set_errors.append("2")
        self.tx = TransactionSet(segment[1], segment[2], [])
        self.group.transactions.append(self.tx)
        self._add_to_tx(segment)

    def _on_se(self, segment: Segment) -> None:
        if self.tx is None:
            self.ix.errors.append(("022", "SE without ST"))
            return
        tx = self.tx
        placed = self._add_to_tx(segment)
        if segment[2] != tx.control:
            tx.set_errors.append("3")
            tx.errors.append(
                SegmentError("SE", placed.position, "8", "SE02 differs from ST02", 2, "7")
            )
        if segment[1] != str(len(tx.segments)):
            tx.set_errors.append("4")
            tx.errors.append(
                SegmentError(
                    "SE",
                    placed.position,
                    "8",
                    f"SE01 says {segment[1]!r} segments, the set has {len(tx.segments)}",
                    1,
                    "7",
                )
            )
        self.tx = None

    def _on_ge(self, segment: Segment) -> None:
        if self.group is None:
            self.ix.errors.append(("022", "GE without GS"))
            return
        if self.tx is not None:
            self.tx.set_errors.append("2")
            self.tx = None
        group = self.group
        group.declared_count = _int_or_none(segment[1])
        if segment[2] != group.control:
            group.errors.append("4")
            group.messages.append(f"GE02 {segment[2]!r} differs from GS06 {group.control!r}")
        if group.declared_count != len(group.transactions):
            group.errors.append("5")
            group.messages.append(
                f"GE01 says {segment[1]!r} transaction sets, the group has "
                f"{len(group.transactions)}"
            )
        self.group = None

    def _on_iea(self, segment: Segment) -> None:
        if self.group is not None:
            self.group.errors.append("3")
            self.group = None
        if segment[2] != self.ix.control:
            self.ix.errors.append(("001", f"IEA02 {segment[2]!r} differs from ISA13"))
        if _int_or_none(segment[1]) != len(self.ix.groups):
            self.ix.errors.append(
                (
                    "021",
                    f"IEA01 says {segment[1]!r} groups, the interchange has {len(self.ix.groups)}",
                )
            )
        self.closed = True

    def _on_isa(self, _segment: Segment) -> None:
        self.ix.errors.append(("026", "a second ISA inside the interchange"))


def _int_or_none(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


def isolate(interchange: Interchange, group: FunctionalGroup, tx: TransactionSet) -> str:
    """One transaction set in its own interchange, with the original envelope ids.

    What quarantine keeps: replaying it later reads exactly what the partner sent for that PO.
    """
    d = interchange.delimiters

    def line(seg_id: str, elements: tuple[str, ...] | list[str]) -> str:
        return d.element.join([seg_id, *elements]) + d.segment

    gs = [group.functional_id, group.sender, group.receiver, group.date, group.time]
    return "\n".join(
        [
            line("ISA", interchange.header),
            line("GS", [*gs, group.control, "X", group.version]),
            *(line(s.id, s.elements) for s in tx.segments),
            line("GE", ["1", group.control]),
            line("IEA", ["1", interchange.control]),
        ]
    )
