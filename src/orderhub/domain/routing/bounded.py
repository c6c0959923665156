"""Large orders: branch and bound over location subsets, each settled by band choices.

Used above ``exact_max_lines`` lines, where dealing every unit (``subsets._Deal``) would
explode. The incumbent comes first (the best single location, else the greedy cover of
``heuristic.py``); then ``Bounded`` enumerates subsets of 2 … ``max_splits`` locations:

* in order of a *Lagrangian price*: every gram ships from some member, so for any b ≥ 0 a plan
  costs at least Σ over its members of min over their bands (band cost − b × grams the band
  holds) + b × the order's weight. b is picked per order (``_multiplier``); prices ascend, so
  the enumeration stops as soon as that bound reaches the best plan;
* carrying only the lines the members do not cover yet; the last member is drawn from the
  locations holding all of them (bitmasks), and its band with the others' must hold the
  order's weight for less than the best plan (the weight bound). The member before it must,
  for each line still missing, hold part of it or come before a location holding it whole
  (masks, no node spent), and then leave what a later location can close; the cheapest such
  closer's price joins the bound.

``Packer.deal`` settles each subset that survives:

1. per member, each weight band of its rate (with hazmat lines: of either service) priced as
   a whole shipment; the combinations cheaper than the incumbent are taken cheapest first;
2. a combination stays only if the order's weight can flow into those bands: for every set
   *T* of members, the weight that only *T* can ship (what the other members cannot hold)
   fits *T*'s bands together — Gale's condition, exact for divisible weight and so a lower
   bound for whole units;
3. a depth-first search packs the units into the bands (hazmat lines first when a member
   ships by the hazmat service, which must then carry a hazmat unit; then heaviest first;
   whole lines before splits; keep-together groups whole), pruned by the same condition over
   the lines still to place. The first combination that packs is the subset's optimum: every
   cheaper one was refuted.

Every candidate member, subset, combination and packing step counts against a node budget —
nodes, not time, so a decision is reproducible. Within it the result is the optimum of the
cost model; when the budget runs out the best plan found so far stands and the explanation says
the search was cut short (``bench/routing.py --large`` measures how often, and the gap to the
MILP).
"""

from __future__ import annotations

from orderhub.domain.routing.cost import Rate
from orderhub.domain.routing.problem import INF, Problem, compositions

NODE_BUDGET = 20_000

Option = tuple[int, int, bool]  # (shipment cost incl. one split penalty, grams it holds, hazmat)


