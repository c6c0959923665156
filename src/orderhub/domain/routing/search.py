"""Finding the cheapest plan: which search an order gets, and how the searches fit together.

``problem.py`` holds one request reduced to numbers (and the single-location pass); the
searches are functions over it, so the modules that implement them (``blocks``, ``subsets``,
``bounded``, ``heuristic``) import ``problem`` and never this module or one another's callers.

**Exact** (``len(lines) ≤ exact_max_lines``): every single location that holds the whole order
is priced first; the best is the incumbent. If the two cheapest possible shipments (each
location's lightest unit, alone) already cost at least that, no split can tie it and the search
stops. Otherwise, when a single location holds the order, every subset of 2 … ``max_splits``
locations is tried unless its lower bound (the cheapest shipment from each member, plus a
further member's when the subset cannot yet cover the order) reaches the incumbent; the last
member must hold all the others cannot, and its shipment of that deficit must still fit under
the incumbent. Inside a subset a depth-first search deals each line's units over the members
(whole lines first), pruned by the bound on the weight each member must still take (a rate
never falls as weight is added). When no single location holds the order, ``blocks`` first
settles every plan that keeps lines whole (partitions of the lines, exactly), and the subset
search then only deals subsets and plans that split some line's units. Every member must ship
something, so each plan is counted once. Ties go to fewer shipments, then to preferred
locations.

**Bounded** (larger orders): the same subset enumeration, each subset dealt by band choices
and a packing search (``bounded.py``) under a node budget; the best single location and the
greedy cover (``heuristic.py``) are the first incumbent.

The code is written for speed as much as for reading — plain loops over lists of ints, the
incumbent's cost as an int (``INF`` while there is none), no closures in the hot path — because
it runs on every allocation and compiles with mypyc (see docs/performance.md, "Routing").

Keep-together groups (lines sharing ``attributes["keep_together"]``) always ship whole, from
one location.
"""

from __future__ import annotations

from orderhub.domain.routing.blocks import block_candidates, whole_line_best
from orderhub.domain.routing.bounded import NODE_BUDGET, Bounded
from orderhub.domain.routing.heuristic import greedy
from orderhub.domain.routing.problem import INF, LineSpec, Problem, Solution
from orderhub.domain.routing.subsets import Subsets

__all__ = ["LineSpec", "Problem", "Solution", "bounded", "exact", "heuristic"]


def _ordered(problem: Problem, floors: list[int]) -> list[int] | None:
    """The origins that can ship something, cheapest floor first; None when no split can win."""
    ordered = sorted((j for j in range(len(floors)) if floors[j] < INF), key=floors.__getitem__)
    if len(ordered) < 2 or problem.max_splits < 2:
        return None
    if problem.best_cost <= floors[ordered[0]] + floors[ordered[1]] - problem.model.split_penalty:
        return None  # no plan of two or more shipments can even tie the best so far
    return ordered


def exact(problem: Problem) -> Solution | None:
    """The optimum of the cost model (orders of at most ``exact_max_lines`` lines)."""
    problem.singles()
    floors = problem.floors()
    ordered = _ordered(problem, floors)
    if ordered is None:
        return problem.result()
    if problem.best is not None:  # the single is a strong incumbent: deal every subset
        Subsets(problem, floors, ordered, splits_only=False).run()
    else:
        whole_line_best(problem, block_candidates(problem))  # exact over whole-line plans …
        Subsets(problem, floors, ordered, splits_only=True).run()  # … and over unit splits
    return problem.result()


def bounded(problem: Problem, budget: int = NODE_BUDGET) -> Solution | None:
    """The optimum within ``budget`` search nodes (larger orders); ``problem.complete`` says
    whether the search finished (then the plan is optimal) or the budget cut it short."""
    problem.singles()
    if problem.best is None:
        greedy(problem, improve=False)  # the first incumbent (a single location is stronger)
    floors = problem.floors()
    ordered = _ordered(problem, floors)
    if ordered is None:
        return problem.result()
    search = Bounded(problem, floors, ordered, budget)
    search.run()
    problem.nodes = search.packer.nodes
    problem.complete = not search.packer.spent
    return problem.result()


def heuristic(problem: Problem) -> Solution | None:
    """The old large-order heuristic: the best single location, else the greedy cover with
    whole-line moves (``bounded`` seeds itself with the cover alone); kept for the benchmark's
    comparison."""
    problem.singles()
    if problem.best is None:
        greedy(problem)
    return problem.result()
