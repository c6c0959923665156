"""Signing in and out of the dashboard with a user from ``orderhub user create``.

Failed sign-ins are limited per (username, client address) (``Settings.login_max_failures`` in
``login_window_seconds``), with higher ceilings per username from every address
(``login_max_failures_per_user``) and per address over every username
(``login_max_failures_per_address``): past a limit the form answers 429 with ``Retry-After``
and checks no password (``services/sign_in.py``). Five wrong passwords from one place lock
that place out, not the user everywhere.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from orderhub.api.deps import ContainerDep
from orderhub.services.sign_in import TooManyAttempts, sign_in, sign_out
from orderhub.store.sign_in import AttemptLimits
from orderhub.web.session import LIFETIME_SECONDS, Session, replace_session, session_of
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
    settings = container.settings
    name = username.strip()
    try:
        signed_in = sign_in(
            container.uow,
            username=name,
            password=password,
            address=request.client.host if request.client else "unknown",
            limits=AttemptLimits(
                per_user_and_address=settings.login_max_failures,
                per_user=settings.login_max_failures_per_user,
                per_address=settings.login_max_failures_per_address,
            ),
            window=timedelta(seconds=settings.login_window_seconds),
            lifetime=timedelta(seconds=LIFETIME_SECONDS),
        )
    except TooManyAttempts as refused:
        minutes = math.ceil(refused.retry_after / 60)
        context = {
            "next": safe_next(next),
            "error": f"Too many failed sign-ins. Try again in {minutes} minute(s).",
        }
        headers = {"Retry-After": str(refused.retry_after)}
        return render(request, "login.html", context, status_code=429, headers=headers)
    if signed_in is None:
        context = {"next": safe_next(next), "error": "Unknown username or wrong password."}
        return render(request, "login.html", context, status_code=401)
    session = Session(user_id=signed_in.principal.id, username=name, sid=signed_in.session_id)
    replace_session(request, session)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request, container: ContainerDep) -> Response:
    session_id = session_of(request).sid
    if session_id:
        with container.uow(actor="web:logout") as uow:
            sign_out(uow, session_id=session_id)
    replace_session(request, Session())
    return RedirectResponse("/login", status_code=303)
