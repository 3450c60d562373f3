"""HTTP tools: one configured call to a company API (order status, refunds, CRM), made safely.

Decides how a tool's arguments become an HTTP request and how much of the answer is read.
Arguments named in the URL template (`/orders/{order_id}`) are percent-encoded into the path
(so `../` or `?` in a model's argument cannot change the URL), the rest go into the query string
(GET, DELETE) or a JSON body (POST, PUT, PATCH). The auth header's value comes from the
environment, resolved once at start. Every call has a timeout, and the body is read in chunks
up to `max_response_bytes`: a larger answer is an error, never half-parsed. 2xx and 4xx answers
are results (a 404 is the API saying "no such order"); 401/403 are a configuration problem
(permanent), 5xx, timeouts and network errors are transient `ConnectorError`s.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from connectors.base import ConnectorError

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


@dataclass(frozen=True, slots=True)
class HttpToolSpec:
    method: str
    url: str
    """Template: `{name}` is replaced by the percent-encoded argument of that name."""
    timeout: float = 10.0
    max_response_bytes: int = 65536
    headers: dict[str, str] = field(default_factory=dict)
    """Static headers plus the resolved auth header (never logged)."""


@dataclass(frozen=True, slots=True)
class HttpResult:
    status: int
    data: Any
    """Decoded JSON when the answer is JSON, else the text."""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class HttpTool:
    """One configured HTTP endpoint, called with a dict of arguments."""

    def __init__(self, name: str, spec: HttpToolSpec, client: httpx.Client | None = None) -> None:
        self.name = name
        self.spec = spec
        self.client = client or httpx.Client(follow_redirects=False)
        self.path_params = {
            f for _, f, _, _ in string.Formatter().parse(spec.url) if f is not None and f
        }

    def call(self, arguments: dict[str, Any]) -> HttpResult:
        url = self.spec.url.format_map(
            {k: quote(str(arguments.get(k, "")), safe="") for k in self.path_params}
        )
        rest = {k: v for k, v in arguments.items() if k not in self.path_params}
        method = self.spec.method.upper()
        request = self.client.build_request(
            method,
            url,
            headers=self.spec.headers,
            params=None if method in BODY_METHODS else _query(rest),
            json=rest if method in BODY_METHODS else None,
            timeout=self.spec.timeout,
        )
        try:
            response = self.client.send(request, stream=True)
        except httpx.TimeoutException:
            raise ConnectorError(
                f"tool {self.name}: no answer within {self.spec.timeout:g}s"
            ) from None
        except httpx.HTTPError as exc:
            raise ConnectorError(f"tool {self.name}: {type(exc).__name__}: {exc}") from None
        try:
            body = self.read_capped(response)
        finally:
            response.close()
        return self.result(response, body)

    def read_capped(self, response: httpx.Response) -> bytes:
        cap = self.spec.max_response_bytes
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > cap:
                    raise ConnectorError(
                        f"tool {self.name}: answer larger than {cap} bytes (max_response_bytes)"
                    )
                chunks.append(chunk)
        except httpx.TimeoutException:
            raise ConnectorError(
                f"tool {self.name}: answer not complete within {self.spec.timeout:g}s"
            ) from None
        except httpx.HTTPError as exc:
            raise ConnectorError(f"tool {self.name}: reading the answer: {exc}") from None
        return b"".join(chunks)

    def result(self, response: httpx.Response, body: bytes) -> HttpResult:
        status = response.status_code
        if status in (401, 403):
            raise ConnectorError(
                f"tool {self.name}: HTTP {status}: check its auth header and credential",
                permanent=True,
            )
        if status >= 500:
            raise ConnectorError(f"tool {self.name}: server error HTTP {status}")
        return HttpResult(status, _decode(body, response.headers.get("content-type", "")))

    def close(self) -> None:
        self.client.close()


def _query(args: dict[str, Any]) -> dict[str, str]:
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in args.items() if v is not None}


def _decode(body: bytes, content_type: str) -> Any:
    text = body.decode("utf-8", errors="replace")
    if "json" in content_type or text[:1] in ("{", "["):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text
