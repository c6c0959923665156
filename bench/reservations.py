"""Reservations/s through the service vs the raw driver's guarded UPDATE, SQLite and PostgreSQL.

    .venv/bin/python bench/reservations.py --orders 1000 [--sqlite-only]

PostgreSQL: ``ORDERHUB_BENCH_PG`` (default ``postgresql://postgres@127.0.0.1:5432/test``) must
allow CREATE DATABASE; a throwaway database is created and dropped.
"""

from __future__ import annotations

import argparse

from rich.console import Console

from orderhub.bench.reservations import reservation_benchmark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    kinds = ("sqlite",) if args.sqlite_only else ("sqlite", "postgres")
    reservation_benchmark(orders=args.orders, kinds=kinds, console=Console())


if __name__ == "__main__":
    main()
