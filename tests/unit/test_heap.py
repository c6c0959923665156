"""orderhub.heap: the collector's settings of a long-running process, restored on the way out."""

from __future__ import annotations

import gc

import pytest

from orderhub.heap import YOUNG_COLLECTION_THRESHOLD, frozen_heap


def _fail_while_frozen(seen: list[tuple[int, tuple[int, int, int]]]) -> None:
    with frozen_heap():
        seen.append((gc.get_freeze_count(), gc.get_threshold()))
        raise RuntimeError("stopped")


def test_the_start_up_heap_is_frozen_and_thawed_even_when_the_process_fails() -> None:
    threshold = gc.get_threshold()
    seen: list[tuple[int, tuple[int, int, int]]] = []
    with pytest.raises(RuntimeError):
        _fail_while_frozen(seen)
    [(frozen, during)] = seen
    assert frozen > 0
    assert during == (YOUNG_COLLECTION_THRESHOLD, *threshold[1:])
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == threshold
