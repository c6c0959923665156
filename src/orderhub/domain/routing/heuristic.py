"""The large-order heuristic: greedy cover, then whole-line moves. Not guaranteed optimal.

Used above ``exact_max_lines`` lines: the best single location if there is one; otherwise
repeatedly add the location whose shipment of what it can still cover costs least per unit
covered, then move whole lines between the chosen locations while that lowers the total.
``bench/routing.py`` measures its gap to the MILP optimum.
"""

from __future__ import annotations

from orderhub.domain.routing.problem import Problem


def greedy(problem: Problem, improve: bool = True) -> None:
    """Offer the problem a greedy cover of the order, improved by whole-line moves.

    ``improve=False`` skips the moves: as the bounded search's first incumbent the cover
    alone prunes nearly as well (``bench/routing.py --large``: 1 % more nodes) for less."""
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
    if improve:
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
        group = li.group
        if group is not None:
            ok = whole.get(group)
            if ok is None:
                ok = all(
                    avail[x][j] >= other.quantity and remaining[x] == other.quantity
                    for x, other in enumerate(lines)
                    if other.group == group
                )
                whole[group] = ok
            if ok and remaining[i]:
                cover[i] = remaining[i]
        else:
            n = min(remaining[i], avail[i][j])
            if n > 0:
                cover[i] = n
    return cover


def _pick(
    problem: Problem, remaining: list[int], members: list[int]
) -> tuple[int, dict[int, int]] | None:
    """The origin whose shipment of what it can still cover costs least per unit covered."""
    grouped = any(li.group is not None for li in problem.lines)
    best_score, best_j, best_rank = 0.0, -1, 0
    grams, hazmat, model = problem.grams, problem.hazmat, problem.model
    columns, room, plain = problem.columns(), problem.room(), problem.plain
    todo = [i for i in range(len(remaining)) if remaining[i] > 0]  # the lines still uncovered
    for j, origin in enumerate(problem.origins):
        if j in members:
            continue
        weight, haz, count = 0, False, 0
        if grouped:
            cover = _cover(problem, j, remaining)
            for i, n in cover.items():
                weight += n * grams[i]
                haz = haz or hazmat[i]
                count += n
        elif not members:  # nothing covered yet: all it holds (``room``, avail ≤ quantity)
            column = columns[j]
            weight = room[j]
            for units in column:  # not sum(): mypyc calls the builtin generically
                count += units
            if not plain:
                for i in range(len(column)):
                    if hazmat[i] and column[i] > 0:
                        haz = True
                        break
        else:  # the same sums without building the cover (only the winner's is built)
            column = columns[j]
            for i in todo:
                n = remaining[i]
                if column[i] < n:
                    n = column[i]
                if n > 0:
                    weight += n * grams[i]
                    haz = haz or hazmat[i]
                    count += n
        if not count:
            continue
        cost = model.shipment(origin, weight, haz)
        if cost is None:
            continue
        score = cost / count
        if best_j < 0 or score < best_score or (score == best_score and origin.rank < best_rank):
            best_score, best_j, best_rank = score, j, origin.rank
    return None if best_j < 0 else (best_j, _cover(problem, best_j, remaining))


def _improve(problem: Problem, units: dict[tuple[int, int], int], members: list[int]) -> None:
    """Move whole lines to another chosen location while that lowers the total.

    The members' loads are kept up to date, so a trial move prices just the two members it
    changes (the same totals as ``Problem.total`` over the trial plan)."""
    lines, grams, hazmat = problem.lines, problem.grams, problem.hazmat
    model, origins = problem.model, problem.origins
    load = [0] * len(origins)  # grams per member
    haz = [0] * len(origins)  # hazmat units per member
    held = [0] * len(origins)  # (line, member) entries per member: shipping iff > 0
    for (i, j), n in units.items():
        load[j] += n * grams[i]
        held[j] += 1
        if hazmat[i]:
            haz[j] += n
    ships: dict[int, int | None] = {
        j: model.shipment(origins[j], load[j], haz[j] > 0) for j in members
    }

    improved = True
    while improved:
        improved = False
        current = _total(ships, members, held, model.split_penalty)
        for i, li in enumerate(lines):
            if li.group is not None:
                continue
            at = -1
            several = False
            for j in members:
                if units.get((i, j)):
                    if at >= 0:
                        several = True
                    at = j
            if at < 0 or several:
                continue
            q = li.quantity
            w = q * grams[i]
            h = q if hazmat[i] else 0
            for j in members:
                if j == at or problem.avail[i][j] < q:
                    continue
                trial = dict(ships)
                held[at] -= 1
                held[j] += 1
                trial[at] = model.shipment(origins[at], load[at] - w, haz[at] - h > 0)
                trial[j] = model.shipment(origins[j], load[j] + w, haz[j] + h > 0)
                cost = _total(trial, members, held, model.split_penalty)
                if cost is not None and (current is None or cost < current):
                    del units[(i, at)]
                    units[(i, j)] = q
                    load[at] -= w
                    load[j] += w
                    haz[at] -= h
                    haz[j] += h
                    ships = trial
                    current, improved = cost, True
                    break
                held[at] += 1
                held[j] -= 1


def _total(
    ships: dict[int, int | None], members: list[int], held: list[int], split: int
) -> int | None:
    """The plan's cost from its members' shipments (those shipping anything); None: one can't."""
    cost = -split
    for j in members:
        if held[j] > 0:
            one = ships[j]
            if one is None:
                return None
            cost += one
    return cost
