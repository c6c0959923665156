"""The one factory for outbound HTTP clients: every ``httpx.Client`` in ``src/`` comes from here.

A client built without a transport gets the SSRF guard (:mod:`orderhub.http.ssrf`) with the
given allow-list (none by default), so forgetting to pass one is safe, not open: the API's
channel sync once used a plain client whenever no test transport was injected. A transport
passed in is used as it is — the tests' ``httpx.MockTransport`` and the transport the
:class:`~orderhub.bootstrap.Container` hands out, which is guarded itself.
``tests/security/test_api7_server_side_request_forgery.py`` fails the build on any other
construction of an httpx client or transport.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import httpx

from orderhub.http.ssrf import OutboundPolicy, OutboundRefused, guarded_transport

TransportFactory = Callable[[], httpx.BaseTransport]


def outbound_transport(
    injected: httpx.BaseTransport | None, allowed: Sequence[str] = ()
) -> httpx.BaseTransport:
    """The injected transport (tests), else a new SSRF-guarded one allowing ``allowed``."""
    if injected is not None:
        return injected
    return guarded_transport(OutboundPolicy.of(allowed))


def transports(injected: httpx.BaseTransport | None, allowed: Sequence[str]) -> TransportFactory:
    """The injected transport (tests), else a fresh SSRF-guarded one per call."""
    if injected is not None:
        return lambda: injected
    policy = OutboundPolicy.of(allowed)
    return lambda: guarded_transport(policy)


def outbound_client(
    *,
    transport: httpx.BaseTransport | None = None,
    allowed: Sequence[str] = (),
    **kwargs: Any,
) -> httpx.Client:
    """An ``httpx.Client`` for a call to the outside: guarded unless given a transport."""
    return httpx.Client(transport=outbound_transport(transport, allowed), trust_env=False, **kwargs)


def failure_text(error: Exception) -> str:
    """What an answer to our own caller may say about a failed outbound call.

    Never the target's reply body: a request the SSRF guard did not stop (or a hostile
    channel) must not turn the hub into a reader of whatever answered. The status code, the
    refusal or the kind of network error is enough to act on; the details go to the log.
    """
    status = getattr(error, "status", None)
    if isinstance(error, httpx.HTTPStatusError):
        status = error.response.status_code
    if isinstance(status, int):
        return f"the target answered {status}"
    if isinstance(error, OutboundRefused):
        return str(error)
    return f"the target could not be reached ({error.__class__.__name__})"
