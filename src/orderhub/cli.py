"""The ``orderhub`` command line: serve, worker, demo, db, apikey, user, secrets, import, audit,
inventory, bench.

Start-up imports only Typer and Rich: each command imports what it needs when it runs, so
``orderhub --help`` answers at once (tests/unit/test_cli_startup.py checks that it loads none
of FastAPI, SQLAlchemy, Pydantic…). Errors a user can fix take one path (:class:`_Commands`):
one line on stderr saying what went wrong and what to do next, exit code 2, no traceback.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup

from orderhub.demo import DATABASE_RECORD
from orderhub.domain.access import Role

if TYPE_CHECKING:
    from typer._click import Context as ClickContext  # Typer vendors Click

    from orderhub.bootstrap import Container
    from orderhub.config import Settings
    from orderhub.services.channel_orders import ChannelResult
    from orderhub.store import history
    from orderhub.store.unit_of_work import UnitOfWork

console = Console(stderr=True, soft_wrap=True)  # soft wrap: an error stays one line


class UserError(Exception):
    """Something the user can fix: ``problem`` and what to do about it (``hint``)."""

    def __init__(self, problem: str, hint: str = "", code: int = 2) -> None:
        super().__init__(problem)
        self.problem = problem
        self.hint = hint
        self.code = code

    def line(self) -> str:
        return f"{self.problem}: {self.hint}" if self.hint else self.problem


def _explain(error: Exception) -> UserError | None:
    """The one line for an error a user can fix; None for a bug (its traceback shows)."""
    from orderhub.domain.errors import NotFound, OrderHubError, ValidationFailed

    if isinstance(error, UserError):
        return error
    if isinstance(error, ValidationFailed):
        fields = "; ".join(f"{f.field}: {f.message}" for f in error.fields)
        return UserError(error.detail + (f" ({fields})" if fields else ""), "fix it and re-run")
    if isinstance(error, NotFound):
        return UserError(error.detail, "check the name (list them in the dashboard or the API)")
    if isinstance(error, OrderHubError):
        return UserError(error.detail, "nothing was changed")
    module = type(error).__module__.split(".")[0]
    if module in ("pydantic", "pydantic_core") and getattr(error, "title", "") == "Settings":
        # ORDERHUB_* variables or the config file; another model's error is a bug: it shows
        first = error.errors()[0]  # type: ignore[attr-defined]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        return UserError(
            f"invalid setting {where}: {first['msg']}",
            f"fix ORDERHUB_{where.upper()} (or the file ORDERHUB_CONFIG names)",
        )
    if module == "sqlalchemy" and type(error).__name__ == "OperationalError":
        return UserError(
            f"cannot use the database: {str(error).splitlines()[0]}",
            "check ORDERHUB_DATABASE_URL, that the server runs, and `orderhub db upgrade`",
        )
    from orderhub.store.secret_box import SecretKeyError

    if isinstance(error, SecretKeyError):
        return UserError(str(error), "see docs/security.md, encrypted channel secrets")
    return None


class _Commands(TyperGroup):
    """The root group: every subcommand runs inside :meth:`invoke`, so this is the one place
    that turns a user's error into one line and an exit code."""

    def invoke(self, ctx: ClickContext) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.exceptions.TyperException):
            raise
        except Exception as error:
            explained = _explain(error)
            if explained is None:
                raise
            console.print(Text(explained.line(), style="red"))
            raise typer.Exit(explained.code) from None


app = typer.Typer(
    cls=_Commands,
    help="OrderHub: one hub for every channel's orders.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys.", no_args_is_help=True)
