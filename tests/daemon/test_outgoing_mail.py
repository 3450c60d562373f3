"""The reply layout: greeting in the customer's language, signature, AI disclosure."""

from __future__ import annotations

from dataclasses import replace

import pytest

from daemon.app import template_env
from daemon.config import Settings
from daemon.outgoing_mail import reply_recipient, wrap_reply
from daemon.records import Address, AuthResult
from tests.factories import parsed_mail

MAIL = parsed_mail(sender=Address("Anna Berg", "anna@x.de"), language="de")

LAYOUTS = [
    ("de", "Anna Berg", "Hallo Anna,", "KI-Assistenten"),
    ("de", "", "Guten Tag,", "KI-Assistenten"),
    ("es", "Ana", "Hola Ana:", "asistente de IA"),
    ("en", "Anna", "Hello Anna,", "AI assistant"),
    (None, "", "Hello,", "AI assistant"),
    ("ja", "Anna", "Hello Anna,", "AI assistant"),  # no Japanese layout: the default
]


@pytest.mark.parametrize(("language", "name", "greeting", "disclosure"), LAYOUTS)
def test_layout_per_language(
    language: str | None, name: str, greeting: str, disclosure: str
) -> None:
    settings = Settings()
    mail = replace(MAIL, language=language, sender=Address(name, "anna@x.de"))
    text = wrap_reply(template_env(settings), settings, mail, "Body.")
    lines = text.splitlines()
    assert lines[0] == greeting
    assert "Body." in text and settings.reply.signature in text and disclosure in text


def test_empty_disclosure_leaves_the_line_out() -> None:
    settings = Settings(reply={"ai_disclosure": "", "languages": {}})
    text = wrap_reply(template_env(settings), settings, replace(MAIL, language="en"), "Body.")
    assert "--" not in text and "AI" not in text


def test_reply_to_only_within_the_senders_domain() -> None:
    same = replace(MAIL, reply_to=(Address("", "team@x.de"),))
    other = replace(MAIL, reply_to=(Address("", "attacker@evil.example"),))
    assert reply_recipient(same) == Address("", "team@x.de")
    assert reply_recipient(other) == MAIL.sender


def test_a_verified_sender_is_answered_at_from_only() -> None:
    """Its reply may carry account data: never to Reply-To, not even in the same domain."""
    verified = replace(MAIL, auth=AuthResult(dmarc="pass", verified=True))
    assert reply_recipient(replace(verified, reply_to=(Address("", "team@x.de"),))) == MAIL.sender
