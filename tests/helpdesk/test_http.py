"""The shared helpdesk HTTP client against a real local server: what each answer means."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.helpdesk import HelpdeskError
from connectors.helpdesk.http import ApiClient, parse_retry_after
from tests.helpdesk.fake_zendesk import FakeZendesk

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("7", 7.0),
        (" 120 ", 120.0),
        ("Fri, 15 Jan 2027 08:00:30 GMT", 30.0),  # an HTTP date 30 s after NOW
        ("Fri, 15 Jan 2027 07:00:00 GMT", 0.0),  # already past
        ("soon", 60.0),  # unreadable: the documented default minute
        (None, 60.0),
    ],
)
def test_parse_retry_after(header: str | None, seconds: float) -> None:
    assert parse_retry_after(header, now=NOW) == pytest.approx(seconds)


@pytest.fixture
def server() -> Iterator[FakeZendesk]:
    fake = FakeZendesk()
    yield fake
    fake.close()


def client(fake: FakeZendesk, sleeps: list[float], **kwargs: object) -> ApiClient:
    return ApiClient(
        "zd",
        fake.url + "/api/v2",
        auth=("helpbot@example.test/token", "zd-token"),
        sleep=sleeps.append,
        **kwargs,
    )  # type: ignore[arg-type]


# status, about one item?, permanent, scope
CASES = [
    (401, True, True, "connector"),
    (403, True, True, "connector"),
    (404, True, True, "item"),
    (404, False, True, "connector"),  # a listing that 404s: the URL is wrong
    (422, True, True, "item"),
    (400, False, True, "connector"),
    (409, True, True, "item"),
]


@pytest.mark.parametrize(("status", "item", "permanent", "scope"), CASES)
def test_error_scopes(
    server: FakeZendesk, status: int, item: bool, permanent: bool, scope: str
) -> None:
    server.fail_next(status, body={"error": "nope"})
    api = client(server, [])
    with pytest.raises(HelpdeskError) as info:
        api.request("GET", "/tickets/1.json", item=item)
    assert (info.value.status, info.value.permanent, info.value.scope) == (status, permanent, scope)
    assert f"HTTP {status}" in str(info.value) and "nope" in str(info.value)
    assert len(server.requests()) == 1  # never retried


def test_5xx_and_connection_errors_back_off_then_raise_transient(server: FakeZendesk) -> None:
    sleeps: list[float] = []
    server.fail_next(502, 10)
    with pytest.raises(HelpdeskError) as info:
        client(server, sleeps).request("GET", "/tickets/1.json")
    assert not info.value.permanent and info.value.status == 502
    assert sleeps == [0.5, 1.0, 2.0] and len(server.requests()) == 4
    dead = ApiClient("zd", "http://127.0.0.1:9", sleep=sleeps.append, retries=1)
    with pytest.raises(HelpdeskError) as info:
        dead.request("GET", "/x")
    assert not info.value.permanent and info.value.status is None


def test_retry_after_is_remembered_for_the_next_request(server: FakeZendesk) -> None:
    sleeps: list[float] = []
    clock = [100.0]
    api = client(server, sleeps, clock=lambda: clock[0], max_wait=10)
    server.fail_next(429, 1, {"Retry-After": "5"})
    url = f"/tickets/{server.customer_email('Carol', 'carol@x.test', 'Hi', 'Hello')}.json"
    assert api.request("GET", url).status_code == 200
    assert sleeps == [5.0]  # waited out in place
    server.fail_next(429, 1, {"Retry-After": "30"})
    with pytest.raises(HelpdeskError) as info:
        api.request("GET", url)  # longer than max_wait: raised, remembered
    assert info.value.retry_after == 30.0
    with pytest.raises(HelpdeskError, match="rate limited for 30 s more"):
        api.request("GET", url)  # no request goes out before it
    assert len(server.requests()) == 3


def test_requests_per_minute_spaces_calls(server: FakeZendesk) -> None:
    sleeps: list[float] = []
    clock = [0.0]
    api = client(server, sleeps, clock=lambda: clock[0], requests_per_minute=120)
    url = f"/tickets/{server.customer_email('Carol', 'carol@x.test', 'Hi', 'Hello')}.json"
    for _ in range(3):
        api.request("GET", url)
    assert sleeps == [0.5, 0.5]  # 120 a minute: half a second apart
