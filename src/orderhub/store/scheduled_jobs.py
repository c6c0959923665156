"""Leases on periodic jobs: with any number of workers, each job runs once per interval.

A job is due when its ``next_run_at`` has passed and no live lease is held on it. Claiming is
one conditional ``UPDATE … WHERE next_run_at <= now AND (no lease OR lease expired)``: of
several workers racing for the same row exactly one sees its update land (row locks on
PostgreSQL, the single writer on SQLite), so the same code is safe on both databases. The
claim also moves ``next_run_at`` on by the interval, so a job that fails is not retried by
another worker in the same interval either; a worker killed mid-job leaves a lease that
expires after ``lease_seconds``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, or_, update

from orderhub.store.repositories import insert_ignoring_duplicates
from orderhub.store.tables import scheduled_jobs as jobs


def claim(
    conn: Connection,
    *,
    name: str,
    owner: str,
    now: datetime,
    interval: timedelta,
    lease: timedelta,
) -> bool:
    """Take the job for this interval if it is due and free; True when this caller won it."""
    insert_ignoring_duplicates(conn, jobs, {"name": name, "next_run_at": now, "runs": 0})
    won = conn.execute(
        update(jobs)
        .where(
            jobs.c.name == name,
            jobs.c.next_run_at <= now,
            or_(jobs.c.lease_expires_at.is_(None), jobs.c.lease_expires_at <= now),
        )
        .values(
            next_run_at=now + interval,
            lease_owner=owner,
            lease_expires_at=now + lease,
            last_started_at=now,
            runs=jobs.c.runs + 1,
        )
        .returning(jobs.c.name)
    ).first()
    return won is not None


def release(conn: Connection, *, name: str, owner: str, now: datetime, error: str | None) -> None:
    """The job finished (or failed with ``error``): drop the lease if it is still ours."""
    conn.execute(
        update(jobs)
        .where(and_(jobs.c.name == name, jobs.c.lease_owner == owner))
        .values(lease_owner=None, lease_expires_at=None, last_finished_at=now, last_error=error)
    )
