"""Finding the cheapest plan: exact branch and bound for small orders, greedy for large ones.

``Problem`` holds one request reduced to numbers and runs the search: single locations here,
whole-line plans in ``blocks.py``, location subsets in ``subsets.py``, ``heuristic.py`` for
large orders.

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

**Heuristic** (larger orders): see ``heuristic.py``.

The code is written for speed as much as for reading — plain loops over lists of ints, the
incumbent's cost as an int (``INF`` while there is none), no closures in the hot path — because
it runs on every allocation and compiles with mypyc (see docs/performance.md, "Routing").

Keep-together groups (lines sharing ``attributes["keep_together"]``) always ship whole, from
one location.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from orderhub.domain.routing.blocks import block_candidates, whole_line_best
from orderhub.domain.routing.cost import CostModel, Origin
from orderhub.domain.routing.heuristic import greedy
from orderhub.domain.routing.subsets import INF, Subsets


class LineSpec:
    """One demand: an order line, or lines of one SKU merged (they share its stock).

    The hot classes here are plain classes, not dataclasses: mypyc compiles their
    ``__init__``, where a dataclass's generated one would stay interpreted.
    """

    def __init__(
        self,
        line_id: str,
        sku: str,
        quantity: int,
        grams: int,  # per unit
        hazmat: bool,
        group: str | None = None,
        parts: tuple[tuple[str, int], ...] = (),  # the order lines merged here, in order
    ) -> None:
        self.line_id = line_id
        self.sku = sku
        self.quantity = quantity
        self.grams = grams
        self.hazmat = hazmat
        self.group = group
        self.parts = parts

    def split(self, quantities: Sequence[int]) -> Iterator[tuple[str, int, int]]:
        """Deal ``quantities`` (per location, in order) back to the merged lines.

        Yields (line id, location position, units); lines fill in order, locations in order.
        """
        parts = list(self.parts or ((self.line_id, self.quantity),))
        at = 0
        for position, quantity in enumerate(quantities):
            while quantity:
                line_id, need = parts[at]
                n = min(need, quantity)
                yield line_id, position, n
                quantity -= n
                parts[at] = (line_id, need - n)
                if parts[at][1] == 0:
                    at += 1


class Solution:
    def __init__(
        self,
        cost: int,
        units: dict[tuple[int, int], int],  # (line index, origin index) → units
        origins: tuple[int, ...],
        key: tuple[int, int, tuple[int, ...]] = (0, 0, ()),  # what ``offer`` compares
    ) -> None:
        self.cost = cost
        self.units = units
        self.origins = origins
        self.key = key

    def shipments(self, lines: Sequence[LineSpec]) -> dict[int, tuple[int, bool]]:
        load: dict[int, tuple[int, bool]] = {}
        for (i, j), n in self.units.items():
            grams, haz = load.get(j, (0, False))
            load[j] = (grams + n * lines[i].grams, haz or lines[i].hazmat)
        return load


class Problem:
    """One request reduced to numbers: lines × origins with usable units and a cost model."""

    def __init__(
        self,
        lines: tuple[LineSpec, ...],
        origins: list[Origin],
        avail: list[list[int]],  # avail[i][j]: units of line i usable at j, ≤ its quantity
        model: CostModel,
        max_splits: int,
    ) -> None:
        self.lines = lines
        self.origins = origins
        self.avail = avail
        self.model = model
        self.max_splits = max_splits
        self.best: Solution | None = None
        self.best_cost = INF
        self.single: dict[int, int | None] = {}  # origins holding the whole order → their cost
        self.quantity = [li.quantity for li in lines]
        self.grams = [li.grams for li in lines]
        self.hazmat = [li.hazmat for li in lines]
        self.plain = not any(self.hazmat)  # no hazmat line: a shipment's floor is its cost
        self._columns: list[list[int]] | None = None
        self._room: list[int] | None = None
        # whole[i]: the origins (bitmask) holding line i whole
        self.whole: list[int] = []
        for i, row in enumerate(avail):
            need, mask = self.quantity[i], 0
            for j, held in enumerate(row):
                if held >= need:
                    mask |= 1 << j
            self.whole.append(mask)

    def columns(self) -> list[list[int]]:
        """columns[j][i] = avail[i][j]: what origin j holds of each line (made once)."""
        if self._columns is None:
            self._columns = [list(column) for column in zip(*self.avail, strict=True)]
        return self._columns

    def room(self) -> list[int]:
        """Per origin, the grams of the order it could ship at most."""
        if self._room is None:
            grams = self.grams
            self._room = [
                sum(n * g for n, g in zip(column, grams, strict=True)) for column in self.columns()
            ]
        return self._room

    def floor(self, origin: Origin, grams: int, hazmat: bool) -> int | None:
        """A lower bound on a shipment once more units are added (its cost, without hazmat)."""
        if self.plain:
            return self.model.shipment(origin, grams, False)
        return self.model.floor(origin, grams, hazmat)

    def total(self, units: dict[tuple[int, int], int], members: Sequence[int]) -> int | None:
        load = Solution(0, units, tuple(members)).shipments(self.lines)
        cost = -self.model.split_penalty
        for j in members:
            grams, haz = load.get(j, (0, False))
            one = self.model.shipment(self.origins[j], grams, haz)
            if one is None:
                return None
            cost += one
        return cost

    def offer(self, units: dict[tuple[int, int], int], members: Sequence[int], cost: int) -> None:
        if cost > self.best_cost:
            return
        ranks = tuple(sorted(self.origins[j].rank for j in members))
        key = (cost, len(members), ranks)
        best = self.best
        if best is None or key < best.key:
            self.best = Solution(cost, dict(units), tuple(members), key)
            self.best_cost = cost

    # -- single location -------------------------------------------------------------------
    def singles(self) -> None:
        mask = (1 << len(self.origins)) - 1
        for held in self.whole:
            mask &= held
        grams = sum(q * g for q, g in zip(self.quantity, self.grams, strict=True))
        haz = not self.plain
        while mask:
            bit = mask & -mask
            mask ^= bit
            j = bit.bit_length() - 1
            one = self.model.shipment(self.origins[j], grams, haz)
            self.single[j] = one
            if one is not None:
                units = {(i, j): q for i, q in enumerate(self.quantity)}
                self.offer(units, (j,), one - self.model.split_penalty)

    # -- exact splits ----------------------------------------------------------------------
    def exact(self) -> Solution | None:
        self.singles()
        floors = self._floors()
        ordered = sorted((j for j in range(len(floors)) if floors[j] < INF), key=floors.__getitem__)
        if len(ordered) < 2 or self.max_splits < 2:
            return self.best
        if self.best_cost <= floors[ordered[0]] + floors[ordered[1]] - self.model.split_penalty:
            return self.best  # no plan of two or more shipments can even tie the best single
        if self.best is not None:  # the single is a strong incumbent: deal every subset
            Subsets(self, floors, ordered, splits_only=False).run()
        else:
            whole_line_best(self, block_candidates(self))  # exact over whole-line plans …
            Subsets(self, floors, ordered, splits_only=True).run()  # … and over unit splits
        return self.result()

    def result(self) -> Solution | None:
        """The best plan offered so far.

        Read it through here after calls that may offer one: mypy (and so mypyc, which checks
        it at run time) would otherwise keep an earlier ``self.best is None`` narrowing.
        """
        return self.best

    def _floors(self) -> list[int]:
        """Per origin, a floor on any shipment it makes (its lightest unit, alone); INF: none."""
        lightest = sorted(range(len(self.lines)), key=self.grams.__getitem__)
        avail, floors = self.avail, []
        for j, origin in enumerate(self.origins):
            cost: int | None = None
            for i in lightest:
                if avail[i][j] > 0:
                    cost = self.floor(origin, self.grams[i], False)
                    break
            floors.append(INF if cost is None else cost)
        return floors

    # -- heuristic -------------------------------------------------------------------------
    def heuristic(self) -> Solution | None:
        self.singles()
        if self.best is None:
            greedy(self)
        return self.result()
