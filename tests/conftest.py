"""Shared fixtures: the conformance corpus, and settings/services on a temporary state dir."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from daemon.app import Services, build_services
from daemon.config import MaildirSink, MaildirSource, Settings, resolve_paths

# Fixtures that start real servers (tests/peers/); each helper adds its module here.
pytest_plugins = ["tests.peers.postgres", "tests.peers.mail", "tests.peers.rt"]

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("HELPDESKD_CORPUS", REPO.parent / "shared" / "corpus"))


@pytest.fixture(autouse=True)
def _keep_umask() -> Iterator[None]:
    """Every `helpdeskd` command sets umask 0077 (daemon.private); a test that runs one in
    process gets the test process's umask back, so later tests' peers can read their files."""
    before = os.umask(0o022)
    os.umask(before)
    yield
    os.umask(before)


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """../shared/corpus (or $HELPDESKD_CORPUS); the test is skipped when it is absent."""
    if not CORPUS.is_dir():
        pytest.skip(f"conformance corpus not found at {CORPUS} (set HELPDESKD_CORPUS)")
    return CORPUS


def make_settings(base: Path, **overrides: Any) -> Settings:
    """Settings rooted in `base` (state, Maildirs), with keyword overrides per section."""
    data: dict[str, Any] = {
        "state_dir": "state",
        "sources": [{"kind": "maildir", "name": "inbox", "path": "mail/inbox"}],
        "outbox": {"kind": "maildir", "path": "mail/outbox"},
        **overrides,
    }
    return resolve_paths(Settings(**data), base)


def inbox(settings: Settings) -> Path:
    """The Maildir of the first source (make_settings configures a Maildir, typed here once)."""
    source = settings.sources[0]
    assert isinstance(source, MaildirSource)
    return source.path


def outbox_dir(settings: Settings) -> Path:
    """The Maildir the outbox writes to (make_settings' default sink)."""
    assert isinstance(settings.outbox, MaildirSink)
    return settings.outbox.path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    for sub in ("new", "cur", "tmp"):
        (tmp_path / "mail" / "inbox" / sub).mkdir(parents=True)
    return make_settings(tmp_path)


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    svc = build_services(settings)
    yield svc
    svc.close()
