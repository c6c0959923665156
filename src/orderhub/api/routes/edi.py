"""EDI X12 intake: ``POST /v1/channels/{code}/edi`` takes an interchange, answers its 997."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel

from orderhub.api.deps import ContainerDep, require, visible_to
from orderhub.api.problems import PROBLEM_JSON, problem
from orderhub.domain.access import Permission
from orderhub.domain.errors import NotFound
from orderhub.services.edi import InterchangeOutcome, Verdict, receive_interchange
from orderhub.store.access import Principal

router = APIRouter(prefix="/channels", tags=["b2b"])

Writer = Annotated[Principal, Depends(require(Permission.ORDERS_WRITE))]
EDI_MEDIA_TYPE = "application/edi-x12"


class PurchaseOrderOut(BaseModel):
    po_number: str | None
    group_control: str
    transaction_control: str
    outcome: str
    order_id: str | None
    quarantine_id: str | None
    problems: list[str]


class InterchangeOut(BaseModel):
    verdict: str
    acknowledgement: str
    purchase_orders: list[PurchaseOrderOut]
    problems: list[str]


def _body(outcome: InterchangeOutcome) -> dict[str, Any]:
    return InterchangeOut(
        verdict=outcome.verdict.value,
        acknowledgement=outcome.acknowledgement,
        purchase_orders=[
            PurchaseOrderOut(**{**po.__dict__, "problems": list(po.problems)})
            for po in outcome.purchase_orders
        ],
        problems=list(outcome.problems),
    ).model_dump()


@router.post(
    "/{code}/edi",
    response_model=InterchangeOut,
    responses={
        200: {"content": {EDI_MEDIA_TYPE: {"schema": {"type": "string"}}}},
        422: {
            "description": "the interchange was rejected; the 997 names the segments",
            "content": {
                PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}},
                EDI_MEDIA_TYPE: {"schema": {"type": "string"}},
            },
        },
    },
)
def receive_edi(
    code: str,
    request: Request,
    principal: Writer,
    container: ContainerDep,
    body: Annotated[bytes, Body(media_type=EDI_MEDIA_TYPE)],
) -> Response:
    """Ingest every 850 of an X12 interchange; the answer carries the 997 and each PO's fate.

    With ``Accept: application/edi-x12`` the answer is the 997 alone.
    """
    if not visible_to(principal, code):
        if principal.channel is not None:
            raise HTTPException(403, f"this key may only post to {principal.channel!r}")
        raise NotFound(f"channel {code!r} not found")
    text = body.decode("utf-8", errors="replace")
    with container.uow(actor=principal.actor) as uow:
        outcome = receive_interchange(uow, channel=code, text=text)
    status = 422 if outcome.verdict == Verdict.REJECTED else 200
    if EDI_MEDIA_TYPE in request.headers.get("accept", ""):
        return PlainTextResponse(outcome.acknowledgement, status, media_type=EDI_MEDIA_TYPE)
    if status == 422:
        return problem(
            422,
            "Interchange rejected",
            detail="; ".join(outcome.problems) or "no acceptable transaction set",
            code="edi_rejected",
            errors_=outcome.segment_errors,
            **_body(outcome),
        )
    return JSONResponse(_body(outcome))
