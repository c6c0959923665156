"""Stored secrets and the keys that seal them: seal what is still in clear, rotate keys."""

from __future__ import annotations

from orderhub.store.unit_of_work import UnitOfWork


def reseal_secrets(uow: UnitOfWork, *, rotate: bool) -> dict[str, int]:
    """Seal every secret stored in clear; with ``rotate`` re-seal every one under the first key
    (so the other keys can be dropped). One transaction; returns the values changed per table."""
    counts = {
        "channels": uow.channels.reseal(rotate=rotate),
        "webhook subscriptions": uow.webhooks.reseal(rotate=rotate),
        "fulfilment providers": uow.fulfilment.reseal_providers(rotate=rotate),
    }
    uow.commit()
    return counts
