"""The rule router: a table of customer sentences and the intent they must reach."""

from __future__ import annotations

import pytest

from daemon.config import Settings
from daemon.offline.router import RuleRouter
from daemon.records import ParsedMail
from tests.factories import parsed_mail


def parsed(subject: str, text: str, language: str | None = "en") -> ParsedMail:
    return parsed_mail(subject=subject, text=text, reply_text=text, language=language)


CASES = [
    ("Refund please", "I returned the shoes, when do I get my money back?", "refund"),
    ("Where is my parcel", "Tracking says nothing for days.", "order_status"),
    ("Question", "Status of order #123456 please", "order_status"),
    ("App crash", "The app shows an error and crashes on start.", "technical"),
    ("Cannot log in", "I forgot my password.", "account"),
    ("GDPR", "Please delete my data and confirm under GDPR.", "data_privacy"),
    ("Order", "Refund my order or I will talk to my lawyer.", "legal"),
    ("Refund", "I want to speak to a human about my refund.", "human_request"),
    ("Hallo", "Ich möchte mit einem Menschen sprechen.", "human_request"),
    ("Rückerstattung", "Bitte um Rückerstattung für meine Bestellung.", "refund"),
    ("Hello", "Do you have gift cards?", "general"),
    ("Ordering", "Is ordering by phone possible?", "order_status"),
    ("Issue", "I have an issue with the app login, it shows an error.", "technical"),
    ("Suede", "How do I clean my suede boots?", "general"),
    ("Courtesy", "Thanks for the courtesy call.", "general"),
    ("Legal", "If this is not fixed I will sue you.", "legal"),
]


@pytest.mark.parametrize(("subject", "text", "intent"), CASES)
def test_rule_router(subject: str, text: str, intent: str) -> None:
    route = RuleRouter(Settings()).route_mail(parsed(subject, text))
    assert route.intent == intent, route
    settings = Settings().intents[intent]
    assert route.tools == settings.tools and route.namespaces == settings.namespaces
    assert route.policy == settings.policy and route.risk == settings.risk


def test_route_carries_language_and_confidence() -> None:
    route = RuleRouter(Settings()).route_mail(parsed("Hola", "¿Dónde está mi pedido?", "es"))
    assert route.intent == "order_status" and route.language == "es"
    assert 0.5 <= route.confidence <= 0.9
    fallback = RuleRouter(Settings()).route_mail(parsed("Hi", "Nice weather"))
    assert fallback.intent == "general" and fallback.confidence < 0.5


def test_word_match_does_not_fire_inside_other_words() -> None:
    route = RuleRouter(Settings()).route_mail(parsed("Hi", "Our border crossing was fine."))
    assert route.intent == "general"
