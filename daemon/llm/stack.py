"""The model stack: one client per configured task, and the one door every request goes through.

Decides which model serves a purpose and what surrounds each request. Purposes map to tasks
with fallbacks — triage routes; English mail is drafted by `reasoning` (else `triage`), other
languages by `multilingual` first; a prompt too long for the drafting model goes to
`long_context`; images go to `vision` only. `call` checks the cost caps, limits requests in
flight (`max_concurrent_requests`), sends, and records a usage row — model, tokens (the
server's, else our estimate), latency, cost, error — in its own short transaction, so spend is
never lost when the stage fails later. It returns the answer or a `Failure` value: callers
fall back, they never see an exception from the network.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
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
from daemon.config import ModelSettings, ModelTask, Settings
from daemon.errors import ConfigError
from daemon.llm.budget import TokenCounter, resolve_encoding
from daemon.llm.cost import CostGuard, Price, price_of
from daemon.llm.pii import PiiMasker
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
            self.record(
                task,
                meta,
                response.usage or self.estimate(task, raw_in, response),
                raw_in,
                response.latency,
                ok=True,
            )
        if response.usage is not None:
            counter.calibrate(raw_in, response.usage.input_tokens)
        return response

    def estimate(self, task: ModelTask, raw_in: int, response: ChatResponse) -> TokenUsage:
        """Usage when the server reported none (a stream without usage): our own counts."""
        counter = self.counters[task]
        answer = response.content + "".join(c.name + c.arguments for c in response.tool_calls)
        return TokenUsage(math.ceil(raw_in * counter.factor), counter.count(answer))

    def failed(
        self, task: ModelTask, meta: CallMeta, exc: ConnectorError, raw_in: int, latency: float
    ) -> Failure:
        kind = exc.kind if isinstance(exc, LLMError) else "connection"
        usage = exc.usage if isinstance(exc, LLMError) else None
        # A request the server answered (truncated, filtered, malformed) is billed.
        billed = usage is not None or kind in ("truncated", "filtered", "malformed", "empty")
        if billed:
            self.record(task, meta, usage, raw_in, latency, ok=False, error=str(exc))
        else:
            self.record(task, meta, TokenUsage(0, 0), 0, latency, ok=False, error=str(exc))
        log.warning("message %s: %s (%s) failed: %s", meta.message_pk, task, meta.purpose, exc)
        return Failure(str(exc), kind)

    def record(
        self,
        task: ModelTask,
        meta: CallMeta,
        usage: TokenUsage | None,
        raw_in: int,
        latency: float,
        *,
        ok: bool,
        error: str | None = None,
    ) -> None:
        if usage is None:  # no usage from the server: our estimate, output unknown
            usage = TokenUsage(self.counters[task].count_messages([]) + raw_in, 0)
        cost = self.prices[task].of(usage.input_tokens, usage.output_tokens)
        if not ok and usage.input_tokens == 0:
            cost = 0.0  # refused before any work: nothing billed
        row = Usage(
            ticket_id=meta.ticket_id,
            message_pk=meta.message_pk,
            intent=meta.intent,
            kind=f"llm:{meta.purpose}",
            name=self.spec(task).model,
            task=task,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            latency_ms=int(latency * 1000),
            cost=cost,
            ok=ok,
            error=error[:500] if error else None,
        )
        record_usage(self.engine, row, meta.session)


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
