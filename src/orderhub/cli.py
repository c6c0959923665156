"""The ``orderhub`` command line: serve, worker, demo, db, apikey, user, secrets, import, audit,
bench."""

from __future__ import annotations

import json
import logging
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from cryptography.fernet import Fernet
from rich.console import Console
from rich.progress import Progress

from orderhub.api.app import create_app
from orderhub.benchmarks import ingest_benchmark
from orderhub.benchmarks_reservations import reservation_benchmark
from orderhub.bootstrap import Container, bootstrap
from orderhub.channels import csv_import, native
from orderhub.config import load_settings
from orderhub.demo import run_demo
from orderhub.domain.access import Role
from orderhub.domain.errors import NotFound, NotNormalizable, ValidationFailed
from orderhub.services.channel_orders import receive_channel_order
from orderhub.services.edi import Verdict, receive_interchange
from orderhub.services.ingest import ingest_order
from orderhub.services.inventory_check import find_drift
from orderhub.services.secret_keys import redact_stored_payloads, reseal_secrets
from orderhub.services.sign_in import change_password, revoke_sessions
from orderhub.store import history
from orderhub.store.migrate import upgrade
from orderhub.store.secret_box import SecretKeyError, UnreadableSecret
from orderhub.workers.relay import make_worker

app = typer.Typer(help="OrderHub: one hub for every channel's orders.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys.", no_args_is_help=True)
user_app = typer.Typer(help="Dashboard users.", no_args_is_help=True)
audit_app = typer.Typer(help="The immutable order history.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(apikey_app, name="apikey")
app.add_typer(user_app, name="user")
app.add_typer(audit_app, name="audit")
inventory_app = typer.Typer(help="Stock levels and their ledger.", no_args_is_help=True)
app.add_typer(inventory_app, name="inventory")
secrets_app = typer.Typer(help="Keys that encrypt stored channel secrets.", no_args_is_help=True)
app.add_typer(secrets_app, name="secrets")

console = Console(stderr=True)


def _container() -> Container:
    try:
        return bootstrap(load_settings())
    except SecretKeyError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the schema migrations up to REVISION (default: the newest)."""
    with _container() as container:
        upgrade(container.engine, revision)
        console.print(f"[green]database at {revision}[/green]")
        if revision != "head":
            return
        with container.uow(actor="cli") as uow:
            sealed = sum(reseal_secrets(uow, rotate=False).values())
        if sealed:
            console.print(f"encrypted {sealed} secret(s) that were stored in clear")
        with container.uow(actor="cli") as uow:
            redacted = redact_stored_payloads(uow)
        if redacted:
            console.print(f"redacted credentials in {redacted} stored payload(s)")


@secrets_app.command("rotate")
def secrets_rotate() -> None:
    """Re-encrypt every stored secret with the first key of ORDERHUB_SECRET_KEY."""
    with _container() as container, container.uow(actor="cli") as uow:
        try:
            counts = reseal_secrets(uow, rotate=True)
        except UnreadableSecret as error:
            console.print(f"[red]{error}[/red]: keep the old key after the new one until done")
            raise typer.Exit(1) from None
    console.print(
        "[green]re-encrypted with the first key[/green]: "
        + ", ".join(f"{n} in {table}" for table, n in counts.items())
    )


@secrets_app.command("generate-key")
def secrets_generate_key() -> None:
    """Print a new key for ORDERHUB_SECRET_KEY (put it first to encrypt with it)."""
    print(Fernet.generate_key().decode())


@apikey_app.command("create")
def apikey_create(
    role: Annotated[Role, typer.Option(help="what the key may do")],
    channel: Annotated[str | None, typer.Option(help="scope the key to one channel")] = None,
    name: Annotated[str | None, typer.Option(help="a label for people")] = None,
) -> None:
    """Create an API key; the secret is printed once, alone on the last line."""
    with _container() as container:
        with container.uow(actor="cli") as uow:
            if channel and not uow.channels.exists(channel):
                console.print(f"[red]no channel {channel!r}[/red]")
                raise typer.Exit(2)
            token = uow.api_keys.create(role=role, channel=channel, name=name)
            uow.commit()
        console.print(
            f"created a {role.value} key" + (f" for channel {channel}" if channel else "")
        )
        print(token)


@user_app.command("create")
def user_create(
    username: str,
    role: Annotated[Role, typer.Option(help="what the user may do")] = Role.OPERATOR,
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)
    ] = "",
) -> None:
    """Create a dashboard user (the password is stored as an argon2 hash)."""
    with _container() as container:
        with container.uow(actor="cli") as uow:
            uow.users.create(username=username, password=password, role=role)
            uow.commit()
        console.print(f"created user {username} ({role.value})")


@user_app.command("password")
def user_password(
    username: str,
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)
    ] = "",
) -> None:
    """Set a user's password; every dashboard session of the user ends."""
    with _container() as container, container.uow(actor="cli") as uow:
        try:
            change_password(uow, username=username, password=password)
        except (NotFound, ValidationFailed) as error:
            console.print(f"[red]{error.detail}[/red]")
            raise typer.Exit(2) from None
    console.print(f"password of {username} changed; their sessions ended")


@user_app.command("revoke-sessions")
def user_revoke_sessions(username: str) -> None:
    """Sign a user out everywhere: every dashboard session of theirs ends at once."""
    with _container() as container, container.uow(actor="cli") as uow:
        try:
            ended = revoke_sessions(uow, username=username)
        except NotFound as error:
            console.print(f"[red]{error.detail}[/red]")
            raise typer.Exit(2) from None
    console.print(f"ended {ended} session(s) of {username}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute every order's hash chain; exit 1 naming the first bad event."""
    with _container() as container:
        breaks: list[history.ChainBreak] = []
        checked = 0
        with container.uow(read_only=True) as uow:
            for item in history.verify(uow.conn):
                if isinstance(item, history.ChainBreak):
                    breaks.append(item)
                else:
                    checked = item
        if breaks:
            first = breaks[0]
            console.print(
                f"[red]history broken[/red] at event {first.event_id} (order {first.order_id}, "
                f"seq {first.order_seq}): {first.problem}; {len(breaks)} chain(s) broken"
            )
            raise typer.Exit(1)
        console.print(f"[green]history intact[/green]: {checked} events verified")


@inventory_app.command("check")
def inventory_check() -> None:
    """Recompute every stock level from the ledger and open reservations; exit 1 on drift."""
    with _container() as container, container.uow(read_only=True) as uow:
        checked, drifts = find_drift(uow)
    if drifts:
        for drift in drifts:
            console.print(f"[red]drift[/red] {drift}")
        console.print(f"[red]{len(drifts)} drift(s)[/red] in {checked} stock levels")
        raise typer.Exit(1)
    console.print(f"[green]stock consistent[/green]: {checked} levels match the ledger")


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    channel: Annotated[str, typer.Option(help="the channel code the orders belong to")],
) -> None:
    """Import orders from FILE: partner CSV (``.csv``, see docs/channels/csv.md) or native JSON
    (one order per line, or an array). Safe to re-run: orders are keyed by their external id."""
    if file.suffix.lower() in EDI_SUFFIXES:
        _import_edi(file, channel)
        return
    with _container() as container:
        with container.uow(read_only=True) as uow:
            if not uow.channels.exists(channel):
                console.print(f"[red]no channel {channel!r}[/red]")
                raise typer.Exit(2)
        text = file.read_text(encoding="utf-8-sig")
        if file.suffix.lower() == ".csv":
            counts = _import_csv(container, text, channel=channel, name=file.name)
        else:
            counts = _import_native(container, text, channel=channel, name=file.name)
    console.print(", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "nothing imported")


def _import_csv(container: Container, text: str, *, channel: str, name: str) -> dict[str, int]:
    try:
        orders = list(csv_import.read_orders(channel, text, file_name=name))
    except NotNormalizable as error:
        console.print(
            f"[red]{error.problem.reason}[/red]: "
            + "; ".join(f.field for f in error.problem.fields)
        )
        raise typer.Exit(1) from None
    counts: dict[str, int] = {}
    with Progress(console=console) as progress:
        task = progress.add_task(f"importing {name}", total=len(orders))
        for item in orders:
            with container.uow(actor="cli:import") as uow:
                result = receive_channel_order(uow, item=item)
            counts[result.outcome.value] = counts.get(result.outcome.value, 0) + 1
            progress.advance(task)
    return counts


def _import_native(container: Container, text: str, *, channel: str, name: str) -> dict[str, int]:
    stripped = text.lstrip()
    records = (
        json.loads(text)
        if stripped.startswith("[")
        else [json.loads(line) for line in text.splitlines() if line.strip()]
    )
    counts: dict[str, int] = {}
    with Progress(console=console) as progress:
        task = progress.add_task(f"importing {name}", total=len(records))
        for record in records:
            record.setdefault("channel", channel)
            order = native.NativeOrder.model_validate(record)
            with container.uow(actor="cli:import") as uow:
                result = ingest_order(
                    uow,
                    draft=order.to_draft(),
                    source=native.SOURCE,
                    payload=order.model_dump_json(),
                )
            counts[result.outcome.value] = counts.get(result.outcome.value, 0) + 1
            progress.advance(task)
    return counts


EDI_SUFFIXES = frozenset({".edi", ".x12"})


def _import_edi(file: Path, channel: str) -> None:
    with _container() as container, Progress(console=console) as progress:
        task = progress.add_task(f"importing {file.name}", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        with container.uow(actor="cli:import") as uow:
            outcome = receive_interchange(
                uow, channel=channel, text=file.read_text(encoding="utf-8"), progress=advance
            )
    for po in outcome.purchase_orders:
        console.print(
            f"PO {po.po_number or '?'} (set {po.transaction_control}): {po.outcome}"
            + (f" — {'; '.join(po.problems)}" if po.problems else "")
        )
    for problem in outcome.problems:
        console.print(f"[red]{problem}[/red]")
    console.print(f"interchange {outcome.verdict.value}; 997 follows")
    print(outcome.acknowledgement)
    if outcome.verdict == Verdict.REJECTED:
        raise typer.Exit(1)


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Serve the HTTP API (and dashboard)."""
    with _container() as container:
        settings = container.settings
        uvicorn.run(create_app(container), host=host or settings.host, port=port or settings.port)


@app.command("worker")
def worker(
    worker_id: Annotated[str | None, typer.Option("--id", help="name in leases and logs")] = None,
) -> None:
    """Deliver outbox events to consumers, webhooks and NATS until SIGINT/SIGTERM.

    Run as many as you like on PostgreSQL (they share work); one on SQLite.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    container = _container()
    relay = make_worker(container, worker_id=worker_id)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    console.print(f"worker {relay.id} delivering from {container.engine.url.render_as_string()}")
    try:
        relay.run(stop)
    finally:
        relay.close()
        container.close()


@app.command("demo")
def demo(
    database: Annotated[Path, typer.Option(help="SQLite file, recreated")] = Path("var/demo.db"),
    port: Annotated[int, typer.Option()] = 8000,
) -> None:
    """Start a fresh demo: migrate, seed channels, products and orders, serve on 127.0.0.1."""
    run_demo(database=database, port=port, console=console)


@app.command("bench")
def bench(
    orders: Annotated[int, typer.Option(help="orders to ingest in each run")] = 2000,
    reservations: Annotated[
        bool,
        typer.Option(help="also reservations/s on SQLite and PostgreSQL (bench/reservations.py)"),
    ] = False,
) -> None:
    """Measure single-order ingest on SQLite against the raw sqlite3 driver."""
    ingest_benchmark(orders=orders, console=console)
    if reservations:
        reservation_benchmark(orders=min(orders, 1000), console=console)
