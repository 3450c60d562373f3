"""The LLM client: one OpenAI-compatible chat endpoint, spoken through the official `openai` SDK.

Decides how a chat request goes over the wire and what counts as a usable answer. Every request
carries `max_tokens` and its own timeout (a non-streamed request: the whole wait; a streamed
one: the idle time between chunks, so a stalled server is noticed in seconds, plus an overall
deadline). The SDK's own retries are off (it would wait up to two minutes on a Retry-After):
a bounded loop here retries 429, 5xx, timeouts and connection errors, honouring `Retry-After`
up to a cap and giving up at once when the server asks for longer. `finish_reason` is checked on
every answer: `length` (truncated), `content_filter`, a stream that ends without one, a chunk
that is not JSON, an empty answer — each is an `LLMError`, so a truncated or malformed answer is
never handed on. Every retry is logged (attempt n/N, the wait, the reason: a timed-out request
may still be running on the server) and reported back (`retried`); a request's `deadline` (the
stage budget) bounds the whole call: each attempt's timeout is cut to what is left, no retry is
made that cannot finish in time, and a stream is cut by a timer at its deadline, not when the
next chunk happens to arrive. A failed answer carries the text received so far, so the tokens
the server spent can be estimated. Streamed tool calls are accumulated here, by `index` when
the server sends one and by `id` otherwise (the SDK's `stream()` helper breaks without `index`).

What a model can do is declared per model (`Capabilities`) and then negotiated with what the
server actually answers. A refusal is recognised by its text, whatever the status (a 400, a 422,
or llama.cpp's HTTP 500 "Input should be 'text' or 'json_object'"): a server that refuses
`json_schema` gets `json_object` with the schema in the prompt, then the prompt alone; one that
refuses `tool_choice` gets none. Each downgrade is remembered for the life of the client (the
process), logged once at WARNING with the server's own words, and listed in `notes`. A request
the server refused for what it says (a 4xx, or a 5xx that complains about the request) is never
retried as it was: it cannot succeed. Tools go with `tool_choice` ("auto" by default: llama.cpp's
function-calling chat format calls tools only when it is sent; vLLM and Ollama document it), and
an assistant turn that carries tool calls goes with `content: ""`, never null (llama.cpp's
templates fail on null). The connector knows the protocol, not the policy: the daemon decides
what to do with an `LLMError`.
"""

from __future__ import annotations

import email.utils
import json
import logging
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol, cast

import httpx2
import openai

from connectors.base import ConnectorError

JsonMode = Literal["json_schema", "json_object", "prompt"]
JSON_MODES: tuple[JsonMode, ...] = ("json_schema", "json_object", "prompt")
ToolChoice = Literal["auto", "required", "none-sent"]
"""What goes in `tool_choice` with tools: "required" only until the first tool result (then
"auto", so the model can answer); "none-sent" leaves the field out (the server's default)."""

log = logging.getLogger("helpdeskd.llm")

JSON_WORDS = ("response_format", "json_schema", "json_object", "json mode", "structured output")
TOOL_CHOICE_WORDS = ("tool_choice", "tool choice", "enable-auto-tool-choice")
REQUEST_COMPLAINTS = (
    *JSON_WORDS,
    *TOOL_CHOICE_WORDS,
    "input should be",
    "validation error",
    "field required",
    "extra inputs are not permitted",
    "nonetype",
    "unprocessable",
)
"""Words of a server complaining about the request itself (pydantic's, llama.cpp's, vLLM's):
sent again unchanged, the same request fails again, whatever the HTTP status said."""
ErrorKind = Literal[
    "timeout",
    "stalled",
    "rate_limited",
    "server",
    "connection",
    "refused_request",
    "auth",
    "truncated",
    "filtered",
    "malformed",
    "empty",
]