user_app = typer.Typer(help="Dashboard users.", no_args_is_help=True)
audit_app = typer.Typer(help="The immutable order history.", no_args_is_help=True)
inventory_app = typer.Typer(help="Stock levels and their ledger.", no_args_is_help=True)
secrets_app = typer.Typer(help="Keys that encrypt stored channel secrets.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(apikey_app, name="apikey")
app.add_typer(user_app, name="user")
app.add_typer(audit_app, name="audit")
app.add_typer(inventory_app, name="inventory")
app.add_typer(secrets_app, name="secrets")


def _settings() -> Settings:
    """The settings; without ORDERHUB_DATABASE_URL (or the config file's), the database the
    last ``orderhub demo`` in this directory used (it records it in var/.orderhub-database),
    said in one line, else the default ``var/orderhub.db``."""
    from orderhub.config import load_settings

    settings = load_settings()
    if "database_url" in settings.model_fields_set or not DATABASE_RECORD.is_file():
        return settings
    url = DATABASE_RECORD.read_text(encoding="utf-8").strip()
    console.print(
        Text(
            f"using {url}, the database of the last `orderhub demo` here "
            f"({DATABASE_RECORD}); set ORDERHUB_DATABASE_URL to use another",
            style="dim",
        )
    )
    return settings.model_copy(update={"database_url": url})


def _container(settings: Settings | None = None) -> Container:
    from orderhub.bootstrap import bootstrap

    return bootstrap(settings or _settings())


def _reading_container() -> Container:
    """The container of a command that uses an existing database: a missing file or schema
    is one line and exit 2, never a new empty database."""
    from orderhub.store.migrate import missing_schema

    settings = _settings()
    problem = missing_schema(settings.database_url)
    if problem:
        raise UserError(
            problem,
            "set ORDERHUB_DATABASE_URL (`orderhub demo` prints its export line) "
            "or run `orderhub db upgrade`",
        )
    return _container(settings)


def _channel_codes(uow: UnitOfWork) -> list[str]:
    return sorted(channel.code for channel in uow.channels.list())


def _require_channel(uow: UnitOfWork, code: str) -> None:
    """Refuse an unknown channel code, naming the ones there are."""
    if uow.channels.exists(code):
        return
    codes = _channel_codes(uow)
    raise UserError(
        f"no channel {code!r}",
        ("the channels are " + ", ".join(codes)) if codes else "there are no channels yet",
    )


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the schema migrations up to REVISION (default: the newest)."""
    from orderhub.services.secret_keys import redact_stored_payloads, reseal_secrets
    from orderhub.store.migrate import upgrade

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
    from orderhub.services.secret_keys import reseal_secrets
    from orderhub.store.secret_box import UnreadableSecret

    with _reading_container() as container, container.uow(actor="cli") as uow:
        try:
            counts = reseal_secrets(uow, rotate=True)
        except UnreadableSecret as error:
            raise UserError(
                str(error), "keep the old key after the new one until done", 1
            ) from None
    console.print(
        "[green]re-encrypted with the first key[/green]: "
        + ", ".join(f"{n} in {table}" for table, n in counts.items())
    )


@secrets_app.command("generate-key")
def secrets_generate_key() -> None:
    """Print a new key for ORDERHUB_SECRET_KEY (put it first to encrypt with it)."""
    from cryptography.fernet import Fernet

    print(Fernet.generate_key().decode())


@apikey_app.command("create")
def apikey_create(
    role: Annotated[Role, typer.Option(help="what the key may do")],
    channel: Annotated[str | None, typer.Option(help="scope the key to one channel")] = None,
    name: Annotated[str | None, typer.Option(help="a label for people")] = None,
) -> None:
    """Create an API key; the secret is printed once, alone on the last line."""
    with _reading_container() as container:
        with container.uow(actor="cli") as uow:
            if channel:
                _require_channel(uow, channel)
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
    from orderhub.domain.errors import Conflict, ValidationFailed

    with _reading_container() as container:
        with container.uow(actor="cli") as uow:
            try:
                uow.users.create(username=username, password=password, role=role)
            except ValidationFailed as error:
                raise UserError(error.detail, "run it again with a longer password") from None
            except Conflict as error:
                raise UserError(
                    error.detail,
                    f"choose another name, or set its password: orderhub user password {username}",
                ) from None
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
    from orderhub.domain.errors import ValidationFailed
    from orderhub.services.sign_in import change_password

    with _reading_container() as container, container.uow(actor="cli") as uow:
        try:
            change_password(uow, username=username, password=password)
        except ValidationFailed as error:
            raise UserError(error.detail, "run it again with a longer password") from None
    console.print(f"password of {username} changed; their sessions ended")


@user_app.command("revoke-sessions")
def user_revoke_sessions(username: str) -> None:
    """Sign a user out everywhere: every dashboard session of theirs ends at once."""
    from orderhub.services.sign_in import revoke_sessions

    with _reading_container() as container, container.uow(actor="cli") as uow:
        ended = revoke_sessions(uow, username=username)
    console.print(f"ended {ended} session(s) of {username}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute every order's hash chain; exit 1 naming the first bad event."""
    from orderhub.store import history

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
    from orderhub.services import audit
    from orderhub.store import history

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
    from orderhub.services.inventory_check import find_drift

    with _reading_container() as container, container.uow(read_only=True) as uow:
        checked, drifts = find_drift(uow)
    if drifts:
        for drift in drifts:
            console.print(f"[red]drift[/red] {drift}")
        console.print(f"[red]{len(drifts)} drift(s)[/red] in {checked} stock levels")
        raise typer.Exit(1)
    console.print(f"[green]stock consistent[/green]: {checked} levels match the ledger")


IMPORT_BATCH = 500  # orders per transaction: the batch path of POST /v1/orders:batch
EDI_SUFFIXES = frozenset({".edi", ".x12"})


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    channel: Annotated[str, typer.Option(help="the channel code the orders belong to")],
) -> None:
    """Import orders from a partner CSV, native JSON or EDI X12 file.

    FILE: partner CSV (``.csv``, see docs/channels/csv.md), native JSON (one order per line, or
    an array) or X12 (``.edi``). Safe to re-run: orders are keyed by their external id.
    The whole file is read and checked before anything is written: malformed JSON, an order
    that is not a valid native order, or one naming another channel refuses the file."""
    if file.suffix.lower() in EDI_SUFFIXES:
        _import_edi(file, channel)
        return
    with _reading_container() as container:
        with container.uow(read_only=True) as uow:
            _require_channel(uow, channel)
        try:
            text = file.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as error:
            raise UserError(
                f"{file.name} is not UTF-8 text ({error.reason})", "save it as UTF-8"
            ) from None
        if file.suffix.lower() == ".csv":
            orders = _csv_orders(text, channel=channel, name=file.name)
        else:
            orders = _native_orders(text, channel=channel, name=file.name)
        results = _receive(container, orders, name=file.name)
        with container.uow(read_only=True) as uow:
            held = _quarantine_lines(uow, results)
    counts: dict[str, int] = {}
    for result in results:
        counts[result.outcome.value] = counts.get(result.outcome.value, 0) + 1
    for line in held:
        console.print(Text(line, style="yellow"))
    console.print(", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "nothing imported")


def _csv_orders(text: str, *, channel: str, name: str) -> list[Any]:
    from orderhub.channels import csv_import
    from orderhub.domain.errors import NotNormalizable

    try:
        return list(csv_import.read_orders(channel, text, file_name=name))
    except NotNormalizable as error:
        raise UserError(
            f"{name}: {error.problem.reason} ("
            + "; ".join(f.field for f in error.problem.fields)
            + ")",
            "fix the file (docs/channels/csv.md) and re-run",
            1,
        ) from None


def _native_records(text: str, name: str) -> list[tuple[int, Any]]:
    """(line number, record) for a JSON array or one order per line."""
    if text.lstrip().startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as error:
            raise UserError(
                f"{name} line {error.lineno}: not JSON ({error.msg})",
                "fix it; the file is a JSON array or one JSON order per line",
            ) from None
        return [(0, record) for record in records]
    numbered = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            numbered.append((number, json.loads(line)))
        except json.JSONDecodeError as error:
            raise UserError(
                f"{name} line {number}: not JSON ({error.msg}, column {error.colno})",
                "fix the line; the file is a JSON array or one JSON order per line",
            ) from None
    return numbered


def _native_orders(text: str, *, channel: str, name: str) -> list[Any]:
    """Every record as a native order of ``channel``; any that is not refuses the file."""
    from pydantic import ValidationError

    from orderhub.channels import native
    from orderhub.channels.base import ChannelOrder

    orders = []
    for index, (number, record) in enumerate(_native_records(text, name)):
        where = f"{name} line {number}" if number else f"{name} order {index + 1}"
        if not isinstance(record, dict):
            raise UserError(f"{where}: not a JSON object", "each order is an object")
        named = record.setdefault("channel", channel)
        if named != channel:
            raise UserError(
                f"{where}: the order names channel {named!r}, not {channel!r}",
                f'import it with --channel {named}, or remove its "channel" member; '
                "nothing was imported",
            )
        try:
            order = native.NativeOrder.model_validate(record)
        except ValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(part) for part in first["loc"]) or "order"
            raise UserError(
                f"{where}: {field}: {first['msg']}",
                "fix it (docs/api.md, the native schema); nothing was imported",
            ) from None
        orders.append(
            ChannelOrder(
                channel, native.SOURCE, order.external_id, order.model_dump_json(),
                draft=order.to_draft(),
            )
        )  # fmt: skip
    return orders


