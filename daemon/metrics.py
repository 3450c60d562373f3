"""Prometheus metrics: what a sysadmin graphs and alerts on.

Decides the metric names (all `helpdeskd_*`) and owns the one registry. Modules import the
metric they update from here; `serve_metrics` exposes them over HTTP when `[metrics] port` is
set, together with gauges read from the store at scrape time. Labels are low-cardinality only
(state, source, outcome) — never an address or ticket id.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

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


class StoreCollector:
    """Gauges read from the store at scrape time, so they are right whatever process (or
    replica) did the work and whatever was rolled back: messages per state, the outbox per
    state, open quarantine entries and escalations."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())  # collected lazily: no store access when registering

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from daemon.tables import Escalation, Message, Outbox, Quarantine

        with Session(self.engine) as session:
            yield by_label(
                session, "helpdeskd_messages", "Messages by state", "state", Message.state
            )
            yield by_label(
                session, "helpdeskd_outbox", "Outbox rows by state", "state", Outbox.state
            )
            open_q = session.exec(
                select(func.count())
                .select_from(Quarantine)
                .where(col(Quarantine.released_at).is_(None))
            ).one()
            open_e = session.exec(
                select(func.count()).select_from(Escalation).where(Escalation.status == "open")
            ).one()
        yield GaugeMetricFamily("helpdeskd_quarantined", "Messages in quarantine", value=open_q)
        yield GaugeMetricFamily("helpdeskd_escalations_open", "Open escalations", value=open_e)


def by_label(session: Session, name: str, doc: str, label: str, column: Any) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=[label])
    for value, count in session.exec(select(column, func.count()).group_by(column)).all():
        family.add_metric([str(value)], count)
    return family


def serve_metrics(engine: Engine, port: int, address: str = "127.0.0.1") -> None:
    """Expose /metrics on `address:port` (a daemon thread) with the store's gauges added."""
    REGISTRY.register(StoreCollector(engine))
    start_http_server(port, addr=address, registry=REGISTRY)
