"""Fulfilment providers: configure them; receive their signed callbacks."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from orderhub.api.deps import ContainerDep, require
from orderhub.api.problems import problem
from orderhub.api.schemas.bounded import Flag
from orderhub.api.schemas.pages import Cursor, Limit, Page
from orderhub.bootstrap import Container
from orderhub.domain.access import Permission
from orderhub.fulfilment.base import Callback, InvalidCallback
from orderhub.fulfilment.registry import ProviderKind, build_provider
from orderhub.http.outbound import outbound_client
from orderhub.http.ssrf import check_target
from orderhub.services.fulfilment import apply_updates
from orderhub.services.fulfilment_wiring import default_dependencies
from orderhub.store.access import Principal
from orderhub.store.fulfilment import SECRET_SETTINGS, ProviderConfig

router = APIRouter(prefix="/providers", tags=["fulfilment"])

Admin = Annotated[Principal, Depends(require(Permission.ADMIN))]
Reader = Annotated[Principal, Depends(require(Permission.ORDERS_READ))]
CODE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"


class ProviderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=CODE_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    kind: ProviderKind
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description="api_key, api_secret, password and token are write-only and stored sealed",
    )
    secret: str | None = Field(default=None, min_length=16, description="write-only")
    locations: list[str] = Field(default_factory=list, description="locations it fulfils for")
    active: Flag = True


class ProviderOut(BaseModel):
    code: str
    name: str
    kind: str
    settings: dict[str, Any]
    secret_set: bool
    locations: list[str]
    active: bool
    callback_url: str

    @classmethod
    def of(cls, p: ProviderConfig) -> ProviderOut:
        """Secret settings (``api_key``, ``api_secret``, …) answer ``"***"``, never the value."""
        return cls(
            code=p.code,
            name=p.name,
            kind=p.kind,
            settings={k: ("***" if k in SECRET_SETTINGS else v) for k, v in p.settings.items()},
            secret_set=bool(p.secret),
            locations=p.locations or [],
            active=p.active,
            callback_url=f"/v1/providers/{p.code}/callbacks",
        )


@router.post("", status_code=201, response_model=ProviderOut)
def create_provider(
    body: ProviderIn, principal: Admin, container: ContainerDep, response: Response
) -> ProviderOut:
    config = ProviderConfig(**body.model_dump(mode="json"))
    with outbound_client() as client:  # never called: building checks the settings
        build_provider(config, client=client)  # refuses missing settings before storing
    for name in ("url", "base_url"):  # the dispatch carries customers' names and addresses
        if isinstance(value := config.settings.get(name), str):
            check_target(value, container.settings.outbound_allowed_hosts, field=("settings", name))
    with container.uow(actor=principal.actor) as uow:
        uow.fulfilment.add_provider(config)
        uow.commit()
    response.headers["Location"] = f"/v1/providers/{config.code}"
    return ProviderOut.of(config)


@router.get("", response_model=Page[ProviderOut])
def list_providers(
    principal: Admin,
    container: ContainerDep,
    kind: ProviderKind | None = None,
    active: bool | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ProviderOut]:
    """Providers by code (admin only: their settings name the 3PL accounts)."""
    with container.uow(read_only=True) as uow:
        found, next_cursor = uow.fulfilment.providers_page(
            kind=kind.value if kind else None, active=active, limit=limit, cursor=cursor
        )
    return Page(items=[ProviderOut.of(p) for p in found], next_cursor=next_cursor)


@router.post(
    "/{code}/callbacks",
    responses={401: {"description": "bad signature: nothing was stored"}},
)
async def callback(code: str, request: Request, container: ContainerDep) -> JSONResponse:
    """The provider's own status callback, verified with the provider's secret."""
    body = await request.body()
    incoming = Callback(
        body=body,
        headers={k.lower(): v for k, v in request.headers.items()},
        query=dict(request.query_params),
    )
    return await run_in_threadpool(_apply, container, code, incoming)


def _apply(container: Container, code: str, incoming: Callback) -> JSONResponse:
    with container.uow(actor=f"provider:{code}") as uow:
        uow.fulfilment.provider(code)  # 404 for an unknown provider
        with default_dependencies(uow) as deps:
            try:
                updates = deps.providers(code).handle_callback(incoming)
            except InvalidCallback as error:
                status = 401 if error.unauthorized else 422
                return problem(status, "Callback refused", detail=error.detail, code="callback")
            applied = apply_updates(uow, provider_code=code, updates=updates, deps=deps)
    return JSONResponse({"received": len(updates), "applied": applied})