def _receive(container: Container, orders: list[Any], *, name: str) -> list[ChannelResult]:
    """Every order through the channel-order service, a batch per transaction: one path,
    and so one set of outcomes and quarantine reasons, for CSV and JSON."""
    from rich.progress import Progress

    from orderhub.services.channel_orders import receive_batch

    results: list[ChannelResult] = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"importing {name}", total=len(orders))
        for start in range(0, len(orders), IMPORT_BATCH):
            chunk = orders[start : start + IMPORT_BATCH]
            with container.uow(actor="cli:import") as uow:
                results.extend(receive_batch(uow, chunk))
            progress.advance(task, len(chunk))
    return results


def _quarantine_lines(uow: UnitOfWork, results: list[ChannelResult]) -> list[str]:
    """One line per quarantined order: its id, the reason and the failing fields, as the
    quarantine entry keeps them (the same words whatever the file's format)."""
    lines = []
    for result in results:
        if result.quarantine_id is None:
            continue
        entry = uow.quarantine.get(result.quarantine_id)
        fields = "; ".join(f"{e['field']}: {e['message']}" for e in entry.errors)
        lines.append(
            f"quarantined {entry.external_id or '(no id)'}: {entry.reason}"
            + (f" ({fields})" if fields else "")
            + f" — entry {entry.id}"
        )
    return lines


