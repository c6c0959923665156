"""Finding the cheapest plan: exact branch and bound for small orders, greedy for large ones.

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

**Heuristic** (larger orders): the best single location if there is one; otherwise greedy
cover — repeatedly add the location whose shipment of what it can still cover costs least per
unit covered — then a pass that moves whole lines between the chosen locations while that
lowers the total. It is not guaranteed optimal; ``bench/routing.py`` measures the gap.

Keep-together groups (lines sharing ``attributes["keep_together"]``) always ship whole, from
one location.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from orderhub.domain.routing.blocks import block_candidates, whole_line_best
from orderhub.domain.routing.cost import CostModel, Origin


@dataclass(frozen=True)
class LineSpec:
    line_id: str
    sku: str
    quantity: int
    grams: int  # per unit
    hazmat: bool
    group: str | None = None
    parts: tuple[tuple[str, int], ...] = ()  # the order lines merged here (same SKU), in order

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


@dataclass
class Solution:
    cost: int
    units: dict[tuple[int, int], int]  # (line index, origin index) → units
    origins: tuple[int, ...]
    key: tuple[int, int, tuple[int, ...]] = field(default=(0, 0, ()))

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
        lines: Sequence[LineSpec],
        origins: Sequence[Origin],
        avail: Sequence[Sequence[int]],  # avail[i][j]: units of line i usable at origin j
        model: CostModel,
        max_splits: int,
    ) -> None:
        self.lines = lines
        self.origins = origins
        self.avail = avail
        self.model = model
        self.max_splits = max_splits
        self.best: Solution | None = None
        self.single: dict[int, int | None] = {}  # origins holding the whole order → their cost

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
        ranks = tuple(sorted(self.origins[j].rank for j in members))
        key = (cost, len(members), ranks)
        if self.best is None or key < self.best.key:
            self.best = Solution(cost, dict(units), tuple(members), key)

    # -- single location -------------------------------------------------------------------
    def singles(self) -> None:
        lines, grams = self.lines, sum(li.quantity * li.grams for li in self.lines)
        haz = any(li.hazmat for li in lines)
        for j, origin in enumerate(self.origins):
            if all(self.avail[i][j] >= li.quantity for i, li in enumerate(lines)):
                one = self.model.shipment(origin, grams, haz)
                self.single[j] = one
                if one is not None:
                    units = {(i, j): li.quantity for i, li in enumerate(lines)}
                    self.offer(units, (j,), one - self.model.split_penalty)

    # -- exact splits ----------------------------------------------------------------------
    def exact(self) -> Solution | None:
        self.singles()
        floors = self._floors()
        cheapest = sorted(floors.values())[:2]
        if len(cheapest) < 2 or self.max_splits < 2:
            return self.best
        if self.best is not None and self.best.cost <= sum(cheapest) - self.model.split_penalty:
            return self.best  # no plan of two or more shipments can even tie the best single
        if self.best is not None:  # the single is a strong incumbent: deal every subset
            self._subsets(floors, splits_only=False)
            return self.best
        whole_line_best(self, block_candidates(self))  # exact over whole-line plans …
        self._subsets(floors, splits_only=True)  # … and over those that split some line's units
        return self.best

    def _floors(self) -> dict[int, int]:
        """Per origin, a floor on any shipment it makes: the lightest unit it holds, alone."""
        floors: dict[int, int] = {}
        lines, avail, floor = self.lines, self.avail, self.model.floor
        for j, origin in enumerate(self.origins):
            held = [li.grams for i, li in enumerate(lines) if avail[i][j] > 0]
            cost = floor(origin, min(held), False) if held else None
            if cost is not None:
                floors[j] = cost
        return floors

    def _subsets(self, floors: dict[int, int], *, splits_only: bool) -> None:
        """Branch and bound over member subsets of two or more locations.

        A subset is dealt only if its members jointly hold the whole order. With
        ``splits_only`` (whole-line plans already settled exactly by ``blocks``) it must also
        let some splittable line (≥ 2 units, no keep-together group) come from two members,
        and only plans that split a line's units are offered.
        """
        lines, avail = self.lines, self.avail
        if splits_only:
            splittable = [i for i, li in enumerate(lines) if li.quantity >= 2 and li.group is None]
            if not splittable:
                return
        else:
            splittable = []
        ordered = sorted(floors, key=lambda j: floors[j])
        split, most, n = self.model.split_penalty, self.max_splits, len(ordered)
        rows = range(len(lines))
        # reach[i][t]: the locations holding at least t units of line i
        reach = [
            [sum(1 << j for j in ordered if avail[i][j] >= t) for t in range(li.quantity + 1)]
            for i, li in enumerate(lines)
        ]

        def subsets(start: int, members: list[int], deficit: tuple[int, ...], total: int) -> None:
            if (
                len(members) >= 2
                and not any(deficit)
                and self._may_split(members, splittable, splits_only)
            ):
                self._deal(tuple(members), splits_only)
            if len(members) == most:
                return
            last = len(members) == most - 1
            closers = -1
            if last:  # the last member must hold everything the others cannot ship
                for i in rows:
                    if deficit[i]:
                        closers &= reach[i][deficit[i]]
                if not closers:
                    return
            for idx in range(start, n):
                j = ordered[idx]
                bound = total + floors[j] - split
                if not members and idx + 1 < n:
                    bound += floors[ordered[idx + 1]]  # a split has a second, dearer member
                if self.best is not None and bound >= self.best.cost:
                    break  # floors ascend: every later member is dearer still
                if last:
                    if closers >> j & 1 and self._closes(j, deficit, total - split):
                        members.append(j)  # … and pay for it within the best so far
                        if self._may_split(members, splittable, splits_only):
                            self._deal(tuple(members), splits_only)
                        members.pop()
                    continue
                left = tuple(max(0, deficit[i] - avail[i][j]) for i in rows)
                needs_more = any(left) and members  # a third, dearer member is still needed
                if needs_more and (
                    idx + 1 >= n
                    or (
                        self.best is not None and bound + floors[ordered[idx + 1]] >= self.best.cost
                    )
                ):
                    continue
                members.append(j)
                subsets(idx + 1, members, left, total + floors[j])
                members.pop()

        subsets(0, [], tuple(li.quantity for li in lines), 0)

    def _closes(self, j: int, deficit: tuple[int, ...], others: int) -> bool:
        """Whether member ``j`` can ship ``deficit`` and still (by its floor) beat the best."""
        grams, haz = 0, False
        for i, li in enumerate(self.lines):
            need = deficit[i]
            if need:
                if self.avail[i][j] < need:
                    return False
                grams += need * li.grams
                haz = haz or li.hazmat
        if self.best is None:
            return True
        floor = self.model.floor(self.origins[j], grams or 1, haz)
        return floor is not None and others + floor < self.best.cost

    def _may_split(self, members: Sequence[int], splittable: Sequence[int], only: bool) -> bool:
        if not only:
            return True
        avail = self.avail
        return any(sum(1 for j in members if avail[i][j] > 0) >= 2 for i in splittable)

    def _covers(self, members: Sequence[int]) -> bool:
        return all(
            sum(self.avail[i][j] for j in members) >= li.quantity for i, li in enumerate(self.lines)
        )

    def _deal(self, members: tuple[int, ...], splits_only: bool) -> None:
        k = len(members)
        grams = [0] * k
        haz = [False] * k
        used = [0] * k
        units: dict[tuple[int, int], int] = {}
        groups: dict[str, int] = {}
        model, origins, lines = self.model, self.origins, self.lines
        floor = model.floor if any(li.hazmat for li in lines) else _plain(model)
        # forced[i][p]: grams member p must still take from lines i… whatever the others hold
        forced = [[0] * k for _ in range(len(lines) + 1)]
        for i in range(len(lines) - 1, -1, -1):
            li = lines[i]
            caps = [min(li.quantity, self.avail[i][j]) for j in members]
            held = sum(caps)
            for p in range(k):
                must = max(0, li.quantity - (held - caps[p])) * li.grams
                forced[i][p] = forced[i + 1][p] + must

        def bound(i: int) -> int | None:
            total = -model.split_penalty
            ahead = forced[i]
            for p in range(k):
                one = floor(origins[members[p]], grams[p] + ahead[p], haz[p])
                if one is None:
                    return None
                total += one
            return total

        first = bound(0)
        if first is None or (self.best is not None and first >= self.best.cost):
            return

        cut = [0]  # lines whose units this branch splits over several members

        def visit(i: int) -> None:
            if i == len(lines):
                if (cut[0] or not splits_only) and all(used):
                    cost = self.total(units, members)
                    if cost is not None:
                        self.offer(units, members, cost)
                return
            line = lines[i]
            forced = groups.get(line.group) if line.group else None
            for split in self._splits(i, members, forced, whole_only=line.group is not None):
                parts = k - split.count(0)
                cut[0] += parts > 1
                for p, n in enumerate(split):
                    if n:
                        grams[p] += n * line.grams
                        used[p] += n
                        units[(i, members[p])] = n
                haz_before = haz[:]
                for p, n in enumerate(split):
                    if n and line.hazmat:
                        haz[p] = True
                new_group = line.group is not None and line.group not in groups
                if new_group:
                    assert line.group is not None
                    groups[line.group] = next(p for p, n in enumerate(split) if n)
                lower = bound(i + 1)
                if lower is not None and (self.best is None or lower < self.best.cost):
                    visit(i + 1)
                if new_group:
                    assert line.group is not None
                    del groups[line.group]
                haz[:] = haz_before
                cut[0] -= parts > 1
                for p, n in enumerate(split):
                    if n:
                        grams[p] -= n * line.grams
                        used[p] -= n
                        del units[(i, members[p])]

        visit(0)

    def _splits(
        self, i: int, members: tuple[int, ...], forced: int | None, *, whole_only: bool
    ) -> Iterator[tuple[int, ...]]:
        """Ways to deal line i's units over the members: whole-line options first."""
        q, k = self.lines[i].quantity, len(members)
        caps = [min(q, self.avail[i][j]) for j in members]
        for p in range(k) if forced is None else (forced,):
            if caps[p] >= q:
                yield tuple(q if r == p else 0 for r in range(k))
        if whole_only or forced is not None or q < 2:
            return
        yield from (s for s in _compositions(q, caps) if max(s) < q)

    # -- heuristic -------------------------------------------------------------------------
    def heuristic(self) -> Solution | None:
        self.singles()
        if self.best is None:
            self._greedy()
        return self.best

    def _greedy(self) -> None:
        lines = self.lines
        remaining = [li.quantity for li in lines]
        units: dict[tuple[int, int], int] = {}
        members: list[int] = []
        while any(remaining) and len(members) < self.max_splits:
            choice = self._greedy_pick(remaining, members)
            if choice is None:
                return
            j, cover = choice
            members.append(j)
            for i, n in cover.items():
                units[(i, j)] = n
                remaining[i] -= n
        if any(remaining):
            return
        self._improve(units, members)
        used = sorted({j for (_, j) in units})
        cost = self.total(units, used)
        if cost is not None:
            self.offer(units, used, cost)

    def _cover(self, j: int, remaining: list[int]) -> dict[int, int]:
        cover: dict[int, int] = {}
        whole: dict[str, bool] = {}
        for i, li in enumerate(self.lines):
            if li.group is not None:
                ok = whole.setdefault(
                    li.group,
                    all(
                        self.avail[x][j] >= other.quantity and remaining[x] == other.quantity
                        for x, other in enumerate(self.lines)
                        if other.group == li.group
                    ),
                )
                if ok and remaining[i]:
                    cover[i] = remaining[i]
            elif min(remaining[i], self.avail[i][j]) > 0:
                cover[i] = min(remaining[i], self.avail[i][j])
        return cover

    def _greedy_pick(
        self, remaining: list[int], members: list[int]
    ) -> tuple[int, dict[int, int]] | None:
        best: tuple[float, int, dict[int, int]] | None = None
        for j, origin in enumerate(self.origins):
            if j in members:
                continue
            cover = self._cover(j, remaining)
            if not cover:
                continue
            grams = sum(n * self.lines[i].grams for i, n in cover.items())
            haz = any(self.lines[i].hazmat for i in cover)
            cost = self.model.shipment(origin, grams, haz)
            if cost is None:
                continue
            score = cost / sum(cover.values())
            if best is None or (score, origin.rank) < (best[0], self.origins[best[1]].rank):
                best = (score, j, cover)
        return None if best is None else (best[1], best[2])

    def _improve(self, units: dict[tuple[int, int], int], members: list[int]) -> None:
        """Move whole lines to another chosen location while that lowers the total."""
        improved = True
        while improved:
            improved = False
            current = self.total(units, sorted({j for (_, j) in units}))
            for i, li in enumerate(self.lines):
                at = [j for j in members if units.get((i, j))]
                if len(at) != 1 or li.group is not None:
                    continue
                for j in members:
                    if j == at[0] or self.avail[i][j] < li.quantity:
                        continue
                    trial = dict(units)
                    del trial[(i, at[0])]
                    trial[(i, j)] = li.quantity
                    cost = self.total(trial, sorted({m for (_, m) in trial}))
                    if cost is not None and (current is None or cost < current):
                        units.clear()
                        units.update(trial)
                        current, improved = cost, True
                        break


def _compositions(total: int, caps: Sequence[int]) -> Iterator[tuple[int, ...]]:
    """All ways to write ``total`` as a sum of len(caps) parts with 0 ≤ part ≤ cap."""
    if len(caps) == 1:
        if total <= caps[0]:
            yield (total,)
        return
    rest = sum(caps[1:])
    for first in range(max(0, total - rest), min(total, caps[0]) + 1):
        for tail in _compositions(total - first, caps[1:]):
            yield (first, *tail)


def _plain(model: CostModel) -> Callable[[Origin, int, bool], int | None]:
    """Without hazmat lines a shipment's floor is simply its cost."""

    def floor(origin: Origin, grams: int, hazmat: bool) -> int | None:
        return model.shipment(origin, grams, False)

    return floor
