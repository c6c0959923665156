"""``orderhub inventory check``: clean stock passes, a level edited behind the ledger fails."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from orderhub.bootstrap import Container
from orderhub.cli import app
from orderhub.services.allocation import allocate_pending
from tests.integration.inventory_helpers import add_locations, place, receive


@pytest.fixture
def stocked(seeded: Container, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Container:
    monkeypatch.setenv("ORDERHUB_DATABASE_URL", database_url)
    add_locations(seeded, ("a", 1))
    receive(seeded, "SKU-1", "a", 5)
    place(seeded, 1, [("SKU-1", 2)])
    allocate_pending(seeded.uow)
    return seeded


def test_check_passes_when_levels_equal_the_ledger_and_reservations(stocked: Container) -> None:
    result = CliRunner().invoke(app, ["inventory", "check"])
    assert result.exit_code == 0, result.output
    assert "1 levels match" in result.output


@pytest.mark.parametrize(
    ("statement", "named"),
    [
        ("UPDATE stock_levels SET on_hand = 9", "on_hand is 9, the ledger says 5"),
        ("UPDATE stock_levels SET reserved = 0", "reserved is 0, open reservations says 2"),
        ("UPDATE allocations SET open_quantity = 1", "reserved is 2, open reservations says 1"),
    ],
)
def test_check_exits_non_zero_naming_the_drifted_level(
    stocked: Container, statement: str, named: str
) -> None:
    with stocked.engine.begin() as conn:
        conn.execute(text(statement))
    result = CliRunner().invoke(app, ["inventory", "check"])
    assert result.exit_code == 1
    assert "SKU-1 @ a" in result.output
    assert named in result.output