class LLMError(ConnectorError):
    """The endpoint failed or answered something unusable. `kind` names the cause; `usage`
    holds the tokens a failed answer still consumed (they are billed) when the server said;
    `received` is the answer received before it failed (to estimate them otherwise);
    `retried` names the failed attempts that were retried before this one."""

    def __init__(
        self,
        message: str,
        *,
        kind: ErrorKind,
        permanent: bool = False,
        usage: TokenUsage | None = None,
        attempts: int = 1,
        received: str = "",
    ) -> None:
        super().__init__(message, permanent=permanent)
        self.kind = kind
        self.usage = usage
        self.attempts = attempts
        self.received = received
        self.retried: tuple[ErrorKind, ...] = ()


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the server is assumed to support for one model (from config; narrowed at run time
    by what the server refuses)."""

    tools: bool = True
    json_mode: JsonMode = "json_schema"
    vision: bool = False
    streaming: bool = True
    stream_usage: bool = True
    tool_choice: ToolChoice = "auto"

    def describe(self) -> str:
        choice = (
            "no tool_choice sent"
            if self.tool_choice == "none-sent"
            else f"tool_choice {self.tool_choice}"
        )
        parts = [
            f"tools ({choice})" if self.tools else "no tools",
            {
                "json_schema": "json_schema",
                "json_object": "json_object",
                "prompt": "JSON by prompt",
            }[self.json_mode],
            "vision" if self.vision else "no vision",
            ("streaming" + (" with usage" if self.stream_usage else " (no usage)"))
            if self.streaming
            else "no streaming",
        ]
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where and how to reach one model."""

    base_url: str
    api_key: str
    model: str
    timeout: float = 60.0
    connect_timeout: float = 5.0
    idle_timeout: float = 15.0
    retries: int = 2
    max_retry_wait: float = 30.0
    backoff: float = 0.5
    stream: bool = True
    temperature: float | None = 0.2
    capabilities: Capabilities = field(default_factory=Capabilities)


@dataclass(frozen=True, slots=True)
class TokenUsage:
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class JsonSchema:
    """A structured answer: the schema's name and the JSON Schema itself."""

    name: str
    schema: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ChatRequest:
    messages: tuple[dict[str, Any], ...]
    max_tokens: int
    tools: tuple[dict[str, Any], ...] = ()
    json_schema: JsonSchema | None = None
    stream: bool | None = None
    """None: stream when the endpoint and the model allow it."""
    deadline: float | None = None
    """`time.monotonic()` by which the whole call, retries included, must end (None: only
    the endpoint's own timeouts)."""


@dataclass(frozen=True, slots=True)
class ChatResponse:
    content: str
    tool_calls: tuple[ToolCall, ...]
    finish_reason: str
    usage: TokenUsage | None
    """What the server reported; None when it sent no usage (estimate it)."""
    model: str
    latency: float
    attempts: int = 1
    streamed: bool = False
    json_mode: JsonMode | None = None
    retried: tuple[ErrorKind, ...] = ()
    """The kinds of the failed attempts retried before this answer (usage, metrics)."""


class ChatModel(Protocol):
    """A chat model the daemon can ask; implemented over HTTP by `OpenAIChatModel`."""

    name: str
    model: str

    @property
    def capabilities(self) -> Capabilities: ...

    def complete(self, request: ChatRequest) -> ChatResponse: ...

    def close(self) -> None: ...


RETRYABLE = (
    openai.RateLimitError,
    openai.InternalServerError,
    openai.APITimeoutError,
    openai.APIConnectionError,
)


