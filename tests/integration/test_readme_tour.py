"""README.md's five-minute tour, run as written: its shell blocks against a live demo server.

The blocks are taken from the README itself; only the host changes (a free port instead of
8000). ``curl`` is wrapped the way a reader reads the answers: each answer's status, headers
and body are kept, and the ids the tour asks the reader to export (``QUARANTINE_ID``,
``ORDER_ID``) are exported from the answers that carry them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from orderhub.api.app import create_app
from orderhub.bootstrap import Container, bootstrap
from orderhub.config import Settings
from orderhub.demo.hub import demo_jobs, seed
from orderhub.store.migrate import upgrade
from orderhub.workers.relay import make_worker

ROOT = Path(__file__).resolve().parents[2]
README_HOST = "http://127.0.0.1:8000"

# `curl` as the reader uses it, keeping each answer: <block>-<n>.{status,headers,body}
CURL = r"""
n=0
curl() {
  n=$((n + 1))
  local out="$ANSWERS/$BLOCK-$n"
  command curl -s -D "$out.headers" -o "$out.body" -w '%{http_code}' "$@" > "$out.status"
  local q o
  q=$(jq -r '.quarantine_id? // empty' "$out.body" 2>/dev/null)
  [ -n "$q" ] && export QUARANTINE_ID="$q"
  o=$(jq -r 'select(.external_id? == "TOUR-1") | .id' "$out.body" 2>/dev/null)
  [ -n "$o" ] && [ -z "${ORDER_ID:-}" ] && export ORDER_ID="$o"
  return 0
}
"""


@dataclass(frozen=True)
class Step:
    number: int
    text: str
    blocks: list[str]


@dataclass(frozen=True)
class Answer:
    status: int
    headers: str
    body: Any


def tour_steps() -> dict[int, Step]:
    """The numbered steps of the README's tour, each with its prose and its ``sh`` blocks."""
    readme = (ROOT / "README.md").read_text()
    tour = readme.split("## A five-minute tour", 1)[1].split("\n## ", 1)[0]
    steps: dict[int, Step] = {}
    for match in re.finditer(r"^(\d+)\. (.*?)(?=^\d+\. |\Z)", tour, re.M | re.S):
        text = match.group(2)
        blocks = [textwrap_dedent(b) for b in re.findall(r"```sh\n(.*?)```", text, re.S)]
        steps[int(match.group(1))] = Step(int(match.group(1)), text, blocks)
    return steps


