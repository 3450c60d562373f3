"""What `check-config` says about the model stack: each model and what it is assumed to do.

Decides nothing; it reads `[models.*]` (capabilities are declared, not probed, so the operator
sees what helpdeskd will rely on). The openai SDK is imported only when models are configured.
"""

from __future__ import annotations

from daemon.config import Settings

OFFLINE = "offline (templates, always held for approval)"


def describe_models(settings: Settings) -> str:
    """One line per configured model and the capabilities it is assumed to have."""
    if not settings.models:
        return OFFLINE
    from connectors.llm import Capabilities

    lines = []
    for task, m in settings.models.items():
        caps = Capabilities(m.tools, m.json_mode, m.vision, m.streaming, m.stream_usage)
        where = m.base_url or settings.llm.base_url or "(no base_url)"
        lines.append(f"{task}: {m.model} at {where} — {caps.describe()}")
    indent = "\n" + " " * 12
    return "LLM (offline drafter as fallback)" + "".join(indent + x for x in lines)