class OpenAIChatModel:
    """`ChatModel` over any OpenAI-compatible `/chat/completions` (hosted, vLLM, Ollama...)."""

    def __init__(
        self, name: str, endpoint: Endpoint, http_client: httpx2.Client | None = None
    ) -> None:
        self.name = name
        self.model = endpoint.model
        self.endpoint = endpoint
        self._capabilities = endpoint.capabilities
        self._lock = threading.Lock()
        self._call = threading.local()  # the deadline of the call on this thread
        self.notes: list[str] = []
        """What negotiation changed, with the server's words (for logs and check-config)."""
        self.client = openai.OpenAI(
            base_url=endpoint.base_url,
            # Local servers need no key, but the SDK insists on one.
            api_key=endpoint.api_key or "no-key",
            max_retries=0,  # retries are ours: bounded, Retry-After capped
            timeout=self._timeout(stream=False),
            http_client=http_client,
        )

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    def close(self) -> None:
        self.client.close()

    def complete(self, request: ChatRequest) -> ChatResponse:
        """Send `request`, retrying what a retry can fix; raise LLMError otherwise."""
        started = time.monotonic()
        self._call.deadline = request.deadline
        retried: list[ErrorKind] = []
        attempt = 0
        while True:
            attempt += 1
            begun = time.monotonic()
            try:
                response = self._complete_once(request)
            except LLMError as exc:
                exc.attempts, exc.retried = attempt, tuple(retried)
                raise
            except RETRYABLE as exc:
                wait = self._retry_wait(exc, attempt, time.monotonic() - begun)
                if wait is None:
                    error = self._as_error(exc, attempt)
                    error.retried = tuple(retried)
                    raise error from None
                retried.append(retry_kind(exc))
                time.sleep(wait)
                continue
            latency = time.monotonic() - started
            return replace(response, attempts=attempt, latency=latency, retried=tuple(retried))

    # --- one attempt -------------------------------------------------------------------

    def _complete_once(self, request: ChatRequest) -> ChatResponse:
        mode = self._json_mode(request)
        try:
            kwargs = self._arguments(request, mode)
            if kwargs.get("stream"):
                return self._streamed(kwargs, mode)
            return self._plain(kwargs, mode)
        except openai.APIStatusError as exc:
            if self._renegotiate(request, mode, exc):
                return self._complete_once(request)  # a weaker mode: at most four steps
            raise self._status_error(exc) from None
        except (json.JSONDecodeError, openai.APIResponseValidationError, UnicodeDecodeError):
            raise LLMError(f"{self.name}: the answer is not valid JSON", kind="malformed") from None

    def _status_error(self, exc: openai.APIStatusError) -> Exception:
        """What an HTTP error becomes: an LLMError, or `exc` itself when a retry can help."""
        status, text = exc.status_code, _error_text(exc)
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return LLMError(
                f"{self.name}: authentication failed ({status}): check the API key "
                "in the environment",
                kind="auth",
                permanent=True,
            )
        if (status >= 500 or status == 429) and not _complains(text):
            return exc  # overloaded or broken for now: the retry loop decides
        return LLMError(
            f"{self.name}: the server refused the request (HTTP {status}): {text}",
            kind="refused_request",
            permanent=True,
        )

    def _arguments(self, request: ChatRequest, mode: JsonMode | None) -> dict[str, Any]:
        caps = self.capabilities
        messages = list(request.messages)
        kwargs: dict[str, Any] = {"model": self.model, "max_tokens": request.max_tokens}
        if self.endpoint.temperature is not None:
            kwargs["temperature"] = self.endpoint.temperature
        if request.tools:
            if not caps.tools:
                raise LLMError(
                    f"{self.name}: tools were sent to a model configured without tools",
                    kind="refused_request",
                    permanent=True,
                )
            kwargs["tools"] = list(request.tools)
            if (choice := self._tool_choice(request)) is not None:
                kwargs["tool_choice"] = choice
        if request.json_schema is not None and mode is not None:
            messages, response_format = _json_format(messages, request.json_schema, mode)
            if response_format is not None:
                kwargs["response_format"] = response_format
        kwargs["messages"] = [_wire_message(m) for m in messages]
        stream = request.stream if request.stream is not None else self.endpoint.stream
        if stream and caps.streaming:
            kwargs["stream"] = True
            if caps.stream_usage:
                kwargs["stream_options"] = {"include_usage": True}
        return kwargs

    def _plain(self, kwargs: dict[str, Any], mode: JsonMode | None) -> ChatResponse:
        completion = self.client.chat.completions.create(
            **kwargs, timeout=self._timeout(stream=False)
        )
        if not completion.choices:
            raise LLMError(f"{self.name}: the answer has no choices", kind="malformed")
        choice = completion.choices[0]
        usage = _usage(completion.usage)
        calls = tuple(
            ToolCall(c.id, c.function.name, c.function.arguments or "")
            for c in choice.message.tool_calls or ()
            if getattr(c, "function", None) is not None
        )
        content = choice.message.content or ""
        return self._checked(content, calls, choice.finish_reason, usage, streamed=False, mode=mode)

    def _streamed(self, kwargs: dict[str, Any], mode: JsonMode | None) -> ChatResponse:
        limit = self._time_left()
        ends = time.monotonic() + limit
        stream: Any = self.client.chat.completions.create(
            **kwargs, timeout=self._timeout(stream=True)
        )
        acc = StreamAccumulator()
        cutoff = StreamCutoff(stream, max(ends - time.monotonic(), 0.0))
        try:
            for chunk in cast(Iterable[Any], stream):
                acc.add(chunk)
                if cutoff.fired:
                    break
        except (openai.APITimeoutError, httpx2.TimeoutException):
            if not cutoff.fired:
                raise self._stream_error(
                    f"the stream stalled (no chunk for {self.endpoint.idle_timeout:.0f}s)",
                    "stalled",
                    acc,
                ) from None
        except (httpx2.HTTPError, OSError) as exc:
            if not cutoff.fired:
                raise self._stream_error(f"the stream broke off: {exc}", "truncated", acc) from None
        except Exception:
            if not cutoff.fired:  # e.g. a chunk that is not JSON: `_complete_once` says so
                raise  # a line cut in half by the deadline is the deadline's
        finally:
            cutoff.cancel()
            stream.close()
        if cutoff.fired:
            raise self._stream_error(
                f"the streamed answer took longer than {limit:.1f}s (cut at its deadline)",
                "timeout",
                acc,
            )
        return self._checked(
            acc.text, acc.tool_calls(), acc.finish_reason, acc.usage, streamed=True, mode=mode
        )

    def _stream_error(self, what: str, kind: ErrorKind, acc: StreamAccumulator) -> LLMError:
        return LLMError(f"{self.name}: {what}", kind=kind, usage=acc.usage, received=acc.received)

    def _checked(
        self,
        content: str,
        calls: tuple[ToolCall, ...],
        finish: str | None,
        usage: TokenUsage | None,
        *,
        streamed: bool,
        mode: JsonMode | None,
    ) -> ChatResponse:
        """The finish_reason check every answer goes through. A refused answer carries what
        was received, so its tokens can be estimated when the server reported none."""
        got = content + "".join(c.name + c.arguments for c in calls)
        if finish is None:
            raise LLMError(
                f"{self.name}: the answer ended without a finish_reason (truncated stream)",
                kind="truncated",
                usage=usage,
                received=got,
            )
        if finish == "length":
            raise LLMError(
                f"{self.name}: the answer was cut at max_tokens",
                kind="truncated",
                usage=usage,
                received=got,
            )
        if finish == "content_filter":
            raise LLMError(
                f"{self.name}: the provider's content filter stopped the answer",
                kind="filtered",
                usage=usage,
                received=got,
            )
        if finish not in ("stop", "tool_calls", "function_call", "eos", "end_turn"):
            raise LLMError(
                f"{self.name}: unexpected finish_reason {finish!r}",
                kind="malformed",
                usage=usage,
                received=got,
            )
        if not calls and not content.strip():
            raise LLMError(f"{self.name}: the answer is empty", kind="empty", usage=usage)
        return ChatResponse(
            content=content,
            tool_calls=calls,
            finish_reason=finish,
            usage=usage,
            model=self.model,
            latency=0.0,
            streamed=streamed,
            json_mode=mode,
        )

    # --- negotiation -------------------------------------------------------------------

    def _json_mode(self, request: ChatRequest) -> JsonMode | None:
        return self.capabilities.json_mode if request.json_schema is not None else None

    def _tool_choice(self, request: ChatRequest) -> str | None:
        choice = self.capabilities.tool_choice
        if not request.tools or choice == "none-sent":
            return None
        if choice == "required" and any(m.get("role") == "tool" for m in request.messages):
            return "auto"  # with the results in hand the model must be free to answer
        return choice

    def _renegotiate(
        self, request: ChatRequest, mode: JsonMode | None, exc: openai.APIStatusError
    ) -> bool:
        """Weaken what the server refused (True: send again); False when nothing is left."""
        if exc.status_code not in (400, 422) and exc.status_code < 500:
            return False
        if request.json_schema is not None and self._refuses_json_mode(exc, mode):
            return self._downgrade_json(mode, exc)
        if self._tool_choice(request) is not None and _mentions(
            _error_text(exc), TOOL_CHOICE_WORDS
        ):
            return self._drop_tool_choice(exc)
        return False

    def _refuses_json_mode(self, exc: openai.APIStatusError, mode: JsonMode | None) -> bool:
        return mode in ("json_schema", "json_object") and _mentions(_error_text(exc), JSON_WORDS)

    def _downgrade_json(self, mode: JsonMode | None, exc: openai.APIStatusError) -> bool:
        with self._lock:
            current = self._capabilities.json_mode
            if current == mode and mode != "prompt":
                weaker = JSON_MODES[JSON_MODES.index(mode) + 1]
                self._capabilities = replace(self._capabilities, json_mode=weaker)
                self._note(f"{mode} refused", exc, f"using {_JSON_LABEL[weaker]}")
            return self._capabilities.json_mode != mode  # another thread may have done it

    def _drop_tool_choice(self, exc: openai.APIStatusError) -> bool:
        with self._lock:
            if self._capabilities.tool_choice != "none-sent":
                self._capabilities = replace(self._capabilities, tool_choice="none-sent")
                self._note("tool_choice refused", exc, "sending tools without tool_choice")
        return True

    def _note(self, what: str, exc: openai.APIStatusError, now: str) -> None:
        """Log a downgrade once (callers hold the lock and change the capabilities once)."""
        note = f"{what} (HTTP {exc.status_code}: {_error_text(exc)}): {now}"
        self.notes.append(note)
        log.warning("%s (%s): %s, for the rest of this process", self.name, self.model, note)

    # --- retries and deadlines --------------------------------------------------------

    def _retry_wait(self, exc: Exception, attempt: int, took: float = 0.0) -> float | None:
        """Seconds to wait before the next attempt, or None to give up now; logged either way.
        No retry is made that cannot finish before the call's deadline: the wait and the time
        the failed attempt took must fit in what is left."""
        tries = f"attempt {attempt}/{self.endpoint.retries + 1}"
        why = retry_reason(exc, took)
        if attempt > self.endpoint.retries:
            log.warning("%s: %s failed (%s); no retries left", self.name, tries, why)
            return None
        headers = exc.response.headers if isinstance(exc, openai.APIStatusError) else None
        asked = retry_after_seconds(headers)
        if asked is not None and asked > self.endpoint.max_retry_wait:
            log.warning(
                "%s: %s failed (%s); the server asks to wait %.0fs, longer than %.0fs: giving up",
                *(self.name, tries, why, asked, self.endpoint.max_retry_wait),
            )
            return None
        wait = asked if asked is not None else self._backoff(attempt)
        left = self._deadline_left()
        if left is not None and wait + took > left:
            log.warning(
                "%s: %s failed (%s); no retry: %.1fs left of the stage budget, a retry needs "
                "%.1fs wait + %.1fs",
                *(self.name, tries, why, max(left, 0.0), wait, took),
            )
            return None
        still = (
            "; the server may still be working on the first request"
            if isinstance(exc, openai.APITimeoutError)
            else ""
        )
        log.warning("%s: %s failed (%s)%s; retrying in %.2fs", self.name, tries, why, still, wait)
        return wait

    def _backoff(self, attempt: int) -> float:
        return min(self.endpoint.backoff * 2.0 ** (attempt - 1), self.endpoint.max_retry_wait)

    def _as_error(self, exc: Exception, attempt: int) -> LLMError:
        tries = f"after {attempt} attempt(s)"
        if isinstance(exc, openai.RateLimitError):
            asked = retry_after_seconds(exc.response.headers)
            wait = f", Retry-After {asked:.0f}s" if asked is not None else ""
            return LLMError(
                f"{self.name}: rate limited (HTTP 429{wait}) {tries}",
                kind="rate_limited",
                attempts=attempt,
            )
        if isinstance(exc, openai.APITimeoutError):
            cut = ", cut to the stage budget" if self._deadline_left() is not None else ""
            return LLMError(
                f"{self.name}: no answer within {self.endpoint.timeout:.0f}s{cut} {tries}",
                kind="timeout",
                attempts=attempt,
            )
        if isinstance(exc, openai.APIStatusError):
            return LLMError(
                f"{self.name}: server error HTTP {exc.status_code} {tries}",
                kind="server",
                attempts=attempt,
            )
        return LLMError(
            f"{self.name}: cannot connect to {self.endpoint.base_url} {tries}",
            kind="connection",
            attempts=attempt,
        )

    def _deadline_left(self) -> float | None:
        """Seconds left before the current call's deadline (None: the call has none)."""
        deadline: float | None = getattr(self._call, "deadline", None)
        return None if deadline is None else deadline - time.monotonic()

    def _time_left(self, cap: float | None = None) -> float:
        """How long the next attempt may take: the endpoint's timeout, cut to the deadline."""
        left = self._deadline_left()
        limit = self.endpoint.timeout if cap is None else cap
        return limit if left is None else max(min(limit, left), 0.05)

    def _timeout(self, *, stream: bool) -> httpx2.Timeout:
        e = self.endpoint
        total = self._time_left()
        connect = min(e.connect_timeout, total)
        if stream:
            # httpx's read timeout is the longest silence between two reads: the idle timeout
            # (the stream's overall deadline is `StreamCutoff`'s).
            return httpx2.Timeout(total, connect=connect, read=min(e.idle_timeout, total))
        return httpx2.Timeout(total, connect=connect)


