"""The model: random operations on a whole hub, through its services (or its HTTP API), with the
worker run on an injected clock and faults injected into it; invariants after every step.

A fresh database per example (conftest's ``fresh_databases``); two warehouses, four SKUs, three
channels (two backorder a short order, one puts it on hold). A refusal by the hub (a domain error
such as "cannot cancel shipped units") is a fine outcome of a random step; an invariant that
breaks, or any other exception, is a failure hypothesis shrinks to a minimal sequence.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any, ClassVar

from fastapi.testclient import TestClient
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from sqlalchemy.exc import IntegrityError

from orderhub.api.app import create_app
from orderhub.bootstrap import bootstrap
from orderhub.channels import native
from orderhub.channels.registry import PAYLOAD_PARSERS
from orderhub.config import Settings
from orderhub.domain.access import Role
from orderhub.domain.catalog import Product
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.domain.errors import OrderHubError, ShelfShort
from orderhub.domain.locations import Location, LocationAddress, LocationKind
from orderhub.domain.returns import Disposition
from orderhub.domain.routing.rules import RuleSet, Weights
from orderhub.fulfilment.base import Rejected
from orderhub.services import exchanges, fulfilment, refunds, returns, routing
from orderhub.services.fulfilment_wiring import default_dependencies
from orderhub.services.ingest import Outcome, ingest_order, replay_quarantined
from orderhub.services.inventory import StockAdjustment, adjust_stock
from orderhub.services.orders import cancel_order
from orderhub.workers.relay import Worker
from tests.conftest import DatabaseFactory, bearer, make_key
from tests.model import invariants
from tests.model.faults import (
    Faults,
    WorkerKilled,
    drain,
    faulty_provider,
    new_worker,
    open_work,
)
from tests.support.clock import FakeClock

SKUS = ("SKU-1", "SKU-2", "SKU-3")
LOCATIONS = ("east", "west")
CHANNELS = ("web", "app", "b2b")  # b2b puts short orders on hold

quantities = st.integers(1, 4)
picks = st.integers(0, 10**6)  # an index into whatever exists when the rule runs
order_lines = st.lists(st.tuples(st.sampled_from(SKUS), quantities), min_size=1, max_size=8)


class HubModel(RuleBasedStateMachine):
    """Set by the test before it runs: where databases come from, and how to reach the hub."""

    databases: ClassVar[DatabaseFactory]
    postgres: ClassVar[bool] = False
    via_http: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()
        self._stack = contextlib.ExitStack()
        try:
            self._open()
        except BaseException:
            self._stack.close()
            raise

    def _open(self) -> None:
        url = self._stack.enter_context(self.databases())
        self.clock = FakeClock()
        # Faults are transient: no delivery may die of them (a dead one is a lost effect, which
        # the drained invariants would rightly report), so attempts are practically unbounded.
        self.container = bootstrap(
            Settings(
                database_url=url,
                delivery_max_attempts=10_000,
                delivery_backoff_max_seconds=60,
                allocate_on_ingest=True,  # through HTTP as a real hub: allocated on ingest
            )
        )
        self.container.clock = self.clock
        self._stack.callback(self.container.close)
        self.faults = Faults()
        self._stack.enter_context(faulty_provider(self.faults))
        self._seed_hub()
        self.workers = itertools.count(1)
        self.worker = self._worker()
        self._stack.callback(lambda: self.worker.close())
        self.numbers = itertools.count(1)
        self.bodies: dict[tuple[str, str], dict[str, Any]] = {}  # created orders' first bodies
        self.created: dict[tuple[str, str], str] = {}  # natural key → order id
        self.order_ids: list[str] = []
        self.expected_keys: set[tuple[str, str]] = set()
        self.quarantined: list[tuple[str, tuple[str, str], list[str]]] = []  # id, key, SKUs
        self.rule_versions: list[int] = []
        self.rejected_at: dict[str, set[str]] = {}
        self.seen = invariants.Seen()
        self.client: TestClient | None = None
        if self.via_http:
            self.client = self._stack.enter_context(TestClient(create_app(self.container)))
            self.headers = bearer(make_key(self.container, Role.ADMIN))

    def teardown(self) -> None:
        self._stack.close()

    def _seed_hub(self) -> None:
        with self.container.uow(actor="model") as uow:
            for code in CHANNELS:
                settings = {"insufficient_stock": "hold"} if code == "b2b" else {}
                uow.channels.add(
                    Channel(code=code, name=code, kind=ChannelKind.NATIVE, settings=settings)
                )
            for sku in SKUS:
                uow.catalog.upsert(Product(sku, sku, 250))
            for priority, code in enumerate(LOCATIONS, start=1):
                uow.locations.add(
                    Location(
                        code, code, LocationKind.WAREHOUSE, LocationAddress("US"), priority=priority
                    )
                )
            uow.commit()

    def _worker(self) -> Worker:
        return new_worker(self.container, self.clock, self.faults, next(self.workers))

    @contextlib.contextmanager
    def _uow(self) -> Iterator[Any]:
        """A unit of work for one step; the hub refusing the step is a fine outcome."""
        with contextlib.suppress(OrderHubError), self.container.uow(actor="model") as uow:
            yield uow

    def _order(self, pick: int) -> str:
        return self.order_ids[pick % len(self.order_ids)]

    @initialize(
        stock=st.lists(
            st.tuples(st.sampled_from(SKUS), st.sampled_from(LOCATIONS), st.integers(1, 8)),
            max_size=4,
        )
    )
    def receive_opening_stock(self, stock: list[tuple[str, str, int]]) -> None:
        for sku, location, units in stock:
            self._adjust(StockAdjustment(sku, location, delta=units, reason="opening stock"))

    @initialize(
        orders=st.lists(
            st.tuples(
                st.sampled_from(CHANNELS),
                st.lists(st.tuples(st.just("SKU-1"), quantities), min_size=1, max_size=2),
            ),
            min_size=2,
            max_size=4,
        )
    )
    def open_for_business(self, orders: list[tuple[str, list[tuple[str, int]]]]) -> None:
        """A busy hub to start from: a few orders competing for one SKU, worked off — some
        allocated and at the warehouse, some waiting."""
        for channel, lines in orders:
            self.ingest(channel=channel, lines=lines, unknown=False, again="no", pick=0)
        drain(self.worker, self.clock)

    # -- ingest ----------------------------------------------------------------------------
    @rule(
        channel=st.sampled_from(CHANNELS),
        lines=order_lines,
        unknown=st.sampled_from([False, False, False, True]),
        again=st.sampled_from(["no", "no", "no", "natural_key", "idempotency_key"]),
        pick=picks,
        inline=st.booleans(),
    )
    def ingest(
        self,
        channel: str,
        lines: list[tuple[str, int]],
        unknown: bool,
        again: str,
        pick: int,
        inline: bool = False,
    ) -> None:
        """A new order (sometimes with a SKU the hub does not know), or one sent again;
        ``inline``: allocated on ingest (through the services; HTTP always is), else by the
        worker."""
        if again != "no" and self.bodies:
            key = sorted(self.bodies)[pick % len(self.bodies)]
            body, idempotency_key = self.bodies[key], f"key-{key[1]}"
            if again == "natural_key":  # the channel sends it again, changed: no effect
                body = {**body, "lines": [{**body["lines"][0], "quantity": 9}]}
                idempotency_key = f"again-{next(self.numbers)}"
            order_id, _ = self._post(body, idempotency_key=idempotency_key, inline=inline)
            assert order_id == self.created[key], f"{again}: {order_id} is a second order"
            return
        number = next(self.numbers)
        external_id = f"M-{number}"
        unknown_skus = [f"NEW-{number}"] if unknown else []
        body = {
            "channel": channel,
            "external_id": external_id,
            "currency": "USD",
            "placed_at": (self.clock.now + timedelta(seconds=number)).isoformat(),
            "customer": {"email": f"buyer{number % 5}@example.com", "name": "Buyer"},
            "shipping_address": {"country": "US", "region": "NY", "postal_code": "10001"},
            "lines": [
                {"sku": sku, "quantity": q, "unit_price": f"{q + 1}.25", "tax": "0.40"}
                for sku, q in lines
            ]
            + [{"sku": s, "quantity": 1, "unit_price": "3.00"} for s in unknown_skus],
            "shipping": {"price": "4.99", "method": "ground"},
        }
        order_id, entry_id = self._post(body, idempotency_key=f"key-{external_id}", inline=inline)
        key = (channel, external_id)
        if order_id is None:
            assert unknown_skus, "an order of known SKUs was quarantined"
            assert entry_id
            self.quarantined.append((entry_id, key, unknown_skus))
            return
        self.bodies[key] = body
        self.created[key] = order_id
        self.order_ids.append(order_id)
        self.expected_keys.add(key)

    def _post(
        self, body: dict[str, Any], *, idempotency_key: str, inline: bool = False
    ) -> tuple[str | None, str | None]:
        """(order id, None), or (None, quarantine entry id) when it went to quarantine."""
        if self.client is not None:
            headers = {**self.headers, "Idempotency-Key": idempotency_key}
            answer = self.client.post("/v1/orders", json=body, headers=headers)
            assert answer.status_code in (200, 201, 202), answer.text
            if answer.status_code == 202:
                return None, str(answer.json()["quarantine_id"])
            return str(answer.json()["id"]), None
        order = native.NativeOrder.model_validate(body)
        with self.container.uow(actor="model") as uow:
            result = ingest_order(
                uow,
                draft=order.to_draft(),
                source=native.SOURCE,
                payload=order.model_dump_json(),
                allocate=inline,
            )
        return result.order_id, result.quarantine_id

    @precondition(lambda self: self.quarantined)
    @rule(pick=picks)
    def replay_quarantine(self, pick: int) -> None:
        """The missing product is added, then the kept payload replayed: the order appears."""
        entry_id, key, skus = self.quarantined.pop(pick % len(self.quarantined))
        with self.container.uow(actor="model") as uow:
            for sku in skus:
                uow.catalog.upsert(Product(sku, sku, 100))
            uow.commit()
        if self.client is not None:
            answer = self.client.post(f"/v1/quarantine/{entry_id}/replay", headers=self.headers)
            assert answer.status_code == 200, answer.text
            outcome, order_id = answer.json()["outcome"], answer.json()["order_id"]
        else:
            with self.container.uow(actor="model") as uow:
                result = replay_quarantined(uow, entry_id=entry_id, parsers=PAYLOAD_PARSERS)
            outcome, order_id = result.outcome.value, result.order_id
        assert outcome == Outcome.CREATED.value, (outcome, order_id)
        self.order_ids.append(order_id)
        self.created[key] = order_id
        self.expected_keys.add(key)

    # -- stock -----------------------------------------------------------------------------
    @rule(
        kind=st.sampled_from(["receive", "receive", "shrink", "count", "safety_stock"]),
        sku=st.sampled_from(SKUS),
        location=st.sampled_from(LOCATIONS),
        units=st.integers(0, 12),
        channel=st.sampled_from(CHANNELS),
    )
    def stock(self, kind: str, sku: str, location: str, units: int, channel: str) -> None:
        """A receipt (waiting orders may take it), a shrinkage (refused below zero), a count
        (the shelf is what it is, even below what is reserved), or a channel's safety stock."""
        if kind == "safety_stock":
            with self.container.uow(actor="model") as uow:
                uow.availability.set_safety_stock(channel, sku, units // 2 or None)
                uow.commit()
        elif kind == "count":
            self.clock.advance(1)
            self._adjust(StockAdjustment(sku, location, on_hand=units, as_of=self.clock.now))
        elif units:
            delta = units if kind == "receive" else -(units // 2 or 1)
            self._adjust(StockAdjustment(sku, location, delta=delta, reason=kind))

    def _adjust(self, item: StockAdjustment) -> None:
        if self.client is not None:
            body: dict[str, Any] = {"sku": item.sku, "location": item.location}
            if item.delta is not None:
                body |= {"delta": item.delta, "reason": item.reason}
            else:
                body |= {"on_hand": item.on_hand, "as_of": item.as_of.isoformat()}  # type: ignore[union-attr]
            answer = self.client.post("/v1/inventory/adjustments", json=body, headers=self.headers)
            assert answer.status_code in (200, 422), answer.text
            if answer.status_code == 200 and answer.json()["available"] < 0:
                self.seen.short_shelves.add((item.sku, item.location))
            return
        with self._uow() as uow:
            for result in adjust_stock(uow, items=[item]):
                if result.available < 0:
                    self.seen.short_shelves.add((result.sku, result.location))

    # -- order actions ---------------------------------------------------------------------
    @precondition(lambda self: self.order_ids)
    @rule(pick=picks, whole=st.booleans(), line=picks, units=quantities)
    def cancel(self, pick: int, whole: bool, line: int, units: int) -> None:
        """Cancel the order, or some units of one line (refused once shipped)."""
        order_id = self._order(pick)
        with self.container.uow(read_only=True) as uow:
            lines = uow.orders.get(order_id).lines
        chosen = lines[line % len(lines)].id
        if self.client is not None:
            body: dict[str, Any] = {"reason": "customer_request"}
            if not whole:
                body["lines"] = [{"line_id": chosen, "quantity": units}]
            answer = self.client.post(
                f"/v1/orders/{order_id}/cancel", json=body, headers=self.headers
            )
            assert answer.status_code in (200, 409, 422), answer.text
            return
        with self._uow() as uow:
            cancel_order(
                uow,
                order_id=order_id,
                reason="customer_request",
                units=None if whole else {chosen: units},
            )

    @precondition(lambda self: self.order_ids)
    @rule(pick=picks)
    def reject_at_provider(self, pick: int) -> None:
        """The location refuses an open fulfilment order: it is re-routed elsewhere or waits."""
        order_id = self._order(pick)
        with self.container.uow(actor="model") as uow, default_dependencies(uow) as deps:
            open_ = [
                f
                for f in uow.fulfilment.for_order(order_id)
                if f.is_open and not f.shipments and f.status.value != "created"  # never sent
            ]
            uow.rollback()
            if not open_:
                return
            self.rejected_at.setdefault(order_id, set()).add(open_[0].location)
            update = Rejected(open_[0].id, "no room on the shelf", stock_out=True)
            fulfilment.apply_updates(
                uow, provider_code=open_[0].provider, updates=[update], deps=deps
            )

    @precondition(lambda self: self.order_ids)
    @rule(pick=picks, everything=st.booleans())
    def ship(self, pick: int, everything: bool) -> None:
        """Staff ship every unit still owed, or one unit of the first line."""
        # A count may have left the shelf short: the shipment is refused, nothing written.
        short_shelf = contextlib.suppress(
            ShelfShort if invariants.SHORT_SHELF_SHIP_FIXED else IntegrityError
        )
        order_id = self._order(pick)
        with short_shelf, self._uow() as uow, default_dependencies(uow) as deps:
            for f in uow.fulfilment.for_order(order_id):
                owed = {k: v for k, v in f.remaining_units().items() if v}
                if not f.is_open or f.status.value == "created" or not owed:
                    continue
                lines = owed if everything else {min(owed): 1}
                uow.rollback()
                fulfilment.ship_from_warehouse(
                    uow, fulfilment_id=f.id, lines=lines, carrier="ups",
                    tracking_number=f"1Z{next(self.numbers)}", service=None,
                    shipped_at=self.clock.now, deps=deps,
                )  # fmt: skip
                return

    @precondition(lambda self: self.order_ids)
    @rule(
        kind=st.sampled_from(["refund", "return", "exchange"]),
        pick=picks,
        line=picks,
        units=quantities,
        swap=st.sampled_from(SKUS),
    )
    def after_sale(self, kind: str, pick: int, line: int, units: int, swap: str) -> None:
        """A refund the hub decides (goodwill), or a return of shipped units — authorized,
        received at east, restocked — refunded or exchanged for one unit of ``swap``."""
        if kind == "refund":
            self._refund(pick, line, units)
        else:
            self._return(pick, line, units, swap if kind == "exchange" else None)

    def _refund(self, pick: int, line: int, units: int) -> None:
        order_id = self._order(pick)
        with self._uow() as uow:
            lines = uow.orders.get(order_id).lines
            uow.rollback()
            refunds.refund_units(
                uow,
                order_id=order_id,
                units={lines[line % len(lines)].id: units},
                reason="goodwill",
            )

    def _return(self, pick: int, line: int, units: int, swap: str | None) -> None:
        order_id = self._order(pick)
        with self._uow() as uow:
            lines = uow.orders.get(order_id).lines
            uow.rollback()
            chosen = lines[line % len(lines)].id
            rma = returns.open_return(
                uow, order_id=order_id, units={chosen: units}, reason="damaged", now=self.clock.now
            )
            for action in (
                returns.Action("authorize"),
                returns.Action("receive", location="east"),
                returns.Action("inspect", dispositions={chosen: Disposition.RESTOCK}),
            ):
                returns.act(uow, return_id=rma, action=action, now=self.clock.now)
            if swap is None:
                returns.act(uow, return_id=rma, action=returns.Action("refund"), now=self.clock.now)
                return
            try:
                exchanges.exchange(
                    uow,
                    return_id=rma,
                    lines=[exchanges.ExchangeLine(swap, 1, Decimal("5.00"), Decimal("0.00"))],
                )
            finally:
                self._replacement(order_id, rma)

    def _replacement(self, order_id: str, return_id: str) -> None:
        """Count the exchange's replacement order as created — when the exchange succeeded, or
        (while REFUSED_EXCHANGE_FIXED is off) when a refused one wrote it anyway."""
        with self.container.uow(read_only=True) as uow:
            order = uow.orders.get(order_id)
            key = (order.channel, f"{order.external_id}-X-{return_id}")
            replacement = uow.orders.id_by_external(*key)
            refused = uow.after_sale.get_return(return_id).rma.exchange_order_id is None
        if replacement is None or (refused and invariants.REFUSED_EXCHANGE_FIXED):
            return
        self.order_ids.append(replacement)
        self.expected_keys.add(key)

    # -- routing rules ---------------------------------------------------------------------
    @rule(
        roll_back=st.booleans(),
        pick=picks,
        split_penalty=st.sampled_from(["0.00", "5.00", "50.00"]),
        shipping=st.integers(0, 3),
    )
    def routing_rules(self, roll_back: bool, pick: int, split_penalty: str, shipping: int) -> None:
        """A new rule version that changes costs (never what can be served), or a roll back to
        an earlier version."""
        with self.container.uow(actor="model") as uow:
            if roll_back and self.rule_versions:
                version = self.rule_versions[pick % len(self.rule_versions)]
                routing.activate_version(uow=uow, version=version, actor="model")
                return
            rules = RuleSet(weights=Weights(split_penalty=split_penalty, shipping=shipping))
            saved = routing.put_rules(uow=uow, rules=rules, author="model", comment=None)
        self.rule_versions.append(saved.version)

    # -- the worker and its faults ---------------------------------------------------------
    @rule(cycles=st.none() | st.integers(1, 4))
    def run_worker(self, cycles: int | None) -> None:
        """A few worker cycles, or (None) until nothing is left: the clock moves over back-offs
        and dead workers' leases; the invariant then checks the drained hub."""
        if cycles is None:
            self.faults.kill_after = None
            drain(self.worker, self.clock)
            return
        for _ in range(cycles):
            self._run_once(self.worker)

    def _run_once(self, worker: Worker) -> None:
        try:
            worker.run_once()
        except WorkerKilled:
            worker.close()
            if worker is self.worker:
                self.worker = self._worker()  # a new process; the dead one's leases run out

    @rule(after=st.integers(0, 3))
    def kill_worker_mid_batch(self, after: int) -> None:
        self.faults.kill_after = after
        self._run_once(self.worker)
        self.faults.kill_after = None

    @rule(
        kind=st.sampled_from(["fail", "lose_ack", "provider_fail", "conflict"]),
        calls=st.integers(1, 3),
    )
    def inject_fault(self, kind: str, calls: int) -> None:
        """The next consumer calls fail (before doing anything, or after: answer lost), the
        provider is unreachable, or (PostgreSQL) a transaction dies of a deadlock."""
        if kind == "conflict" and not self.postgres:
            kind = "fail"  # SQLite's single writer cannot deadlock
        setattr(self.faults, kind, getattr(self.faults, kind) + calls)

    @precondition(lambda self: self.postgres)
    @rule(cycles=st.integers(1, 3))
    def second_worker_concurrently(self, cycles: int) -> None:
        """Two workers at once (PostgreSQL runs several side by side)."""
        other = self._worker()

        def run() -> None:
            for _ in range(cycles):
                self._run_once(other)

        thread = threading.Thread(target=run)
        thread.start()
        for _ in range(cycles):
            self._run_once(self.worker)
        thread.join()
        other.close()

    @invariant()
    def hub_is_consistent(self) -> None:
        drained = open_work(self.container) is None
        with self.container.uow(read_only=True) as uow:
            invariants.check_all(uow, self.seen, self.expected_keys)
            if drained:
                invariants.check_drained(uow, self.rejected_at)


def hub_model(databases: DatabaseFactory, *, postgres: bool, via_http: bool) -> type[HubModel]:
    """The model bound to a source of fresh databases of one kind, driven one way."""
    return type(
        "HubOverHttp" if via_http else "HubThroughServices",
        (HubModel,),
        {"databases": staticmethod(databases), "postgres": postgres, "via_http": via_http},
    )
