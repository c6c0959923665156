"""The stateful model of the whole hub, on SQLite and PostgreSQL: through the services (fast)
and through the HTTP API (fewer examples). See docs/testing.md.

Seeded: ``ORDERHUB_MODEL_SEED`` picks the run (0 in ``make test``, so CI is repeatable; ``make
soak`` draws a new one per pass). A failure ends with the one command that replays it:
the same seed, the same sizes, the same test.
"""

from __future__ import annotations

import os
import shlex

import pytest
from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis.stateful import get_state_machine_test

from tests.conftest import DatabaseFactory
from tests.model.machine import hub_model

SEED = int(os.environ.get("ORDERHUB_MODEL_SEED", "0"))
EXAMPLES = int(os.environ.get("ORDERHUB_MODEL_EXAMPLES", "0"))  # 0: each test's own default
STEPS = int(os.environ.get("ORDERHUB_MODEL_STEPS", "0"))


def _run(
    request: pytest.FixtureRequest,
    databases: DatabaseFactory,
    *,
    via_http: bool,
    examples: int,
    steps: int,
) -> None:
    """Run the model with a fixed seed; on failure, add the command that replays it."""
    postgres = on_postgres(request)
    machine = hub_model(databases, postgres=postgres, via_http=via_http)
    machine.TestCase.settings = settings(
        max_examples=EXAMPLES or examples,
        stateful_step_count=STEPS or steps,
        deadline=None,
        database=None,  # replay comes from the seed, not from a local example database
        phases=(Phase.generate, Phase.target, Phase.shrink),  # no explain: it traces every line
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )
    test = seed(SEED)(get_state_machine_test(machine, settings=machine.TestCase.settings))
    try:
        test()
    except BaseException as error:
        error.add_note(f"replay it: {replay_command(request)}")
        raise


def on_postgres(request: pytest.FixtureRequest) -> bool:
    return bool(request.node.callspec.params["fresh_databases"] == "postgres")


def replay_command(request: pytest.FixtureRequest) -> str:
    env = {"ORDERHUB_MODEL_SEED": str(SEED)}
    if EXAMPLES:
        env["ORDERHUB_MODEL_EXAMPLES"] = str(EXAMPLES)
    if STEPS:
        env["ORDERHUB_MODEL_STEPS"] = str(STEPS)
    assignments = " ".join(f"{k}={v}" for k, v in env.items())
    return (
        f"{assignments} PYTHONPATH=src:. .venv/bin/python -m pytest -p no:cacheprovider "
        f"{shlex.quote(request.node.nodeid)}"
    )


def test_the_hub_keeps_its_invariants_through_its_services(
    request: pytest.FixtureRequest, fresh_databases: DatabaseFactory
) -> None:
    _run(request, fresh_databases, via_http=False, examples=25, steps=30)


def test_the_hub_keeps_its_invariants_through_its_http_api(
    request: pytest.FixtureRequest, fresh_databases: DatabaseFactory
) -> None:
    _run(request, fresh_databases, via_http=True, examples=6, steps=20)