def _import_edi(file: Path, channel: str) -> None:
    from rich.progress import Progress

    from orderhub.services.edi import Verdict, receive_interchange

    with _reading_container() as container, Progress(console=console) as progress:
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
    import uvicorn

    from orderhub.api.app import create_app

    with _reading_container() as container:  # settings, keys and schema, before any process
        settings = container.settings
        if workers == 1:
            uvicorn.run(
                create_app(container, freeze_heap=True),
                host=host or settings.host,
                port=port or settings.port,
                access_log=settings.access_log,
            )
            return
    if settings.session_secret is None:
        console.print(
            "[yellow]ORDERHUB_SESSION_SECRET is unset: each process signs dashboard sessions "
            "with its own key, so sign-ins will not hold across processes[/yellow]"
        )
    # The processes read their settings again: give them the database chosen here.
    os.environ.setdefault("ORDERHUB_DATABASE_URL", settings.database_url)
    uvicorn.run(
        "orderhub.api.app:app_from_settings",
        factory=True,
        workers=workers,
        host=host or settings.host,
        port=port or settings.port,
        access_log=settings.access_log,
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
    import logging
    import signal
    import threading

    from orderhub.heap import frozen_heap
    from orderhub.workers.relay import make_worker

    container = _reading_container()  # a database without the schema: one line, not created
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    relay = make_worker(container, worker_id=worker_id)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    console.print(f"worker {relay.id} delivering from {container.engine.url.render_as_string()}")
    try:
        with frozen_heap():
            relay.run(stop)
    finally:
        relay.close()
        container.close()


demo_app = typer.Typer(
    help="Start a fresh demo (no command), or seed a database with order history (seed).",
    invoke_without_command=True,
)
app.add_typer(demo_app, name="demo")


@demo_app.callback()
def demo(
    ctx: typer.Context,
    database: Annotated[Path, typer.Option(help="SQLite file, recreated")] = Path("var/demo.db"),
    port: Annotated[int, typer.Option(help="also: make demo PORT=8001")] = 8000,
) -> None:
    """Start a fresh demo on 127.0.0.1 with weeks of orders (what `make demo` runs).

    Migrates, seeds channels, products, stock, routing rules and six weeks of orders, then
    serves with live traffic. Records its database in var/.orderhub-database, which the other
    commands use while ORDERHUB_DATABASE_URL is unset."""
    if ctx.invoked_subcommand is not None:
        return
    from orderhub.demo.hub import PortBusy, claim_port, run_demo

    try:
        listening = claim_port(port)  # before anything is seeded: a busy port stops it here
    except PortBusy as busy:
        raise UserError(
            str(busy),
            f"stop that, or choose another port: make demo PORT={port + 1} "
            f"(or orderhub demo --port {port + 1})",
        ) from None
    run_demo(database=database, port=port, console=console, sock=listening)


@demo_app.command("seed")
def demo_seed(
    orders: Annotated[int, typer.Option(min=1, help="orders to write")] = 10_000,
    days: Annotated[int, typer.Option(min=1, help="placed over this many days up to now")] = 42,
    batch: Annotated[int, typer.Option(min=100, help="orders per transaction")] = 5000,
    key: Annotated[bool, typer.Option(help="also create an admin API key and print it")] = False,
) -> None:
    """Bulk-write ORDERS orders with their lines, allocations, shipments and hash-chained
    history into ORDERHUB_DATABASE_URL (COPY on PostgreSQL): a hub at volume in minutes."""
    from rich.progress import Progress

    from orderhub.demo.bulk import create_admin_key, rows_per_second, seed_orders
    from orderhub.store.migrate import upgrade

    with _container() as container:
        upgrade(container.engine)
        with Progress(console=console) as progress:
            task = progress.add_task(f"seeding {orders:,} orders", total=orders)
            result = seed_orders(
                container,
                orders=orders,
                days=days,
                batch=batch,
                progress=lambda done: progress.advance(task, done),
            )
        for table, count in result.rows.items():
            console.print(f"  {table}: {count:,}")
        console.print(
            f"[green]seeded {result.orders:,} orders[/green] ({result.total_rows:,} rows) in "
            f"{result.seconds:.1f} s: {result.orders / result.seconds:,.0f} orders/s, "
            f"{rows_per_second(result):,.0f} rows/s"
        )
        if key:
            console.print("Admin API key (alone on the last line):")
            print(create_admin_key(container))


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
    ingest: Annotated[
        bool, typer.Option(help="the ingest and drain rows (--no-ingest: only the reads)")
    ] = True,
    read_orders: Annotated[
        int,
        typer.Option(
            min=0,
            help="also time GET /v1/orders (each filter, first and next page) and "
            "GET /v1/orders/{id} on a throwaway PostgreSQL database seeded with this many "
            "orders (orderhub demo seed; 1000000 for issue #16's target); 0: not measured",
        ),
    ] = 0,
    read_database: Annotated[
        str | None,
        typer.Option(help="time the reads on this already seeded database instead (kept)"),
    ] = None,
    read_requests: Annotated[int, typer.Option(min=5, help="requests per read measured")] = 100,
) -> None:
    """Benchmark ingest and delivery against raw-driver floors (docs/performance.md).

    Issue #16's figures as one Markdown table: HTTP ingest (closed and open loop, and how
    long the open loop's orders took to be allocated), batch ingest, drain time per order for
    two backlogs, each against the raw-driver floor measured in the same run, and (with
    --read-orders) order list and detail latencies at volume, with the load average (see
    docs/performance.md)."""
    from orderhub.bench import reads as bench_reads
    from orderhub.bench import report as bench_report

    try:
        backlogs = tuple(int(n) for n in drain.split(",") if n.strip())
    except ValueError:
        raise UserError(
            f"--drain {drain!r} is not a list of numbers", "e.g. --drain 300,1200"
        ) from None

    def say(text: str) -> None:
        console.print(f"[dim]{text}[/dim]")

    report = (
        bench_report.run(
            orders=orders,
            clients=clients,
            batch=batch,
            batch_orders=batch_orders,
            procs=procs,
            rate=rate,
            rate_seconds=rate_seconds,
            backlogs=backlogs,
            drain_timeout=drain_timeout,
            say=say,
        )
        if ingest
        else bench_report.Report(load_before=os.getloadavg())
    )
    if read_orders or read_database:
        report.rows += bench_reads.run(
            orders=read_orders, database_url=read_database, requests=read_requests, say=say
        )
        report.load_after = os.getloadavg()
    print(report.markdown())  # plain: a terminal-wide table would wrap the Markdown
    if service:
        from orderhub.bench.service import ingest_benchmark

        ingest_benchmark(orders=orders, console=console)
    if reservations:
        from orderhub.bench.reservations import reservation_benchmark

        reservation_benchmark(orders=min(orders, 1000), console=console)
