"""Outbound webhook subscriptions: create (secret generated or given) and remove."""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Sequence
from urllib.parse import urlsplit

from orderhub.clock import utc_now
from orderhub.domain.errors import FieldError, ValidationFailed
from orderhub.domain.ids import new_id
from orderhub.domain.webhooks import WebhookSubscription, validate_patterns
from orderhub.http.ssrf import check_target
from orderhub.store.unit_of_work import UnitOfWork

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format prefix, not a secret


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _check_secret(secret: str) -> str:
    raw = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if not 24 <= len(key) <= 64:
        raise ValidationFailed(
            "invalid secret",
            [FieldError(("secret",), "`whsec_` and base64 of 24 to 64 random bytes", "secret")],
        )
    return SECRET_PREFIX + raw


def _check_url(url: str, allowed_hosts: Sequence[str]) -> str:
    parts = urlsplit(url)
    try:
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a port that is no number or out of range
        valid = False
    if not valid:
        raise ValidationFailed(
            "invalid url", [FieldError(("url",), "an absolute http(s) URL", "url")]
        )
    check_target(url, allowed_hosts, field=("url",))
    return url


def create_subscription(
    uow: UnitOfWork,
    *,
    url: str,
    event_types: Sequence[str],
    secret: str | None = None,
    description: str | None = None,
    allowed_hosts: Sequence[str] = (),
) -> WebhookSubscription:
    """Subscribe ``url`` to ``event_types``; future events matching them are delivered signed.

    A URL whose host resolves to a private, loopback or link-local address is refused unless
    ``allowed_hosts`` (``Settings.outbound_allowed_hosts``) lets it through."""
    subscription = WebhookSubscription(
        id=new_id(),
        url=_check_url(url, allowed_hosts),
        event_types=validate_patterns(event_types),
        secret=_check_secret(secret) if secret else new_secret(),
        description=description,
        created_by=uow.actor,
        created_at=utc_now(),
    )
    uow.webhooks.add(subscription)
    uow.commit()
    return subscription


def delete_subscription(uow: UnitOfWork, *, subscription_id: str) -> None:
    """Stop delivering to a subscription; its open deliveries die with a clear error."""
    uow.webhooks.remove(subscription_id)
    uow.commit()
