"""The routing engine compiled by tools/native.py is what runs, and the interpreted one agrees.

Python imports a module's compiled extension in preference to its ``.py`` file, so these
tests pin down which one runs and keep the other honest.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tools.native import MODULES, ROOT, SRC


def _compiled() -> list[str]:
    return [
        name
        for name in MODULES
        if not str(importlib.import_module(f"orderhub.domain.routing.{name}").__file__).endswith(
            ".py"
        )
    ]


def test_ci_runs_the_compiled_engine_whose_figures_docs_performance_reports() -> None:
    if os.environ.get("CI") != "true":
        pytest.skip("outside CI the engine may run interpreted (ORDERHUB_PURE_PYTHON=1)")
    assert _compiled() == list(MODULES)


def test_the_interpreted_engine_passes_the_routing_tests_too(tmp_path: Path) -> None:
    """mypyc checks types at run time where Python does not: both must pass the same tests."""
    if not _compiled():
        pytest.skip("the engine runs interpreted here: the routing tests in this run cover it")
    shutil.copytree(SRC / "orderhub", tmp_path / "orderhub", ignore=shutil.ignore_patterns("*.so"))
    # The copy first; whatever the run had after it (make test-future's sitecustomize).
    inherited = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT), *inherited])}
    tests = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests/unit").glob("test_routing_*"))
    probe = "import orderhub.domain.routing.search as s; print(s.__file__)"
    where = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert where.stdout.strip().endswith(".py")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
