"""The exact search's core: location subsets, bounded, then each one's units dealt.

``Subsets`` enumerates member subsets of 2 … ``max_splits`` locations in order of their
floors (each location's cheapest possible shipment), stopping as soon as a subset's floors
reach the best plan so far; once no further member fits, only locations that can close the
order's remaining deficit are tried (bitmasks). ``deal`` bounds a subset twice before
searching it (``Shares.bound``), then ``_Deal`` deals each line's units over its members
depth-first, whole lines first, pruned by the weight each member must still take.

Written for speed (see the note in ``search.py``): plain classes, lists of ints, no closures.
"""

from __future__ import annotations

from orderhub.domain.routing.cost import Origin
from orderhub.domain.routing.problem import INF, Problem, compositions

__all__ = ["INF", "Shares", "Subsets", "compositions", "deal"]


class Subsets:
    """Branch and bound over member subsets of two or more locations, each then dealt.

    A subset is dealt only if its members jointly hold the whole order. With ``splits_only``
    (whole-line plans already settled exactly by ``blocks``) it must also let some splittable
    line (≥ 2 units, no keep-together group) come from two members, and only plans that split
    a line's units are offered.
    """

    def __init__(
        self, problem: Problem, floors: list[int], ordered: list[int], *, splits_only: bool
    ) -> None:
        self.problem = problem
        self.floors = floors
        self.ordered = ordered
        self.splits_only = splits_only
        quantity, avail = problem.quantity, problem.avail
        self.splittable = [
            i
            for i, li in enumerate(problem.lines)
            if splits_only and li.quantity >= 2 and li.group is None
        ]
        self.columns = problem.columns()
        # reach[i][t]: the positions in ``ordered`` of the origins holding ≥ t units of line i
        self.reach = []
        for i, q in enumerate(quantity):
            row = avail[i]
            masks = [0] * (q + 2)
            for position, j in enumerate(ordered):
                masks[min(q, row[j])] |= 1 << position  # … exactly that many, for now
            for t in range(q - 1, -1, -1):
                masks[t] |= masks[t + 1]
            self.reach.append(masks)

    def run(self) -> None:
        if self.splits_only and not self.splittable:
            return
        quantity = self.problem.quantity
        self._extend(0, [], list(quantity), 0, sum(quantity))

    def _extend(
        self, start: int, members: list[int], deficit: list[int], total: int, missing: int
    ) -> None:
        """Deal ``members`` if they hold the order, then try each dearer further member."""
        problem, floors, ordered = self.problem, self.floors, self.ordered
        k = len(members)
        if k >= 2 and not missing and self._may_split(members):
            deal(problem, members, splits_only=self.splits_only)
        most = problem.max_splits
        if k == most:
            return
        if k == most - 1:
            self._close(start, members, deficit, total)
            return
        split, n = problem.model.split_penalty, len(ordered)
        for idx in range(start, n):
            j = ordered[idx]
            bound = total + floors[j] - split
            if not k:
                if idx + 1 >= n:
                    break
                bound += floors[ordered[idx + 1]]  # a split has a second, dearer member
                if bound >= problem.best_cost:
                    break  # floors ascend: every later member is dearer still
            elif bound >= problem.best_cost:
                break
            elif idx + 1 >= n or bound + floors[ordered[idx + 1]] >= problem.best_cost:
                # No member after this one fits under the best: from here on each candidate
                # can only be the last, closing what the others cannot ship.
                self._close(idx, members, deficit, total)
                return
            column = self.columns[j]
            left = [
                need - held if need > held else 0
                for need, held in zip(deficit, column, strict=True)
            ]
            members.append(j)
            self._extend(idx + 1, members, left, total + floors[j], sum(left))
            members.pop()

    def _close(self, start: int, members: list[int], deficit: list[int], total: int) -> None:
        """Deal ``members`` plus each last member (from ``start`` on) that closes the deficit."""
        problem, floors, ordered = self.problem, self.floors, self.ordered
        # positions from start on, narrowed to the origins holding the deficit
        closers = (1 << len(ordered)) - 1 >> start << start
        for i, need in enumerate(deficit):
            if need:
                closers &= self.reach[i][need]
        split = problem.model.split_penalty
        while closers:
            bit = closers & -closers
            closers ^= bit
            j = ordered[bit.bit_length() - 1]
            if total + floors[j] - split >= problem.best_cost:
                break  # floors ascend: every later member is dearer still
            if self._closes(j, deficit, total - split):
                members.append(j)  # … and pays for it within the best so far
                if self._may_split(members):
                    deal(problem, members, splits_only=self.splits_only)
                members.pop()

    def _closes(self, j: int, deficit: list[int], others: int) -> bool:
        """Whether member ``j`` can ship ``deficit`` and still (by its floor) beat the best."""
        problem = self.problem
        grams, haz, column = 0, False, self.columns[j]
        for i, need in enumerate(deficit):
            if need:
                if column[i] < need:
                    return False
                grams += need * problem.grams[i]
                haz = haz or problem.hazmat[i]
        if problem.best is None:
            return True
        floor = problem.model.floor(problem.origins[j], grams or 1, haz)
        return floor is not None and others + floor < problem.best_cost

    def _may_split(self, members: list[int]) -> bool:
        if not self.splits_only:
            return True
        columns = self.columns
        for i in self.splittable:
            holders = 0
            for j in members:
                if columns[j][i] > 0:
                    holders += 1
            if holders >= 2:
                return True
        return False


