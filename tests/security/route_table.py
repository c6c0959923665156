"""The app's route table, read from FastAPI itself: every API route and the permission its
``require(...)`` dependency demands (``None``: the route takes no API key)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from orderhub.domain.access import Permission

# Routes that take no API key, each authenticated its own way (or not at all, on purpose).
PUBLIC = {
    ("GET", "/v1/health"),  # load balancers probe it; says "ok" and the version
    ("GET", "/v1/docs"),  # Swagger UI's page; the OpenAPI document it shows is public too
    ("POST", "/v1/channels/{code}/webhooks"),  # the channel's own signature
    ("POST", "/v1/channels/{code}/cxml"),  # the cXML shared secret
    ("POST", "/v1/providers/{code}/callbacks"),  # the 3PL's signature
}


@dataclass(frozen=True)
class ApiRoute:
    method: str
    path: str
    permission: Permission | None

    def url(self, values: dict[str, str]) -> str:
        return re.sub(r"{(\w+)}", lambda m: values.get(m.group(1), "x"), self.path)

    @property
    def writes(self) -> bool:
        return self.method in {"POST", "PUT", "PATCH", "DELETE"}


def _permission(dependant: Any) -> Permission | None:
    found: Permission | None = getattr(dependant.call, "permission", None)
    if found is not None:
        return found
    for sub in dependant.dependencies:
        found = _permission(sub)
        if found is not None:
            return found
    return None


def api_routes(app: FastAPI) -> list[ApiRoute]:
    """Every route under /v1 and /metrics, one per method (the dashboard has its own sign-in)."""
    found = []
    for route in app.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        for context in contexts() if contexts else []:
            if not (context.path.startswith("/v1/") or context.path == "/metrics"):
                continue
            for method in sorted(context.methods):
                found.append(ApiRoute(method, context.path, _permission(context.dependant)))
    return found
