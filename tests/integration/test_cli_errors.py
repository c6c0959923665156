"""The command line's answers to a user's mistakes: one line on stderr saying what to do next,
an exit code other than 0, no traceback, nothing written; and which database it uses."""

from __future__ import annotations

import json
import socket
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from orderhub.bootstrap import Container
from orderhub.cli import app
from orderhub.demo import DATABASE_RECORD
from orderhub.store.tables import orders, quarantine
from tests.conftest import native_order
from tests.support.channels import seed_channels

runner = CliRunner()


@pytest.fixture
def env(database_url: str, seeded: Container, monkeypatch: pytest.MonkeyPatch) -> Container:
    monkeypatch.setenv("ORDERHUB_DATABASE_URL", database_url)
    return seeded


def one_line(result: object) -> str:
    """The error's single line (stderr), after checking there is no traceback."""
    output: str = result.output  # type: ignore[attr-defined]
    assert result.exit_code not in (0, None), output  # type: ignore[attr-defined]
    assert "Traceback" not in output
    assert result.exception is None or isinstance(result.exception, SystemExit)  # type: ignore[attr-defined]
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    return lines[0]


def count(container: Container, table: object) -> int:
    with container.uow(read_only=True) as uow:
        return int(uow.conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_malformed_json_refuses_the_file_naming_the_line(env: Container, tmp_path: Path) -> None:
    file = tmp_path / "orders.jsonl"
    file.write_text(json.dumps(native_order("J-1")) + "\n{not json\n")
    line = one_line(runner.invoke(app, ["import", str(file), "--channel", "web"]))
    assert line.startswith("orders.jsonl line 2: not JSON")
    assert "one JSON order per line" in line
    assert count(env, orders) == 0  # the good first line was not imported either


def test_an_invalid_order_names_its_field(env: Container, tmp_path: Path) -> None:
    file = tmp_path / "orders.json"
    file.write_text(json.dumps([native_order("J-1", currency="EURO")]))
    line = one_line(runner.invoke(app, ["import", str(file), "--channel", "web"]))
    assert line.startswith("orders.json order 1: currency:")
    assert count(env, orders) == 0


def test_an_order_of_another_channel_is_refused_not_ignored(env: Container, tmp_path: Path) -> None:
    file = tmp_path / "orders.jsonl"
    records = [native_order("J-1"), native_order("J-2", channel="app")]
    file.write_text("\n".join(json.dumps(r) for r in records))
    line = one_line(runner.invoke(app, ["import", str(file), "--channel", "web"]))
    assert line.startswith("orders.jsonl line 2: the order names channel 'app', not 'web'")
    assert "--channel app" in line
    assert count(env, orders) == 0


def test_an_unknown_channel_lists_the_codes(env: Container, tmp_path: Path) -> None:
    file = tmp_path / "orders.jsonl"
    file.write_text(json.dumps(native_order("J-1")))
    line = one_line(runner.invoke(app, ["import", str(file), "--channel", "nosuch"]))
    assert line == "no channel 'nosuch': the channels are app, web"
    apikey = one_line(
        runner.invoke(app, ["apikey", "create", "--role", "channel", "--channel", "x"])
    )
    assert apikey == "no channel 'x': the channels are app, web"


def test_a_short_password_and_a_taken_name_are_one_line_each(env: Container) -> None:
    short = runner.invoke(app, ["user", "create", "ops"], input="short\nshort\n")
    assert short.exit_code == 2
    assert short.output.strip().splitlines()[-1] == (
        "password must have at least 8 characters: run it again with a longer password"
    )
    assert "Traceback" not in short.output
    ok = runner.invoke(app, ["user", "create", "ops"], input="long enough\nlong enough\n")
    assert ok.exit_code == 0, ok.output
    again = runner.invoke(app, ["user", "create", "ops"], input="long enough\nlong enough\n")
    assert again.exit_code == 2
    assert again.output.strip().splitlines()[-1] == (
        "user 'ops' exists already: choose another name, or set its password: "
        "orderhub user password ops"
    )
    unknown = one_line(runner.invoke(app, ["user", "revoke-sessions", "nobody"]))
    assert unknown.startswith("no user 'nobody'")


def test_the_summary_names_each_quarantined_order_in_the_same_words_for_csv_and_json(
    env: Container, tmp_path: Path
) -> None:
    seed_channels(env)
    csv_file = tmp_path / "partner.csv"
    csv_file.write_text(
        "order_id,placed_at,currency,email,sku,quantity,unit_price,line_tax,shipping_price\n"
        "C-1,2026-11-20T10:00:00Z,USD,a@example.com,NOPE-1,1,5.00,0.00,0.00\n"
    )
    json_file = tmp_path / "web.jsonl"
    json_file.write_text(
        json.dumps(native_order("J-1", lines=[{"sku": "NOPE-1", "quantity": 1, "unit_price": "5"}]))
    )
    from_csv = runner.invoke(app, ["import", str(csv_file), "--channel", "partner"])
    from_json = runner.invoke(app, ["import", str(json_file), "--channel", "web"])
    assert from_csv.exit_code == 0, from_csv.output
    assert from_json.exit_code == 0, from_json.output

    def why(output: str, external_id: str) -> str:
        line = next(x for x in output.splitlines() if x.startswith(f"quarantined {external_id}:"))
        return line.split(":", 1)[1].split("(")[0].strip()

    assert why(from_csv.output, "C-1") == why(from_json.output, "J-1")
    assert "NOPE-1" in from_json.output
    assert from_csv.output.strip().splitlines()[-1] == "1 quarantined"
    assert count(env, quarantine) == 2


def test_commands_use_the_database_the_demo_recorded(
    env: Container, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ORDERHUB_DATABASE_URL")
    monkeypatch.chdir(tmp_path)
    DATABASE_RECORD.parent.mkdir()
    DATABASE_RECORD.write_text(database_url + "\n")
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "history intact" in result.output
    assert f"using {database_url}, the database of the last `orderhub demo` here" in result.output
    assert sorted(p.name for p in (tmp_path / "var").iterdir()) == [DATABASE_RECORD.name]


def test_a_database_without_the_schema_is_one_line_and_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    monkeypatch.setenv("ORDERHUB_DATABASE_URL", f"sqlite:///{empty}")
    monkeypatch.chdir(tmp_path)
    for command in (["inventory", "check"], ["audit", "verify"], ["user", "revoke-sessions", "x"]):
        line = one_line(runner.invoke(app, command))
        assert line == (
            f"sqlite:///{empty} has no OrderHub schema: set ORDERHUB_DATABASE_URL (`orderhub "
            "demo` prints its export line) or run `orderhub db upgrade`"
        )
    with sqlite3.connect(empty) as conn:
        assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)


def test_the_demo_on_a_busy_port_stops_before_seeding_and_names_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(app, ["demo", "--port", str(port), "--database", "demo.db"])
    line = one_line(result)
    assert line.startswith(f"port {port} on 127.0.0.1 is in use")
    assert f"make demo PORT={port + 1}" in line
    assert list(tmp_path.iterdir()) == []  # no database, no record, no credentials


def test_make_demo_passes_its_port() -> None:
    import subprocess

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        ["make", "-n", "-W", "pyproject.toml", "demo", "PORT=8001"],
        cwd=root, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert "orderhub demo --port 8001" in done.stdout


def test_an_invalid_setting_and_a_channel_key_without_a_channel_are_one_line_each(
    env: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = one_line(runner.invoke(app, ["apikey", "create", "--role", "channel"]))
    assert key.startswith("a channel key needs --channel")
    monkeypatch.setenv("ORDERHUB_LOGIN_MAX_FAILURES", "0")
    setting = one_line(runner.invoke(app, ["audit", "verify"]))
    assert setting.startswith("invalid setting login_max_failures:")
    assert "ORDERHUB_LOGIN_MAX_FAILURES" in setting
