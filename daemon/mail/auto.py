"""Machine-written mail: auto-replies, out-of-office, lists, bulk and no-reply senders.

Decides whether a helpdesk may answer a message (RFC 3834 and the headers real autoresponders
set). Pure function of the message headers and sender.
"""

from __future__ import annotations

from email.message import Message

from daemon.records import AutoInfo


def detect_auto(msg: Message, sender: str | None) -> AutoInfo:
    value = str(msg.get("Auto-Submitted", "")).strip().lower()
    if value and value != "no":
        return AutoInfo(True, "auto_reply", f"Auto-Submitted: {value}")
    return AutoInfo()
