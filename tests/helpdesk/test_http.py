"""The shared helpdesk HTTP client against a real local server: what each answer means."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

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


def client(fake: FakeZendesk, sleeps: list[float], **kwargs: Any) -> ApiClient:
    return ApiClient(
        "zd",
        fake.url + "/api/v2",
        auth=("helpbot@example.test/token", "zd-token"),
        sleep=sleeps.append,
        **kwargs,
    )


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


# --- writes that must happen once --------------------------------------------------------

NEW_TICKET = {
    "ticket": {
        "subject": "Hi",
        "comment": {"body": "Hello"},
        "requester": {"name": "Carol", "email": "carol@x.test"},
    }
}


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        ("status", 502),  # taken, then a gateway answers 502
        ("drop", None),  # taken, then the connection closes before the answer
        ("hang", None),  # taken, then no answer before our read timeout
        ("before", 503),  # refused before anything was done: we cannot tell it apart
    ],
)
def test_a_post_the_server_may_have_taken_is_never_repeated(
    server: FakeZendesk, fault: str, status: int | None
) -> None:
    sleeps: list[float] = []
    if fault == "before":
        server.fail_next(503, 4, {"Retry-After": "30"}, {"error": "unavailable"})
    else:
        server.fail_after_accept("POST", r"/api/v2/tickets\.json", fault, seconds=1.0)
    api = client(server, sleeps, timeout=0.3)
    with pytest.raises(HelpdeskError) as info:
        api.request("POST", "/tickets.json", item=True, json=NEW_TICKET)
    error = info.value
    assert error.ambiguous and not error.permanent and error.status == status
    assert "may have applied it: not retried" in str(error)
    assert len(server.requests("POST")) == 1 and sleeps == []
    assert len(server.tickets) == (0 if fault == "before" else 1)
    if fault == "before":  # not retried, but its Retry-After holds back the next call
        assert error.retry_after == 30.0 and api.not_before >= api.clock() + 29


def test_a_post_is_retried_only_when_it_provably_never_arrived(server: FakeZendesk) -> None:
    sleeps: list[float] = []
    server.fail_next(429, 1, {"Retry-After": "2"})  # the rate limiter refused it: not run
    api = client(server, sleeps, clock=lambda: 100.0)
    created = api.request("POST", "/tickets.json", item=True, json=NEW_TICKET)
    assert created.status_code == 201 and sleeps == [2.0] and len(server.tickets) == 1
    refused = ApiClient("zd", "http://127.0.0.1:9", sleep=sleeps.append, retries=2)
    with pytest.raises(HelpdeskError) as info:  # connection refused: not a byte was sent
        refused.request("POST", "/tickets.json", json=NEW_TICKET)
    assert not info.value.ambiguous and sleeps == [2.0, 0.5, 1.0]


def test_idempotent_writes_are_retried_and_comment_updates_are_not(server: FakeZendesk) -> None:
    sleeps: list[float] = []
    api = client(server, sleeps)
    ticket = server.customer_email("Carol", "carol@x.test", "Hi", "Hello")
    server.fail_after_accept("PUT", rf"/api/v2/tickets/{ticket}\.json", "status")
    answer = api.request("PUT", f"/tickets/{ticket}.json", json={"ticket": {"priority": "high"}})
    assert answer.status_code == 200 and sleeps == [0.5]  # the same PUT twice: same state
    server.fail_after_accept("PUT", rf"/api/v2/tickets/{ticket}\.json", "status")
    comment = {"ticket": {"comment": {"body": "Once", "public": True}}}
    with pytest.raises(HelpdeskError) as info:
        api.request("PUT", f"/tickets/{ticket}.json", once=True, json=comment)
    assert info.value.ambiguous and sleeps == [0.5]
    assert [c["body"] for c in server.comments[ticket]].count("Once") == 1