class StreamCutoff:
    """Ends a stream at its deadline from a timer thread: the socket is shut down, which wakes
    the read the consuming thread is blocked in (closing it alone would not)."""

    def __init__(self, stream: Any, seconds: float) -> None:
        self.stream = stream
        self.fired = False
        self.timer = threading.Timer(seconds, self.fire)
        self.timer.daemon = True
        self.timer.start()

    def fire(self) -> None:
        self.fired = True
        response = getattr(self.stream, "response", None)
        extensions = getattr(response, "extensions", None) or {}
        network = extensions.get("network_stream")
        sock = network.get_extra_info("socket") if network is not None else None
        try:
            if isinstance(sock, socket.socket):
                sock.shutdown(socket.SHUT_RDWR)
            elif response is not None:
                response.close()
        except OSError:
            pass  # already closed: the stream has ended anyway

    def cancel(self) -> None:
        self.timer.cancel()


def retry_kind(exc: Exception) -> ErrorKind:
    """The kind of a retried failure (usage rows and metrics label it)."""
    if isinstance(exc, openai.RateLimitError):
        return "rate_limited"
    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIStatusError):
        return "server"
    return "connection"


def retry_reason(exc: Exception, took: float) -> str:
    """A failed attempt in words, for the log line."""
    if isinstance(exc, openai.APITimeoutError):
        return f"timeout after {took:.1f}s"
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}: {_error_text(exc)[:120]}"
    return f"connection failed: {str(exc)[:120]}"


