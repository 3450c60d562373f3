"""Fixtures of the model-stack tests: the scripted LLM server and the example tool service,
both real HTTP servers on loopback."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.app import Services
from tests.llm.helpers import llm_settings, start_services
from tests.llm.scripted_server import ScriptedLLM, gullible_script

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))

from tool_service import ToolService as ToolService  # re-exported for tests/hostile


@pytest.fixture
def llm_server() -> Iterator[ScriptedLLM]:
    server = ScriptedLLM(gullible_script)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def tool_service() -> Iterator[ToolService]:
    service = ToolService()
    service.start()
    yield service
    service.stop()


@pytest.fixture
def llm_services(
    tmp_path: Path, llm_server: ScriptedLLM, tool_service: ToolService
) -> Iterator[Services]:
    """Services on the default LLM settings, talking to the scripted server and tool service."""
    built = start_services(llm_settings(tmp_path, llm_server.url, tool_service.url))
    yield built
    built.close()
