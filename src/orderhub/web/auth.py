"""Who is looking at the dashboard, and whether their role lets them see or do a thing.

Every page and action declares one :class:`~orderhub.domain.access.Permission` through
:func:`page`; every mutating request must carry the session's CSRF token (:func:`check_csrf`,
installed on every dashboard router), as a form field or the ``X-CSRF-Token`` header htmx sends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from orderhub.api.deps import ContainerDep
from orderhub.bootstrap import Container
from orderhub.clock import utc_now
from orderhub.domain.access import ROLE_PERMISSIONS, Permission
from orderhub.store.access import Principal
from orderhub.web.session import CSRF_FIELD, CSRF_HEADER, Session, replace_session, session_of

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LoginRequired(Exception):
    """No valid session: the browser is sent to the login page."""


class Forbidden(Exception):
    """Signed in, but the role lacks the permission."""

    def __init__(self, permission: Permission) -> None:
        super().__init__(permission.value)
        self.permission = permission


class CsrfFailed(Exception):
    """A mutating request without the session's CSRF token."""


@dataclass(frozen=True)
class Viewer:
    principal: Principal
    username: str
    session: Session

    def can(self, permission: Permission | str) -> bool:
        return Permission(permission) in ROLE_PERMISSIONS[self.principal.role]

    @property
    def actor(self) -> str:
        return self.principal.actor


def current_session(request: Request) -> Session:
    return session_of(request)


async def check_csrf(request: Request) -> None:
    """Refuse any non-GET dashboard request whose token does not match the session's."""
    if request.method in SAFE_METHODS:
        return
    token = request.headers.get(CSRF_HEADER)
    if token is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get(CSRF_FIELD)
            token = value if isinstance(value, str) else None
    if not session_of(request).csrf_matches(token):
        raise CsrfFailed


def signed_in_user(container: Container, session: Session) -> Principal | None:
    """The user of a live server-side session matching the cookie's, or None (anonymous,
    logged out, revoked, expired, user disabled)."""
    if session.user_id is None or not session.sid:
        return None
    with container.uow(read_only=True) as uow:
        principal = uow.web_sessions.principal(session.sid, now=utc_now())
    return principal if principal is not None and principal.id == session.user_id else None


def page(permission: Permission) -> Callable[[Request, ContainerDep], Viewer]:
    """A dependency: the signed-in viewer whose role grants ``permission``.

    Synchronous on purpose: FastAPI runs it in the thread pool, off the event loop.
    """

    def viewer(request: Request, container: ContainerDep) -> Viewer:
        session = session_of(request)
        if session.user_id is None:
            raise LoginRequired
        principal = signed_in_user(container, session)
        if principal is None:
            # Ended (logout, password change, revoked), expired, or the user disabled since:
            # drop the cookie's session so the login page does not send the browser back.
            replace_session(request, Session())
            raise LoginRequired
        found = Viewer(principal, session.username or principal.id, session)
        if not found.can(permission):
            raise Forbidden(permission)
        return found

    return viewer
