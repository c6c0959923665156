"""The SSRF guard refuses non-public targets after DNS resolution and on redirects."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

import httpx
import pytest

from orderhub.http.ssrf import OutboundPolicy, OutboundRefused, guarded_client, is_public
from tests.integration.delivery_support import Receiver, receiver


@pytest.fixture
def server() -> Iterator[Receiver]:
    with receiver() as r:
        yield r


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0",
     "224.0.0.1", "240.0.0.1", "100.64.0.1", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1"],
)  # fmt: skip
def test_private_loopback_link_local_multicast_and_reserved_addresses_are_not_public(
    address: str,
) -> None:
    assert not is_public(ipaddress.ip_address(address))


def test_public_addresses_pass() -> None:
    assert is_public(ipaddress.ip_address("93.184.215.14"))
    assert is_public(ipaddress.ip_address("2606:4700::1111"))


def test_allow_list_takes_addresses_networks_and_host_names() -> None:
    policy = OutboundPolicy.of(["127.0.0.1", "10.0.0.0/8", "Internal.Example."])
    assert policy.allows_address(ipaddress.ip_address("127.0.0.1"))
    assert policy.allows_address(ipaddress.ip_address("10.9.9.9"))
    assert not policy.allows_address(ipaddress.ip_address("127.0.0.2"))
    assert policy.allows_host("internal.example")


def test_loopback_is_refused_unless_allowed(server: Receiver) -> None:
    with guarded_client([]) as client, pytest.raises(OutboundRefused, match=re.escape("127.0.0.1")):
        client.post(server.url, content=b"{}")
    assert server.received == []
    with guarded_client(["127.0.0.1"]) as client:
        assert client.post(server.url, content=b"{}").status_code == 204
    assert len(server.received) == 1


def test_a_name_resolving_to_loopback_is_refused_after_resolution(server: Receiver) -> None:
    url = server.url.replace("127.0.0.1", "localhost")
    with guarded_client([]) as client, pytest.raises(OutboundRefused):
        client.post(url, content=b"{}")
    assert server.received == []


@pytest.mark.parametrize("target", ["http://10.0.0.1/x", "http://127.0.0.2:9/x"])
def test_a_redirect_to_a_private_address_is_refused(server: Receiver, target: str) -> None:
    server.redirect_to = target
    with (
        guarded_client(["127.0.0.1"], follow_redirects=True) as client,
        pytest.raises(OutboundRefused, match=re.escape(target.split("/")[2].split(":")[0])),
    ):
        client.post(server.url, content=b"{}")


def test_refusal_is_an_httpx_transport_error_callers_already_handle() -> None:
    assert issubclass(OutboundRefused, httpx.TransportError)
