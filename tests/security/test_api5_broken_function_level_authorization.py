"""OWASP API5:2023 Broken Function Level Authorization: the permission matrix
(``domain.access.allows``, role × permission, narrowed for channel-scoped keys) is what every
route enforces — checked for every route of the app's route table with every role."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from orderhub.bootstrap import Container
from orderhub.domain.access import Permission, Role, allows
from tests.conftest import bearer, make_key
from tests.security.route_table import PUBLIC, api_routes


def test_every_api_route_requires_a_permission_or_is_knowingly_public(
    client: TestClient,
) -> None:
    routes = api_routes(client.app)  # type: ignore[arg-type]
    assert len(routes) > 60
    unprotected = {(r.method, r.path) for r in routes if r.permission is None}
    assert unprotected == PUBLIC


@pytest.mark.parametrize("role", list(Role))
def test_every_route_answers_403_exactly_when_the_matrix_says_no(
    client: TestClient, seeded: Container, role: Role
) -> None:
    scope = "web" if role == Role.CHANNEL else None  # a channel key always has its channel
    headers = bearer(make_key(seeded, role, scope))
    wrong = []
    for route in api_routes(client.app):  # type: ignore[arg-type]
        if route.permission is None:
            continue
        body = {} if route.method in {"POST", "PUT", "PATCH"} else None
        response = client.request(
            route.method, route.url({"code": "web", "sku": "SKU-1"}), headers=headers, json=body
        )
        if (response.status_code == 403) == allows(
            role, route.permission, channel_scoped=scope is not None
        ):
            wrong.append(f"{route.method} {route.path}: {response.status_code}")
    assert wrong == []


def test_providers_are_listed_to_admins_only(client: TestClient, seeded: Container) -> None:
    operator = bearer(make_key(seeded, Role.OPERATOR))
    assert client.get("/v1/providers", headers=operator).status_code == 403


@pytest.mark.parametrize(
    "permission",
    [Permission.WEBHOOKS_MANAGE, Permission.DELIVERIES_READ, Permission.CHANNELS_WRITE],
)
def test_a_channel_scoped_key_never_holds_cross_channel_permissions(permission: Permission) -> None:
    assert allows(Role.ADMIN, permission)
    assert not allows(Role.ADMIN, permission, channel_scoped=True)
