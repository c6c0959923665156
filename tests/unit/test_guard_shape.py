"""The request guard's quick shape checks agree with its full walk.

A body that needs no text checked is passed by ``_well_shaped`` alone, which keeps no paths;
only a body it fails is walked by ``_unstorable`` to name the field. So ``_well_shaped`` must
fail exactly the documents in which ``_unstorable(texts=False)`` finds anything: nesting past
``MAX_JSON_DEPTH`` or a number that is not finite, at any place in the document. Before that,
``_plainly_shaped`` passes most bodies by their bytes, unparsed: it may send a well-shaped body
on to the parse, never pass one that is not.
"""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from orderhub.api.guard import MAX_JSON_DEPTH, _plainly_shaped, _unstorable, _well_shaped
from orderhub.bench import load

_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=3)
)
_documents = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=2), children, max_size=3)
    ),
    max_leaves=40,
)


def _nest(levels: int, leaf: Any) -> Any:
    document = leaf
    for level in range(levels):
        document = [document] if level % 2 else {"k": document}
    return document


@st.composite
def _deep(draw: st.DrawFn) -> Any:
    """A document with a branch near the depth limit, a scalar or a container at its end."""
    leaf = draw(_scalars | st.just([]) | st.just({}) | st.just([1.5]))
    branch = _nest(draw(st.integers(MAX_JSON_DEPTH - 2, MAX_JSON_DEPTH + 2)), leaf)
    return draw(st.sampled_from([branch, {"orders": [1, branch, "x"]}, [branch, math.nan]]))


@settings(max_examples=400)
@given(_documents | _deep())
def test_the_quick_check_fails_exactly_what_the_full_walk_finds(document: Any) -> None:
    assert _well_shaped(document) == (not list(_unstorable(document, texts=False)))


def test_the_depth_limit_counts_levels_as_the_full_walk_does() -> None:
    for levels in (MAX_JSON_DEPTH - 1, MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1):
        for leaf in ("x", [], {}, [1]):
            document = _nest(levels, leaf)
            assert _well_shaped(document) == (not list(_unstorable(document, texts=False)))
    assert _well_shaped(_nest(MAX_JSON_DEPTH, 1))
    assert not _well_shaped(_nest(MAX_JSON_DEPTH + 1, 1))


def test_non_finite_numbers_anywhere_fail() -> None:
    for text in ('{"a": [1, {"b": NaN}]}', "[Infinity]", "-Infinity", '{"n": 1e400}'):
        assert not _well_shaped(json.loads(text))
    assert _well_shaped(json.loads('{"a": [1.5, "NaN", {"b": null}], "c": true}'))
    assert _well_shaped(1.5)


@settings(max_examples=400)
@given(_documents | _deep(), st.booleans())
def test_the_byte_check_passes_only_well_shaped_bodies(document: Any, compact: bool) -> None:
    body = json.dumps(document, separators=(",", ":") if compact else None).encode()
    if _plainly_shaped(body):
        assert _well_shaped(json.loads(body))


def test_the_byte_check_sends_every_way_to_a_non_finite_number_to_the_parse() -> None:
    for text in (
        '{"a": NaN}',
        "[Infinity]",
        '{"a": -Infinity}',
        '{"n": 1e400}',
        '{"n": 2.5E+309}',
        '{"n": 0e1}',
        '{"n": ' + "9" * 400 + ".5}",
        '{"n": ' + "9" * 400 + "}",
    ):
        assert not _plainly_shaped(text.encode()), text


def test_the_byte_check_counts_brackets_against_the_depth_limit() -> None:
    assert _plainly_shaped(json.dumps(_nest(MAX_JSON_DEPTH, 1)).encode())
    assert not _plainly_shaped(json.dumps(_nest(MAX_JSON_DEPTH + 1, 1)).encode())
    flat = {"lines": [{"sku": f"S{n}", "quantity": 1} for n in range(MAX_JSON_DEPTH)]}
    assert not _plainly_shaped(json.dumps(flat).encode())  # parsed (and well shaped)
    assert _well_shaped(flat)


def test_a_plain_order_is_passed_unparsed() -> None:
    assert _plainly_shaped(json.dumps(load.order(7)).encode())
