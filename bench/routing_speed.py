"""Routing decisions per CPU-second alone: ``bench/routing.py``'s timing loop, no MILP.

    .venv/bin/python -m bench.routing_speed --large --density 0.45 --orders 500 --repeat 10

It imports only ``build_planner`` and ``bench.routing_instances``, so it also runs in a
checkout of an older engine (main's ``00cab95``, with this ``bench/`` copied in) for the
alternating rounds docs/performance.md reports. ``--repeat 0`` plans nothing: with
``--repeat 1`` and ``2`` under valgrind's callgrind (``--toggle-collect`` on
``RoutingPlanner.plan``) the difference is one warm pass's instruction count.
"""

from __future__ import annotations

import argparse
import time

from bench.routing_instances import instances
from orderhub.domain.routing import build_planner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--density", type=float, default=0.45)
    parser.add_argument("--repeat", type=int, default=10, help="timed passes; the best counts")
    parser.add_argument("--large", action="store_true", help="7–20 lines over 10–30 locations")
    args = parser.parse_args()
    rules, requests = instances(args.seed, args.orders, args.density, large=args.large)
    planner = build_planner(rules, version=1)
    passes, feasible = [], 0
    for _ in range(args.repeat):
        cpu = time.process_time()
        plans = [planner.plan(r) for r in requests]
        passes.append(time.process_time() - cpu)
        feasible = sum(1 for p in plans if p.feasible)
    if passes:
        best = min(passes)
        print(
            f"feasible {feasible} of {len(requests)}; {len(requests) / best:,.0f} decisions "
            f"per CPU-second, {best / len(requests) * 1e6:,.0f} µs each (best of {len(passes)})"
        )


if __name__ == "__main__":
    main()
