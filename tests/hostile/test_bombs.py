"""Resource bombs (issue 12, class 6): hostile structure costs linear time and bounded memory.

Every bomb is made in code (tests/hostile/bombs.py). The parse of each runs in a subprocess
(tests/hostile/bomb_driver.py) and must finish in under 5 s with a clear record of what was cut;
`run --once` on a Maildir holding it must end in under 10 s with a recorded outcome and under
400 MB peak RSS.
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from connectors.maildir import HEADER_BYTES, MaildirSource, ensure_maildir
from daemon import pipeline
from daemon.app import Services, build_services
from daemon.config import Settings
from daemon.cycle import run_cycle
from daemon.kernel.item import Item
from daemon.kernel.outcomes import Outcome
from daemon.kernel.stage import Context, StageFn
from daemon.mail.bounce import decode_text
from daemon.mail.message import parse_bytes
from daemon.mail.mime import LIFT_BYTES, MAX_HEADER_CHARS, decode_words, parseable
from daemon.stages import parse, route
from daemon.store.engine import open_engine
from daemon.tables import Message, MessageParse, Quarantine, State
from tests.conftest import make_settings
from tests.hostile import bombs
from tests.llm.conftest import ToolService
from tests.llm.helpers import deliver, llm_settings, start_services
from tests.llm.scripted_server import ScriptedLLM

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def run_driver(*args: str, timeout: float = 120) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.hostile.bomb_driver", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env=ENV,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


# --- encoded words -------------------------------------------------------------------------


def test_encoded_word_subject_is_read_up_to_the_cap_with_a_defect() -> None:
    parsed = parse_bytes(bombs.encoded_words(20_000))
    # the space between encoded words is dropped (RFC 2047); no half word is left at the cut
    assert parsed.subject == "a" * len(parsed.subject)
    assert 1000 < len(parsed.subject) <= MAX_HEADER_CHARS
    assert any("only the first 16384 read" in d for d in parsed.defects)


def test_encoded_words_in_one_charset_are_still_joined() -> None:
    # a character split across two words survives the linear decoder
    assert decode_words("=?utf-8?q?caf=C3?= =?utf-8?q?=A9?= =?latin-1?q?=E9?=") == "caféé"


def test_bounce_reader_decodes_with_the_capped_decoder() -> None:
    value = " ".join(["=?utf-8?q?a?="] * 20_000)
    assert decode_text(value) == "a" * len(decode_text(value))
    assert 1000 < len(decode_text(value)) <= MAX_HEADER_CHARS
    assert decode_text("=?utf-8?q?R=C3=A9ponse?= automatique") == "Réponse automatique"


# --- every bomb parses in under 5 s --------------------------------------------------------


@pytest.mark.parametrize("name", sorted(bombs.BOMBS))
def test_bomb_parses_in_under_five_seconds(name: str) -> None:
    report = run_driver("parse", name)
    assert report["seconds"] < 5, report
    assert report["rss_mib"] < 400, report


# --- Maildir size cap ----------------------------------------------------------------------


def test_maildir_keeps_only_the_headers_of_an_oversized_file(tmp_path: Path) -> None:
    ensure_maildir(tmp_path)
    raw = bombs.long_line(200_000)
    (tmp_path / "new" / "1.big").write_bytes(raw)
    (tmp_path / "new" / "2.small").write_bytes(bombs.big_text(2_000))
    source = MaildirSource("in", tmp_path, max_message_bytes=100_000)
    big, small = list(source.fetch(None))
    assert big.raw == raw[: raw.index(b"\r\n\r\n") + 4]
    assert big.stub_reason == f"{len(raw)} bytes, over max_message_bytes (100000): not read"
    assert small.stub_reason is None and small.raw == bombs.big_text(2_000)
    source.ack(big)
    assert (tmp_path / "cur" / "1.big:2,").read_bytes() == raw  # never lost


def test_maildir_stub_without_a_blank_line_keeps_the_first_bytes(tmp_path: Path) -> None:
    ensure_maildir(tmp_path)
    (tmp_path / "new" / "1.junk").write_bytes(b"x" * 2_000_000)
    (stub,) = MaildirSource("in", tmp_path, max_message_bytes=1024).fetch(None)
    assert stub.raw == b"x" * HEADER_BYTES
    assert stub.stub_reason and stub.stub_reason.startswith("2000000 bytes")


def test_maildir_cap_is_a_config_key() -> None:
    settings = Settings(
        sources=[{"kind": "maildir", "name": "in", "path": "in", "max_message_bytes": 5000}]
    )
    assert settings.sources[0].max_message_bytes == 5000


# --- oversized text ------------------------------------------------------------------------


def test_text_body_over_a_megabyte_is_cut_with_a_defect_not_dropped() -> None:
    raw = bombs.big_text(3_000_000)
    parsed = parse_bytes(raw)
    assert parsed.attachments == ()
    assert parsed.text.startswith("Where is my order 1234?")
    assert 900_000 < len(parsed.text) <= LIFT_BYTES
    body = len(raw) - raw.index(b"\r\n\r\n") - 4
    assert f"text body of {body} bytes cut at" in " ".join(parsed.defects)


def test_base64_text_over_a_megabyte_is_cut_on_a_line_and_decoded() -> None:
    text = b"Ma commande n'est pas arriv\xc3\xa9e.\n" * 80_000
    raw = bombs.mail(
        b"b64text@evil.example",
        b"Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: base64\r\n",
        base64.encodebytes(text),
    )
    parsed = parse_bytes(raw)
    assert parsed.text.startswith("Ma commande n'est pas arrivée.")
    assert 700_000 < len(parsed.text) < 800_000
    assert any(d.startswith("text body of") for d in parsed.defects)


def test_attached_text_file_over_a_megabyte_keeps_its_hashes() -> None:
    data = b"log line\n" * 200_000
    raw = bombs.mail(
        b"log@evil.example",
        b'Subject: log\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n',
        b"--b\r\nContent-Type: text/plain\r\n\r\nSee the log.\r\n"
        b'--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename="a.log"\r\n'
        b"\r\n" + data + b"\r\n--b--\r\n",
    )
    parsed = parse_bytes(raw)
    assert parsed.text == "See the log."
    (log,) = parsed.attachments
    assert (log.filename, log.size) == ("a.log", len(data))
    assert log.sha256 == hashlib.sha256(data).hexdigest()
    assert not any(d.startswith("text body of") for d in parsed.defects)


# --- nesting -------------------------------------------------------------------------------


def test_deep_nesting_is_cut_in_one_pass_and_the_readable_text_kept() -> None:
    parsed = parse_bytes(bombs.nested(2_000))
    assert parsed.text == "Please read me."
    assert parsed.subject == "nested" and parsed.sender is not None
    assert parsed.defects == ("nesting deeper than 30: 1972 inner multiparts not read",)
    (opaque,) = parsed.attachments
    assert opaque.content_type == "x-deepcut/mixed"


def test_nesting_within_the_cap_is_read_whole() -> None:
    parsed = parse_bytes(bombs.nested(20))
    assert parsed.text == "Please read me.\ndeep"
    assert parsed.attachments == () and parsed.defects == ()


def test_other_readers_get_the_structure_the_parser_read() -> None:
    bounded = parseable(bombs.nested(2_000))
    msg = email.message_from_bytes(bounded, policy=email.policy.default)  # no RecursionError
    assert sum(1 for _ in msg.walk()) < 40
    assert parseable(bombs.big_text(10_000)) == bombs.big_text(10_000)


def test_deep_nesting_with_a_model_is_drafted_not_quarantined(
    tmp_path: Path, llm_server: ScriptedLLM, tool_service: ToolService
) -> None:
    # The injection scan and the image extractor read the raw mail with policy.default:
    # on main, three RecursionErrors in the draft stage, then quarantine.
    services = start_services(llm_settings(tmp_path, llm_server.url, tool_service.url))
    try:
        (row,) = deliver(services, bombs.nested(2_000))
    finally:
        services.close()
    assert row.state not in ("quarantined", "received", "parsed")
    assert row.failures == 0 and row.last_error is None
    assert any("Please read me." in str(r) for r in llm_server.requests)


# --- run --once on a Maildir holding each bomb ---------------------------------------------


def write_setup(base: Path, raws: dict[str, bytes], **pipeline: float) -> Path:
    """A Maildir holding `raws` (file name -> bytes) and a config with absolute paths."""
    inbox = base / "mail" / "inbox"
    ensure_maildir(inbox)
    for name, raw in raws.items():
        (inbox / "new" / name).write_bytes(raw)
    lines = [
        f'state_dir = "{base / "state"}"',
        "[[sources]]",
        'kind = "maildir"',
        'name = "inbox"',
        f'path = "{inbox}"',
        "[outbox]",
        'kind = "maildir"',
        f'path = "{base / "mail" / "outbox"}"',
        "[escalation]",
        'agents_address = "agents@example.com"',
        "[logging]",
        'level = "ERROR"',
        "[pipeline]",
        *(f"{key} = {value}" for key, value in pipeline.items()),
    ]
    config = base / "helpdeskd.toml"
    config.write_text("\n".join(lines) + "\n")
    return config


def driver_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "tests.hostile.bomb_driver", "run", *args]


def stored(config: Path) -> list[dict[str, Any]]:
    """Every message row, with its parse record and quarantine error."""
    engine = open_engine(f"sqlite:///{config.parent / 'state' / 'helpdeskd.db'}")
    try:
        with Session(engine) as session:
            rows = session.exec(select(Message).order_by(col(Message.id))).all()
            found = []
            for row in rows:
                parse = session.get(MessageParse, row.id)
                errors = session.exec(select(Quarantine).where(Quarantine.message_pk == row.id))
                found.append(
                    {
                        "key": row.source_key,
                        "state": row.state,
                        "reason": row.reason,
                        "stub_reason": row.stub_reason,
                        "defects": (parse.parsed.get("defects", []) if parse else []),
                        "quarantine": [q.error for q in errors],
                    }
                )
            return found
    finally:
        engine.dispose()


OUTCOMES = {
    "encoded_words": ("awaiting_approval", "header of 2799999 characters: only the first 16384"),
    "long_line": ("escalated", "kept as headers only: 50000168 bytes, over max_message_bytes"),
    "base64_part": ("escalated", "kept as headers only: 40000368 bytes, over max_message_bytes"),
    "nested": ("awaiting_approval", "nesting deeper than 30: 1972 inner multiparts not read"),
    "big_text": ("awaiting_approval", "text body of 1999998 bytes cut at 1048506 bytes"),
}


@pytest.mark.parametrize("name", sorted(bombs.BOMBS))
def test_run_once_on_a_bomb_ends_with_an_outcome_in_bounded_time_and_memory(
    tmp_path: Path, name: str
) -> None:
    plain = bombs.big_text(2_000).replace(b"text@evil", b"plain@evil")
    config = write_setup(tmp_path, {f"1.{name}": bombs.BOMBS[name](), "2.plain": plain})
    done = subprocess.run(
        driver_command("run", "--once", "--config", str(config)),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env=ENV,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    usage = json.loads(done.stdout.splitlines()[-1])
    bomb, other = stored(config)
    state, reason = OUTCOMES[name]
    assert bomb["state"] == state, bomb
    assert reason in f"{bomb['reason']} {' '.join(bomb['defects'])}", bomb
    assert other["state"] == "awaiting_approval", other  # the next message flows
    assert (tmp_path / "mail" / "inbox" / "cur" / f"1.{name}:2,").stat().st_size > 100_000
    assert usage["rss_mib"] < 400, usage
    assert usage["cpu_seconds"] < 10, usage  # CPU, not wall time: the machine is shared


# --- the time budget per stage ---------------------------------------------------------------


def dawdling(stage: StageFn, limit: float = 20.0) -> StageFn:
    """`stage`, but working `limit` seconds first on mail with an `X-Slow` header (short
    sleeps in Python: what a parse stuck on hostile structure looks like to the thread)."""

    def run(item: Item, ctx: Context) -> Item | Outcome:
        if b"X-Slow:" in item.raw:
            until = time.monotonic() + limit
            while time.monotonic() < until:
                time.sleep(0.01)
        return stage(item, ctx)

    return run


def slow_mail(n: int) -> bytes:
    return bombs.mail(b"slow%d@evil.example" % n, b"Subject: slow\r\nX-Slow: 1\r\n", b"Hi\r\n")


def plain_mail(n: int) -> bytes:
    return bombs.mail(b"plain%d@x.example" % n, b"Subject: Where is my order 1234?\r\n", b"Hi\r\n")


def states(services: Services) -> dict[str, tuple[str, str | None]]:
    with Session(services.engine) as session:
        rows = session.exec(select(Message).order_by(col(Message.id))).all()
        return {str(r.message_id): (r.state, r.reason) for r in rows}


def test_a_stuck_parse_on_the_main_thread_is_quarantined_and_the_others_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    step = pipeline.STEPS[State.received]
    monkeypatch.setitem(
        pipeline.STEPS, State.received, replace(step, stages=(dawdling(parse.run),))
    )
    services = build_services(inbox_settings(tmp_path, pipeline={"stage_seconds": 1}))
    inbox = tmp_path / "mail" / "inbox" / "new"
    for name, raw in (("1.a", plain_mail(1)), ("2.slow", slow_mail(2)), ("3.b", plain_mail(3))):
        (inbox / name).write_bytes(raw)
    try:
        run_cycle(services)  # pytest runs tests on the main thread: SIGALRM
        found = states(services)
    finally:
        services.close()
    assert found["slow2@evil.example"] == ("quarantined", "parse: stage parse exceeded 1 s")
    assert found["plain1@x.example"][0] == "awaiting_approval"
    assert found["plain3@x.example"][0] == "awaiting_approval"


def test_a_stuck_stage_in_a_worker_thread_is_quarantined_and_the_others_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    step = pipeline.STEPS[State.screened]  # route: runs on the worker pool
    monkeypatch.setitem(
        pipeline.STEPS, State.screened, replace(step, stages=(dawdling(route.run),))
    )
    settings = inbox_settings(tmp_path, pipeline={"workers": 3, "model_stage_seconds": 1})
    services = build_services(settings)
    inbox = tmp_path / "mail" / "inbox" / "new"
    for name, raw in (("1.a", plain_mail(1)), ("2.slow", slow_mail(2)), ("3.b", plain_mail(3))):
        (inbox / name).write_bytes(raw)
    try:
        run_cycle(services)
        found = states(services)
    finally:
        services.close()
    assert found["slow2@evil.example"] == ("quarantined", "route: stage route exceeded 1 s")
    assert found["plain1@x.example"][0] == "awaiting_approval"
    assert found["plain3@x.example"][0] == "awaiting_approval"


def inbox_settings(base: Path, **overrides: Any) -> Settings:
    ensure_maildir(base / "mail" / "inbox")
    return make_settings(base, **overrides)


# --- SIGTERM ---------------------------------------------------------------------------------


def start_run(config: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        driver_command(*args, "run", "--config", str(config)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=ENV,
    )


def stop_within(proc: subprocess.Popen[str], seconds: float) -> float:
    """SIGTERM `proc`; how long it took to exit (fails the test past `seconds`)."""
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(f"helpdeskd run still running {seconds} s after SIGTERM")
    return time.monotonic() - started


def test_sigterm_ends_run_within_ten_seconds_during_a_stuck_parse(tmp_path: Path) -> None:
    config = write_setup(tmp_path, {"1.slow": slow_mail(1)})
    proc = start_run(config, "--slow")
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "parsing slowly"  # the stage is running now
    took = stop_within(proc, 10)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    (row,) = stored(config)
    assert row["state"] == "received" and row["quarantine"] == []  # taken up at the next start
    assert took < 10


def test_sigterm_ends_run_within_ten_seconds_with_a_bomb_in_the_maildir(tmp_path: Path) -> None:
    config = write_setup(tmp_path, {"1.words": bombs.encoded_words()})
    proc = start_run(config)
    db = tmp_path / "state" / "helpdeskd.db"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (db.exists() and stored(config)):
        time.sleep(0.2)  # recorded: the pipeline job parses it now, or soon
    stop_within(proc, 10)
    assert proc.returncode == 0
    (row,) = stored(config)
    assert row["state"] in ("received", "parsed", "screened", "awaiting_approval"), row
