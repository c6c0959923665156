"""Routing benchmark: decisions per second and the cost gap to the MILP optimum.

    .venv/bin/python -m bench.routing --orders 2000 --seed 7

Not a test: it prints figures for docs/performance.md ("Routing"). Decisions are timed over
``--repeat`` passes of the same orders (each a full decision: constraints, search,
explanation) and the fastest pass is reported, in CPU time so that other processes on the
machine do not count; the first pass starts cold (no lanes worked out yet).
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench.routing_instances import instances
from bench.routing_milp import optimum
from orderhub.domain.allocation import AllocationRequest
from orderhub.domain.routing import RoutingPlanner, build_planner
from orderhub.domain.routing.search import bounded, exact, heuristic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--density", type=float, default=0.45, help="P(a SKU is at a location)")
    parser.add_argument("--milp", type=int, default=None, help="compare this many (default all)")
    parser.add_argument("--repeat", type=int, default=5, help="timed passes; the best counts")
    parser.add_argument(
        "--large", action="store_true", help="7–20 lines over 10–30 locations (bounded search)"
    )
    args = parser.parse_args()
    rules, requests = instances(args.seed, args.orders, args.density, large=args.large)
    planner = build_planner(rules, version=1)
    print(f"routing engine: {engine()}")
    passes = []
    for _ in range(max(1, args.repeat)):
        started, cpu = time.perf_counter(), time.process_time()
        plans = [planner.plan(r) for r in requests]
        passes.append((time.process_time() - cpu, time.perf_counter() - started))
    cpu, elapsed = min(passes)
    feasible = [p for p in plans if p.feasible]
    splits = sum(1 for p in feasible if len(p.locations) > 1)
    print(
        f"decisions: {len(plans)} × {len(passes)} passes; best {cpu:.2f} s CPU "
        f"({elapsed:.2f} s wall) → {len(plans) / cpu:,.0f}/s per CPU-second "
        f"({len(plans) / elapsed:,.0f}/s wall), {cpu / len(plans) * 1e6:,.0f} µs per decision; "
        f"all passes: {', '.join(f'{len(plans) / c:,.0f}' for c, _ in passes)}/CPU-s"
    )
    print(f"feasible: {len(feasible)}  split rate: {splits / max(1, len(feasible)):.1%}")
    compare(planner, requests[: args.milp], rules.exact_max_lines)


def engine() -> str:
    """Compiled (tools/native.py) or interpreted: the figures differ about threefold."""
    import orderhub.domain.routing.search as search

    return "interpreted" if str(search.__file__).endswith(".py") else "compiled with mypyc"


def ratio(cost: int, best: int) -> float:
    if best == 0:
        return 1.0 if cost == 0 else float("inf")
    return cost / best


def compare(planner: RoutingPlanner, requests: list[AllocationRequest], max_lines: int) -> None:
    """The planner's cost, and the large-order heuristic's alone, against the MILP optimum."""
    ratios, greedy, mismatched, milp_cpu, cut_short = [], [], 0, 0.0, 0
    for request in requests:
        _, _, problem = planner.prepare(request)
        _, _, fresh = planner.prepare(request)
        if problem is None or fresh is None:
            continue
        cpu = time.process_time()
        best = optimum(problem)
        milp_cpu += time.process_time() - cpu
        ours = exact(problem) if len(problem.lines) <= max_lines else bounded(problem)
        rough = heuristic(fresh)
        cut_short += not problem.complete  # the bounded search's node budget ran out
        if best is None or ours is None:
            mismatched += (best is None) != (ours is None)
            continue
        ratios.append(ratio(ours.cost, best))
        if rough is not None:
            greedy.append(ratio(rough.cost, best))
    if not ratios:
        return
    print(
        f"planner vs MILP optimum on {len(ratios)} orders: mean ratio "
        f"{statistics.fmean(ratios):.5f}, worst {max(ratios):.5f}, "
        f"feasibility disagreements {mismatched}; MILP {len(ratios) / milp_cpu:,.0f}/CPU-s; "
        f"bounded search cut short by its node budget in {cut_short}"
    )
    if greedy:
        print(
            f"heuristic alone on the same orders: mean ratio {statistics.fmean(greedy):.5f}, "
            f"worst {max(greedy):.5f}, optimal in {sum(r <= 1.0 for r in greedy) / len(greedy):.1%}"
        )


if __name__ == "__main__":
    main()
