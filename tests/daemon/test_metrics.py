"""/metrics: the store's gauges at scrape time and the counters of this process."""

from __future__ import annotations

import socket
import urllib.request
from pathlib import Path

from daemon.app import Services
from daemon.config import Settings
from daemon.cycle import run_cycle
from daemon.metrics import serve_metrics
from tests.daemon.test_pipeline import deliver, mail


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_metrics_endpoint(settings: Settings, services: Services, tmp_path: Path) -> None:
    deliver(settings, "1", mail())
    deliver(settings, "2", mail(sender="x@example.org", msgid="o@x", Auto_Submitted="auto-replied"))
    run_cycle(services)
    port = free_port()
    endpoint = serve_metrics(services.engine, port)
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()
    finally:
        endpoint.close()
    text = body.decode()
    assert 'helpdeskd_messages{state="awaiting_approval"} 1.0' in text
    assert 'helpdeskd_messages{state="ignored"} 1.0' in text
    assert "helpdeskd_quarantined_messages 0.0" in text
    assert 'helpdeskd_fetched_total{source="inbox"}' in text
    assert 'helpdeskd_screened_out_total{rule="machine_written"}' in text
