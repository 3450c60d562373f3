"""Prometheus metrics: what a sysadmin graphs and alerts on.

Decides the metric names (all `helpdeskd_*`) and owns the one registry. Modules import the
metric they update from here; `serve_metrics` exposes them over HTTP when `[metrics] port` is
set, together with gauges read from the store at scrape time. Labels are low-cardinality only
(state, source, outcome, stage, task) — never an address or ticket id. Every name is its own
metric family: a gauge never shares its family with a counter's `_total` (Prometheus asks for
OpenMetrics first, whose parser rejects a page where two metrics clash), which
tests/ops/test_metrics_page.py checks on the whole page.
"""

from __future__ import annotations

import platform
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from daemon import __version__
from daemon.tables import Escalation, Message, Outbox, Quarantine, Usage, utcnow

REGISTRY = CollectorRegistry(auto_describe=True)

FETCHED = Counter(
    "helpdeskd_fetched_total", "Messages fetched per source", ["source"], registry=REGISTRY
)
SOURCE_FAILING = Gauge(
    "helpdeskd_source_failing",
    "1 while a source has failed longer than its alert time",
    ["source"],
    registry=REGISTRY,
)
OUTBOX = Counter(
    "helpdeskd_outbox_total", "Outbox deliveries by result", ["result"], registry=REGISTRY
)
QUARANTINED = Counter(
    "helpdeskd_quarantined_total", "Messages quarantined", ["stage"], registry=REGISTRY
)
SCREENED_OUT = Counter(
    "helpdeskd_screened_out_total",
    "Inbound messages the screen ignored, by rule (burst = a sender throttled)",
    ["rule"],
    registry=REGISTRY,
)

LLM_REQUESTS = Counter(
    "helpdeskd_llm_requests_total",
    "LLM requests by model and outcome (ok, unusable, truncated, transport, refused)",
    ["model", "outcome"],
    registry=REGISTRY,
)
LLM_RETRIES = Counter(
    "helpdeskd_llm_retries_total",
    "LLM attempts retried, by model and reason (timeout, server, rate_limited, connection)",
    ["model", "reason"],
    registry=REGISTRY,
)
LLM_TIMEOUTS = Counter(
    "helpdeskd_llm_timeouts_total",
    "LLM attempts that timed out or stalled (retried or not), by model",
    ["model"],
    registry=REGISTRY,
)
LLM_ESTIMATED = Counter(
    "helpdeskd_llm_estimated_total",
    "LLM requests whose tokens were estimated (the server reported no usage), by model",
    ["model"],
    registry=REGISTRY,
)

# --- service health: build, latency, credentials ---------------------------------------------

BUILD = Info("helpdeskd_build", "The helpdeskd version and Python running", registry=REGISTRY)
BUILD.info({"version": __version__, "python": platform.python_version()})

