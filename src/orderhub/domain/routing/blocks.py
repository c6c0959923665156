"""The exact optimum over *whole-line* plans, fast: partitions of the lines into blocks.

A plan that never splits a line's units is a partition of the (merged) lines into at most
``max_splits`` blocks, each shipped whole from a distinct location that holds every line of its
block. Per block, the locations that hold it are the AND of per-line bitmasks, and each is
priced once; per partition, the best distinct assignment lies within each block's ``k``
cheapest locations (``k`` blocks: if a block used a dearer one, one of its ``k`` cheapest is
free and no dearer, so swapping cannot lose — on cost, then on the rank tie-break). Keep-
together groups are never cut. There are at most 41 partitions of 5 lines into ≤ 3 blocks, so
this is cheap; it settles every whole-line plan, and gives the unit-splitting search in
``search.py`` a strong incumbent.
"""

from __future__ import annotations

from itertools import product

from orderhub.domain.routing.problem import Problem

Candidate = tuple[int, int, int]  # (shipment cost incl. one split penalty, rank, origin index)


def block_candidates(problem: Problem) -> dict[int, list[Candidate]]:
    """Per block of lines (a bitmask), the locations holding it whole, cheapest first."""
    lines, origins, model = problem.lines, problem.origins, problem.model
    holders = problem.whole
    groups: dict[str, int] = {}
    for i, li in enumerate(lines):
        if li.group is not None:
            groups[li.group] = groups.get(li.group, 0) | (1 << i)
    atoms = list(groups.values())
    n = len(lines)
    masks, grams, hazmat = [0] * (1 << n), [0] * (1 << n), [False] * (1 << n)
    masks[0] = (1 << len(origins)) - 1
    out: dict[int, list[Candidate]] = {}
    shipment = model.shipment
    for block in range(1, 1 << n):
        low = (block & -block).bit_length() - 1
        rest = block & (block - 1)
        li = lines[low]
        masks[block] = masks[rest] & holders[low]
        grams[block] = grams[rest] + li.quantity * li.grams
        hazmat[block] = hazmat[rest] or li.hazmat
        mask = masks[block]
        if not mask or any(block & a and block & a != a for a in atoms):
            continue
        found = []
        w, h = grams[block], hazmat[block]
        while mask:
            bit = mask & -mask
            j = bit.bit_length() - 1
            mask ^= bit
            cost = shipment(origins[j], w, h)
            if cost is not None:
                found.append((cost, origins[j].rank, j))
        if found:
            found.sort()
            out[block] = found
    return out


def whole_line_best(problem: Problem, cands: dict[int, list[Candidate]]) -> None:
    """Offer the problem the best whole-line plan (if any) — exact among such plans."""
    full = (1 << len(problem.lines)) - 1
    _walk(problem, cands, [], full, 0)


def _walk(
    problem: Problem,
    cands: dict[int, list[Candidate]],
    chosen: list[int],
    remaining: int,
    bound: int,
) -> None:
    """Partitions of the ``remaining`` lines into blocks, the lowest line's block first."""
    if bound - problem.model.split_penalty > problem.best_cost:
        return
    if not remaining:
        _assign(problem, cands, chosen)
        return
    if len(chosen) == problem.max_splits:
        return
    low = remaining & -remaining
    sub = remaining
    while sub:
        if sub & low and sub in cands:
            chosen.append(sub)
            _walk(problem, cands, chosen, remaining & ~sub, bound + cands[sub][0][0])
            chosen.pop()
        sub = (sub - 1) & remaining


def _assign(problem: Problem, cands: dict[int, list[Candidate]], chosen: list[int]) -> None:
    """Offer the cheapest distinct locations for the blocks (within each one's k cheapest)."""
    k, split = len(chosen), problem.model.split_penalty
    for combo in product(*(cands[b][:k] for b in chosen)):
        if k > 1 and len({c[2] for c in combo}) < k:
            continue
        cost = sum(c[0] for c in combo) - split
        if cost > problem.best_cost:
            continue
        units = {
            (i, c[2]): problem.quantity[i]
            for b, c in zip(chosen, combo, strict=True)
            for i in range(len(problem.quantity))
            if b >> i & 1
        }
        problem.offer(units, [c[2] for c in combo], cost)
