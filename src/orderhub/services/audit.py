"""The history's checkpoints: what ``orderhub audit checkpoint`` and the worker's schedule run."""

from __future__ import annotations

from orderhub.store import history
from orderhub.store.unit_of_work import UnitOfWork


def checkpoint_history(uow: UnitOfWork) -> history.Checkpoint:
    """Digest every chain as of a settled point and store it.

    Two transactions: the first only settles the seq (on PostgreSQL under a SHARE lock that
    briefly holds ingest back), the second digests without a lock. Raises
    :class:`~orderhub.store.history.CheckpointRefused` when the previous checkpoint no longer
    matches; nothing is written then.
    """
    up_to_seq = history.settled_seq(uow.conn)
    uow.commit()
    checkpoint = history.write_checkpoint(
        uow.conn, up_to_seq=up_to_seq, now=uow.now(), actor=uow.actor
    )
    uow.commit()
    return checkpoint
