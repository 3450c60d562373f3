"""The HTTP client every helpdesk connector shares: pacing, Retry-After, retries, error scopes.

Decides how a helpdesk API call fails. Requests are spaced to stay under the configured
requests-per-minute (the helpdesks' documented limits: Zendesk's incremental export allows 10 a
minute, Freshdesk's plans 50 to 700 a minute). A 429 is honoured: its `Retry-After` (seconds or
an HTTP date) is remembered so no request goes out before it, and waited out in place when it is
short enough (`max_wait`); otherwise the call raises a transient error carrying the wait. 401
and 403 are permanent for the whole connector (the operator must fix credentials or rights);
404, 400, 409 and 422 are permanent for the one item when the request was about an item, and for
the connector otherwise (a wrong URL or queue name).

What is retried depends on whether the request may be applied twice. Reads and idempotent
writes (GET, HEAD, OPTIONS, PUT, DELETE: the same request twice leaves the same state) are
retried after 5xx answers and any connection error, a few times with exponential backoff, then
raised as transient. A write that must happen once (`once`: POST and PATCH by default, and a
PUT that adds a comment, such as Zendesk's replies) is retried only when the server provably did
not act on it: the connection was never made (connect error or timeout, no free connection in
the pool: not a byte was sent), or a 429 (both hosted helpdesks document that a rate-limited
request is refused, not run; its Retry-After is honoured). Everything else after the request
may have left — a read or write timeout, a connection reset or closed before the answer, any
5xx, 503 included, since a gateway in front of the helpdesk can answer 502, 503 or 504 after the
helpdesk took the request — raises at once with `ambiguous` set, and the caller reads the
helpdesk's record back before deciding anything (`daemon/helpdesk_sync/sink.py` for replies; the
next push's marker check for notes).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import httpx

from connectors.helpdesk.records import HelpdeskError

DEFAULT_RETRY_AFTER = 60.0
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
"""Transport errors raised before a byte of the request left: safe to retry any request."""
BACKOFF = (0.5, 1.0, 2.0)
ADVICE = {
    401: "the credentials were refused: check the token or password in the environment",
    403: "the API user lacks a right: grant it in the helpdesk",
    404: "not found: check the URL, or the item was deleted",
    429: "rate limited",
}
UNSURE = " (the helpdesk may have applied it: not retried)"


def parse_retry_after(value: str | None, now: float | None = None) -> float:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return DEFAULT_RETRY_AFTER
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER
    return max(0.0, when - (time.time() if now is None else now))


class ApiClient:
    """One helpdesk's HTTP session. `sleep` and `clock` are injectable for tests."""

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        auth: httpx.Auth | tuple[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        requests_per_minute: int = 0,
        timeout: float = 30.0,
        max_wait: float = 120.0,
        retries: int = len(BACKOFF),
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.log = logging.getLogger(f"helpdeskd.helpdesk.{name}")
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"),
            auth=auth,
            headers=dict(headers or {}),
            timeout=timeout,
            follow_redirects=False,
        )
        # Files can live on another host (Freshdesk: presigned storage URLs); they are fetched
        # without our credentials, which must never leave for a host that is not the API's.
        self.bare = httpx.Client(timeout=timeout, follow_redirects=True)
        self.interval = 60.0 / requests_per_minute if requests_per_minute else 0.0
        self.max_wait = max_wait
        self.retries = retries
        self.sleep = sleep
        self.clock = clock
        self.last_request = -1e9
        self.not_before = 0.0
        self.requests = 0

    def close(self) -> None:
        self.http.close()
        self.bare.close()

    def download(self, url: str) -> bytes:
        """An attachment's bytes: with our credentials only from the API's own host."""
        target = httpx.URL(url)
        own = target.is_relative_url or target.host == self.http.base_url.host
        return self.request("GET", url, item=True, client=None if own else self.bare).content

    def json(self, method: str, url: str, *, item: bool = False, **kwargs: Any) -> Any:
        response = self.request(method, url, item=item, **kwargs)
        if not response.content:
            return None
        return response.json()

    def request(
        self,
        method: str,
        url: str,
        *,
        item: bool = False,
        once: bool | None = None,
        client: httpx.Client | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send with pacing and retries; raise HelpdeskError when it cannot succeed. `once`:
        the request must not be applied twice (default: every method but the idempotent ones),
        so it is retried only when the server provably did not act on it."""
        once = method.upper() not in IDEMPOTENT if once is None else once
        attempt = 0
        while True:
            self.pace()
            try:
                response = (client or self.http).request(method, url, **kwargs)
            except httpx.TransportError as exc:
                error = self.transport_error(method, url, exc, once)
            else:
                if response.status_code < 400:
                    return response
                error = self.classify(method, url, response, item, once)
            if error.permanent or error.ambiguous:
                if error.retry_after is not None:  # a 503's Retry-After still holds the next call
                    self.not_before = self.clock() + error.retry_after
                raise error
            self.retry_or_raise(error, attempt)
            attempt += 1

    def transport_error(
        self, method: str, url: str, exc: httpx.TransportError, once: bool
    ) -> HelpdeskError:
        """A connection failure; ambiguous for a once-only write unless nothing was sent."""
        text = f"{self.name}: {method} {url}: {exc!r}"
        if once and not isinstance(exc, NEVER_SENT):
            return HelpdeskError(text + UNSURE, ambiguous=True)
        return HelpdeskError(text)

    def pace(self) -> None:
        """Wait for a remembered Retry-After and for the requests-per-minute spacing."""
        now = self.clock()
        wait = max(self.not_before - now, self.last_request + self.interval - now, 0.0)
        if wait > self.max_wait:
            raise HelpdeskError(
                f"{self.name}: rate limited for {wait:.0f} s more", retry_after=wait, status=429
            )
        if wait > 0:
            self.sleep(wait)
        self.last_request = self.clock()
        self.requests += 1

    def retry_or_raise(self, error: HelpdeskError, attempt: int) -> None:
        if error.retry_after is not None:
            self.not_before = self.clock() + error.retry_after
            if attempt < self.retries and error.retry_after <= self.max_wait:
                self.log.info("%s; waiting %.1f s as Retry-After asks", error, error.retry_after)
                return  # pace() sleeps until not_before
            raise error
        if attempt >= self.retries:
            raise error
        delay = BACKOFF[min(attempt, len(BACKOFF) - 1)]
        self.log.info("%s; retrying in %.1f s", error, delay)
        self.sleep(delay)

    def classify(
        self, method: str, url: str, response: httpx.Response, item: bool, once: bool = False
    ) -> HelpdeskError:
        status = response.status_code
        body = " ".join(response.text.split())[:300]
        text = f"{self.name}: {method} {url}: HTTP {status}"
        if advice := ADVICE.get(status):
            text += f" ({advice})"
        if body:
            text += f": {body}"
        retry = response.headers.get("Retry-After")
        if status == 429:
            return HelpdeskError(text, status=status, retry_after=parse_retry_after(retry))
        if status >= 500:
            wait = parse_retry_after(retry) if retry else None
            if once:  # the helpdesk, or a gateway after it, may have taken the request
                return HelpdeskError(text + UNSURE, status=status, retry_after=wait, ambiguous=True)
            return HelpdeskError(text, status=status, retry_after=wait)
        scope: Literal["connector", "item"] = (
            "item" if item and status not in (401, 403) else "connector"
        )
        return HelpdeskError(text, permanent=True, status=status, scope=scope)


def env_secret(helpdesk: str, variable: str, key: str) -> str:
    """A secret from the environment; a missing one disables the helpdesk with this text."""
    value = os.environ.get(variable, "") if variable else ""
    if not value:
        where = f"${variable} is empty or unset" if variable else f"{key} is not configured"
        raise HelpdeskError(
            f"{helpdesk}: {where}: set it to the helpdesk's credential", permanent=True
        )
    return value


def client_for(
    settings: Any,
    path: str,
    *,
    auth: httpx.Auth | tuple[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> ApiClient:
    """The API client of one `[[helpdesks]]` entry: its URL plus `path`, its rate limit,
    timeout and longest Retry-After it waits out."""
    return ApiClient(
        settings.name,
        settings.url.rstrip("/") + path,
        auth=auth,
        headers=headers,
        requests_per_minute=settings.requests_per_minute,
        timeout=settings.timeout_seconds,
        max_wait=settings.max_wait_seconds,
    )
