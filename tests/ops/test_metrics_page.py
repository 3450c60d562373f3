"""The /metrics page as Prometheus reads it: OpenMetrics first, no clashing families, and
`promtool check metrics` clean; the new families carry real values."""

from __future__ import annotations

import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from datetime import timedelta

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families
from prometheus_client.parser import text_string_to_metric_families as text_families

from daemon.app import Services
from daemon.config import Settings
from daemon.cycle import run_cycle
from daemon.metrics import MetricsServer, count_llm_call, serve_metrics
from daemon.store.engine import session_scope
from daemon.tables import Outbox, Usage, utcnow
from tests.daemon.test_metrics import free_port
from tests.daemon.test_pipeline import deliver, mail

OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"


@pytest.fixture
def endpoint(settings: Settings, services: Services) -> Iterator[MetricsServer]:
    deliver(settings, "1", mail())
    run_cycle(services)
    with session_scope(services.engine) as session:
        usage = Usage(task="triage", input_tokens=120, output_tokens=30, latency_ms=800, cost=0.25)
        session.add(usage)
        count_llm_call(usage)  # what the model stack does beside recording the row
        session.add(
            Outbox(
                message_id="<failed@helpdeskd.test>",
                sender="support@example.com",
                raw=b"Subject: x\r\n\r\nx\r\n",
                state="failed",
                created_at=utcnow() - timedelta(hours=2),
            )
        )
    server = serve_metrics(services.engine, free_port(), daily_cap=1.0)
    yield server
    server.close()


def scrape(server: MetricsServer, accept: str = "") -> str:
    request = urllib.request.Request(f"http://127.0.0.1:{server.port}/metrics")
    if accept:
        request.add_header("Accept", accept)
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (http only)
        body: bytes = response.read()
    return body.decode()


def test_the_openmetrics_page_parses_without_a_clash(endpoint: MetricsServer) -> None:
    page = scrape(endpoint, OPENMETRICS)
    families = {f.name: f for f in text_string_to_metric_families(page)}  # type: ignore[no-untyped-call]
    assert families["helpdeskd_outbox_rows"].type == "gauge"
    assert families["helpdeskd_outbox"].type == "counter"  # helpdeskd_outbox_total
    assert families["helpdeskd_quarantined_messages"].type == "gauge"
    assert families["helpdeskd_build"].type == "info"
    assert families["helpdeskd_stage_seconds"].type == "histogram"
    assert families["helpdeskd_llm_call_seconds"].type == "histogram"
    assert families["helpdeskd_oauth_token_expiry_seconds"].type == "gauge"


def test_the_new_families_have_real_values(endpoint: MetricsServer) -> None:
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_families(scrape(endpoint))
        for s in family.samples
    }
    assert samples[("helpdeskd_outbox_rows", (("state", "failed"),))] == 1
    age = samples[("helpdeskd_outbox_oldest_age_seconds", (("state", "failed"),))]
    assert 7100 < age < 7400
    assert (
        samples[("helpdeskd_llm_tokens_total", (("direction", "input"), ("task", "triage")))] >= 120
    )
    assert samples[("helpdeskd_llm_cost_total", (("task", "triage"),))] >= 0.25
    assert samples[("helpdeskd_llm_spend_today", ())] >= 0.25
    assert samples[("helpdeskd_llm_daily_cap", ())] == 1.0
    assert (
        samples[("helpdeskd_llm_call_seconds_count", (("outcome", "ok"), ("task", "triage")))] >= 1
    )
    parsed = [k for k in samples if k[0] == "helpdeskd_stage_seconds_count"]
    assert (("stage", "parse"),) in [labels for _, labels in parsed]
    build = [k for k in samples if k[0] == "helpdeskd_build_info"]
    assert build and dict(build[0][1])["version"]


def test_promtool_check_metrics_is_clean(endpoint: MetricsServer) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (apt-get install prometheus; tests/peers/provision.sh)")
    result = subprocess.run(
        [promtool, "check", "metrics"],
        input=scrape(endpoint),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr
