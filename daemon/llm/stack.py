"""The model stack: one client per configured task, and the one door every request goes through.

Decides which model serves a purpose and what surrounds each request. Purposes map to tasks
with fallbacks — triage routes; English mail is drafted by `reasoning` (else `triage`), other
languages by `multilingual` first; a prompt too long for the drafting model goes to
`long_context`; images go to `vision` only. `call` checks the cost caps, limits requests in
flight (`max_concurrent_requests`), bounds the request by what is left of the stage budget,
sends, and records a usage row — model, tokens (the server's, else our estimate, flagged:
timed-out attempts count their prompt, a broken stream the output received), latency, cost,
retries, timeouts, and the outcome (ok, unusable answer, truncated, transport failure,
refused) — in its own short transaction, so spend is never lost when the stage fails later;
the same counts go to the Prometheus counters. It returns the answer or a `Failure` value:
callers fall back, they never see an exception from the network.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import httpx2
from sqlalchemy import Engine
from sqlmodel import Session

from connectors.base import ConnectorError
from connectors.llm import (
    Capabilities,
    ChatModel,
    ChatRequest,
    ChatResponse,
    Endpoint,
    LLMError,
    OpenAIChatModel,
    TokenUsage,
)
from daemon import deadline
from daemon.config import ModelSettings, ModelTask, Settings
from daemon.errors import ConfigError
from daemon.llm.budget import TokenCounter, resolve_encoding
from daemon.llm.cost import CostGuard, Price, price_of
from daemon.llm.pii import PiiMasker
from daemon.llm.prompts import parse_json_answer
from daemon.metrics import (
    LLM_ESTIMATED,
    LLM_REQUESTS,
    LLM_RETRIES,
    LLM_TIMEOUTS,
    count_llm_call,
)
from daemon.store.engine import session_scope
from daemon.tables import Usage

log = logging.getLogger("helpdeskd.llm")

Purpose = Literal["route", "draft", "vision", "summary", "escalation"]
PURPOSE_TASKS: dict[Purpose, tuple[ModelTask, ...]] = {
    "route": ("triage",),
    "draft": ("reasoning", "triage", "multilingual", "long_context"),
    "vision": ("vision",),
    "summary": ("long_context", "triage", "reasoning", "multilingual"),
    "escalation": ("triage", "reasoning", "multilingual", "long_context"),
}


@dataclass(frozen=True, slots=True)
class CallMeta:
    """Whom a request is for (usage rows and caps) and what it is for."""

    purpose: Purpose
    message_pk: int | None = None
    ticket_id: int | None = None
    intent: str | None = None
    session: Session | None = None
    """The calling stage's session: usage goes there only if it already holds SQLite's write
    lock (a second connection would wait for it — for ever, from the same thread)."""


@dataclass(frozen=True, slots=True)
class Failure:
    """A request that produced no usable answer, and why (for the draft's reason)."""

    reason: str
    kind: str


ModelFactory = Callable[[str, Endpoint], ChatModel]


class LLMStack:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        models: dict[ModelTask, ChatModel],
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.models = models
        self.counters = {
            task: TokenCounter(
                resolve_encoding(settings.models[task].tokenizer, settings.models[task].model),
                name=task,
            )
            for task in models
        }
        self.prices: dict[ModelTask, Price] = {
            task: price_of(settings.models[task], settings.pricing) for task in models
        }
        self.guard = CostGuard(settings.pricing, engine)
        self.masker = PiiMasker.from_settings(settings.pii)
        self.slots = threading.BoundedSemaphore(settings.llm.max_concurrent_requests)

    @classmethod
    def build(
        cls, settings: Settings, engine: Engine, factory: ModelFactory | None = None
    ) -> LLMStack | None:
        """The stack for `settings`, or None when no endpoint is configured."""
        if not settings.models or not any(
            m.base_url or settings.llm.base_url for m in settings.models.values()
        ):
            return None
        make = factory or shared_http_factory(settings.llm.max_concurrent_requests)
        models = {task: make(task, endpoint_for(settings, task)) for task in settings.models}
        return cls(settings, engine, models)

    def close(self) -> None:
        for model in self.models.values():
            model.close()

    # --- which model -------------------------------------------------------------------

    def task_for(
        self, purpose: Purpose, *, language: str | None = None, tools: bool = False
    ) -> ModelTask | None:
        """The model for `purpose`: the first configured task in its order (non-English mail
        prefers `multilingual`); with `tools`, the first one that can call them, if any."""
        order = PURPOSE_TASKS[purpose]
        if purpose == "draft" and language and not language.lower().startswith("en"):
            order = ("multilingual", *order)
        present = [t for t in order if t in self.models]
        if tools:
            present = [t for t in present if self.capabilities(t).tools] or present
        return present[0] if present else None

    def spec(self, task: ModelTask) -> ModelSettings:
        return self.settings.models[task]

    def capabilities(self, task: ModelTask) -> Capabilities:
        return self.models[task].capabilities

    def prompt_budget(self, task: ModelTask) -> int:
        spec = self.spec(task)
        wanted = spec.prompt_tokens or self.settings.budget.prompt_tokens
        return min(wanted, spec.context_tokens - spec.max_output_tokens)

    # --- the call ----------------------------------------------------------------------

    def call(self, task: ModelTask, request: ChatRequest, meta: CallMeta) -> ChatResponse | Failure:
        counter = self.counters[task]
        request = with_deadline(request)
        if request.deadline is not None and request.deadline <= time.monotonic():
            log.warning("message %s: %s call not made: no time left", meta.message_pk, task)
            return Failure("no time left of the stage budget for a model request", "timeout")
        raw_in = counter.raw_messages(request.messages)
        worst = self.prices[task].of(counter.count_messages(request.messages), request.max_tokens)
        with self.guard.reserve(meta.ticket_id, meta.message_pk, worst) as refusal:
            if refusal is not None:
                log.info("message %s: %s call refused: %s", meta.message_pk, task, refusal)
                return Failure(refusal, "cap")
            started = time.monotonic()
            with self.slots:
                try:
                    response = self.models[task].complete(request)
                except ConnectorError as exc:
                    return self.failed(task, meta, exc, raw_in, time.monotonic() - started)
            self.succeeded(task, meta, request, response, raw_in)
        if response.usage is not None:
            counter.calibrate(raw_in, response.usage.input_tokens)
        return response

    def succeeded(
        self,
        task: ModelTask,
        meta: CallMeta,
        request: ChatRequest,
        response: ChatResponse,
        raw_in: int,
    ) -> None:
        """Record an answer: `unusable` when it ignores the schema it was asked for."""
        problem = schema_problem(request, response)
        usage = response.usage or self.estimate(task, raw_in, response)
        spent = Spent(usage, response.usage is None, response.retried, "ok")
        if problem:
            spent = replace(spent, outcome="unusable")
        spent = self.with_timed_out(task, spent, raw_in)
        self.record(task, meta, spent, raw_in, response.latency, error=problem or None)

    def estimate(self, task: ModelTask, raw_in: int, response: ChatResponse) -> TokenUsage:
        """Usage when the server reported none (a stream without usage): our own counts."""
        answer = response.content + "".join(c.name + c.arguments for c in response.tool_calls)
        return self.estimated(task, raw_in, answer)

    def estimated(self, task: ModelTask, raw_in: int, received: str) -> TokenUsage:
        """Our count of a prompt (raw count, calibrated) and of the answer received."""
        counter = self.counters[task]
        return TokenUsage(math.ceil(raw_in * counter.factor), counter.count(received))

    def failed(
        self, task: ModelTask, meta: CallMeta, exc: ConnectorError, raw_in: int, latency: float
    ) -> Failure:
        """Record a failed request with the tokens it still cost: the server's count when it
        gave one, else our estimate — the prompt of every attempt that timed out or was
        answered, and the output received before a stream broke off."""
        kind = exc.kind if isinstance(exc, LLMError) else "connection"
        spent = self.spent_on_failure(task, exc, kind, raw_in)
        self.record(task, meta, spent, raw_in, latency, error=str(exc))
        log.warning("message %s: %s (%s) failed: %s", meta.message_pk, task, meta.purpose, exc)
        return Failure(str(exc), kind)

    def spent_on_failure(
        self, task: ModelTask, exc: ConnectorError, kind: str, raw_in: int
    ) -> Spent:
        retried = exc.retried if isinstance(exc, LLMError) else ()
        spent = Spent(TokenUsage(0, 0), False, retried, OUTCOMES.get(kind, "transport"))
        spent = replace(spent, final_timeout=kind in ("timeout", "stalled"))
        if isinstance(exc, LLMError) and exc.usage is not None:
            return self.with_timed_out(task, replace(spent, usage=exc.usage), raw_in)
        received = exc.received if isinstance(exc, LLMError) else ""
        if not (kind in SERVER_WORKED or received):
            return self.with_timed_out(task, spent, raw_in)
        usage = self.estimated(task, raw_in, received)
        return self.with_timed_out(task, replace(spent, usage=usage, estimated=True), raw_in)

    def with_timed_out(self, task: ModelTask, spent: Spent, raw_in: int) -> Spent:
        """`spent` plus the prompts of the retried attempts that timed out (the server worked
        on them; it reported nothing), estimated."""
        lost = spent.retried.count("timeout")
        if not lost:
            return spent
        prompt = self.estimated(task, raw_in, "").input_tokens * lost
        usage = TokenUsage(spent.usage.input_tokens + prompt, spent.usage.output_tokens)
        return replace(spent, usage=usage, estimated=True)

    def record(
        self,
        task: ModelTask,
        meta: CallMeta,
        spent: Spent,
        raw_in: int,
        latency: float,
        *,
        error: str | None = None,
    ) -> None:
        usage = spent.usage
        cost = self.prices[task].of(usage.input_tokens, usage.output_tokens)
        if spent.outcome != "ok" and usage.input_tokens == 0:
            cost = 0.0  # refused before any work: nothing billed
        model = self.spec(task).model
        row = Usage(
            ticket_id=meta.ticket_id,
            message_pk=meta.message_pk,
            intent=meta.intent,
            kind=f"llm:{meta.purpose}",
            name=model,
            task=task,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            latency_ms=int(latency * 1000),
            cost=cost,
            ok=spent.outcome == "ok",
            error=error[:500] if error else None,
            outcome=spent.outcome,
            estimated=spent.estimated,
            retries=len(spent.retried),
            timeouts=spent.timeouts,
        )
        record_usage(self.engine, row, meta.session)
        count_request(model, spent)
        count_llm_call(row)


@dataclass(frozen=True, slots=True)
class Spent:
    """What one request cost and how it ended, for its usage row and the metrics."""

    usage: TokenUsage
    estimated: bool
    retried: tuple[str, ...]
    outcome: str
    final_timeout: bool = False

    @property
    def timeouts(self) -> int:
        return self.retried.count("timeout") + self.final_timeout


OUTCOMES: dict[str, str] = {
    "truncated": "truncated",
    "filtered": "unusable",
    "malformed": "unusable",
    "empty": "unusable",
    "refused_request": "refused",
    "auth": "refused",
}
"""The usage outcome of each `LLMError` kind; every other kind is a transport failure."""
SERVER_WORKED = frozenset({"timeout", "stalled", "truncated", "filtered", "malformed", "empty"})
"""Failures after which the server had processed the prompt: its tokens are counted."""
DEADLINE_RESERVE = (0.1, 0.5, 2.0)
"""What of the stage budget is kept for the stage itself after a model call (recording it,
falling back): 10% of what is left, at least 0.5 s, at most 2 s."""


def with_deadline(request: ChatRequest) -> ChatRequest:
    """`request` bounded by the running stage's budget (less a reserve for the stage to end)."""
    left = deadline.remaining()
    if left is None or request.deadline is not None:
        return request
    share, least, most = DEADLINE_RESERVE
    reserve = min(most, max(least, left * share))
    return replace(request, deadline=time.monotonic() + max(left - reserve, 0.0))


def schema_problem(request: ChatRequest, response: ChatResponse) -> str:
    """What is wrong with a JSON answer given the schema it was asked for ("" when fine)."""
    if request.json_schema is None or response.tool_calls:
        return ""
    data, problem = parse_json_answer(response.content, request.json_schema)
    return "" if data is not None else f"unusable answer: {problem}"


def count_request(model: str, spent: Spent) -> None:
    LLM_REQUESTS.labels(model, spent.outcome).inc()
    for reason in spent.retried:
        LLM_RETRIES.labels(model, reason).inc()
    if spent.timeouts:
        LLM_TIMEOUTS.labels(model).inc(spent.timeouts)
    if spent.estimated:
        LLM_ESTIMATED.labels(model).inc()


def record_usage(engine: Engine, row: Usage, session: Session | None = None) -> None:
    """Commit `row` at once in its own transaction (or in `session` when that one already holds
    SQLite's write lock and a second connection would wait for it)."""
    if session is not None and holds_write_lock(session):
        session.add(row)
        return
    with session_scope(engine) as own:
        own.add(row)


def holds_write_lock(session: Session) -> bool:
    if session.get_bind().dialect.name != "sqlite" or not session.in_transaction():
        return False
    raw = session.connection().connection.dbapi_connection
    return bool(getattr(raw, "in_transaction", False))


def endpoint_for(settings: Settings, task: ModelTask) -> Endpoint:
    spec, llm = settings.models[task], settings.llm
    return Endpoint(
        base_url=spec.base_url or llm.base_url,
        api_key=api_key_for(settings, spec),
        model=spec.model,
        timeout=llm.timeout_seconds,
        connect_timeout=llm.connect_timeout_seconds,
        idle_timeout=llm.stream_idle_seconds,
        retries=llm.retries,
        max_retry_wait=llm.max_retry_wait_seconds,
        stream=llm.stream,
        temperature=spec.temperature,
        capabilities=Capabilities(
            tools=spec.tools,
            json_mode=spec.json_mode,
            vision=spec.vision,
            streaming=spec.streaming,
            stream_usage=spec.stream_usage,
            tool_choice=spec.tool_choice,
        ),
    )


def api_key_for(settings: Settings, spec: ModelSettings) -> str:
    """The key from the environment: the model's variable, HELPDESKD_LLM__API_KEY, [llm]
    api_key_env, then a systemd credential. Empty is allowed (local servers)."""
    if spec.api_key_env:
        if key := os.environ.get(spec.api_key_env):
            return key
        raise ConfigError(
            [("models.*.api_key_env", f"${spec.api_key_env} is not set in the environment")]
        )
    llm = settings.llm
    if llm.api_key is not None:
        return llm.api_key.get_secret_value()
    if llm.api_key_env:
        if key := os.environ.get(llm.api_key_env):
            return key
        raise ConfigError([("llm.api_key_env", f"${llm.api_key_env} is not set")])
    if llm.api_key_credential:
        folder = os.environ.get("CREDENTIALS_DIRECTORY", "")
        path = Path(folder) / llm.api_key_credential
        if folder and path.is_file():
            return path.read_text().strip()
        raise ConfigError([("llm.api_key_credential", f"no credential {path}")])
    return ""


def shared_http_factory(connections: int) -> ModelFactory:
    """Clients that share one connection pool, sized for the requests in flight."""
    http = httpx2.Client(
        limits=httpx2.Limits(max_connections=connections + 4, max_keepalive_connections=connections)
    )
    return lambda name, endpoint: OpenAIChatModel(name, endpoint, http_client=http)
