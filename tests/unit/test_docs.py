"""Docs that state facts about the code are checked against it."""

from __future__ import annotations

from pathlib import Path

from orderhub.domain.access import ROLE_PERMISSIONS, Permission, Role

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
