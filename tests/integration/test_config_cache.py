"""The process's configuration cache (store/config_cache.py) never serves what the database no
longer holds: a change through a repository, a raw statement in another connection, a write
in the same transaction, a write rolled back — each is seen by the next read, on SQLite and
PostgreSQL. The hub that ingests is a second container on the same database, as another
process would be: the seeding container's changes reach it through the database alone."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, event, insert, inspect, select, update

from orderhub.bootstrap import Container, bootstrap
from orderhub.channels import native
from orderhub.clock import utc_now
from orderhub.config import Settings
from orderhub.domain.routing import RuleSet
from orderhub.services.ingest import Outcome, ingest_order
from orderhub.services.routing import put_rules
from orderhub.store import tables as t
from orderhub.store.config_cache import Stamps
from orderhub.store.migrate import alembic_config
from tests.conftest import native_order
from tests.integration.inventory_helpers import add_locations, receive


@pytest.fixture
def hub(seeded: Container, database_url: str) -> Iterator[Container]:
    """A second hub on the seeded database, allocating on ingest, with a cache of its own."""
    container = bootstrap(Settings(database_url=database_url, allocate_on_ingest=True))
    yield container
    container.close()


@pytest.fixture
def stocked(seeded: Container) -> Container:
    add_locations(seeded, ("EAST", 1), ("WEST", 2))
    for location in ("EAST", "WEST"):
        receive(seeded, "SKU-1", location, 10)
    return seeded


def _ingest(hub: Container, number: int, sku: str = "SKU-1") -> tuple[Outcome, str]:
    body = native_order(f"C-{number}", lines=[{"sku": sku, "quantity": 1, "unit_price": "1.00"}])
    order = native.NativeOrder.model_validate(body)
    with hub.uow(actor="test") as uow:
        result = ingest_order(
            uow,
            draft=order.to_draft(),
            source=native.SOURCE,
            payload=order.model_dump_json(),
            allocate=True,
        )
    return result.outcome, result.order_id or ""


def _allocated_at(container: Container, order_id: str) -> list[str]:
    a = t.allocations.c
    with container.engine.connect() as conn:
        return list(conn.execute(select(a.location).where(a.order_id == order_id)).scalars())


def _raw(container: Container, statement: Any) -> None:
    """One statement in a connection and transaction of its own: no repository, no cache."""
    with container.engine.begin() as conn:
        conn.execute(statement)


@pytest.fixture
def reads(hub: Container) -> Iterator[Counter[str]]:
    """The hub's reads of configuration rows and of the stamps, by table."""
    seen: Counter[str] = Counter()
    tables = ("config_stamps", "locations", "channels", "products", "routing_rule_versions")

    def count(*args: Any) -> None:
        statement = " ".join(args[2].split())
        if statement.startswith("SELECT"):
            clause = statement.split(" FROM ", 1)[1].removeprefix("config_stamps LEFT OUTER JOIN ")
            seen.update(name for name in tables if clause.startswith(name))

    event.listen(hub.engine, "before_cursor_execute", count)
    yield seen
    event.remove(hub.engine, "before_cursor_execute", count)


def test_a_warm_transaction_reads_the_stamps_instead_of_the_configuration(
    stocked: Container, hub: Container, reads: Counter[str]
) -> None:
    assert _allocated_at(hub, _ingest(hub, 1)[1]) == ["EAST"]  # fills the cache
    reads.clear()
    assert _allocated_at(hub, _ingest(hub, 2)[1]) == ["EAST"]
    # PostgreSQL: the stamps once more, for the available-to-sell figures after their locks
    assert reads["config_stamps"] == (2 if hub.engine.dialect.name == "postgresql" else 1)
    assert (reads["locations"], reads["channels"], reads["products"]) == (0, 0, 0)
    assert reads["routing_rule_versions"] == 0


def test_a_location_deactivated_by_a_raw_update_elsewhere_is_not_routed_to(
    stocked: Container, hub: Container
) -> None:
    assert _allocated_at(hub, _ingest(hub, 1)[1]) == ["EAST"]
    locations = t.locations.c
    _raw(stocked, update(t.locations).where(locations.code == "EAST").values(active=False))
    assert _allocated_at(hub, _ingest(hub, 2)[1]) == ["WEST"]


def test_changed_routing_rules_route_the_next_order(stocked: Container, hub: Container) -> None:
    def cards(east: str, west: str) -> RuleSet:
        return RuleSet.model_validate(
            {
                "zones": [{"destinations": ["*"], "zone": "A"}],
                "rate_cards": [
                    {"origin": "EAST", "zone": "A", "bands": [{"price": east}]},
                    {"origin": "WEST", "zone": "A", "bands": [{"price": west}]},
                ],
            }
        )

    with stocked.uow(actor="test") as uow:
        put_rules(uow=uow, rules=cards("9.00", "5.00"), author="test", comment="west cheaper")
    assert _allocated_at(hub, _ingest(hub, 1)[1]) == ["WEST"]
    with stocked.uow(actor="test") as uow:
        put_rules(uow=uow, rules=cards("5.00", "9.00"), author="test", comment="east cheaper")
    assert _allocated_at(hub, _ingest(hub, 2)[1]) == ["EAST"]
    versions = t.routing_rule_versions.c
    _raw(stocked, update(t.routing_rule_versions).values(active=False))
    _raw(stocked, update(t.routing_rule_versions).where(versions.version == 1).values(active=True))
    assert _allocated_at(hub, _ingest(hub, 3)[1]) == ["WEST"]


