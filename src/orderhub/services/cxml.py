"""cXML intake: authenticate the sender, refuse repeated payloadIDs, ingest the order."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from orderhub.channels import cxml
from orderhub.domain.channels import ChannelKind
from orderhub.domain.errors import ValidationFailed
from orderhub.services.ingest import Outcome, ingest_order
from orderhub.store.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class CxmlAnswer:
    status: int  # both the HTTP status and the cXML Status@code
    message: str | None = None
    order_id: str | None = None


def shared_secret_matches(given: str, expected: str | None) -> bool:
    """Constant-time comparison; a channel without a secret accepts nobody."""
    if not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def receive_order_request(uow: UnitOfWork, *, channel: str, body: bytes) -> CxmlAnswer:
    """Authenticate first, cheaply: the channel, then the secret the document's head claims,
    before its XML is parsed; then the parsed secret, which is the one that counts."""
    refused = CxmlAnswer(401, "the shared secret does not match")
    found = uow.channels.get(channel) if uow.channels.exists(channel) else None
    if found is None or found.kind != ChannelKind.CXML:
        return refused  # an unknown channel answers like a wrong secret: codes stay unknown
    secret = found.webhook_secret
    if not any(shared_secret_matches(s, secret) for s in cxml.claimed_secrets(body)):
        return refused
    try:
        envelope = cxml.read_envelope(body)
    except cxml.BadCxml as error:
        return CxmlAnswer(400, str(error))
    if not shared_secret_matches(envelope.shared_secret, secret):
        return refused
    try:
        draft = cxml.to_draft(envelope, channel=channel)
    except cxml.BadCxml as error:
        return CxmlAnswer(400, str(error))
    if not uow.cxml_payloads.claim(channel, envelope.payload_id):
        return CxmlAnswer(
            409,
            f"payloadID {envelope.payload_id} was received before",
            uow.cxml_payloads.order_of(channel, envelope.payload_id),
        )
    payload = cxml.stored_payload(channel, body.decode("utf-8", errors="replace"))
    try:
        result = ingest_order(uow, draft=draft, source=cxml.SOURCE, payload=payload)
    except ValidationFailed as error:  # the hub's own rules: the payloadID stays unused
        uow.rollback()
        reasons = "; ".join(f"{f.field}: {f.message}" for f in error.fields) or error.detail
        return CxmlAnswer(400, reasons)
    if result.order_id:
        uow.cxml_payloads.claim(channel, envelope.payload_id)  # lost if ingest rolled back
        uow.cxml_payloads.attach_order(channel, envelope.payload_id, result.order_id)
        uow.commit()
    if result.outcome == Outcome.QUARANTINED:
        return CxmlAnswer(
            200, f"held for review: {result.problem.reason if result.problem else ''}"
        )
    return CxmlAnswer(200, f"order {draft.external_id} {result.outcome.value}", result.order_id)
