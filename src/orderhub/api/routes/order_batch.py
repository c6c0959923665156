"""Batch ingest: up to 1,000 native orders in one request, one transaction, a result each."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field, ValidationError

from orderhub.api import problems
from orderhub.api.deps import ContainerDep, require, visible_to
from orderhub.channels import native
from orderhub.domain.access import Permission
from orderhub.services import ingest
from orderhub.store.access import Principal
from orderhub.store.quarantine import errors_json

router = APIRouter(prefix="/orders", tags=["orders"])

Writer = Annotated[Principal, Depends(require(Permission.ORDERS_WRITE))]
MAX_ORDERS = 1000
MAX_BYTES = 32 * 1024 * 1024  # 1,000 large orders fit; a runaway upload gets 413 early


class BatchIn(BaseModel):
    orders: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=MAX_ORDERS,
        description="native orders (the schema of POST /v1/orders), each validated on its own",
    )


class BatchItemOut(BaseModel):
    index: int = Field(description="the order's position in the request")
    external_id: str | None
    outcome: ingest.Outcome
    order_id: str | None = None
    quarantine_id: str | None = None
    reason: str | None = Field(default=None, description="why it waits in quarantine")
    errors: list[dict[str, str]] | None = Field(
        default=None, description="the quarantined payload's failing fields"
    )
    problem: dict[str, Any] | None = Field(
        default=None, description="an RFC 9457 problem document, for an error"
    )


class BatchOut(BaseModel):
    counts: dict[str, int]
    results: list[BatchItemOut]


@router.post(":batch", response_model=BatchOut, max_body_size=MAX_BYTES)
def create_orders(body: BatchIn, principal: Writer, container: ContainerDep) -> Response:
    """Ingest up to 1,000 native orders in one transaction; a result per order, in order.

    Each order is idempotent on (channel, external_id) — also within the batch, where a repeat
    gets the earlier order — and the whole request on ``Idempotency-Key``. An order that fails
    validation or names another channel than the key's is answered with its problem document
    (fields rooted at ``orders.N``) and does not hold back the others.
    """
    results: list[BatchItemOut | None] = [None] * len(body.orders)
    accepted: list[tuple[int, str]] = []
    items: list[ingest.Incoming] = []
    for index, raw in enumerate(body.orders):
        external_id = raw.get("external_id") if isinstance(raw.get("external_id"), str) else None
        try:
            order = native.NativeOrder.model_validate(raw)
        except ValidationError as error:
            invalid = problems.validation_document(list(error.errors()), prefix=("orders", index))
            results[index] = BatchItemOut(
                index=index, external_id=external_id, outcome=ingest.Outcome.ERROR, problem=invalid
            )
            continue
        if not visible_to(principal, order.channel):
            refused = problems.document(
                403, f"this key may only create orders for {principal.channel!r}", code="403"
            )
            results[index] = BatchItemOut(
                index=index, external_id=external_id, outcome=ingest.Outcome.ERROR, problem=refused
            )
            continue
        # The model is dropped once drafted: a batch's thousands of validated objects would
        # otherwise live to its answer, through every garbage collection on the way. Only a
        # quarantine hold needs its text, made again from the same input.
        accepted.append((index, order.external_id))
        items.append(ingest.Incoming(order.to_draft(), native.SOURCE, partial(_payload, raw)))
    with container.uow(actor=principal.actor) as uow:
        outcomes = ingest.ingest_batch(uow, items)
    for (index, external_id), outcome in zip(accepted, outcomes, strict=True):
        results[index] = _item(index, external_id, outcome)
    done = [result for result in results if result is not None]
    counts: dict[str, int] = {}
    for result in done:
        counts[result.outcome.value] = counts.get(result.outcome.value, 0) + 1
    answer = BatchOut(counts=counts, results=done)
    return Response(answer.model_dump_json(), media_type="application/json")


def _payload(raw: dict[str, Any]) -> str:
    """The text a quarantine hold keeps of an accepted order: what its model serializes to
    (validation reads the same input the same way each time)."""
    return native.NativeOrder.model_validate(raw).model_dump_json()


def _item(index: int, external_id: str, result: ingest.IngestResult) -> BatchItemOut:
    """One order's answer, from what ingest made of it."""
    item = BatchItemOut(
        index=index,
        external_id=external_id,
        outcome=result.outcome,
        order_id=result.order_id,
        quarantine_id=result.quarantine_id,
    )
    if result.problem is not None:
        item.reason = result.problem.reason
        item.errors = errors_json(result.problem.fields)
    if result.error is not None:
        item.problem = problems.domain_document(result.error, prefix=("orders", index))
    return item
