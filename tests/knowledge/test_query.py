"""Query building: what of an email is searched, and which terms survive."""

from __future__ import annotations

import pytest

from daemon.knowledge.query import (
    QueryTerm,
    email_query_text,
    kept_terms,
    plan_query,
)

# (subject, body, expected query text)
EMAILS: list[tuple[str, str, str]] = [
    (
        "Re: AW: [#123] Refund for order 5555",
        "Hi Team,\n\nmy parcel never arrived. Where is it?\n\nThanks,\nJohn\n\n"
        "On Mon, 1 Jan 2024 at 10:00, Support <support@example.com> wrote:\n> old text\n",
        "Refund for order 5555\nmy parcel never arrived. Where is it?",
    ),
    (
        "Fwd: printer error",
        "Hello, the printer shows E1234 since the update.\n> quoted line\nCan you help?\n"
        "Best regards,\nAnn",
        "printer error\nthe printer shows E1234 since the update.\nCan you help?",
    ),
    (
        "Rückerstattung",
        "Sehr geehrte Damen und Herren,\nich möchte mein Geld zurück.\n\nMit freundlichen Grüßen\n"
        "Eva\n\nAm 1. Januar 2024 schrieb Support <s@example.com>:\n> alt",
        "Rückerstattung\nich möchte mein Geld zurück.",
    ),
    (
        "[External] Login",
        "Dear Sir or Madam, I cannot log in.\n-----Original Message-----\nFrom: us\nold",
        "Login\nI cannot log in.",
    ),
    ("", "Thanks for the quick answer!", "Thanks for the quick answer!"),
]


@pytest.mark.parametrize(("subject", "body", "expected"), EMAILS)
def test_email_query_text(subject: str, body: str, expected: str) -> None:
    assert email_query_text(subject, body) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("My NovaCam X200 shows E1234", {"novacam", "x200", "e1234"}),
        ("order #123456 and order-5555", {"123456", "5555"}),
        ("ERR_CONNECTION_REFUSED in Chrome", {"err_connection_refus"}),
        ("Windows says 0x80070005", {"0x80070005"}),
        ("the iPhone app", {"iphon"}),
        ("nothing special here at all", set()),
    ],
)
def test_kept_terms(text: str, expected: set[str]) -> None:
    assert kept_terms(text, "en") == expected


DF = {"refund": 900, "parcel": 40, "damag": 12, "e1234": 3000, "photo": 300, "send": 5000}


def plan(text: str, max_terms: int = 24) -> list[QueryTerm]:
    return plan_query(text, ("en",), lambda _field, term: DF.get(term, 0), 10_000, max_terms)


def test_plan_keeps_codes_first_then_the_rarest_words() -> None:
    got = plan("Please send a refund: the parcel arrived damaged, error E1234, photo attached", 4)
    assert [(t.text, t.weight, t.common) for t in got] == [
        ("e1234", 1.5, False),
        ("damag", 1.0, False),
        ("parcel", 1.0, False),
        ("photo", 1.0, False),
    ]


def test_plan_drops_words_not_in_the_index_and_marks_common_ones() -> None:
    got = plan("Hello, kindly send the refund for my zzyzx")
    assert [(t.text, t.common) for t in got] == [("refund", False), ("send", True)]
    assert {t.field for t in got} == {"text_en"}


def test_plan_searches_the_detected_language_of_several() -> None:
    german = "Meine Bestellung ist nicht angekommen, bitte um Rückerstattung des Betrags"
    got = plan_query(german, ("en", "de"), lambda _f, _t: 1, 100, 24)
    assert {t.field for t in got} == {"text_de"}
    assert "bestell" in {t.text for t in got}
    unclear = plan_query("E1234", ("en", "de"), lambda _f, _t: 1, 100, 24)
    assert {t.field for t in unclear} == {"text_en", "text_de"}
