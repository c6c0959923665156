"""cXML intake: ``POST /v1/channels/{code}/cxml`` takes an OrderRequest, answers a cXML Response.

No API key: the buyer authenticates with the shared secret in
``Header/Sender/Credential/SharedSecret``, compared in constant time with the channel's
webhook secret. The HTTP status and the cXML Status code agree (200, 400, 401, 409).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body
from fastapi.responses import Response

from orderhub.api.deps import ContainerDep
from orderhub.channels.cxml_out import build_response
from orderhub.clock import utc_now
from orderhub.services.cxml import CxmlAnswer, receive_order_request

router = APIRouter(prefix="/channels", tags=["b2b"])
CXML_MEDIA_TYPE = "text/xml"


def _answer(answer: CxmlAnswer) -> Response:
    xml = build_response(answer.status, message=answer.message, at=utc_now())
    headers = {"Location": f"/v1/orders/{answer.order_id}"} if answer.order_id else None
    return Response(
        xml, answer.status, headers=headers, media_type=f"{CXML_MEDIA_TYPE}; charset=utf-8"
    )


@router.post(
    "/{code}/cxml",
    response_class=Response,
    responses={
        200: {"content": {CXML_MEDIA_TYPE: {}}, "description": "order taken (or quarantined)"},
        # These answers are cXML documents whose Status code agrees with the HTTP status.
        400: {"content": {CXML_MEDIA_TYPE: {}}, "description": "not a usable OrderRequest"},
        401: {"content": {CXML_MEDIA_TYPE: {}}, "description": "wrong or missing shared secret"},
        409: {
            "content": {CXML_MEDIA_TYPE: {}},
            "description": "this payloadID was received before",
        },
    },
)
def receive_cxml(
    code: str,
    container: ContainerDep,
    body: Annotated[bytes, Body(media_type=CXML_MEDIA_TYPE)],
) -> Response:
    """Ingest one cXML OrderRequest; idempotent on payloadID (409) and on orderID."""
    with container.uow(actor=f"cxml:{code}") as uow:
        return _answer(receive_order_request(uow, channel=code, body=body))