def deal(problem: Problem, members: list[int], *, splits_only: bool) -> None:
    """Offer the best way to deal the order over exactly these members, if it can beat the
    best so far: cheap bounds first (most subsets stop there), then the search."""
    shares = Shares(problem, members)
    if shares.bound() < problem.best_cost:
        _Deal(problem, shares, splits_only=splits_only).run()


class Shares:
    """What each member of a subset must ship whatever the others hold, and can ship."""

    def __init__(self, problem: Problem, members: list[int]) -> None:
        self.problem = problem
        self.members = list(members)
        self.origins = [problem.origins[j] for j in members]
        # least[p]: grams member p must ship whatever the others hold (all it alone can);
        # avail never exceeds a line's quantity, so it is what each member can give
        self.least = [0] * len(members)
        for row, q, g in zip(problem.avail, problem.quantity, problem.grams, strict=True):
            held = 0
            for j in members:
                held += row[j]
            short = q - held  # > −row[j] where member p must give some of it
            for p, j in enumerate(members):
                must = short + row[j]
                if must > 0:
                    self.least[p] += must * g

    def caps(self) -> list[list[int]]:
        """caps[i][p]: units of line i member p can ship."""
        members = self.members
        return [[row[j] for j in members] for row in self.problem.avail]

    def forced(self, caps: list[list[int]]) -> list[list[int]]:
        """forced[i][p]: what ``least`` says for lines i… (for the search's bound per line)."""
        problem, k = self.problem, len(self.members)
        forced = [[0] * k for _ in range(len(caps) + 1)]
        for i in range(len(caps) - 1, -1, -1):
            row, q, g = caps[i], problem.quantity[i], problem.grams[i]
            held, here, ahead = sum(row), forced[i], forced[i + 1]
            for p in range(k):
                must = q - (held - row[p])
                here[p] = ahead[p] + must * g if must > 0 else ahead[p]
        return forced

    def bound(self) -> int:
        """A lower bound on every plan over exactly these members, each shipping (INF: none).

        Each member ships at least what it is forced to; and, without hazmat lines, the bands
        the members ship in must together hold the order's weight.
        """
        problem, least = self.problem, self.least
        total = -problem.model.split_penalty
        for p, origin in enumerate(self.origins):
            one = problem.floor(origin, least[p], False)
            if one is None:
                return INF
            total += one
        if total >= problem.best_cost or not problem.plain or len(self.origins) > 4:
            return total
        room = problem.room()
        return max(
            total, _weight_bound(problem, self.origins, least, [room[j] for j in self.members])
        )


def _weight_bound(
    problem: Problem, origins: list[Origin], least: list[int], room: list[int]
) -> int:
    """A lower bound from the order's weight: every gram ships from some member.

    Each member p ships between ``least[p]`` and ``room[p]`` grams, in some band of its rate;
    the bands chosen must together hold the order's weight. The cheapest such choice of
    bands (ignoring how units divide) bounds every plan over these members. No hazmat lines.
    """
    split = problem.model.split_penalty
    need = sum(q * g for q, g in zip(problem.quantity, problem.grams, strict=True))
    options: list[list[tuple[int, int]]] = []  # per member: (cost, grams it can hold), ascending
    for p, origin in enumerate(origins):
        rate = origin.rate
        if rate is None:
            return INF
        base = origin.base + split
        here = [
            (price + base, limit if limit < room[p] else room[p])
            for limit, price in zip(rate.limits, rate.prices, strict=True)
            if limit >= least[p]
        ]
        if not here:
            return INF
        options.append(here)
    # the most each later member can add: stop when even that cannot reach the weight
    reach = [0] * (len(options) + 1)
    for p in range(len(options) - 1, -1, -1):
        reach[p] = reach[p + 1] + options[p][-1][1]
    return _cheapest(options, reach, 0, 0, 0, need, problem.best_cost + split) - split


