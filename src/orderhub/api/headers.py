"""Security headers on every answer outside the dashboard (which sets its own, in
:mod:`orderhub.web.session`): ``X-Content-Type-Options: nosniff`` everywhere; on the API
(``/v1``, ``/metrics``) also ``Cache-Control: no-store`` — orders, customers and addresses are
personal data that no browser or proxy cache should keep — and a Content-Security-Policy that
lets a JSON answer load nothing, and ``/v1/docs`` only its own vendored Swagger UI.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderhub.web.session import is_web_path

API_CSP = b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
# Swagger UI styles elements from its script (style attributes), and draws icons as data: SVGs.
DOCS_CSP = (
    b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    b"base-uri 'none'"
)
DOCS_PATH = "/v1/docs"


_NOSNIFF = (b"x-content-type-options", b"nosniff")
_NO_STORE = (b"cache-control", b"no-store")
_API = (_NOSNIFF, _NO_STORE, (b"content-security-policy", API_CSP))
_DOCS = (_NOSNIFF, _NO_STORE, (b"content-security-policy", DOCS_CSP))
_OTHER = (_NOSNIFF,)


def headers_for(path: str) -> tuple[tuple[bytes, bytes], ...]:
    """The headers an answer to ``path`` gets (none for dashboard pages: they have theirs)."""
    if is_web_path(path):
        return ()
    if path.startswith(("/v1/", "/metrics")):
        return _DOCS if path == DOCS_PATH else _API
    return _OTHER


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = headers_for(scope["path"])
        if not extra:  # a dashboard page: no wrapper to call for every message
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend((k, v) for k, v in extra if k not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
