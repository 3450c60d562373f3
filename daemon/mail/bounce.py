"""Delivery status notifications (bounces): which recipients failed, permanently or not."""

from __future__ import annotations

from email.message import Message

from daemon.records import Bounce


def detect_bounce(msg: Message) -> Bounce | None:
    if msg.get_content_type() != "multipart/report":
        return None
    return Bounce()
