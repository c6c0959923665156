"""Dashboard sessions: a signed cookie holding the session id, the user id and the CSRF token.

The cookie is ``base64url(json).base64url(HMAC-SHA256)`` under the session secret; it is
HttpOnly, SameSite=Lax and Secure when ``Settings.secure_cookies`` is set. Nothing in it is
trusted for authorization beyond *which* session it is: a signed-in session must also exist
server-side (``web_sessions``, see ``store/sign_in.py``), and the role is read from the users
table on every request — so logout, a password change, a revocation, disabling a user or
changing a role take effect at once, before the cookie expires.

Every visitor gets a session (anonymous until login) so the login form has a CSRF token too.
Logging in issues a fresh session and token (no session fixation); logging out ends it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "orderhub_session"
LIFETIME_SECONDS = 12 * 3600
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_WEB_EXCLUDED = ("/v1/", "/metrics", "/static/")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Session:
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    user_id: str | None = None
    username: str | None = None
    expires: int = field(default_factory=lambda: int(time.time()) + LIFETIME_SECONDS)
    changed: bool = True
    sid: str | None = None  # the server-side session of a signed-in user

    def as_json(self) -> dict[str, Any]:
        return {
            "csrf": self.csrf, "uid": self.user_id, "name": self.username, "exp": self.expires,
            "sid": self.sid,
        }  # fmt: skip

    def csrf_matches(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf.encode(), (token or "").encode())


class Signer:
    def __init__(self, secret: bytes) -> None:
        self._key = hashlib.sha256(b"orderhub-session\0" + secret).digest()

    def dumps(self, session: Session) -> str:
        body = _b64(json.dumps(session.as_json(), separators=(",", ":")).encode())
        return f"{body}.{self._sign(body)}"

    def loads(self, cookie: str | None) -> Session | None:
        """The session in ``cookie``, or None when it is absent, forged or expired."""
        if not cookie or "." not in cookie:
            return None
        body, signature = cookie.rsplit(".", 1)
        if not hmac.compare_digest(signature, self._sign(body)):
            return None
        try:
            data = json.loads(_unb64(body))
            session = Session(
                csrf=str(data["csrf"]),
                user_id=data.get("uid"),
                username=data.get("name"),
                expires=int(data["exp"]),
                changed=False,
                sid=data.get("sid"),
            )
        except (ValueError, KeyError, TypeError):
            return None
        return session if session.expires > time.time() else None

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())


def is_web_path(path: str) -> bool:
    return not path.startswith(_WEB_EXCLUDED)


SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]


class SessionMiddleware:
    """Loads the session into ``scope["state"]`` for dashboard paths, writes it back if changed."""

    def __init__(self, app: ASGIApp, *, signer: Signer, secure: bool) -> None:
        self.app = app
        self.signer = signer
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_web_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        session = self.signer.loads(connection.cookies.get(COOKIE)) or Session()
        scope.setdefault("state", {})["session"] = session

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                current: Session = scope["state"]["session"]
                headers = list(message.get("headers", []))
                headers.extend(SECURITY_HEADERS)
                if current.changed:
                    headers.append((b"set-cookie", self._cookie(current).encode("latin-1")))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _cookie(self, session: Session) -> str:
        parts = [
            f"{COOKIE}={self.signer.dumps(session)}",
            "Path=/",
            f"Max-Age={max(0, session.expires - int(time.time()))}",
            "HttpOnly",
            "SameSite=Lax",
        ]
        if self.secure:
            parts.append("Secure")
        return "; ".join(parts)


def session_of(connection: HTTPConnection) -> Session:
    session: Session = connection.state.session
    return session


def replace_session(connection: HTTPConnection, session: Session) -> None:
    """Swap in a new session (login, logout): the middleware sends its cookie."""
    session.changed = True
    connection.state.session = session
