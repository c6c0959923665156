"""Typed dependencies: the container, the authenticated principal, permission checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from orderhub.bootstrap import Container
from orderhub.domain.access import Permission, allows
from orderhub.store.access import Principal

_bearer = HTTPBearer(auto_error=False, description="an OrderHub API key: `ohk_…`")


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


def authenticate(
    container: ContainerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    unauthorized = HTTPException(
        401, "Missing or invalid API key", headers={"WWW-Authenticate": "Bearer"}
    )
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise unauthorized
    principal = key_holder(container, credentials.credentials)
    if principal is None:
        raise unauthorized
    return principal


def key_holder(container: Container, token: str) -> Principal | None:
    """The principal of a live (not revoked) API key, or None."""
    with container.uow(read_only=True) as uow:
        return uow.api_keys.authenticate(token)


def require(permission: Permission) -> Callable[[Principal], Principal]:
    """A dependency that lets through only principals whose role has ``permission``."""

    def check(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if not allows(principal.role, permission, channel_scoped=principal.channel is not None):
            scope = " (channel-scoped)" if principal.channel is not None else ""
            raise HTTPException(
                403, f"role {principal.role.value!r}{scope} lacks {permission.value!r}"
            )
        return principal

    check.permission = permission  # type: ignore[attr-defined]  # read by the route-table test
    return check


def visible_to(principal: Principal, channel: str) -> bool:
    """A channel-scoped key sees its own channel only; others see every channel."""
    return principal.channel is None or principal.channel == channel
