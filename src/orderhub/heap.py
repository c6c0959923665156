"""The garbage collector's settings for a long-running process (``serve``, ``worker``)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_COLLECTION_THRESHOLD = 20_000
"""Allocations between two young collections in a long-running process (CPython's default:
700). A batch of 500 orders keeps some 40,000 objects alive until its answer: at 700 they set
off 60 young collections per batch, each examining the survivors again on their way to the
oldest generation (about 7 % of the CPU per batched order)."""


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Move what start-up built (modules, routes, schemas, the container) out of the cyclic
    garbage collector's sight: else every full collection walks that whole heap again, and a
    batch of 500 orders set one off about every other request, up to half the server's CPU per
    batched order (docs/performance.md, "Fifth pass"). Objects no longer used are still freed
    by their reference counts; a cycle among them only at the unfreeze on the way out."""
    threshold = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()
