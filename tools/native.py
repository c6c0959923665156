"""Compile the routing engine's hot modules with mypyc, in place, next to their sources.

    .venv/bin/python tools/native.py build    # what `make venv` runs when a source changed
    .venv/bin/python tools/native.py clean    # back to the interpreted modules

The modules stay ordinary, type-checked Python; mypyc turns them into C extensions that
Python imports in preference to the ``.py`` files (about 2–3× faster decisions, see
docs/performance.md, "Routing"). ``ORDERHUB_PURE_PYTHON=1`` skips the build (and removes
what an earlier build left). Without a C compiler the build warns and the interpreted modules
run — except under ``CI=true``, where a failed build fails.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
PACKAGE = "orderhub/domain/routing"
# What runs per decision; rules.py (Pydantic models) and dryrun.py stay interpreted.
MODULES = (
    "cost",
    "constraints",
    "lanes",
    "problem",
    "search",
    "subsets",
    "bounded",
    "blocks",
    "heuristic",
    "planner",
    "explain",
)
SUFFIX = sysconfig.get_config_var("EXT_SUFFIX") or ".so"


def compiled_files() -> list[Path]:
    """Every file a build leaves in the source tree."""
    own = [SRC / PACKAGE / f"{name}{SUFFIX}" for name in MODULES]
    shared = list(SRC.glob(f"*__mypyc{SUFFIX}"))
    return [path for path in (*own, *shared) if path.exists()]


def stale_modules() -> list[str]:
    """The sources edited since their compiled module was built (which Python would run)."""
    stale = []
    for name in MODULES:
        built = SRC / PACKAGE / f"{name}{SUFFIX}"
        source = built.with_name(f"{name}.py")
        if built.exists() and source.stat().st_mtime > built.stat().st_mtime:
            stale.append(str(source.relative_to(ROOT)))
    return stale


def clean() -> None:
    for path in compiled_files():
        path.unlink()


def build() -> int:
    if os.environ.get("ORDERHUB_PURE_PYTHON") == "1":
        clean()
        print("routing engine: interpreted (ORDERHUB_PURE_PYTHON=1)")
        return 0
    clean()
    try:
        _compile()
    except Exception as error:  # no compiler, no headers: the interpreted modules still work
        clean()
        print(f"routing engine: mypyc build failed ({error}); running interpreted", file=sys.stderr)
        return 1 if os.environ.get("CI") == "true" else 0
    print(f"routing engine: compiled with mypyc ({len(MODULES)} modules)")
    return 0


def _compile() -> None:
    from mypyc.build import mypycify
    from setuptools import setup  # type: ignore[import-untyped]

    paths = [f"{PACKAGE}/{name}.py" for name in MODULES]
    os.chdir(SRC)  # module names and the in-place output follow the paths from here
    with tempfile.TemporaryDirectory(prefix="orderhub-native-") as scratch:
        setup(
            name="orderhub-routing-native",
            ext_modules=mypycify(paths, opt_level="3", target_dir=f"{scratch}/c"),
            script_args=[
                "--quiet",
                "build_ext",
                "--inplace",
                f"--build-temp={scratch}/temp",
                f"--build-lib={scratch}/lib",
            ],
        )
    shutil.rmtree(SRC / ".mypy_cache", ignore_errors=True)


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "build"
    if command == "clean":
        clean()
        return 0
    if command == "build":
        return build()
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