class StreamAccumulator:
    """Collects a streamed answer: text, tool calls (by index, else by id), finish, usage."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.calls: list[dict[str, Any]] = []
        self.by_index: dict[int, dict[str, Any]] = {}
        self.finish_reason: str | None = None
        self.usage: TokenUsage | None = None

    @property
    def text(self) -> str:
        return "".join(self.parts)

    @property
    def received(self) -> str:
        """Everything the model produced so far: text and tool calls."""
        return self.text + "".join(c["name"] + c["arguments"] for c in self.calls)

    def add(self, chunk: Any) -> None:
        if getattr(chunk, "usage", None) is not None:
            self.usage = _usage(chunk.usage)
        for choice in getattr(chunk, "choices", None) or ():
            delta = choice.delta
            if delta is not None and delta.content:
                self.parts.append(delta.content)
            for tc in (getattr(delta, "tool_calls", None) or ()) if delta is not None else ():
                self.add_tool_delta(tc)
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason

    def add_tool_delta(self, tc: Any) -> None:
        slot = self.slot_for(getattr(tc, "index", None), getattr(tc, "id", None))
        fn = getattr(tc, "function", None)
        if fn is not None:
            slot["name"] += fn.name or ""
            slot["arguments"] += fn.arguments or ""

    def slot_for(self, index: int | None, call_id: str | None) -> dict[str, Any]:
        if index is not None and index in self.by_index:
            return self.by_index[index]
        if index is None and self.calls and (not call_id or self.calls[-1]["id"] == call_id):
            return self.calls[-1]  # a continuation of the call being streamed
        slot = {"id": call_id or f"call_{len(self.calls)}", "name": "", "arguments": ""}
        self.calls.append(slot)
        if index is not None:
            self.by_index[index] = slot
        return slot

    def tool_calls(self) -> tuple[ToolCall, ...]:
        return tuple(ToolCall(c["id"], c["name"], c["arguments"]) for c in self.calls)


def _json_format(
    messages: list[dict[str, Any]], schema: JsonSchema, mode: JsonMode
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The response_format for `mode`, and the messages with the schema spelled out when the
    server will not enforce it."""
    if mode == "json_schema":
        return messages, {
            "type": "json_schema",
            "json_schema": {"name": schema.name, "schema": schema.schema, "strict": False},
        }
    note = (
        "Answer with exactly one JSON object and nothing else (no prose, no code fence). "
        f"It must validate against this JSON Schema:\n{json.dumps(schema.schema)}"
    )
    fmt = {"type": "json_object"} if mode == "json_object" else None
    return _with_system_note(messages, note), fmt


