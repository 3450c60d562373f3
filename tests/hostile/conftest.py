"""The scripted LLM server and the example tool service, for the hostile tests with a model."""

from tests.llm.conftest import llm_server, tool_service

__all__ = ["llm_server", "tool_service"]