def test_a_product_added_elsewhere_is_known_at_the_next_ingest(
    stocked: Container, hub: Container
) -> None:
    outcome, _ = _ingest(hub, 1, sku="SKU-NEW")
    assert outcome == Outcome.QUARANTINED  # unknown, and remembered so by the cache
    _raw(stocked, insert(t.products).values(sku="SKU-NEW", name="New", created_at=utc_now()))
    outcome, _ = _ingest(hub, 2, sku="SKU-NEW")
    assert outcome == Outcome.CREATED


def test_a_raw_update_of_a_product_or_a_channel_is_read_next(
    stocked: Container, hub: Container
) -> None:
    with hub.uow(read_only=True) as uow:
        assert uow.catalog.products({"SKU-1"}, identifiers=False)["SKU-1"].weight_grams == 250
        assert uow.channels.sla_policies({"web"}) == {"web": {}}
    policy = {"ship_within_days": 2}
    _raw(stocked, update(t.products).where(t.products.c.sku == "SKU-1").values(weight_grams=900))
    _raw(stocked, update(t.channels).where(t.channels.c.code == "web").values(sla=policy))
    with hub.uow(read_only=True) as uow:
        assert uow.catalog.products({"SKU-1"}, identifiers=False)["SKU-1"].weight_grams == 900
        assert uow.channels.sla_policies({"web"}) == {"web": policy}


def test_a_transaction_sees_its_own_writes_and_a_rolled_back_one_is_never_served(
    stocked: Container, hub: Container
) -> None:
    with hub.uow(actor="test") as uow:
        assert _active(uow.locations.list()) == {"EAST", "WEST"}  # cached
        uow.locations.save(replace(uow.locations.get("EAST"), active=False))
        assert _active(uow.locations.list()) == {"WEST"}  # its own write, read (and cached)
        uow.channels.save(replace(uow.channels.get("web"), safety_stock=3))
        assert uow.channels.for_routing("web").safety_stock == 3
        uow.rollback()
        assert _active(uow.locations.list()) == {"EAST", "WEST"}
        assert uow.channels.for_routing("web").safety_stock == 0
    with hub.uow(read_only=True) as uow:
        assert _active(uow.locations.list()) == {"EAST", "WEST"}
        assert uow.channels.for_routing("web").safety_stock == 0


def test_a_raw_write_in_the_transaction_is_seen_once_it_reads_the_stamps_again(
    stocked: Container, hub: Container
) -> None:
    with hub.uow(actor="test") as uow:
        stamps = Stamps(uow.conn)
        before = stamps.of("locations")
        uow.conn.execute(update(t.locations).where(t.locations.c.code == "EAST").values(priority=7))
        stamps.wrote()
        assert stamps.of("locations") != before  # the trigger, in this very transaction
        assert stamps.of("channels") == Stamps(uow.conn).of("channels")


def test_a_caller_changing_what_it_was_given_changes_its_own_copy(
    stocked: Container, hub: Container
) -> None:
    with hub.uow(read_only=True) as uow:
        uow.locations.list()[0].active = False
        uow.channels.for_routing("web").safety_stock = 99
    with hub.uow(read_only=True) as uow:
        assert _active(uow.locations.list()) == {"EAST", "WEST"}
        assert uow.channels.for_routing("web").safety_stock == 0


def test_the_migration_goes_down_and_up_again(seeded: Container) -> None:
    add_locations(seeded, ("EAST", 1))
    with seeded.uow(actor="test") as uow:
        put_rules(uow=uow, rules=RuleSet(), author="test", comment=None)
    config = alembic_config()
    with seeded.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0024")
    with seeded.engine.begin() as connection:
        assert not inspect(connection).has_table("config_stamps")
        _touch_every_config_table(connection)  # no trigger left to call a missing table
    with seeded.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    with seeded.engine.begin() as connection:
        before = _stamps(connection)
        _touch_every_config_table(connection)
        after = _stamps(connection)
    assert set(before) == {"channels", "locations", "products", "routing_rule_versions"}
    assert all(after[name] != before[name] for name in before)


def _touch_every_config_table(connection: Connection) -> None:
    connection.execute(update(t.channels).values(safety_stock=t.channels.c.safety_stock))
    connection.execute(update(t.products).values(name=t.products.c.name))
    connection.execute(update(t.locations).values(priority=t.locations.c.priority))
    connection.execute(update(t.routing_rule_versions).values(active=False))


def _stamps(connection: Connection) -> dict[str, int]:
    rows = connection.execute(select(t.config_stamps.c.name, t.config_stamps.c.stamp))
    return {row.name: row.stamp for row in rows}


def _active(locations: list[Any]) -> set[str]:
    return {location.code for location in locations if location.active}