_JSON_LABEL: dict[JsonMode, str] = {
    "json_schema": "json_schema",
    "json_object": "json_object with the schema in the prompt",
    "prompt": "JSON by prompt",
}


def _wire_message(message: dict[str, Any]) -> dict[str, Any]:
    """An assistant turn with tool calls goes with `content: ""`: the OpenAI reference allows
    null, but llama.cpp's chat templates fail on it (HTTP 500) and "" means the same."""
    if message.get("role") == "assistant" and message.get("content") is None:
        return {**message, "content": ""}
    return message


def _mentions(text: str, words: Iterable[str]) -> bool:
    low = text.lower()
    return any(w in low for w in words)


def _complains(text: str) -> bool:
    """Whether an error's text says the request itself is wrong (so no retry can help)."""
    return _mentions(text, REQUEST_COMPLAINTS)


def _with_system_note(messages: list[dict[str, Any]], note: str) -> list[dict[str, Any]]:
    """Add `note` to the first system message (many chat templates refuse a system message
    that is not the first one)."""
    for i, msg in enumerate(messages):
        if msg.get("role") == "system" and isinstance(msg.get("content"), str):
            merged = {**msg, "content": f"{msg['content']}\n\n{note}"}
            return [*messages[:i], merged, *messages[i + 1 :]]
    return [{"role": "system", "content": note}, *messages]


def _usage(raw: Any) -> TokenUsage | None:
    """The server's usage; None when absent or all zero (some servers send zeros in streams
    rather than nothing): the caller then estimates it."""
    if raw is None:
        return None
    usage = TokenUsage(
        int(getattr(raw, "prompt_tokens", 0) or 0), int(getattr(raw, "completion_tokens", 0) or 0)
    )
    return usage if usage.input_tokens or usage.output_tokens else None


def _error_text(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])[:300]
    return str(exc.message)[:300]


def retry_after_seconds(headers: httpx2.Headers | None) -> float | None:
    """Retry-After (seconds or HTTP date) or retry-after-ms, in seconds; None when absent."""
    if headers is None:
        return None
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return max(float(ms) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    return max(email.utils.mktime_tz(parsed) - time.time(), 0.0)
