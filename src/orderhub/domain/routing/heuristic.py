"""The large-order heuristic: greedy cover, then whole-line moves. Not guaranteed optimal.

Used above ``exact_max_lines`` lines: the best single location if there is one; otherwise
repeatedly add the location whose shipment of what it can still cover costs least per unit
covered, then move whole lines between the chosen locations while that lowers the total.
``bench/routing.py`` measures its gap to the MILP optimum.
"""

from __future__ import annotations

from orderhub.domain.routing.problem import Problem


def greedy(problem: Problem) -> None:
    """Offer the problem a greedy cover of the order, improved by whole-line moves."""
    lines = problem.lines
    remaining = [li.quantity for li in lines]
    units: dict[tuple[int, int], int] = {}
    members: list[int] = []
    while any(remaining) and len(members) < problem.max_splits:
        choice = _pick(problem, remaining, members)
        if choice is None:
            return
        j, cover = choice
        members.append(j)
        for i, n in cover.items():
            units[(i, j)] = n
            remaining[i] -= n
    if any(remaining):
        return
    _improve(problem, units, members)
    used = sorted({j for (_, j) in units})
    cost = problem.total(units, used)
    if cost is not None:
        problem.offer(units, used, cost)


def _cover(problem: Problem, j: int, remaining: list[int]) -> dict[int, int]:
    """What origin ``j`` can still ship: every line it holds, keep-together groups whole."""
    lines, avail = problem.lines, problem.avail
    cover: dict[int, int] = {}
    whole: dict[str, bool] = {}
    for i, li in enumerate(lines):
        if li.group is not None:
            ok = whole.setdefault(
                li.group,
                all(
                    avail[x][j] >= other.quantity and remaining[x] == other.quantity
                    for x, other in enumerate(lines)
                    if other.group == li.group
                ),
            )
            if ok and remaining[i]:
                cover[i] = remaining[i]
        elif min(remaining[i], avail[i][j]) > 0:
            cover[i] = min(remaining[i], avail[i][j])
    return cover


def _pick(
    problem: Problem, remaining: list[int], members: list[int]
) -> tuple[int, dict[int, int]] | None:
    best: tuple[float, int, dict[int, int]] | None = None
    lines, origins = problem.lines, problem.origins
    for j, origin in enumerate(origins):
        if j in members:
            continue
        cover = _cover(problem, j, remaining)
        if not cover:
            continue
        grams = sum(n * lines[i].grams for i, n in cover.items())
        haz = any(lines[i].hazmat for i in cover)
        cost = problem.model.shipment(origin, grams, haz)
        if cost is None:
            continue
        score = cost / sum(cover.values())
        if best is None or (score, origin.rank) < (best[0], origins[best[1]].rank):
            best = (score, j, cover)
    return None if best is None else (best[1], best[2])


def _improve(problem: Problem, units: dict[tuple[int, int], int], members: list[int]) -> None:
    """Move whole lines to another chosen location while that lowers the total."""
    improved = True
    while improved:
        improved = False
        current = problem.total(units, sorted({j for (_, j) in units}))
        for i, li in enumerate(problem.lines):
            at = [j for j in members if units.get((i, j))]
            if len(at) != 1 or li.group is not None:
                continue
            for j in members:
                if j == at[0] or problem.avail[i][j] < li.quantity:
                    continue
                trial = dict(units)
                del trial[(i, at[0])]
                trial[(i, j)] = li.quantity
                cost = problem.total(trial, sorted({m for (_, m) in trial}))
                if cost is not None and (current is None or cost < current):
                    units.clear()
                    units.update(trial)
                    current, improved = cost, True
                    break