def textwrap_dedent(block: str) -> str:
    lines = block.splitlines()
    indent = min(len(line) - len(line.lstrip()) for line in lines if line.strip())
    return "\n".join(line[indent:] for line in lines) + "\n"


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[str, str, Container]]:
    """The demo on a temp SQLite database: seeded, its worker running, served on a free port."""
    database = tmp_path / "demo.db"
    container = bootstrap(
        Settings(database_url=f"sqlite:///{database}", schedule_fulfilment_seconds=10)
    )
    upgrade(container.engine)
    key = seed(container, orders=6)
    worker, stop = make_worker(container, worker_id="tour"), threading.Event()
    if worker.scheduler is not None:
        worker.scheduler.jobs = demo_jobs(container)
    worker_thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    worker_thread.start()
    server = uvicorn.Server(
        uvicorn.Config(create_app(container), host="127.0.0.1", port=0, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        assert thread.is_alive(), "the server stopped"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", key, container
    server.should_exit = True
    stop.set()
    thread.join(timeout=10)
    worker_thread.join(timeout=10)
    worker.close()
    container.close()


class Reader:
    """Runs the tour's blocks in one shell, as a reader would, keeping every answer."""

    def __init__(self, base: str, env: dict[str, str], answers: Path) -> None:
        self.base, self.env, self.answers = base, env, answers
        self.runs = 0

    def run(self, block: str) -> tuple[list[Answer], subprocess.CompletedProcess[str]]:
        self.runs += 1
        script = (
            CURL + f"BLOCK={self.runs}\n" + self._state() + block.replace(README_HOST, self.base)
        )
        script += '\nexport -p > "$ANSWERS/state"\n'
        done = subprocess.run(
            ["bash", "-e", "-c", script], cwd=ROOT, env=self.env, capture_output=True, text=True,
            timeout=60, check=False,
        )  # fmt: skip
        return self._answers(self.runs), done

    def _state(self) -> str:
        state = self.answers / "state"
        exported = state.read_text() if state.exists() else ""
        return (
            "\n".join(
                line
                for line in exported.splitlines()
                if re.match(r"declare -x (ORDER_ID|QUARANTINE_ID)=", line)
            )
            + "\n"
        )

    def _answers(self, block: int) -> list[Answer]:
        found = []
        for n in range(1, 100):
            status = self.answers / f"{block}-{n}.status"
            if not status.exists():
                break
            body = (self.answers / f"{block}-{n}.body").read_text()
            found.append(
                Answer(
                    int(status.read_text()),
                    (self.answers / f"{block}-{n}.headers").read_text().lower(),
                    json.loads(body) if body.strip() else None,
                )
            )
        return found


def test_the_readme_tour_answers_as_it_says(
    demo: tuple[str, str, Container], tmp_path: Path
) -> None:
    base, key, container = demo
    steps = tour_steps()
    answers = tmp_path / "answers"
    answers.mkdir()
    env = {
        **os.environ,
        "KEY": key,
        "ANSWERS": str(answers),
        "ORDERHUB_DATABASE_URL": str(container.engine.url),  # the line the demo prints
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
    }
    reader = Reader(base, env, answers)

    # 3. the list, newest first, paged
    assert "`200`" in steps[3].text
    (listed,), _ = reader.run(steps[3].blocks[0])
    assert listed.status == 200
    assert set(listed.body) == {"items", "next_cursor"}
    assert len(listed.body["items"]) == 5
    assert listed.body["next_cursor"]

    # 4. twice with one Idempotency-Key: 201, then the replay of that 201
    assert "`201`" in steps[4].text
    assert "`Idempotent-Replayed: true`" in steps[4].text
    (first,), _ = reader.run(steps[4].blocks[0])
    (second,), _ = reader.run(steps[4].blocks[0])
    assert (first.status, second.status) == (201, 201)
    assert "idempotent-replayed: true" in second.headers
    assert "idempotent-replayed" not in first.headers
    assert second.body["id"] == first.body["id"]

    # 5. an unknown master SKU: quarantined, the product added, the entry replayed into an order
    assert "`202`" in steps[5].text
    assert "only lines sent as `channel_sku`" in steps[5].text
    held, queue, product, replayed = reader.run(steps[5].blocks[0])[0]
    assert held.status == 202
    assert [e["id"] for e in queue.body["items"]] == [held.body["quarantine_id"]]
    assert product.status == 201
    assert replayed.status == 200
    assert replayed.body["outcome"] == "created"
    assert replayed.body["order_id"]

    # 6. the order's history, and `orderhub audit verify` on the demo's database
    assert "history intact" in steps[6].text
    (events,), verified = reader.run(steps[6].blocks[0])
    assert events.status == 200
    assert events.body[0]["type"] == "order.received"
    assert "history intact" in verified.stdout + verified.stderr, verified.stderr

    # 7. where it went: allocations with their explanation, stock, shipments, deliveries
    _allocated(base, key, first.body["id"])
    order, stock, shipped, delivered = reader.run(steps[7].blocks[0])[0]
    assert [a.status for a in (order, stock, shipped, delivered)] == [200] * 4
    assert order.body["allocations"]
    assert {"locations", "channels"} <= set(stock.body)
    assert set(shipped.body) == set(delivered.body) == {"items", "next_cursor"}


def _allocated(base: str, key: str, order_id: str) -> None:
    """The demo's worker allocates orders it is told of; wait for it as a reader would."""
    deadline = time.monotonic() + 20
    headers = {"Authorization": f"Bearer {key}"}
    while not httpx.get(f"{base}/v1/orders/{order_id}", headers=headers).json()["allocations"]:
        assert time.monotonic() < deadline, "the demo's worker never allocated the order"
        time.sleep(0.2)


@pytest.mark.parametrize("command", [["audit", "verify"], ["serve"], ["worker"]])
def test_the_command_line_says_in_one_line_that_there_is_no_database_and_creates_none(
    tmp_path: Path, command: list[str]
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ORDERHUB_DATABASE_URL"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    done = subprocess.run(
        [str(ROOT / ".venv/bin/orderhub"), *command],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "no database at sqlite:///var/orderhub.db: set ORDERHUB_DATABASE_URL (`orderhub demo` "
        "prints its export line) or run `orderhub db upgrade`"
    ]
    assert list(tmp_path.iterdir()) == []
