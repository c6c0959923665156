"""Signing in and out of the dashboard with a user from ``orderhub user create``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from orderhub.api.deps import ContainerDep
from orderhub.web.session import Session, replace_session, session_of
from orderhub.web.templating import render

router = APIRouter()


def safe_next(target: str | None) -> str:
    """Only a path on this site: never ``//host`` or ``https://…`` (open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    if session_of(request).user_id:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", {"next": safe_next(next), "error": None})


@router.post("/login")
def login(
    request: Request,
    container: ContainerDep,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form()] = "/",
) -> Response:
    with container.uow(read_only=True) as uow:
        principal = uow.users.authenticate(username.strip(), password)
    if principal is None:
        context = {"next": safe_next(next), "error": "Unknown username or wrong password."}
        return render(request, "login.html", context, status_code=401)
    replace_session(request, Session(user_id=principal.id, username=username.strip()))
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request) -> Response:
    replace_session(request, Session())
    return RedirectResponse("/login", status_code=303)
