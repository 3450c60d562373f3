"""Reading a helpdesk: new customer messages into the pipeline, agents' decisions onto drafts.

Decides what one poll of a helpdesk does with each changed ticket. In `source` mode every
customer entry not yet stored, and newer than the ticket's last public reply (older ones were
answered already), becomes a message row — its raw bytes the helpdesk's stored email or a
faithful synthesised one — on our ticket for that helpdesk ticket, opened on first sight, so
the pipeline threads, screens and drafts it like mail. In both modes, a ticket with a draft
waiting for an agent is checked for the agent's action (`agent_actions.py`), which is applied
with `daemon.approvals` (approve queues the reply in the outbox, whose helpdesk sink posts it as
the public reply; reject records the reason) and the approval mark is then cleared. The cursor
is saved after each page, once all its tickets are handled, so a crash re-reads at most one
page and the store's uniqueness makes that harmless. With `[ownership] enabled`, the
conversation of every changed ticket of ours is read for public replies by agents that are not
ours: each gives the ticket to that agent, so the model stays out of it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from sqlmodel import Session, select

from connectors.base import FetchedMail
from connectors.helpdesk import Entry, Helpdesk, HelpdeskError, RemoteTicket, normalise
from daemon.approvals import ApprovalError, approve, reject
from daemon.config import HelpdeskSettings
from daemon.helpdesk_sync.agent_actions import AgentAction, actor_of, draft_marker, read_action
from daemon.helpdesk_sync.host import HelpdeskHost
from daemon.helpdesk_sync.links import (
    ensure_local_ticket,
    local_ticket,
    pending_draft,
    record_action,
    sent_reply_ids,
    sent_reply_texts,
    source_of,
)
from daemon.helpdesk_sync.sink import reply_marker, reply_text
from daemon.ownership import give_to_human
from daemon.store.cursors import advance_cursor
from daemon.store.engine import session_scope
from daemon.store.ingest import ingest
from daemon.tables import AuditEvent, Cursor, Draft, Message

log = logging.getLogger("helpdeskd.helpdesk")


@dataclass
class PollCounts:
    tickets: int = 0
    ingested: int = 0
    decided: int = 0
    failed: int = 0


def poll_helpdesk(services: HelpdeskHost, helpdesk: Helpdesk, cfg: HelpdeskSettings) -> PollCounts:
    counts = PollCounts()
    name = source_of(cfg.name)
    with session_scope(services.engine) as session:
        row = session.get(Cursor, name)
        cursor = row.value if row else None
    since = time.time() - cfg.lookback_hours * 3600
    for page in helpdesk.changed_tickets(cursor, since):
        for remote in page.tickets:
            counts.tickets += 1
            try:
                sync_ticket(services, helpdesk, cfg, remote, counts)
            except HelpdeskError as exc:
                if not (exc.permanent and exc.scope == "item"):
                    raise
                counts.failed += 1
                log.warning("%s ticket %s skipped: %s", cfg.name, remote.id, exc)
        with session_scope(services.engine) as session:
            advance_cursor(session, name, page.cursor)
    return counts


def sync_ticket(
    services: HelpdeskHost,
    helpdesk: Helpdesk,
    cfg: HelpdeskSettings,
    remote: RemoteTicket,
    counts: PollCounts,
) -> None:
    with session_scope(services.engine) as session:
        local = local_ticket(session, cfg.name, remote.id)
        draft = pending_draft(session, local.id) if local and local.id else None
    if local is None and cfg.mode == "mirror":
        return  # not a ticket we made: agents handle it alone
    watch_owner = services.settings.ownership.enabled
    if cfg.mode == "mirror" and draft is None and remote.mark is None and not watch_owner:
        return  # nothing of ours to read on it
    entries = helpdesk.conversation(remote)
    if cfg.mode == "source":
        counts.ingested += ingest_entries(services, helpdesk, cfg, remote, entries)
    if watch_owner:  # before the pipeline drafts for what was just ingested
        note_agent_replies(services, cfg, remote, entries)
    counts.decided += apply_decision(services, helpdesk, cfg, remote, entries)


def note_agent_replies(
    services: HelpdeskHost, cfg: HelpdeskSettings, remote: RemoteTicket, entries: list[Entry]
) -> None:
    """A public reply by an agent, not one of ours, gives our ticket to that agent
    (`daemon/ownership.py`); each reply does so once, so a handback is not undone by the
    same reply read again at the next poll."""
    with session_scope(services.engine) as session:
        local = local_ticket(session, cfg.name, remote.id)
        if local is None or local.id is None:
            return
        ours = frozenset(normalise(reply_text(raw)) for raw in sent_reply_texts(session, local.id))
        markers = [reply_marker(mid) for mid in sent_reply_ids(session, local.id)]
        seen = seen_agent_replies(session, local.id)
        for entry in entries:
            if entry.kind != "reply" or entry.id in seen or normalise(entry.text) in ours:
                continue
            if any(marker in entry.text for marker in markers):
                continue
            agent = actor_of(entry, cfg.name)
            record_action(session, AGENT_REPLY, local.id, entry=entry.id, agent=agent)
            give_to_human(session, local.id, agent, f"{agent} replied personally", actor=agent)


AGENT_REPLY = "helpdesk_agent_reply"


def seen_agent_replies(session: Session, ticket_id: int) -> set[str]:
    events = session.exec(
        select(AuditEvent).where(AuditEvent.kind == AGENT_REPLY, AuditEvent.ticket_id == ticket_id)
    ).all()
    return {str(e.detail.get("entry")) for e in events}


def waiting_entries(entries: list[Entry]) -> list[Entry]:
    """Customer entries after the last public reply: the ones nobody has answered yet."""
    last_reply = max((i for i, e in enumerate(entries) if e.kind == "reply"), default=-1)
    return [e for e in entries[last_reply + 1 :] if e.kind == "customer"]


def ingest_entries(
    services: HelpdeskHost,
    helpdesk: Helpdesk,
    cfg: HelpdeskSettings,
    remote: RemoteTicket,
    entries: list[Entry],
) -> int:
    source = source_of(cfg.name)
    added = 0
    for entry in waiting_entries(entries):
        key = f"{remote.id}:{entry.id}"
        if is_stored(services, source, key):
            continue
        raw = helpdesk.entry_bytes(remote, entry)  # network first, then one short transaction
        with session_scope(services.engine) as session:
            ticket_id = ensure_local_ticket(session, cfg.name, remote)
            result = ingest(session, source, FetchedMail(key=key, raw=raw))
            if not result.duplicate and result.message_pk is not None:
                message = session.get(Message, result.message_pk)
                assert message is not None
                message.ticket_id = ticket_id
                session.add(message)
                added += 1
    if added:
        log.info("%s ticket %s: %d new customer message(s)", cfg.name, remote.id, added)
    return added


def is_stored(services: HelpdeskHost, source: str, key: str) -> bool:
    with session_scope(services.engine) as session:
        found = session.exec(
            select(Message.id).where(Message.source == source, Message.source_key == key)
        ).first()
    return found is not None


def apply_decision(
    services: HelpdeskHost,
    helpdesk: Helpdesk,
    cfg: HelpdeskSettings,
    remote: RemoteTicket,
    entries: list[Entry],
) -> int:
    """Carry out an agent's decision on the ticket's pending draft; 1 when one was taken."""
    with session_scope(services.engine) as session:
        local = local_ticket(session, cfg.name, remote.id)
        draft = pending_draft(session, local.id) if local and local.id else None
        ours = (
            frozenset(normalise(reply_text(raw)) for raw in sent_reply_texts(session, local.id))
            if local and local.id
            else frozenset()
        )
    if draft is None or draft.id is None:
        if remote.mark is not None:
            helpdesk.clear_mark(remote)  # a mark left from a decided draft must not carry over
        return 0
    note_at = note_index(entries, draft_marker(draft.id))
    if note_at is None:
        return 0  # our note is not there yet: the push step posts it first
    decision = read_action(
        entries[note_at + 1 :],
        remote.mark,
        prefix=cfg.command_prefix,
        helpdesk=cfg.name,
        our_replies=ours,
    )
    if decision is None:
        return 0
    take_decision(services, draft, decision, cfg.name, remote.id)
    if remote.mark is not None:
        helpdesk.clear_mark(remote)
    return 1


def note_index(entries: list[Entry], marker: str) -> int | None:
    for i in range(len(entries) - 1, -1, -1):
        if entries[i].kind == "note" and marker in entries[i].text:
            return i
    return None


def take_decision(
    services: HelpdeskHost, draft: Draft, decision: AgentAction, helpdesk: str, remote_id: str
) -> None:
    assert draft.id is not None
    draft_id = draft.id
    try:
        if decision.action == "approve":
            approve(services, draft_id, decision.actor, body=decision.body)
        else:
            reject(services, draft_id, decision.actor, decision.reason)
    except ApprovalError as exc:  # decided meanwhile elsewhere (CLI, review page)
        log.info("%s ticket %s: %s", helpdesk, remote_id, exc)
        return
    with session_scope(services.engine) as session:
        record_action(
            session,
            "helpdesk_decision",
            draft.ticket_id,
            helpdesk=helpdesk,
            helpdesk_ticket_id=remote_id,
            draft_id=draft_id,
            action=decision.action,
            agent=decision.actor,
            edited=decision.body is not None,
            reason=decision.reason,
        )
    # The agent's address stays in the audit row; logs carry no addresses.
    log.info(
        "%s ticket %s: draft %d %sd by an agent", helpdesk, remote_id, draft_id, decision.action
    )
