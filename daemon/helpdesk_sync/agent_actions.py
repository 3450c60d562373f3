"""What an agent decided about a draft, read from the helpdesk: commands, marks, own replies.

Decides how an approval, an edit or a rejection is expressed in a helpdesk. Everything counted
happens after our draft note on the ticket, read top to bottom:

- an internal note starting `#approve` approves; text after the command word (on the same line
  or the next ones) is the edited reply that is sent instead of the draft;
- `#edit` followed by text stages an edited reply without deciding: a later `#approve`, or the
  approval mark, sends the edited text;
- `#reject <reason>` rejects with that reason;
- the approval mark — RT's `AI Draft` custom field, a Zendesk or Freshdesk tag (a Zendesk macro
  can set it) — approves or rejects when no command decided; a rejection by mark takes its
  reason from the agent's latest plain note after the draft, if any;
- a public reply by an agent after the draft means the agent answered personally: the draft is
  rejected with that reason.

The first deciding command wins; notes we wrote ourselves (they carry `[helpdeskd-…]`) never
count. The prefix `#` is configurable per helpdesk (`command_prefix`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from connectors.helpdesk import Entry, Mark, normalise

OUR_MARK = "[helpdeskd-"


@dataclass(frozen=True, slots=True)
class AgentAction:
    action: Literal["approve", "reject"]
    actor: str
    body: str | None = None
    """The edited reply (None: the draft as written)."""
    reason: str = ""


def draft_marker(draft_id: int) -> str:
    return f"[helpdeskd-draft-{draft_id}]"


def escalation_marker(escalation_id: int) -> str:
    return f"[helpdeskd-escalation-{escalation_id}]"


def read_action(
    after_note: list[Entry],
    mark: Mark | None,
    *,
    prefix: str,
    helpdesk: str,
    our_replies: frozenset[str] = frozenset(),
) -> AgentAction | None:
    """The agent's decision on the draft whose note precedes `after_note`; None: undecided.
    `our_replies` are the (normalised) texts of replies we sent, which are not an agent's."""
    staged: str | None = None
    last_plain_note: Entry | None = None
    for entry in after_note:
        if entry.kind == "reply" and normalise(entry.text) not in our_replies:
            return AgentAction(
                "reject",
                actor_of(entry, helpdesk),
                reason=f"{actor_of(entry, helpdesk)} replied personally",
            )
        if entry.kind != "note" or OUR_MARK in entry.text:
            continue
        command, rest = split_command(entry.text, prefix)
        if command == "approve":
            return AgentAction("approve", actor_of(entry, helpdesk), body=rest or staged)
        if command == "reject":
            return AgentAction(
                "reject", actor_of(entry, helpdesk), reason=rest or "no reason given"
            )
        if command == "edit" and rest:
            staged = rest
        elif command is None:
            last_plain_note = entry
    return action_by_mark(mark, staged, last_plain_note, helpdesk)


def action_by_mark(
    mark: Mark | None, staged: str | None, last_note: Entry | None, helpdesk: str
) -> AgentAction | None:
    actor = f"agent in {helpdesk}"
    if mark == "approved":
        return AgentAction("approve", actor, body=staged)
    if mark == "rejected":
        reason = last_note.text.strip() if last_note else f"rejected in {helpdesk}"
        return AgentAction(
            "reject", actor_of(last_note, helpdesk) if last_note else actor, reason=reason[:1000]
        )
    return None


def split_command(text: str, prefix: str) -> tuple[str | None, str]:
    """('approve', 'the rest') for '#approve the rest'; (None, text) when no command leads."""
    stripped = text.strip()
    if not stripped.startswith(prefix):
        return None, stripped
    word, _, rest = stripped[len(prefix) :].partition("\n")
    word, _, same_line = word.strip().partition(" ")
    command = word.strip().lower().rstrip(":")
    if command not in ("approve", "edit", "reject"):
        return None, stripped
    body = "\n".join(part for part in (same_line.strip(), rest.strip("\n")) if part)
    return command, body.strip()


def actor_of(entry: Entry, helpdesk: str) -> str:
    who = entry.author.email or entry.author.name or "an agent"
    return f"{who} in {helpdesk}"
