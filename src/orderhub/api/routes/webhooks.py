"""Outbound webhook subscriptions; the secret is shown once, when the subscription is created."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field

from orderhub.api.deps import ContainerDep, require
from orderhub.api.schemas.pages import Cursor, Limit, Page
from orderhub.domain.access import Permission
from orderhub.domain.webhooks import WebhookSubscription
from orderhub.services.webhooks import create_subscription, delete_subscription
from orderhub.store.access import Principal

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

Manager = Annotated[Principal, Depends(require(Permission.WEBHOOKS_MANAGE))]


class WebhookIn(BaseModel):
    url: str = Field(max_length=2000, examples=["https://example.com/orderhub-events"])
    event_types: list[str] = Field(min_length=1, examples=[["order.*", "inventory.adjusted"]])
    secret: str | None = Field(
        default=None, description="a `whsec_…` Standard Webhooks secret; generated if omitted"
    )
    description: str | None = Field(default=None, max_length=300)


class WebhookOut(BaseModel):
    id: str
    url: str
    event_types: list[str]
    description: str | None
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, subscription: WebhookSubscription) -> WebhookOut:
        return cls(
            id=subscription.id,
            url=subscription.url,
            event_types=list(subscription.event_types),
            description=subscription.description,
            created_by=subscription.created_by,
            created_at=subscription.created_at,
        )


class WebhookCreated(WebhookOut):
    secret: str = Field(description="shown this once: verify the `webhook-signature` with it")


@router.post("", status_code=201, response_model=WebhookCreated)
def create(
    body: WebhookIn, principal: Manager, container: ContainerDep, response: Response
) -> WebhookCreated:
    with container.uow(actor=principal.actor) as uow:
        subscription = create_subscription(
            uow,
            url=body.url,
            event_types=body.event_types,
            secret=body.secret,
            description=body.description,
            allowed_hosts=container.settings.outbound_allowed_hosts,
        )
    response.headers["Location"] = f"/v1/webhooks/{subscription.id}"
    return WebhookCreated(**WebhookOut.of(subscription).model_dump(), secret=subscription.secret)


@router.get("", response_model=Page[WebhookOut])
def list_webhooks(
    _principal: Manager, container: ContainerDep, limit: Limit = 50, cursor: Cursor = None
) -> Page[WebhookOut]:
    """Subscriptions, oldest first."""
    with container.uow(read_only=True) as uow:
        found, next_cursor = uow.webhooks.page(limit=limit, cursor=cursor)
    return Page(items=[WebhookOut.of(s) for s in found], next_cursor=next_cursor)


@router.get("/{subscription_id}", response_model=WebhookOut)
def get_webhook(subscription_id: str, _principal: Manager, container: ContainerDep) -> WebhookOut:
    with container.uow(read_only=True) as uow:
        return WebhookOut.of(uow.webhooks.get(subscription_id))


@router.delete("/{subscription_id}", status_code=204)
def delete(subscription_id: str, principal: Manager, container: ContainerDep) -> Response:
    with container.uow(actor=principal.actor) as uow:
        delete_subscription(uow, subscription_id=subscription_id)
    return Response(status_code=204)