STAGE_SECONDS = Histogram(
    "helpdeskd_stage_seconds",
    "Time one pipeline stage took on one message",
    ["stage"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
    registry=REGISTRY,
)
OAUTH_TOKEN_EXPIRY = Gauge(
    "helpdeskd_oauth_token_expiry_seconds",
    "Unix time at which a source's OAuth2 refresh token is known to expire (set by the OAuth2 "
    "connector when it learns the token's lifetime)",
    ["source"],
    registry=REGISTRY,
)

# --- LLM calls, counted as each call's usage row is written (daemon.llm writes one per call) --

LLM_CALL_SECONDS = Histogram(
    "helpdeskd_llm_call_seconds",
    "Time one LLM request took, by task and outcome (ok, error)",
    ["task", "outcome"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300),
    registry=REGISTRY,
)
LLM_TOKENS = Counter(
    "helpdeskd_llm_tokens_total",
    "Tokens sent to (input) and received from (output) the LLM, by task",
    ["task", "direction"],
    registry=REGISTRY,
)
LLM_COST = Counter(
    "helpdeskd_llm_cost_total",
    "What the LLM requests cost, in [pricing] currency, by task",
    ["task"],
    registry=REGISTRY,
)


def count_llm_call(row: Usage) -> None:
    """One usage row is one request: observe its latency, tokens and cost (the model stack
    calls this beside its request counters, when it records the row)."""
    task = row.task or "unknown"
    outcome = "ok" if row.ok else "error"
    LLM_CALL_SECONDS.labels(task=task, outcome=outcome).observe(row.latency_ms / 1000)
    LLM_TOKENS.labels(task=task, direction="input").inc(row.input_tokens)
    LLM_TOKENS.labels(task=task, direction="output").inc(row.output_tokens)
    LLM_COST.labels(task=task).inc(max(0.0, row.cost))


class StoreCollector:
    """Gauges read from the store at scrape time, so they are right whatever process (or
    replica) did the work and whatever was rolled back: messages per state, the outbox per
    state and the age of its oldest unsent row, open quarantine entries and escalations,
    today's LLM spend beside its cap."""

    def __init__(self, engine: Engine, daily_cap: float = 0.0) -> None:
        self.engine = engine
        self.daily_cap = daily_cap

    def describe(self) -> Iterator[Metric]:
        return iter(())  # collected lazily: no store access when registering

    def collect(self) -> Iterator[Metric]:
        with Session(self.engine) as session:
            yield by_label(
                session, "helpdeskd_messages", "Messages by state", "state", Message.state
            )
            yield by_label(
                session, "helpdeskd_outbox_rows", "Outbox rows by state", "state", Outbox.state
            )
            yield outbox_age(session)
            yield GaugeMetricFamily(
                "helpdeskd_quarantined_messages",
                "Messages in quarantine (not released)",
                value=count(session, Quarantine, col(Quarantine.released_at).is_(None)),
            )
            yield GaugeMetricFamily(
                "helpdeskd_escalations_open",
                "Open escalations",
                value=count(session, Escalation, Escalation.status == "open"),
            )
            yield from self.spend(session)

    def spend(self, session: Session) -> Iterator[Metric]:
        midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        today = session.exec(
            select(func.coalesce(func.sum(Usage.cost), 0.0)).where(col(Usage.at) >= midnight)
        ).one()
        yield GaugeMetricFamily(
            "helpdeskd_llm_spend_today", "LLM spend since 00:00 UTC", value=float(today)
        )
        yield GaugeMetricFamily(
            "helpdeskd_llm_daily_cap", "[pricing] daily_cap (0: no cap)", value=self.daily_cap
        )


def count(session: Session, table: Any, where: Any) -> int:
    return int(session.exec(select(func.count()).select_from(table).where(where)).one())


def by_label(session: Session, name: str, doc: str, label: str, column: Any) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=[label])
    for value, n in session.exec(select(column, func.count()).group_by(column)).all():
        family.add_metric([str(value)], n)
    return family


def outbox_age(session: Session) -> GaugeMetricFamily:
    """Seconds since the oldest row of each not-yet-sent state was queued."""
    family = GaugeMetricFamily(
        "helpdeskd_outbox_oldest_age_seconds",
        "Age of the oldest outbox row in each state other than sent",
        labels=["state"],
    )
    now = utcnow()
    rows = session.exec(
        select(Outbox.state, func.min(Outbox.created_at))
        .where(Outbox.state != "sent")
        .group_by(Outbox.state)
    ).all()
    for state, oldest in rows:
        if oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)  # SQLite gives naive datetimes back
        family.add_metric([str(state)], max(0.0, (now - oldest).total_seconds()))
    return family


@dataclass
class MetricsServer:
    """The /metrics endpoint running in a daemon thread; `close` stops it (tests)."""

    server: Any
    thread: threading.Thread
    collector: StoreCollector

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        REGISTRY.unregister(self.collector)


def serve_metrics(
    engine: Engine, port: int, address: str = "127.0.0.1", daily_cap: float = 0.0
) -> MetricsServer:
    """Expose /metrics on `address:port` (a daemon thread) with the store's gauges added."""
    collector = StoreCollector(engine, daily_cap)
    REGISTRY.register(collector)
    server, thread = start_http_server(port, addr=address, registry=REGISTRY)
    return MetricsServer(server, thread, collector)
