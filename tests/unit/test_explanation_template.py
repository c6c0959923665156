"""The dashboard's routing explanation says how much of the order each candidate holds."""

from __future__ import annotations

from orderhub.domain.routing import build_planner
from orderhub.web.templating import TEMPLATES
from tests.unit.routing_helpers import line, location, request, rules


def _render(explanation: dict[str, object]) -> str:
    template = TEMPLATES.env.get_template("_explanation.html")
    return " ".join(template.render(x=explanation, line_skus={}).split())


def test_candidates_read_whole_part_or_none_of_the_order() -> None:
    two = (line("L1", "SKU-1", quantity=3), line("L2", "SKU-2", quantity=2))
    stock = {("SKU-1", "EAST"): 3, ("SKU-2", "EAST"): 2, ("SKU-1", "WEST"): 1}
    locations = (location("EAST"), location("WEST"), location("NORTH"))
    plan = build_planner(rules()).plan(request(lines=two, locations=locations, available=stock))
    html = _render(dict(plan.explanation))
    assert "<strong>EAST</strong> (zone 1): holds the whole order, single shipment" in html
    assert "<strong>WEST</strong> (zone 2): holds 1 of 5 units" in html
    assert "<strong>NORTH</strong> (zone 2): holds none of it" in html


def test_explanations_stored_before_units_were_counted_still_read() -> None:
    old = {"currency": "USD", "candidates": [{"location": "EAST", "zone": "1"}]}
    assert "<strong>EAST</strong> (zone 1): holds part of the order" in _render(old)