def _cheapest(
    options: list[list[tuple[int, int]]],
    reach: list[int],
    p: int,
    cost: int,
    held: int,
    need: int,
    best: int,
) -> int:
    if p == len(options):
        return cost if held >= need else INF
    for price, grams in options[p]:
        if cost + price >= best:
            break  # ascending: every later band is dearer
        if held + grams + reach[p + 1] < need:
            continue
        found = _cheapest(options, reach, p + 1, cost + price, held + grams, need, best)
        if found < best:
            best = found
    return best


class _Deal:
    """Depth-first dealing of each line's units over a fixed set of members (whole first).

    Pruned by the bound on the weight each member must still take whatever the others hold
    (a rate never falls as weight is added). Every member must ship something.
    """

    def __init__(self, problem: Problem, shares: Shares, *, splits_only: bool) -> None:
        self.problem = problem
        self.members = shares.members
        self.origins = shares.origins
        self.splits_only = splits_only
        self.caps = shares.caps()
        self.forced = shares.forced(self.caps)
        k = len(self.members)
        self.grams = [0] * k
        self.haz = [False] * k
        self.used = [0] * k
        self.take = [[0] * k for _ in self.caps]
        self.groups: dict[str, int] = {}
        self.cut = 0  # lines whose units this branch splits over several members

    def run(self) -> None:
        self._visit(0)

    def _bound(self, i: int) -> int | None:
        problem = self.problem
        total = -problem.model.split_penalty
        ahead, grams, haz, origins = self.forced[i], self.grams, self.haz, self.origins
        for p in range(len(origins)):
            one = problem.floor(origins[p], grams[p] + ahead[p], haz[p])
            if one is None:
                return None
            total += one
        return total

    def _visit(self, i: int) -> None:
        problem = self.problem
        lines = problem.lines
        if i == len(lines):
            self._offer()
            return
        line = lines[i]
        group = line.group
        forced = self.groups.get(group) if group is not None else None
        g, haz_line, take = line.grams, line.hazmat, self.take[i]
        grams, haz, used = self.grams, self.haz, self.used
        for split in self._splits(i, forced, whole_only=group is not None):
            parts = 0
            for p, n in enumerate(split):
                if n:
                    parts += 1
                    grams[p] += n * g
                    used[p] += n
                    take[p] = n
            if parts > 1:
                self.cut += 1
            haz_before = haz[:]
            if haz_line:
                for p, n in enumerate(split):
                    if n:
                        haz[p] = True
            new_group = group is not None and group not in self.groups
            if group is not None and new_group:
                self.groups[group] = next(p for p, n in enumerate(split) if n)
            lower = self._bound(i + 1)
            if lower is not None and lower < problem.best_cost:
                self._visit(i + 1)
            if group is not None and new_group:
                del self.groups[group]
            haz[:] = haz_before
            if parts > 1:
                self.cut -= 1
            for p, n in enumerate(split):
                if n:
                    grams[p] -= n * g
                    used[p] -= n
                    take[p] = 0

    def _offer(self) -> None:
        if (self.splits_only and not self.cut) or not all(self.used):
            return
        problem = self.problem
        cost = -problem.model.split_penalty
        for p, origin in enumerate(self.origins):
            one = problem.model.shipment(origin, self.grams[p], self.haz[p])
            if one is None:
                return
            cost += one
        if cost > problem.best_cost:
            return
        members = self.members
        units = {
            (i, members[p]): n for i, row in enumerate(self.take) for p, n in enumerate(row) if n
        }
        problem.offer(units, members, cost)

    def _splits(self, i: int, forced: int | None, *, whole_only: bool) -> list[tuple[int, ...]]:
        """Ways to deal line i's units over the members: whole-line options first."""
        q, caps = self.problem.quantity[i], self.caps[i]
        k = len(caps)
        out = [
            tuple(q if r == p else 0 for r in range(k))
            for p in (range(k) if forced is None else (forced,))
            if caps[p] >= q
        ]
        if whole_only or forced is not None or q < 2:
            return out
        out.extend(s for s in compositions(q, tuple(caps)) if max(s) < q)
        return out
