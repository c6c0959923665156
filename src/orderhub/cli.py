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
from orderhub.bench import report as bench_report
from orderhub.bench.reservations import reservation_benchmark
from orderhub.bench.service import ingest_benchmark
from orderhub.bootstrap import Container, bootstrap
from orderhub.channels import csv_import, native
from orderhub.config import load_settings
from orderhub.demo import run_demo
from orderhub.domain.access import Role
from orderhub.domain.errors import NotFound, NotNormalizable, ValidationFailed
from orderhub.services import audit
from orderhub.services.channel_orders import receive_batch
from orderhub.services.edi import Verdict, receive_interchange
from orderhub.services.ingest import Incoming, ingest_batch
from orderhub.services.inventory_check import find_drift
from orderhub.services.secret_keys import redact_stored_payloads, reseal_secrets
from orderhub.services.sign_in import change_password, revoke_sessions
from orderhub.store import history
from orderhub.store.migrate import missing_schema, upgrade
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


def _reading_container() -> Container:
    """The container of a command that reads an existing database: a missing file or schema
    is one line and exit 2, never a new empty database."""
    url = load_settings().database_url
    problem = missing_schema(url)
    if problem:
        console.print(
            f"[red]{problem}[/red]: set ORDERHUB_DATABASE_URL (`orderhub demo` prints its "
            "export line) or run `orderhub db upgrade`",
            soft_wrap=True,
        )
        raise typer.Exit(2)
    return _container()


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
    with _reading_container() as container:
        breaks: list[history.ChainBreak] = []
        checked = 0
        with container.uow(read_only=True) as uow:
            for item in history.verify(uow.conn):
                if isinstance(item, history.ChainBreak):
                    breaks.append(item)
                else:
                    checked = item
        if breaks:
            for found in breaks[:20]:
                console.print(f"[red]history broken[/red] {_where(found)}: {found.problem}")
            console.print(f"[red]{len(breaks)} problem(s)[/red] in {checked} events verified")
            raise typer.Exit(1)
        console.print(f"[green]history intact[/green]: {checked} events verified")


def _where(found: history.ChainBreak) -> str:
    """Which order and event a break names (a checkpoint names none)."""
    if found.order_id is None:
        return "across all chains"
    event = f", event {found.event_id}" if found.event_id else ""
    return f"in order {found.order_id} at seq {found.order_seq}{event}"


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Store a digest over every order's chain head (the worker does it hourly); print it."""
    with _reading_container() as container, container.uow(actor="cli") as uow:
        try:
            taken = audit.checkpoint_history(uow)
        except history.CheckpointRefused as refused:
            console.print(f"[red]history broken[/red] across all chains: {refused}")
            raise typer.Exit(1) from None
    console.print(
        f"checkpoint {taken.id}: {taken.chains} chain(s), {taken.events} event(s) "
        f"up to seq {taken.up_to_seq}"
    )
    typer.echo(taken.digest)


@inventory_app.command("check")
def inventory_check() -> None:
    """Recompute every stock level from the ledger and open reservations; exit 1 on drift."""
    with _reading_container() as container, container.uow(read_only=True) as uow:
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
        for start in range(0, len(orders), IMPORT_BATCH):
            chunk = orders[start : start + IMPORT_BATCH]
            with container.uow(actor="cli:import") as uow:
                for result in receive_batch(uow, chunk):
                    counts[result.outcome.value] = counts.get(result.outcome.value, 0) + 1
            progress.advance(task, len(chunk))
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
        for start in range(0, len(records), IMPORT_BATCH):
            chunk = records[start : start + IMPORT_BATCH]
            items = []
            for record in chunk:
                record.setdefault("channel", channel)
                order = native.NativeOrder.model_validate(record)
                items.append(Incoming(order.to_draft(), native.SOURCE, order.model_dump_json))
            with container.uow(actor="cli:import") as uow:
                for result in ingest_batch(uow, items):
                    if result.error is not None:
                        raise result.error
                    counts[result.outcome.value] = counts.get(result.outcome.value, 0) + 1
            progress.advance(task, len(chunk))
    return counts


IMPORT_BATCH = 500  # orders per transaction: the batch path of POST /v1/orders:batch
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
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="API processes (uvicorn workers); see docs/operations.md for sizing: "
            "1–2 on SQLite, about 2 per core on PostgreSQL",
        ),
    ] = 1,
) -> None:
    """Serve the HTTP API (and dashboard)."""
    with _container() as container:  # checks the settings and keys before any process starts
        settings = container.settings
        if workers == 1:
            uvicorn.run(
                create_app(container), host=host or settings.host, port=port or settings.port
            )
            return
    if settings.session_secret is None:
        console.print(
            "[yellow]ORDERHUB_SESSION_SECRET is unset: each process signs dashboard sessions "
            "with its own key, so sign-ins will not hold across processes[/yellow]"
        )
    uvicorn.run(
        "orderhub.api.app:app_from_settings",
        factory=True,
        workers=workers,
        host=host or settings.host,
        port=port or settings.port,
        # A process importing the app on a busy machine takes longer than uvicorn's 5 s.
        timeout_worker_healthcheck=60,
    )


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
    orders: Annotated[int, typer.Option(help="orders over HTTP, one per request")] = 2000,
    clients: Annotated[int, typer.Option(help="client threads for the HTTP ingest")] = 8,
    batch: Annotated[int, typer.Option(help="orders per POST /v1/orders:batch")] = 500,
    batch_orders: Annotated[int, typer.Option(help="orders sent through the batch route")] = 5000,
    procs: Annotated[int, typer.Option(help="orderhub serve --workers")] = 1,
    rate: Annotated[float, typer.Option(help="orders/s offered by the open loop")] = 200,
    rate_seconds: Annotated[float, typer.Option(help="seconds the open loop runs")] = 10,
    drain: Annotated[
        str, typer.Option(help="backlog sizes for the drain, comma separated")
    ] = "300,1200",
    drain_timeout: Annotated[float, typer.Option(help="seconds allowed per drain")] = 600,
    service: Annotated[
        bool, typer.Option(help="also single-order ingest in-process, below HTTP")
    ] = False,
    reservations: Annotated[
        bool,
        typer.Option(help="also reservations/s on SQLite and PostgreSQL (bench/reservations.py)"),
    ] = False,
) -> None:
    """Issue #16's figures as one Markdown table: HTTP ingest (closed and open loop, and how
    long the open loop's orders took to be allocated), batch ingest, drain time per order
    for two backlogs, each against the raw-driver floor measured in the same run, with the
    load average (see docs/performance.md)."""
    backlogs = tuple(int(n) for n in drain.split(",") if n.strip())
    report = bench_report.run(
        orders=orders,
        clients=clients,
        batch=batch,
        batch_orders=batch_orders,
        procs=procs,
        rate=rate,
        rate_seconds=rate_seconds,
        backlogs=backlogs,
        drain_timeout=drain_timeout,
        say=lambda text: console.print(f"[dim]{text}[/dim]"),
    )
    print(report.markdown())  # plain: a terminal-wide table would wrap the Markdown
    if service:
        ingest_benchmark(orders=orders, console=console)
    if reservations:
        reservation_benchmark(orders=min(orders, 1000), console=console)
