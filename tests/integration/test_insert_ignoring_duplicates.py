"""The shared INSERT … ON CONFLICT DO NOTHING helper tells a conflict from a write, on both."""

from __future__ import annotations

import pytest

from orderhub.bootstrap import Container
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.domain.errors import Conflict


def test_a_second_channel_with_the_same_code_is_a_conflict(seeded: Container) -> None:
    with seeded.uow() as uow, pytest.raises(Conflict):
        uow.channels.add(Channel(code="web", name="again", kind=ChannelKind.NATIVE))


def test_a_repeated_cxml_payload_id_is_not_claimed_twice(seeded: Container) -> None:
    with seeded.uow() as uow:
        assert uow.cxml_payloads.claim("web", "payload-1")
        assert not uow.cxml_payloads.claim("web", "payload-1")
        assert uow.cxml_payloads.claim("app", "payload-1")
