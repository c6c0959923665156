"""The X12 reader: delimiters from the ISA, envelopes, and the control checks."""

from __future__ import annotations

import pytest

from orderhub.channels.edi_x12.parser import (
    Delimiters,
    InterchangeUnreadable,
    isolate,
    parse_interchange,
)
from tests.unit.channels.edi_fixtures import edi


def test_delimiters_come_from_the_fixed_isa_positions() -> None:
    tilde = parse_interchange(edi("vics_850_tilde_newlines.edi"))
    newline = parse_interchange(edi("vics_850_newline_terminator.edi"))
    pipe = parse_interchange(edi("distributor_pipe_two_groups_three_pos.edi"))
    assert tilde.delimiters == Delimiters("*", ">", "~", None)
    assert newline.delimiters == Delimiters("*", ">", "\n", None)
    assert pipe.delimiters == Delimiters("|", ":", "~", "^")


def test_newline_terminators_read_the_same_segments_as_tildes() -> None:
    tilde = parse_interchange(edi("vics_850_tilde_newlines.edi"))
    newline = parse_interchange(edi("vics_850_newline_terminator.edi"))
    assert tilde.transactions[0][1].segments == newline.transactions[0][1].segments
    assert len(tilde.transactions[0][1].segments) == 33


def test_several_groups_and_sets_per_interchange_pass_every_control_check() -> None:
    ix = parse_interchange(edi("distributor_pipe_two_groups_three_pos.edi"))
    assert [(g.control, [t.control for t in g.transactions]) for g in ix.groups] == [
        ("517", ["0001", "0002"]),
        ("518", ["0101"]),
    ]
    assert ix.errors == []
    assert all(not g.errors and all(t.accepted for t in g.transactions) for g in ix.groups)
    assert (ix.sender_qualifier, ix.sender_id, ix.receiver_id) == ("ZZ", "ACMEHARDWARE", "MERCHANT")


def test_segment_positions_count_from_st() -> None:
    ix = parse_interchange(edi("vics_850_tilde_newlines.edi"))
    tx = ix.transactions[0][1]
    assert [(s.id, s.position) for s in tx.segments[:3]] == [("ST", 1), ("BEG", 2), ("REF", 3)]
    ctt = next(s for s in tx.segments if s.id == "CTT")
    assert (ctt.position, ctt[1]) == (31, "6")


def test_a_wrong_se_segment_count_rejects_the_set() -> None:
    ix = parse_interchange(edi("bad_se_segment_count.edi"))
    tx = ix.transactions[0][1]
    assert tx.set_errors == ["4"]
    assert [(e.segment_id, e.position, e.element) for e in tx.errors] == [("SE", 33, 1)]


def test_mismatched_iea_control_number_is_an_interchange_error() -> None:
    ix = parse_interchange(edi("bad_iea_control_number.edi"))
    assert [code for code, _message in ix.errors] == ["001"]


def test_group_trailer_counts_and_control_numbers_are_checked() -> None:
    text = edi("distributor_pipe_two_groups_three_pos.edi").replace("GE|2|517", "GE|3|516")
    ix = parse_interchange(text)
    assert ix.groups[0].errors == ["4", "5"]
    assert ix.groups[1].errors == []


def test_missing_trailers_are_reported() -> None:
    text = edi("vics_850_tilde_newlines.edi")
    truncated = text[: text.index("SE*33")]
    ix = parse_interchange(truncated)
    assert ix.transactions[0][1].set_errors == ["2"]
    assert ix.groups[0].errors == ["3"]
    assert [code for code, _ in ix.errors] == ["023"]


@pytest.mark.parametrize(
    "text",
    ["", "GS*PO*1~", "ISA*00*short~", "ISA" + "a" * 120],
)
def test_text_without_a_readable_isa_is_refused(text: str) -> None:
    with pytest.raises(InterchangeUnreadable):
        parse_interchange(text)


def test_isolate_keeps_one_set_in_a_valid_interchange_of_its_own() -> None:
    ix = parse_interchange(edi("distributor_pipe_two_groups_three_pos.edi"))
    group, tx = ix.transactions[1]
    alone = parse_interchange(isolate(ix, group, tx))
    assert alone.errors == []
    assert alone.groups[0].errors == []
    assert [t.segments for _g, t in alone.transactions] == [tx.segments]
    assert (alone.control, alone.groups[0].control) == (ix.control, "517")