class Bounded:
    """Branch and bound over member subsets for large orders, each subset dealt by a Packer.

    Like ``subsets.Subsets`` (members in floor order, stop once the floors reach the best
    plan), but what the members still lack is kept sparse — only the lines not yet covered —
    and the last member is drawn only from the locations holding all of that (bitmasks).
    """

    def __init__(self, problem: Problem, floors: list[int], ordered: list[int], budget: int):
        self.problem = problem
        self.packer = Packer(problem, budget)
        self.columns = problem.columns()
        # per origin, the (cost, grams) of each band it could ship in (either service),
        # Pareto: dearer holds more
        self.weight = 0
        for i, q in enumerate(problem.quantity):  # no zip(strict=True): a generic call in mypyc
            self.weight += q * problem.grams[i]
        room, split = problem.room(), problem.model.split_penalty
        # The services a member may ship by are those ``Packer._options`` offers: a plain
        # order ships by the channel's service only; one with hazmat lines by the hazmat
        # service, and by the channel's too when that is another.
        model = problem.model
        plain_rate = problem.plain or model.service != model.hazmat_service
        hazmat_rate = not problem.plain
        bands_of: list[list[tuple[int, int]]] = []  # as ``ordered`` (a list: no dict look-ups)
        for j in ordered:
            origin, most = problem.origins[j], room[j]
            here: list[tuple[int, int]] = []
            rates = 0
            if plain_rate and origin.rate is not None:
                rates += 1
                _band_list(here, origin.rate, origin.base + split, most)
            if hazmat_rate and origin.hazmat_rate is not None:
                rates += 1
                _band_list(here, origin.hazmat_rate, origin.hazmat_base + split, most)
            if not rates:  # it can ship nothing (``Packer`` finds no band): any bound will do
                _band_list(here, origin.rate, origin.base + split, most)
                _band_list(here, origin.hazmat_rate, origin.hazmat_base + split, most)
                rates = 2
            # one rate's bands are Pareto already: its prices are suffix-minimised (``Rate``)
            bands_of.append(_pareto(here) if rates > 1 else here)
        # Members in order of their Lagrangian price: every gram of the order ships from some
        # member, so for any b ≥ 0 a plan costs at least Σ (cost − b × grams) over its members'
        # bands + b × weight − split. Scaled by the weight to stay in integers; b is picked so
        # that this bounds every split of the order most tightly (``_multiplier``).
        self.scale = max(1, self.weight)
        self.rate, prices = self._multiplier(bands_of, ordered)
        # by (price, origin, position): no key closure
        priced = sorted([(prices[at], j, at) for at, j in enumerate(ordered)])
        ordered = [j for _, j, _ in priced]
        self.ordered = ordered
        self.price = [price for price, _, _ in priced]
        self.offset = self.rate * self.weight - split * self.scale
        self.bands = [bands_of[at] for _, _, at in priced]
        # reach[i][t]: the positions in ``ordered`` of the origins holding ≥ t units of line i
        self.reach: list[list[int]] = []
        for i, q in enumerate(problem.quantity):
            row = problem.avail[i]
            masks = [0] * (q + 2)
            for position, j in enumerate(ordered):
                # (``x[i] = x[i] | y``: mypyc runs ``x[i] |= y`` as a generic Python call)
                held = row[j]  # avail never exceeds the quantity
                masks[held] = masks[held] | 1 << position
            for t in range(q - 1, -1, -1):
                masks[t] = masks[t] | masks[t + 1]
            self.reach.append(masks)
        n = len(ordered)
        # cheapest[position]: the least any one member from there on costs
        self.cheapest = [INF] * (n + 1)
        for position in range(n - 1, -1, -1):
            self.cheapest[position] = min(self.cheapest[position + 1], self.bands[position][0][0])

    def run(self) -> None:
        problem = self.problem
        # rarest lines first (fewest holders of the whole line): coverage tests fail early
        rarity = sorted(
            [(self.reach[i][q].bit_count(), i, q) for i, q in enumerate(problem.quantity) if q > 0]
        )
        missing = [(i, q) for _, i, q in rarity]
        self._extend(0, [], missing, 0, [(-problem.model.split_penalty, 0)])

    def _multiplier(
        self, bands: list[list[tuple[int, int]]], ordered: list[int]
    ) -> tuple[int, list[int]]:
        """b × weight (in minor units): the one of 0, ¼ … 1 × the best plan's cost whose bound
        on every split (the two cheapest members, further ones at their least) is highest;
        0 while there is no plan yet. With it, each origin's Lagrangian price (as ``ordered``)."""
        best = self.problem.best_cost
        steps = 5
        if best >= INF or self.weight <= 0 or len(ordered) < 2:
            steps = 1  # b = 0
        chosen, highest, chosen_prices = 0, -INF, []
        for step in range(steps):
            rate = best * step // 4
            first = second = third = INF
            prices = []
            scale = self.scale
            for choices in bands:
                if not choices:
                    value = INF
                else:  # not INF to start from: 1 << 62 is no short int (a slow compare)
                    cost, grams = choices[0]
                    value = cost * scale - rate * grams
                    for cost, grams in choices:
                        here = cost * scale - rate * grams
                        if here < value:
                            value = here
                prices.append(value)
                if value < first:
                    first, second, third = value, first, second
                elif value < second:
                    second, third = value, second
                elif value < third:
                    third = value
            further = (self.problem.max_splits - 2) * min(0, third if third < INF else 0)
            bound = first + second + further + rate * self.weight
            if bound > highest or step == 0:
                chosen, highest, chosen_prices = rate, bound, prices
        return chosen, chosen_prices

    def _extend(
        self,
        start: int,
        members: list[int],
        missing: list[tuple[int, int]],
        total: int,
        held: list[tuple[int, int]],  # the members' band choices: (cost, grams), Pareto
    ) -> None:
        """Deal ``members`` if they hold the order, then try each dearer further member."""
        problem, packer, ordered = self.problem, self.packer, self.ordered
        k = len(members)
        if k >= 2 and not missing:
            packer.deal(members)
        most = problem.max_splits
        if k == most or packer.spent:
            return
        n = len(ordered)
        # For the last member, the weight bound: its band plus the members' (``held``) must
        # hold the order's grams for less than the best plan. Before it, one further member
        # at least while lines are missing (``cheapest``: the least any of them costs).
        last = k == most - 1
        held_grams = [g for _, g in held] if last else []
        cheapest = held[0][0] + (self.cheapest[start] if missing and not last else 0)
        reach, scale, offset, lagrange = self.reach, self.scale, self.offset, self.price
        # the incumbent, read again after each deeper search (which may improve it)
        best = problem.best_cost
        limit = best * scale - offset
        closers = -1  # the positions worth trying (-1: every one)
        if k == most - 1 and missing:  # the last member must hold everything still missing
            closers = ((1 << n) - 1) >> start << start
            for i, need in missing:
                closers &= reach[i][need]
        elif k + 2 == most and missing:
            # One member after this one: for each missing line, this one holds some of it or
            # a later one holds all of it (below the last that does). Masks alone, so the
            # candidates failing that cost no node.
            closers = ((1 << n) - 1) >> start << start
            for i, need in missing:
                masks = reach[i]
                whole = masks[need].bit_length()  # 1 + the last position holding it whole
                closers &= masks[1] | ((1 << (whole - 1)) - 1 if whole else 0)
                if not closers:
                    return
        for idx in range(start, n):
            if not closers >> idx & 1:
                if not closers >> idx:
                    return
                continue
            packer.nodes += 1  # ``Packer.tick``, inlined
            if packer.nodes > packer.budget:
                packer.spent = True
                return
            j = ordered[idx]
            # the Lagrangian bound, with any further members' (negative) prices at their least
            after = lagrange[idx + 1] if idx + 1 < n else 0
            if not k:
                if idx + 1 >= n:
                    return
                beyond = lagrange[idx + 2] if idx + 2 < n else 0  # a split has a second member
                bound = lagrange[idx] + after + (most - 2) * min(0, beyond)
            else:
                bound = total + lagrange[idx] + (most - k - 1) * min(0, after)
            if bound >= limit:
                return  # prices ascend: every later member is dearer still
            bands = self.bands[idx]
            if last:
                fits = False
                for price, more in bands:
                    if price + held[0][0] >= best:
                        break
                    # the cheapest choice held that, with this band, holds the order
                    # (``held`` is short: a scan, not ``bisect``, which mypyc calls generically)
                    at, short = 0, self.weight - more
                    while at < len(held_grams) and held_grams[at] < short:
                        at += 1
                    if at < len(held) and held[at][0] + price < best:
                        fits = True
                        break
                if not fits:
                    continue
                # The closers hold everything still missing, so the members now hold the
                # order, and ``fits`` found a band choice under the best plan: deal them here
                # (what a deeper call would do first, without building its band choices).
                members.append(j)
                packer.deal(members)
                members.pop()
                best = problem.best_cost
                limit = best * scale - offset
                continue
            column = self.columns[j]
            lacking = True
            if missing and k + 2 == most:
                # One member to come: it must hold all that this one leaves. Tested first
                # with masks alone (rarest lines first), as most candidates fail here; the
                # list of what is left is built only for those that pass.
                closing = ((1 << n) - 1) >> (idx + 1) << (idx + 1)
                lacking = False
                for i, need in missing:
                    units = column[i]
                    if units < need:
                        lacking = True
                        closing &= reach[i][need - units]
                        if not closing:
                            break
                if lacking:
                    if not closing or cheapest + bands[0][0] >= best:
                        continue
                    # … and the Lagrangian bound counts the cheapest of those (prices ascend)
                    closer = (closing & -closing).bit_length() - 1
                    if total + lagrange[idx] + lagrange[closer] >= limit:
                        continue
            left = []
            if lacking:
                for i, need in missing:
                    units = column[i]
                    if units < need:
                        left.append((i, need - units))
                if left and cheapest + bands[0][0] >= best:
                    continue
            # Choices holding the order's weight or more are all as good as holding it: capped
            # there, a dearer band after the first that gets there adds nothing.
            grown: list[tuple[int, int]] = []
            weight = self.weight
            for cost, grams in held:
                for price, more in bands:
                    if cost + price >= best:
                        break
                    if grams + more >= weight:
                        grown.append((cost + price, weight))
                        break
                    grown.append((cost + price, grams + more))
            if not grown:
                continue  # every band choice already costs the best plan or more
            if len(held) > 1:  # one choice held: ``grown`` is a prefix of the Pareto bands
                grown = _pareto(grown)
            members.append(j)
            self._extend(idx + 1, members, left, total + lagrange[idx], grown)
            members.pop()
            best = problem.best_cost
            limit = best * scale - offset


