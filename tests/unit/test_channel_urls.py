"""A channel URL's ``user:password@`` part is found and never shown."""

from __future__ import annotations

import pytest

from orderhub.channels.api_client import ChannelApiError
from orderhub.domain.channels import has_userinfo, without_userinfo


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://key:secret@shop.example/api", "https://***@shop.example/api"),
        ("https://key@shop.example:8443/api?x=1", "https://***@shop.example:8443/api?x=1"),
        ("https://:secret@shop.example", "https://***@shop.example"),
        ("https://a:b@c@shop.example/", "https://***@shop.example/"),
    ],
)
def test_a_user_or_password_is_found_and_masked(url: str, shown: str) -> None:
    assert has_userinfo(url)
    assert without_userinfo(url) == shown


@pytest.mark.parametrize(
    "url", ["https://shop.example/api?email=a@b.example", "https://shop.example/@me", "http://h"]
)
def test_an_at_sign_outside_the_authority_is_left_alone(url: str) -> None:
    assert not has_userinfo(url)
    assert without_userinfo(url) == url


def test_a_marketplace_error_never_repeats_the_password_of_its_url() -> None:
    error = ChannelApiError(403, "forbidden", "https://id:s3cret@api.example/v3/orders")
    assert "s3cret" not in str(error)
    assert str(error).startswith("https://***@api.example/v3/orders answered 403")
