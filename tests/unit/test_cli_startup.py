"""``orderhub --help`` loads no framework: every command imports what it needs when it runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = (
    "fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "psycopg", "pydantic",
    "pydantic_settings", "httpx", "jinja2", "argon2", "cryptography", "nats",
)  # fmt: skip
PROBE = """
import sys
from orderhub.cli import app
try:
    app(["--help"], prog_name="orderhub")
except SystemExit as done:
    assert done.code == 0, done.code
print("loaded:" + ",".join(sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[1:]))))
"""


def test_help_imports_none_of_the_frameworks() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *HEAVY],
        env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert "Usage: orderhub" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "loaded:"  # none of HEAVY


def test_a_command_does_import_what_it_needs() -> None:
    """The probe can see an import at all: ``db --help`` does not load SQLAlchemy either, but
    importing a command's own module does."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    probe = PROBE.replace("from orderhub.cli import app", "from orderhub.cli import app\n"
                          "import orderhub.store.migrate")  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", probe, *HEAVY],
        env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert "sqlalchemy" in done.stdout.strip().splitlines()[-1]
