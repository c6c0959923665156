"""The marketplace API client: pacing, retries, token refresh, credentials from the environment."""

from __future__ import annotations

from base64 import b64encode
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qs

import httpx
import pytest

from orderhub.channels.api_client import (
    ApiClient,
    ChannelApiError,
    OAuthRefresh,
    TokenBucket,
    forget_shared_state,
    oauth_client,
    resolve_credentials,
    retry_after,
)
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.domain.errors import ValidationFailed


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_token_bucket_lets_a_burst_through_then_paces_at_its_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=2.0, burst=3, clock=clock)
    assert [bucket.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.acquire() == pytest.approx(0.5)
    assert bucket.acquire() == pytest.approx(1.0)  # waits queue up behind each other
    clock.now = 10.0
    assert bucket.acquire() == 0.0


def test_a_bucket_only_ever_slows_down_to_the_rate_the_server_reports() -> None:
    bucket = TokenBucket(rate=5.0, burst=1, clock=Clock())
    bucket.limit_to(0.5)
    bucket.limit_to(50)
    assert bucket.rate == 0.5


def test_credentials_may_reference_the_environment() -> None:
    creds = {"refresh_token": {"env": "AMAZON_REFRESH_TOKEN"}, "client_id": "abc"}
    assert resolve_credentials(creds, {"AMAZON_REFRESH_TOKEN": "Atzr|x"}) == {
        "refresh_token": "Atzr|x",
        "client_id": "abc",
    }
    with pytest.raises(ValidationFailed) as error:
        resolve_credentials(creds, {})
    assert error.value.fields[0].field == "credentials.refresh_token"


def test_retry_after_takes_seconds_or_an_http_date() -> None:
    now = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
    assert retry_after(httpx.Response(429, headers={"Retry-After": "3"})) == 3.0
    dated = httpx.Response(429, headers={"Retry-After": "Fri, 27 Nov 2026 03:00:30 GMT"})
    assert retry_after(dated, now=now) == 30.0
    assert retry_after(httpx.Response(429)) is None


def _client(handler, sleeps: list[float]) -> ApiClient:  # type: ignore[no-untyped-def]
    http = httpx.Client(base_url="https://api.example", transport=httpx.MockTransport(handler))
    return ApiClient(http, {}, sleep=sleeps.append, base_delay=1.0)


def test_server_errors_and_dropped_connections_are_retried_with_backoff() -> None:
    answers: list[object] = [httpx.ConnectError("reset"), httpx.Response(503), httpx.Response(200)]

    def handler(_request: httpx.Request) -> httpx.Response:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, httpx.Response)
        return answer

    sleeps: list[float] = []
    assert _client(handler, sleeps).call("GET", "/x", api="a").status_code == 200
    assert sleeps == [1.0, 2.0]


def test_a_client_error_is_not_retried_and_says_what_the_server_said() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(400, text='{"errors": [{"code": "InvalidInput"}]}')

    with pytest.raises(ChannelApiError) as error:
        _client(handler, []).call("GET", "/x", api="a")
    assert error.value.status == 400
    assert "InvalidInput" in str(error.value)
    assert len(calls) == 1


def test_an_access_token_is_reused_until_a_minute_before_it_expires() -> None:
    issued: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        issued.append(request.content.decode())
        return httpx.Response(200, json={"access_token": f"t{len(issued)}", "expires_in": 3600})

    clock = Clock()
    refresh = OAuthRefresh(
        "https://auth.example/token", {"grant_type": "refresh_token"}, clock=clock
    )
    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        assert refresh.token(http) == "t1"
        clock.now = 3539
        assert refresh.token(http) == "t1"
        clock.now = 3541
        assert refresh.token(http) == "t2"
    assert issued[0] == "grant_type=refresh_token"


def test_walmart_style_headers_make_the_client_wait_for_the_refill_when_no_call_is_left() -> None:
    answers = [
        httpx.Response(
            200, headers={"x-current-token-count": "3", "x-next-replenish-time": "1005000"}
        ),
        httpx.Response(
            200, headers={"x-current-token-count": "0", "x-next-replenish-time": "1004500"}
        ),
    ]
    sleeps: list[float] = []
    client = _client(lambda _request: answers.pop(0), sleeps)
    client.wall = lambda: 1000.0
    client.call("GET", "/x", api="a")
    assert sleeps == []
    client.call("GET", "/x", api="a")
    assert sleeps == [4.5]


@pytest.fixture
def fresh_tokens() -> Iterator[None]:
    forget_shared_state()
    yield
    forget_shared_state()


def _token_server(seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "tok", "expires_in": 3600})
        return httpx.Response(200, json={})

    return httpx.MockTransport(handler)


SECRETS = {"refresh_token": "r-1", "client_id": "id-1", "client_secret": "s-1"}


@pytest.mark.usefixtures("fresh_tokens")
def test_an_oauth_client_puts_the_client_secret_in_the_form_and_the_token_in_a_named_header() -> (
    None
):
    seen: list[httpx.Request] = []
    channel = Channel(code="amz", name="A", kind=ChannelKind.AMAZON, credentials=SECRETS)
    api = oauth_client(
        channel,
        default_base="https://api.example/",
        token_url="https://auth.example/token",
        rates={"orders": (100.0, 10)},
        access_header="x-amz-access-token",
        transport=_token_server(seen),
    )
    api.call("GET", "/orders", api="orders")
    token_call, call = seen
    assert str(token_call.url) == "https://auth.example/token"
    assert "authorization" not in token_call.headers
    assert parse_qs(token_call.content.decode()) == {
        "grant_type": ["refresh_token"],
        "refresh_token": ["r-1"],
        "client_id": ["id-1"],
        "client_secret": ["s-1"],
    }
    assert str(call.url) == "https://api.example/orders"
    assert call.headers["x-amz-access-token"] == "tok"
    assert "authorization" not in call.headers
    assert set(api.buckets) == {"orders"}


@pytest.mark.usefixtures("fresh_tokens")
def test_an_oauth_client_may_send_the_client_by_basic_auth_with_a_scope_and_a_bearer_token() -> (
    None
):
    seen: list[httpx.Request] = []
    creds = {**SECRETS, "token_url": "https://sandbox.example/token"}
    channel = Channel(code="eb", name="E", kind=ChannelKind.EBAY, credentials=creds)
    api = oauth_client(
        channel,
        default_base="https://api.example",
        token_url="https://auth.example/token",
        rates={},
        scope="a b",
        basic_auth=True,
        transport=_token_server(seen),
    )
    api.call("GET", "/x", api="none")
    token_call, call = seen
    assert str(token_call.url) == "https://sandbox.example/token"  # the credential wins
    assert token_call.headers["authorization"] == f"Basic {b64encode(b'id-1:s-1').decode()}"
    assert parse_qs(token_call.content.decode()) == {
        "grant_type": ["refresh_token"],
        "refresh_token": ["r-1"],
        "scope": ["a b"],
    }
    assert call.headers["authorization"] == "Bearer tok"


def test_an_oauth_client_names_every_missing_credential() -> None:
    channel = Channel(code="x", name="X", kind=ChannelKind.EBAY, credentials={"client_id": "i"})
    with pytest.raises(ValidationFailed) as error:
        oauth_client(channel, default_base="https://a", token_url="https://a/t", rates={})
    assert [f.field for f in error.value.fields] == [
        "credentials.refresh_token",
        "credentials.client_secret",
    ]
