"""helpdeskd inside helpdesks: agents see drafts, approve, edit or reject them where they work.

The package drives the connectors of `connectors/helpdesk` (Request Tracker, Zendesk,
Freshdesk): `poll` reads new customer messages and agents' decisions, `push` writes mirrored
mail, draft notes and escalations, `decisions` reads what an agent decided, `sink` sends
approved replies through the helpdesk, `links` remembers what was done where, and `runner`
schedules all of it and disables a helpdesk whose credentials stop working.
"""

from daemon.helpdesk_sync.runner import add_helpdesk_jobs, poll_helpdesks, push_helpdesks

__all__ = ["add_helpdesk_jobs", "poll_helpdesks", "push_helpdesks"]
