"""Prompts: the system prompts (templates/prompts/*.j2), customer content as delimited data, and
the JSON answers we accept back.

Decides how customer text enters a prompt and what a structured answer must look like. System
prompts are templates an operator can override per intent (`prompts/draft_<intent>.j2`, else
`prompts/draft.j2`). Everything that came from outside — the mail, its subject, attachment
names, earlier turns, an image description — goes into the user turn inside a
`<customer_… >` element — a forwarded message or a PDF's text in its own, labelled
(`mail_blocks`) — with anything resembling our delimiters or a chat template's role
tokens defused, so no text can close the element and speak as us. Answers are parsed leniently
(a reasoning model's `<think>` block and a code fence are dropped, a confidence of 1–100 is
read as a percentage) and validated strictly against the JSON Schema.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

import jinja2
from jsonschema import Draft202012Validator

from connectors.llm import JsonSchema
from daemon.llm.budget import TokenCounter
from daemon.mail.presented import extras_of, note_of
from daemon.records import ParsedMail

DELIMITER = re.compile(r"<\s*/?\s*(customer|passage|tool|system|assistant|data)[\w-]*[^>]*>", re.I)
ROLE_TOKENS = re.compile(r"<\|[^|>]{1,40}\|>|\[/?INST\]|<</?SYS>>", re.I)
THINK = re.compile(r"<think>.*?</think>", re.S | re.I)
FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.I)


def system_prompt(templates: jinja2.Environment, name: str, **context: Any) -> str:
    """Render `prompts/<name>_<intent>.j2` when it exists, else `prompts/<name>.j2`."""
    intent = context.get("intent")
    candidates = [f"prompts/{name}_{intent}.j2"] if intent else []
    template = templates.select_template([*candidates, f"prompts/{name}.j2"])
    return template.render(**context).strip()


def defuse(text: str) -> str:
    """Customer text that cannot open or close our delimiters or fake a chat role."""
    text = DELIMITER.sub(lambda m: m.group(0).replace("<", "‹").replace(">", "›"), text)
    return ROLE_TOKENS.sub("[removed]", text)


def data_block(kind: str, text: str, **attrs: str) -> str:
    """`text` wrapped as data: <customer_{kind} …>…</customer_{kind}>."""
    attributes = "".join(f' {k}="{defuse(v).replace(chr(34), chr(39))}"' for k, v in attrs.items())
    return f"<customer_{kind}{attributes}>\n{defuse(text).strip()}\n</customer_{kind}>"


EXTRA_SHARE = 0.5
"""Of a mail's token limit, what its forwarded messages and attachment texts may take at most
(less beside a long note); the note, which comes first, is cut only past the rest."""


def mail_blocks(
    mail: ParsedMail,
    mask: Callable[[str], str],
    counter: TokenCounter,
    tokens: int,
) -> str:
    """The mail as customer data within `tokens`: the subject and the customer's note (and
    the attachment names) in `<customer_email>`, then each forwarded message in
    `<customer_forwarded>` and each PDF text in `<customer_attachment>`, under its label
    ("Forwarded message from X (date, "subject"):"), every piece masked and defused the same.
    """
    note = note_of(mail)
    names = ", ".join(a.filename or "(unnamed)" for a in mail.attachments)
    text = f"Subject: {mail.subject}\n\n{note}" + (f"\n\nAttachments: {names}" if names else "")
    extras = extras_of(mail)
    share = extra_tokens(counter, note, tokens) if extras else 0
    email = counter.trim(data_block("email", mask(text)), tokens - share)
    left = tokens - counter.count(email)
    blocks = [email]
    for index, extra in enumerate(extras):
        attrs = {k: mask(v) for k, v in extra.attrs.items() if v}
        block = data_block(extra.kind, mask(f"{extra.label}\n{extra.text}"), **attrs)
        block = counter.trim(block, max(left // (len(extras) - index), 0))
        if counter.count(block) > MIN_EXTRA_TOKENS:
            left -= counter.count(block)
            blocks.append(block)
    return "\n\n".join(blocks)


MIN_EXTRA_TOKENS = 24
"""A labelled piece with less room than this is left out (its label would be all of it)."""


def extra_tokens(counter: TokenCounter, note: str, tokens: int) -> int:
    """Tokens kept for the extras: `EXTRA_SHARE` of `tokens`, fewer when a long note needs
    them (see `daemon.mail.presented.extra_budget`)."""
    most = int(tokens * EXTRA_SHARE)
    return min(most, max(most - counter.count(note), most // 2))


def passage_block(pid: str, title: str, text: str) -> str:
    return f'<passage id="{pid}" title="{defuse(title)}">\n{defuse(text).strip()}\n</passage>'


def parse_json_answer(text: str, schema: JsonSchema) -> tuple[dict[str, Any] | None, str]:
    """The answer as a validated object, or None and what is wrong with it."""
    body = FENCE.sub("", THINK.sub("", text).strip()).strip()
    start, end = body.find("{"), body.rfind("}")
    if start < 0 or end <= start:
        return None, "the answer holds no JSON object"
    try:
        data = json.loads(body[start : end + 1])
    except json.JSONDecodeError as exc:
        return None, f"the answer is not valid JSON ({exc.msg})"
    if not isinstance(data, dict):
        return None, "the answer is not a JSON object"
    data = as_fraction(data)
    errors = sorted(Draft202012Validator(schema.schema).iter_errors(data), key=str)
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "top level"
        return None, f"the answer ignores the schema ({where}: {errors[0].message[:120]})"
    return data, ""


def as_fraction(data: dict[str, Any]) -> dict[str, Any]:
    """A `confidence` above 1 and up to 100 read as a percentage (models often say 100 for
    sure): 0–100 becomes 0–1; anything else is left for the schema to judge."""
    value = data.get("confidence")
    if isinstance(value, int | float) and not isinstance(value, bool) and 1 < value <= 100:
        return {**data, "confidence": value / 100}
    return data


def triage_schema(intents: Sequence[str], risks: Sequence[str]) -> JsonSchema:
    return JsonSchema(
        "triage",
        {
            "type": "object",
            "properties": {
                "intent": {"type": "string", "enum": list(intents)},
                "language": {"type": "string", "pattern": "^[a-z]{2}$"},
                "risk": {"type": "string", "enum": [*risks, "none"]},
                "wants_human": {"type": "boolean"},
                "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            },
            "required": ["intent", "language", "risk", "wants_human", "confidence"],
            "additionalProperties": False,
        },
    )


DRAFT_SCHEMA = JsonSchema(
    "draft",
    {
        "type": "object",
        "properties": {
            "reply": {"type": "string", "minLength": 1},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "citations": {"type": "array", "items": {"type": "string"}},
            "needs_human": {"type": "boolean"},
            "reason": {"type": "string"},
        },
        "required": ["reply", "confidence", "citations", "needs_human", "reason"],
        "additionalProperties": False,
    },
)

ESCALATION_SCHEMA = JsonSchema(
    "escalation_summary",
    {
        "type": "object",
        "properties": {
            "customer": {"type": "string"},
            "wants": {"type": "string", "minLength": 1},
            "tried": {"type": "array", "items": {"type": "string"}},
            "tool_results": {"type": "array", "items": {"type": "string"}},
            "open_questions": {"type": "array", "items": {"type": "string"}},
            "next_step": {"type": "string", "minLength": 1},
        },
        "required": ["customer", "wants", "tried", "tool_results", "open_questions", "next_step"],
        "additionalProperties": False,
    },
)
