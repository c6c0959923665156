"""Stored secrets and the keys that seal them: seal what is still in clear, rotate keys;
redact credentials from payloads stored before redaction existed."""

from __future__ import annotations

from orderhub.store import idempotency
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


def redact_stored_payloads(uow: UnitOfWork) -> int:
    """Redact quarantined payloads and stored idempotent answers written by an older hub (which
    kept a cXML SharedSecret or a webhook secret in clear). One transaction; returns the rows
    changed."""
    changed = uow.quarantine.redact_stored() + idempotency.redact_stored(uow.conn)
    uow.commit()
    return changed
