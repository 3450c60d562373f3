"""Vision: image attachments described by the vision model, for the draft's context.

Decides which attachments are sent and how. Only PNG, JPEG, GIF and WebP whose bytes match
their declared type (a renamed executable is not an image), each under `max_image_bytes`, at
most `max_images`; they go as `image_url` data URLs to the `vision` model, whose description
joins the draft's context as customer data (text in a screenshot is the customer's, not ours).
Without a vision model the draft only says how many images came.
"""

from __future__ import annotations

import base64
import email
import email.policy
from dataclasses import dataclass
from email.message import EmailMessage

import jinja2

from connectors.llm import ChatRequest, ChatResponse
from daemon.llm.prompts import system_prompt
from daemon.llm.stack import CallMeta, LLMStack

MAGIC: dict[str, tuple[bytes, ...]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}
DESCRIPTION_TOKENS = 300


@dataclass(frozen=True, slots=True)
class Image:
    filename: str
    content_type: str
    data: bytes

    def data_url(self) -> str:
        return f"data:{self.content_type};base64,{base64.b64encode(self.data).decode()}"


def is_image(content_type: str, data: bytes) -> bool:
    if content_type == "image/webp" and data[8:12] != b"WEBP":
        return False
    return any(data.startswith(m) for m in MAGIC.get(content_type, ()))


def extract_images(raw: bytes, max_images: int, max_bytes: int) -> tuple[list[Image], int]:
    """The images to send, and how many image attachments were left out."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    images: list[Image] = []
    skipped = 0
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype not in MAGIC:
            continue
        data = part.get_payload(decode=True)
        if (
            not isinstance(data, bytes)
            or len(data) > max_bytes
            or not is_image(ctype, data)
            or len(images) >= max_images
        ):
            skipped += 1
        else:
            images.append(Image(part.get_filename() or "image", ctype, data))
    return images, skipped


def describe_images(
    stack: LLMStack, templates: jinja2.Environment, raw: bytes, meta: CallMeta
) -> str:
    """What the vision model sees in the mail's images ("" when there are none)."""
    cfg = stack.settings.llm
    images, skipped = extract_images(raw, cfg.max_images, cfg.max_image_bytes)
    note = f"{skipped} image(s) not analysed (type, size or count limit)." if skipped else ""
    if not images:
        return note
    task = stack.task_for("vision")
    if task is None or not stack.capabilities(task).vision:
        return f"{len(images)} image(s) attached; no vision model is configured. {note}".strip()
    parts: list[dict[str, object]] = [
        {"type": "text", "text": "Attached images: " + ", ".join(i.filename for i in images)}
    ]
    parts += [{"type": "image_url", "image_url": {"url": i.data_url()}} for i in images]
    request = ChatRequest(
        messages=(
            {"role": "system", "content": system_prompt(templates, "vision")},
            {"role": "user", "content": parts},
        ),
        max_tokens=min(DESCRIPTION_TOKENS, stack.spec(task).max_output_tokens),
        stream=False,
    )
    answer = stack.call(task, request, meta)
    if not isinstance(answer, ChatResponse):
        return f"{len(images)} image(s) attached; the vision model failed ({answer.kind}). {note}"
    return f"{answer.content.strip()} {note}".strip()
