"""Docs that state facts about the code are checked against it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import typer

from orderhub.api import guard
from orderhub.cli import app
from orderhub.domain import limits
from orderhub.domain.access import ROLE_PERMISSIONS, Permission, Role
from orderhub.domain.orders import HUB_METADATA_KEYS

DOCS = Path(__file__).parents[2] / "docs"


def test_the_permission_table_in_the_docs_matches_the_code() -> None:
    text = (DOCS / "security.md").read_text(encoding="utf-8")
    roles = [cell.strip() for cell in text.split("| permission |")[1].split("\n")[0].split("|")]
    roles = [r for r in roles if r]
    assert roles == [r.value for r in Role]
    for permission in Permission:
        row = next(
            line for line in text.splitlines() if line.startswith(f"| `{permission.value}` |")
        )
        cells = [c.strip() for c in row.split("|")[2:-1]]
        granted = {role.value for role, cell in zip(Role, cells, strict=True) if cell == "✓"}
        assert granted == {r.value for r in Role if permission in ROLE_PERMISSIONS[r]}, permission


def _cli_commands() -> list[str]:
    """Every ``orderhub …`` command, as typed, read from the Typer app itself."""

    def name(command: typer.models.CommandInfo) -> str:
        assert command.callback is not None
        return command.name or command.callback.__name__.replace("_", "-")

    found = [name(c) for c in app.registered_commands]
    for group in app.registered_groups:
        assert group.typer_instance is not None
        found += [f"{group.name} {name(c)}" for c in group.typer_instance.registered_commands]
    return found


def test_the_configuration_docs_list_every_command_line_command() -> None:
    documented = (DOCS / "configuration.md").read_text()
    missing = [c for c in _cli_commands() if f"`orderhub {c}" not in documented]
    assert missing == []


def test_the_limits_in_the_docs_match_the_code() -> None:
    section = (DOCS / "api.md").read_text(encoding="utf-8").split("## Limits")[1]
    section = section.split("\n## ")[0]
    for figure in [
        f"1 … {limits.MAX_QUANTITY:,} |",
        f"0 … {limits.MAX_AMOUNT:,} in the major unit |",
        f"at most {limits.MAX_ORDER_TOTAL:,} |",
        f"0 … {limits.MAX_STOCK:,}; a delta ± {limits.MAX_STOCK:,} |",
        f"{limits.EARLIEST:%Y-%m-%d} ≤ t < {limits.LATEST:%Y-%m-%d}, in UTC |",
        f"(native order, EDI 850, cXML OrderRequest) | {limits.MAX_DOCUMENT_LINES:,} |",
        f"one EDI interchange | {limits.MAX_EDI_SEGMENTS:,} |",
        f"(`orderhub import`) | {limits.MAX_CSV_ROWS:,} |",
        *(f"`{key}`" for key in HUB_METADATA_KEYS),
    ]:
        assert figure in section, figure
    rows = [line for line in section.splitlines() if line.startswith("| `POST /v1/")]
    assert len(rows) == len(guard.BODY_LIMITS)
    for row in rows:
        route, size = (cell.strip() for cell in row.split("|")[1:3])
        path = route.strip("`").split()[1].replace("{code}", "x")
        assert guard.body_limit(path) == int(size.removesuffix(" MiB")) * guard.MiB, route
    default = f"{guard.DEFAULT_BODY_LIMIT // guard.MiB} MiB"
    assert f"| every other route (and the dashboard's forms) | {default} |" in section


def test_every_test_the_security_audit_names_exists() -> None:
    """docs/security-audit.md maps issue #18 and the OWASP items to tests by name; ``…::name``
    is a test of the file named last before it."""
    text = (DOCS / "security-audit.md").read_text(encoding="utf-8")
    root = DOCS.parent
    named = re.findall(r"`(tests/[\w/]+\.py|…)::(\w+)`", text)
    assert len(named) > 80
    missing = []
    current = ""
    for file, test in named:
        current = current if file == "…" else file
        tree = ast.parse((root / current).read_text(encoding="utf-8"))
        functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        if test not in functions:
            missing.append(f"{current}::{test}")
    assert missing == []
