"""One request reduced to numbers: the demands, the candidate origins, their usable units.

Shared by every search (``search.py`` picks one): the single-location pass, the incumbent
(``offer``, ties to fewer shipments, then preferred locations) and the floors the bounds
start from. The searchers import this module; it imports none of them.

The hot classes here are plain classes, not dataclasses: mypyc compiles their ``__init__``,
where a dataclass's generated one would stay interpreted.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from orderhub.domain.routing.cost import CostModel, Origin

INF = 1 << 62  # the incumbent's cost while there is none


class LineSpec:
    """One demand: an order line, or lines of one SKU merged (they share its stock)."""

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
        self.nodes = 0  # what the bounded search spent (large orders)
        self.complete = True  # False: its node budget ran out before it proved the optimum
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
            # comprehensions over lists (sized up front): mypyc runs zip(*rows) generically
            avail = self.avail
            self._columns = [[row[j] for row in avail] for j in range(len(self.origins))]
        return self._columns

    def room(self) -> list[int]:
        """Per origin, the grams of the order it could ship at most."""
        if self._room is None:
            grams, room = self.grams, []
            for column in self.columns():  # plain loops: mypyc runs a generator far slower
                total = 0
                for i in range(len(column)):
                    units = column[i]
                    if units:  # most origins hold few of a large order's lines
                        total += units * grams[i]
                room.append(total)
            self._room = room
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

    def result(self) -> Solution | None:
        """The best plan offered so far.

        Read it through here after calls that may offer one: mypy (and so mypyc, which checks
        it at run time) would otherwise keep an earlier ``self.best is None`` narrowing.
        """
        return self.best

    def floors(self) -> list[int]:
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


_COMPOSITIONS: dict[tuple[int, tuple[int, ...]], tuple[tuple[int, ...], ...]] = {}


def compositions(total: int, caps: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
    """All ways to write ``total`` as a sum of len(caps) parts with 0 ≤ part ≤ cap (memoised)."""
    key = (total, caps)
    found = _COMPOSITIONS.get(key)
    if found is None:
        found = tuple(_compose(total, caps))
        if len(_COMPOSITIONS) > 4096:
            _COMPOSITIONS.clear()
        _COMPOSITIONS[key] = found
    return found


def _compose(total: int, caps: Sequence[int]) -> Iterator[tuple[int, ...]]:
    if len(caps) == 1:
        if total <= caps[0]:
            yield (total,)
        return
    rest = sum(caps[1:])
    for first in range(max(0, total - rest), min(total, caps[0]) + 1):
        for tail in _compose(total - first, caps[1:]):
            yield (first, *tail)
