"""The exact optimum of the routing cost model as a MILP (HiGHS via highspy).

Same model as ``orderhub.domain.routing.cost``: x[i,j] units of line i from origin j;
z[j,s,b] = 1 when origin j ships by service s (channel's, or hazmat) in weight band b. A
shipment's cost is its band price plus its fixed parts plus one split penalty; the plan pays one
split penalty less. Hazmat units force the hazmat service; keep-together groups ship whole from
one origin; at most ``max_splits`` shipments.
"""

from __future__ import annotations

import highspy

from orderhub.domain.routing.problem import Problem


def optimum(problem: Problem) -> int | None:
    """The least plan cost in minor units, or None if no plan exists."""
    lines, origins, avail, model = problem.lines, problem.origins, problem.avail, problem.model
    big = sum(li.quantity * li.grams for li in lines) + 1
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 0.0)
    integer = highspy.HighsVarType.kInteger
    x = {
        (i, j): h.addVariable(lb=0, ub=min(li.quantity, avail[i][j]), type=integer)
        for i, li in enumerate(lines)
        for j in range(len(origins))
        if avail[i][j] > 0
    }
    z: dict[tuple[int, bool, int], highspy.highs_var] = {}
    cost: dict[tuple[int, bool, int], int] = {}
    services = (False, True) if model.hazmat_service != model.service else (False,)
    for j, origin in enumerate(origins):
        for haz in services:
            rate = origin.hazmat_rate if haz else origin.rate
            if rate is None:
                continue
            for b, price in enumerate(rate.prices):
                z[(j, haz, b)] = h.addVariable(lb=0, ub=1, type=integer)
                cost[(j, haz, b)] = price + origin.fixed(haz) + model.split_penalty
    for i, li in enumerate(lines):
        terms = [x[(i, j)] for j in range(len(origins)) if (i, j) in x]
        if not terms:
            return None
        h.addConstr(sum(terms) == li.quantity)
    for j in range(len(origins)):
        opened = [v for (m, _, _), v in z.items() if m == j]
        if not opened:
            for i in range(len(lines)):
                if (i, j) in x:
                    h.addConstr(x[(i, j)] <= 0)
            continue
        h.addConstr(sum(opened) <= 1)
        limits = [
            (v, min(_limit(origins[j], haz, b), big)) for (m, haz, b), v in z.items() if m == j
        ]
        weight = [lines[i].grams * x[(i, j)] for i in range(len(lines)) if (i, j) in x]
        if weight:
            h.addConstr(sum(weight) <= sum(limit * v for v, limit in limits))
        for i, li in enumerate(lines):
            if (i, j) in x:
                h.addConstr(x[(i, j)] <= li.quantity * sum(opened))
        hazmat_band = [v for (m, haz, _), v in z.items() if m == j and haz]
        hazmat_lines = [i for i, li in enumerate(lines) if li.hazmat and (i, j) in x]
        if len(services) == 2:
            for i in hazmat_lines:  # hazmat units ship only by the hazmat service
                cap = lines[i].quantity
                h.addConstr(x[(i, j)] <= cap * sum(hazmat_band) if hazmat_band else x[(i, j)] <= 0)
            if hazmat_band:  # … and only shipments with hazmat units use it
                units = [x[(i, j)] for i in hazmat_lines]
                h.addConstr(sum(hazmat_band) <= sum(units) if units else sum(hazmat_band) <= 0)
    _keep_together(h, problem, x)
    h.addConstr(sum(z.values()) <= problem.max_splits)
    h.minimize(sum(c * z[key] for key, c in cost.items()))
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return round(h.getInfo().objective_function_value) - model.split_penalty


def _limit(origin: object, haz: bool, band: int) -> int:
    rate = origin.hazmat_rate if haz else origin.rate  # type: ignore[attr-defined]
    return int(rate.limits[band])


def _keep_together(h: highspy.Highs, problem: Problem, x: dict[tuple[int, int], object]) -> None:
    groups: dict[str, list[int]] = {}
    for i, li in enumerate(problem.lines):
        if li.group is not None:
            groups.setdefault(li.group, []).append(i)
    integer = highspy.HighsVarType.kInteger
    for members in groups.values():
        u = {j: h.addVariable(lb=0, ub=1, type=integer) for j in range(len(problem.origins))}
        h.addConstr(sum(u.values()) == 1)
        for i in members:
            q = problem.lines[i].quantity
            for j, pick in u.items():
                if (i, j) in x:
                    h.addConstr(x[(i, j)] == q * pick)  # type: ignore[operator]
                else:
                    h.addConstr(pick <= 0)
