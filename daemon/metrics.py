"""Prometheus metrics: what a sysadmin graphs and alerts on.

Decides the metric names (all `helpdeskd_*`) and owns the one registry. Modules import the
metric they update from here; `serve_metrics` exposes them over HTTP when `[metrics] port` is
set. Labels are low-cardinality only (state, source, outcome) — never an address or ticket id.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

REGISTRY = CollectorRegistry(auto_describe=True)

MESSAGES = Counter(
    "helpdeskd_messages_total",
    "Messages that reached a final state",
    ["state"],
    registry=REGISTRY,
)
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


def serve_metrics(port: int, address: str = "127.0.0.1") -> None:
    start_http_server(port, addr=address, registry=REGISTRY)
