"""Routing: choose the location(s) each order ships from, at least cost, and say why.

``constraints`` (hard exclusions with reasons) → ``cost`` (rate cards, split and lateness
penalties, distance) → ``search`` (exact branch and bound, heuristic for large orders) →
``explain``. ``rules`` is the versioned rule document; ``planner.build_planner`` the entry.
"""

from orderhub.domain.routing.planner import RoutingPlanner, build_planner
from orderhub.domain.routing.rules import RuleSet

__all__ = ["RoutingPlanner", "RuleSet", "build_planner"]
