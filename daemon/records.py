"""The immutable records that flow through the pipeline.

Each stage takes a frozen record and returns a new one (or an outcome); nothing here is mutated
in place. `ParsedMail` *is* the parse contract of `helpdeskd parse --json`: its `to_json()` gives
exactly the documented keys, and `from_json()` reads it back from the store, so the stored form
and the CLI form can never drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

AutoKind = Literal["auto_reply", "out_of_office", "bounce", "complaint", "list", "bulk", "noreply"]


@dataclass(frozen=True, slots=True)
class Address:
    name: str
    email: str

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Address | None:
        return None if data is None else cls(name=data["name"], email=data["email"])


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str | None
    content_type: str
    size: int
    md5: str
    sha256: str
    inline: bool
    content_id: str | None


@dataclass(frozen=True, slots=True)
class AutoInfo:
    """Whether the mail was written by a machine, and why we think so."""

    is_auto: bool = False
    kind: AutoKind | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Bounce:
    permanent: tuple[str, ...] = ()
    temporary: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AuthResult:
    """Authentication-Results as written by a trusted receiving server."""

    dmarc: str | None = None
    dkim: str | None = None
    spf: str | None = None
    verified: bool = False
    reason: str = ""
    """Why the sender is not verified (empty when it is, or when there was nothing to read)."""


@dataclass(frozen=True, slots=True)
class ParsedMail:
    message_id: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    sender: Address | None
    reply_to: tuple[Address, ...]
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    subject: str
    date: str | None
    text: str
    reply_text: str
    signature: str | None
    html: bool
    attachments: tuple[Attachment, ...]
    language: str | None
    auto: AutoInfo
    bounce: Bounce | None
    auth: AuthResult
    defects: tuple[str, ...]
    headers: dict[str, str] = field(default_factory=dict)
    """A few raw headers later stages need (Auto-Submitted, List-Id…); not in the JSON contract."""

    def to_json(self) -> dict[str, Any]:
        """The documented parse contract (see README, "helpdeskd parse")."""
        return {
            "message_id": self.message_id,
            "in_reply_to": self.in_reply_to,
            "references": list(self.references),
            "from": None if self.sender is None else flat(self.sender),
            "reply_to": [flat(a) for a in self.reply_to],
            "to": [flat(a) for a in self.to],
            "cc": [flat(a) for a in self.cc],
            "subject": self.subject,
            "date": self.date,
            "text": self.text,
            "reply_text": self.reply_text,
            "signature": self.signature,
            "html": self.html,
            "attachments": [flat(a) for a in self.attachments],
            "language": self.language,
            "auto": flat(self.auto),
            "bounce": None
            if self.bounce is None
            else {
                "permanent": list(self.bounce.permanent),
                "temporary": list(self.bounce.temporary),
            },
            "auth": flat(self.auth),
            "defects": list(self.defects),
        }

    def to_store(self) -> dict[str, Any]:
        """The contract plus the extra headers, as kept in the store. A `reply_text` that is
        the start of `text` (most mail: the text less its quote and signature) is kept as its
        length, `reply_chars`, not as a second copy: read it with `stored_reply_text`."""
        data = {**self.to_json(), "headers": dict(self.headers)}
        if self.text.startswith(self.reply_text):
            del data["reply_text"]
            data["reply_chars"] = len(self.reply_text)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ParsedMail:
        bounce = data.get("bounce")
        return cls(
            message_id=data["message_id"],
            in_reply_to=data["in_reply_to"],
            references=tuple(data["references"]),
            sender=Address.from_json(data["from"]),
            reply_to=_addresses(data["reply_to"]),
            to=_addresses(data["to"]),
            cc=_addresses(data["cc"]),
            subject=data["subject"],
            date=data["date"],
            text=data["text"],
            reply_text=stored_reply_text(data),
            signature=data["signature"],
            html=data["html"],
            attachments=tuple(Attachment(**a) for a in data["attachments"]),
            language=data["language"],
            auto=AutoInfo(**data["auto"]),
            bounce=None
            if bounce is None
            else Bounce(tuple(bounce["permanent"]), tuple(bounce["temporary"])),
            auth=AuthResult(**data["auth"]),
            defects=tuple(data["defects"]),
            headers=dict(data.get("headers", {})),
        )


def stored_reply_text(data: Mapping[str, Any]) -> str:
    """`reply_text` of a parse result as `to_json` or `to_store` wrote it."""
    if "reply_text" in data:
        return str(data["reply_text"] or "")
    return str(data.get("text") or "")[: int(data.get("reply_chars") or 0)]


def flat(record: Address | Attachment | AutoInfo | AuthResult) -> dict[str, Any]:
    """A record of plain values as a dict: `asdict` without its deep copy, which cost more
    than the rest of `to_json` on every stored parse."""
    return {name: getattr(record, name) for name in record.__slots__}


def _addresses(items: list[dict[str, Any]]) -> tuple[Address, ...]:
    return tuple(Address(name=a["name"], email=a["email"]) for a in items)


@dataclass(frozen=True, slots=True)
class Route:
    """Where a message goes: the intent and everything the intent table attaches to it."""

    intent: str
    language: str | None
    risk: str | None
    wants_human: bool
    confidence: float
    tools: tuple[str, ...]
    namespaces: tuple[str, ...]
    policy: str
    router: str = "rules"
    matched: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Route:
        return cls(
            **{
                **data,
                "tools": tuple(data["tools"]),
                "namespaces": tuple(data["namespaces"]),
                "matched": tuple(data.get("matched", ())),
            }
        )


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved knowledge-base passage; drafts cite it by `id`."""

    id: str
    title: str
    namespace: str
    text: str
    score: float
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Passage:
        return cls(**data)


@dataclass(frozen=True, slots=True)
class ToolResult:
    name: str
    arguments: dict[str, Any]
    ok: bool
    result: Any
    error: str | None = None


@dataclass(frozen=True, slots=True)
class DraftedReply:
    reply: str
    confidence: float
    citations: tuple[str, ...]
    needs_human: bool
    reason: str
    drafter: str
    tool_results: tuple[ToolResult, ...] = ()
    escalate: str | None = None
    """Set by a drafter that found a reason to hand the ticket to a human (a tool failed, a
    spend cap was reached): `decide` escalates with this reason."""