class Packer:
    """Deals one member subset at a time, optimally, within a shared node budget."""

    def __init__(self, problem: Problem, budget: int = NODE_BUDGET) -> None:
        self.problem = problem
        self.budget = budget
        self.nodes = 0
        self.spent = False
        grams = problem.grams
        weight = [q * grams[i] for i, q in enumerate(problem.quantity)]  # no zip(strict=True)
        # heaviest first: they decide whether the bands fit; ties by line, for determinism
        self.plain_order = [i for _, i in sorted([(-w, i) for i, w in enumerate(weight)])]
        # with shipments that must carry a hazmat unit: the hazmat lines first, so that a
        # packing failing that is abandoned early
        self.hazmat_order = [i for i in self.plain_order if problem.hazmat[i]]
        self.hazmat_lines = len(self.hazmat_order)
        self.hazmat_order += [i for i in self.plain_order if not problem.hazmat[i]]
        self.order = self.plain_order
        self.need = sum(weight)
        # the packing search's state (one subset at a time)
        self.members: list[int] = []
        self.caps: list[list[int]] = []
        self.rem: list[int] = []
        self.take: list[int] = []  # take[i * k + p]: units of line i member p ships (flat)
        self.suffix: list[int] = []  # ``_suffix``: per position, per member subset
        self.groups: dict[str, int] = {}
        self.hazmat_members = 0  # members shipping by the hazmat service (a bitmask)
        self.hazmat_units: list[int] = []  # … and the hazmat units each carries so far
        self.spare: list[int] = []  # the same count for other units (kept, never read)

    def tick(self) -> bool:
        """Count a node; False once the budget is spent."""
        self.nodes += 1
        if self.nodes > self.budget:
            self.spent = True
        return not self.spent

    def deal(self, members: list[int]) -> None:
        """Offer the problem the cheapest plan over exactly these members, if it beats the best."""
        problem = self.problem
        if not self.tick():
            return
        least = self._least(members)
        options = self._options(members, least)
        if options is None:
            return
        combos: list[tuple[int, list[int]]] = []
        self._combos(options, _reach(options), 0, -problem.model.split_penalty, 0, [], combos)
        combos.sort()
        # per hazmat pattern: the weight only T can ship (None: a line is uncovered), and the
        # same per line still to place, in the packing's order (``_suffix``)
        flows: dict[int, list[int] | None] = {}
        caps_of: dict[int, list[list[int]]] = {}
        suffix_of: dict[int, list[int]] = {}
        # a shipment by the hazmat service must carry a hazmat unit (else it is priced by the
        # channel's service: another choice)
        distinct = problem.model.service != problem.model.hazmat_service
        k = len(members)
        for cost, choice in combos:
            if cost >= problem.best_cost or not self.tick():
                return
            pattern = 0
            for p in range(k):
                if options[p][choice[p]][2]:
                    pattern |= 1 << p
            hazmat = pattern if distinct else 0
            if pattern not in flows:
                caps = self._caps(members, pattern)
                caps_of[pattern] = caps
                if _covered(problem, caps):
                    suffix = self._suffix(caps, k, hazmat)
                    suffix_of[pattern] = suffix
                    flows[pattern] = suffix[: 1 << k]  # the whole order's (position 0)
                else:
                    flows[pattern] = None
            only = flows[pattern]
            if only is None:
                continue  # some line cannot be covered with this choice of services
            limits = [options[p][choice[p]][1] for p in range(k)]
            if not _fits(only, limits):
                continue
            units = self._pack(members, caps_of[pattern], suffix_of[pattern], limits, hazmat)
            if units is None:
                continue
            used = sorted({j for (_, j) in units})
            total = problem.total(units, used)
            if total is not None:
                problem.offer(units, used, total)
                return

    def _least(self, members: list[int]) -> list[int]:
        """Grams each member must ship whatever the others hold."""
        problem = self.problem
        least = [0] * len(members)
        quantity, grams = problem.quantity, problem.grams
        for i, row in enumerate(problem.avail):  # no zip(strict=True): a generic call in mypyc
            q, g = quantity[i], grams[i]
            held = 0
            for j in members:
                held += row[j]
            short = q - held
            for p, j in enumerate(members):
                must = short + row[j]
                if must > 0:
                    least[p] = least[p] + must * g
        return least

    def _options(self, members: list[int], least: list[int]) -> list[list[Option]] | None:
        """Per member, the bands it may ship in (cheapest first); None if one has none."""
        problem = self.problem
        model = problem.model
        room = problem.room()
        out: list[list[Option]] = []
        for p, j in enumerate(members):
            origin = problem.origins[j]
            here: list[Option] = []
            split = model.split_penalty
            if problem.plain or model.service != model.hazmat_service:
                _bands(here, origin.rate, origin.base + split, room[j], least[p], False)
            if not problem.plain:
                _bands(
                    here, origin.hazmat_rate, origin.hazmat_base + split, room[j], least[p], True
                )
            if not here:
                return None
            if not problem.plain:  # two services' bands to merge (one rate's ascend already)
                here.sort()
            out.append(here)
        return out

    def _combos(
        self,
        options: list[list[Option]],
        reach: list[tuple[int, int]],
        p: int,
        cost: int,
        held: int,
        choice: list[int],
        out: list[tuple[int, list[int]]],
    ) -> None:
        """Every choice of one band per member that is cheaper than the best and can hold the
        order's weight."""
        if p == len(options):
            if held >= self.need:
                out.append((cost, list(choice)))
            return
        best = self.problem.best_cost
        cheapest_after, most_after = reach[p + 1]
        for c, (price, grams, _) in enumerate(options[p]):
            if cost + price + cheapest_after >= best:
                break  # ascending: every later band is dearer
            if held + grams + most_after < self.need:
                continue
            choice.append(c)
            self._combos(options, reach, p + 1, cost + price, held + grams, choice, out)
            choice.pop()

    def _caps(self, members: list[int], pattern: int) -> list[list[int]]:
        """caps[i][p]: units of line i member p may ship (hazmat only by the hazmat service)."""
        problem = self.problem
        caps = []
        for i, row in enumerate(problem.avail):
            haz = problem.hazmat[i]
            caps.append(
                [0 if haz and not pattern >> p & 1 else row[j] for p, j in enumerate(members)]
            )
        return caps

    # -- packing ---------------------------------------------------------------------------
    def _suffix(self, caps: list[list[int]], k: int, hazmat: int) -> list[int]:
        """suffix[pos * 2**k + t]: the grams of the lines from ``pos`` on (in the packing's
        order) that only the members in ``t`` can ship; the first 2**k are the whole order's
        (one flat list: no list per subset)."""
        problem = self.problem
        order = self.hazmat_order if hazmat else self.plain_order
        n, size = len(order), 1 << k
        suffix = [0] * ((n + 1) * size)
        inside = [0] * size  # per t: the units of this line the members in t hold
        for pos in range(n - 1, -1, -1):
            i = order[pos]
            row = caps[i]
            # only t can ship what the others cannot: quantity − all members' + t's own
            short = problem.quantity[i]
            for units in row:
                short -= units
            g = problem.grams[i]
            for t in range(1, size):
                low = t & -t
                inside[t] = inside[t ^ low] + row[low.bit_length() - 1]
            at = pos * size
            for t in range(size):
                must = short + inside[t]
                suffix[at + t] = suffix[at + size + t] + (must * g if must > 0 else 0)
        return suffix

    def _pack(
        self,
        members: list[int],
        caps: list[list[int]],
        suffix: list[int],
        limits: list[int],
        hazmat: int,
    ) -> dict[tuple[int, int], int] | None:
        """Units per (line, origin) within ``limits`` grams per member, each member in the
        ``hazmat`` bitmask carrying a hazmat unit, or None."""
        problem, k = self.problem, len(members)
        self.order = self.hazmat_order if hazmat else self.plain_order
        self.members, self.caps, self.rem, self.suffix = members, caps, list(limits), suffix
        self.take = [0] * (len(problem.lines) * k)
        self.groups = {}
        self.hazmat_members = hazmat
        self.hazmat_units = [0] * k
        self.spare = [0] * k
        if not self._place(0):
            return None
        units: dict[tuple[int, int], int] = {}
        take = self.take
        for i in range(len(problem.lines)):
            for p in range(k):
                units_here = take[i * k + p]
                if units_here:
                    units[(i, members[p])] = units_here
        return units

    def _place(self, pos: int) -> bool:
        """Place the lines from ``order[pos]`` on; True once every line is placed."""
        if not self.tick():
            return False
        order = self.order
        if self.hazmat_members and pos <= self.hazmat_lines:
            # members still lacking a hazmat unit ≤ the hazmat units left to place
            lacking, units = 0, 0
            for p in range(len(self.members)):
                if self.hazmat_members >> p & 1 and not self.hazmat_units[p]:
                    lacking += 1
            for at in range(pos, self.hazmat_lines):
                units += self.problem.quantity[order[at]]
            if lacking > units:
                return False
        if pos == len(order):
            return True
        rem, suffix, k = self.rem, self.suffix, len(self.members)
        size = 1 << k
        offset = pos * size
        for t in range(1, size):
            space, bits = 0, t
            while bits:  # the members in t
                low = bits & -bits
                space += rem[low.bit_length() - 1]
                bits ^= low
            if suffix[offset + t] > space:
                return False
        problem = self.problem
        i = order[pos]
        q, g, caps = problem.quantity[i], problem.grams[i], self.caps[i]
        group = problem.lines[i].group
        counts = self.hazmat_units if problem.hazmat[i] else self.spare
        forced = -1
        if group is not None and group in self.groups:
            forced = self.groups[group]
        # whole line first, to the member with the most room left
        targets = [forced]
        if forced < 0:  # most room first, ties to the earlier member (no key closure)
            targets = []
            for p in range(k):
                at = len(targets)
                while at > 0 and rem[targets[at - 1]] < rem[p]:
                    at -= 1
                targets.insert(at, p)
        take, base = self.take, i * k  # this line's units per member: take[base + p]
        for p in targets:
            if caps[p] < q or q * g > rem[p]:
                continue
            new_group = group is not None and forced < 0
            if new_group and group is not None:
                self.groups[group] = p
            take[base + p] = q
            rem[p] = rem[p] - q * g  # not ``-=`` on an item: mypyc makes that a generic call
            counts[p] = counts[p] + 1
            if self._place(pos + 1):
                return True
            counts[p] = counts[p] - 1
            rem[p] = rem[p] + q * g
            take[base + p] = 0
            if new_group and group is not None:
                del self.groups[group]
            if self.spent:
                return False
        if group is not None or q < 2:
            return False
        for split in compositions(q, tuple(caps)):
            fits = True
            whole = False
            for p in range(k):
                if split[p] == q:
                    whole = True
                if split[p] * g > rem[p]:
                    fits = False
            if whole or not fits:
                continue
            for p in range(k):
                part = split[p]
                take[base + p] = part
                rem[p] = rem[p] - part * g
                counts[p] = counts[p] + part
            if self._place(pos + 1):
                return True
            for p in range(k):
                part = split[p]
                rem[p] = rem[p] + part * g
                take[base + p] = 0
                counts[p] = counts[p] - part
            if self.spent:
                return False
        return False


