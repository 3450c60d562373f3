"""Wiring: the model stack's services, built once when an endpoint is configured.

Decides whether the LLM router and drafter serve the pipeline: only when `[models.*]` name a
reachable endpoint; otherwise the rule router and the offline drafter do, and nothing here is
imported (the `openai` SDK is not loaded by commands that do not need it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jinja2
from sqlalchemy import Engine

from daemon.config import Settings
from daemon.kernel.item import Item
from daemon.kernel.stage import Context
from daemon.llm.drafter import LLMDrafter
from daemon.llm.router import LLMRouter
from daemon.llm.stack import LLMStack, ModelFactory
from daemon.llm.summary import escalation_brief
from daemon.offline.drafter import OfflineDrafter
from daemon.tools import ToolRegistry


@dataclass
class ModelServices:
    """The model stack's roles; it is itself the `ModelStack` a stage calls directly."""

    stack: LLMStack
    tools: ToolRegistry
    router: LLMRouter
    drafter: LLMDrafter
    templates: jinja2.Environment

    def escalation_brief(
        self, item: Item, details: dict[str, Any], ctx: Context
    ) -> dict[str, Any] | None:
        return escalation_brief(self.stack, self.templates, item, details, ctx)

    def close(self) -> None:
        self.stack.close()
        self.tools.close()


def build_model_services(
    settings: Settings,
    engine: Engine,
    templates: jinja2.Environment,
    factory: ModelFactory | None = None,
) -> ModelServices | None:
    stack = LLMStack.build(settings, engine, factory)
    if stack is None:
        return None
    tools = ToolRegistry.from_settings(settings)
    # The fallback keeps the read-only tools: its drafts still show the order status.
    offline = OfflineDrafter(templates, settings, tools=tools)
    return ModelServices(
        stack=stack,
        tools=tools,
        router=LLMRouter(settings, stack, templates),
        drafter=LLMDrafter(settings, stack, templates, tools, offline),
        templates=templates,
    )
