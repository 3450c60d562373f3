"""What `check-config` says about the model stack: each model and what it is assumed to do.

Decides nothing; it reads `[models.*]` as helpdeskd will use it: capabilities as declared (the
server may still refuse some at run time; `check-config --probe` asks it), streaming only when
both `[llm] stream` and the model allow it, the context window, the output cap and the
tokenizer that counts the prompt. The openai SDK is imported only when models are configured.
"""

from __future__ import annotations

from dataclasses import replace

from daemon.config import ModelSettings, Settings

OFFLINE = "offline (templates, always held for approval)"


def describe_models(settings: Settings) -> str:
    """One line per configured model: where, what it is assumed to do, and its sizes."""
    if not settings.models:
        return OFFLINE
    lines = []
    for task, m in settings.models.items():
        where = m.base_url or settings.llm.base_url or "(no base_url)"
        lines.append(
            f"{task}: {m.model} at {where} — {describe_capabilities(settings, m)}; "
            f"context {m.context_tokens} tokens, output cap {m.max_output_tokens}, "
            f"tokenizer {tokenizer_label(m)}"
        )
    indent = "\n" + " " * 12
    return "LLM (offline drafter as fallback)" + "".join(indent + x for x in lines)


def describe_capabilities(settings: Settings, m: ModelSettings) -> str:
    from connectors.llm import Capabilities

    caps = Capabilities(
        m.tools, m.json_mode, m.vision, m.streaming, m.stream_usage, tool_choice=m.tool_choice
    )
    if not settings.llm.stream:  # answers are not streamed, whatever the model could do
        caps = replace(caps, streaming=False)
    return caps.describe()


def tokenizer_label(m: ModelSettings) -> str:
    """The quicktok encoding that counts this model's tokens, or the chars/3 estimate."""
    from daemon.llm.budget import resolve_encoding

    encoding = resolve_encoding(m.tokenizer, m.model)
    name = getattr(encoding, "name", None) if encoding is not None else None
    if encoding is None:
        return "estimate (chars/3)"
    chosen = name or m.tokenizer
    return f"{chosen} (auto)" if m.tokenizer == "auto" else str(chosen)