def _bands(
    out: list[Option], rate: Rate | None, fixed: int, room: int, least: int, hazmat: bool
) -> None:
    """Append the bands of ``rate`` a member shipping ``least`` … ``room`` grams may use."""
    if rate is None:
        return
    limits, prices = rate.limits, rate.prices
    for band in range(len(limits)):  # no zip(strict=True): a generic call in mypyc
        limit, price = limits[band], prices[band]
        if limit < least:
            continue
        out.append((price + fixed, limit if limit < room else room, hazmat))
        if limit >= room:
            return  # a dearer band would hold no more of this order


def _band_list(out: list[tuple[int, int]], rate: Rate | None, fixed: int, room: int) -> None:
    """Append each band of ``rate`` as (cost, grams it holds of an order ``room`` grams at
    most); the bands beyond the first that holds all of it would hold no more."""
    if rate is None:
        return
    prices = rate.prices
    for band, limit in enumerate(rate.limits):
        if limit >= room:
            out.append((prices[band] + fixed, room))
            return
        out.append((prices[band] + fixed, limit))


def _pareto(options: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The (cost, grams) options no other beats on both: cost and grams ascend together."""
    out: list[tuple[int, int]] = []
    options.sort()
    for cost, grams in options:
        if not out or grams > out[-1][1]:
            out.append((cost, grams))
    return out


def _reach(options: list[list[Option]]) -> list[tuple[int, int]]:
    """Per member p: (cheapest band, most grams) summed over members p…, and (0, 0) at the end."""
    reach = [(0, 0)] * (len(options) + 1)
    cheapest_after = most_after = 0
    for p in range(len(options) - 1, -1, -1):
        here = options[p]  # plain loops: mypyc runs min() over a generator far slower
        cheapest, most, _ = here[0]
        for price, grams, _ in here:
            if price < cheapest:
                cheapest = price
            if grams > most:
                most = grams
        cheapest_after += cheapest
        most_after += most
        reach[p] = (cheapest_after, most_after)
    return reach


def _covered(problem: Problem, caps: list[list[int]]) -> bool:
    """Whether the members can hold every line's units together."""
    quantity = problem.quantity
    for i, row in enumerate(caps):
        held = 0
        for units in row:
            held += units
        if held < quantity[i]:
            return False
    return True


def _fits(only: list[int], limits: list[int]) -> bool:
    k = len(limits)
    for t in range(1, 1 << k):
        space = 0
        for p in range(k):
            if t >> p & 1:
                space += limits[p]
        if only[t] > space:
            return False
    return True
