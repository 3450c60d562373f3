"""reply: quoted history and signatures, on mail text as clients write it."""

from __future__ import annotations

import pytest

from daemon.mail.reply import extract_reply, split_signature, strip_quotes

QUOTES = [
    # (body, what the sender wrote now)
    (
        "Thanks!\n\nOn Tue, Apr 29, 2014 at 4:22 PM, Bob <bob@example.com> wrote:\n> old\n> text\n",
        "Thanks!",
    ),
    ("Danke\n\nAm 04.04.2012 um 08:24 schrieb Hans Müller <h@m.de>:\n\n> alt\n", "Danke"),
    ("Merci\n\nLe 23 janv. 2015 à 22:03, Brendan <b@x.com> a écrit :\n> vieux\n", "Merci"),
    ("Gracias\n\nEl 5 mar 2020, a las 10:00, Ana <ana@x.es> escribió:\n> viejo\n", "Gracias"),
    (
        "Ok, done.\n\n-----Original Message-----\nFrom: Bob [mailto:bob@x.com]\nSent: Monday\n"
        "To: me\nSubject: hi\n\nold text\n",
        "Ok, done.",
    ),
    (
        "Fine.\n\nVon: Bob <bob@x.com>\nGesendet: Montag, 1. Januar 2024 10:00\nAn: mich\n"
        "Betreff: hi\n\nalter Text\n",
        "Fine.",
    ),
    (
        "On Tue, 2011 at 18:02, Bob wrote:\n> question one\n\nanswer one\n\n> question two\n\n"
        "answer two\n",
        "answer one\n\nanswer two",
    ),
    (
        "FYI\n\n---------- Forwarded message ----------\nFrom: bob@example.com\nSubject: x\n\nbody",
        "FYI\n\n---------- Forwarded message ----------\nFrom: bob@example.com\nSubject: x\n\nbody",
    ),
    (
        "Visit us\n>>> http://www.domain.com <<<\nthanks",
        "Visit us\n>>> http://www.domain.com <<<\nthanks",
    ),
    ("On my way home I saw it.\nIt is broken.", "On my way home I saw it.\nIt is broken."),
]


@pytest.mark.parametrize(("body", "want"), QUOTES)
def test_strip_quotes(body: str, want: str) -> None:
    assert strip_quotes(body) == want


SIGNATURES = [
    # (body, sender, text, signature)
    ("Hey!\n\n-- \nRoman\nCEO", "", "Hey!", "-- \nRoman\nCEO"),
    ("Blah\n\nSent from my iPhone", "", "Blah", "Sent from my iPhone"),
    ("Blah\n\nVon meinem iPhone gesendet", "", "Blah", "Von meinem iPhone gesendet"),
    (
        "Where is it?\n\nMit freundlichen Grüßen\nHans",
        "",
        "Where is it?",
        "Mit freundlichen Grüßen\nHans",
    ),
    ("Refund please.\n\n-Abhishek Kona", "", "Refund please.", "-Abhishek Kona"),
    (
        "Here\n\nSent from my desk, is much easier then my mobile phone.",
        "",
        "Here\n\nSent from my desk, is much easier then my mobile phone.",
        None,
    ),
    ("--\nRoman", "", "--\nRoman", None),  # a body is never all signature
    ("List:\n- one\n- two", "", "List:\n- one\n- two", None),
    (
        "It broke.\n\nGina Smith\ngina@example.com\n(555) 346-9947",
        "Gina Smith",
        "It broke.",
        "Gina Smith\ngina@example.com\n(555) 346-9947",
    ),
]


@pytest.mark.parametrize(("body", "sender", "text", "signature"), SIGNATURES)
def test_split_signature(body: str, sender: str, text: str, signature: str | None) -> None:
    assert split_signature(body, sender) == (text, signature)


def test_extract_reply_strips_both() -> None:
    body = (
        "Where is order 42?\n\nThanks,\nAnna\n\n"
        "On Mon, 1 Jan 2024 at 10:00, Shop <s@x.com> wrote:\n> Your order\n"
    )
    reply = extract_reply(body, "Anna Lee <anna@x.com>")
    assert reply.text == "Where is order 42?"
    assert reply.signature == "Thanks,\nAnna"


def test_long_quote_lines_stay_fast() -> None:
    import time

    body = "Hi\n" + ">" * 200_000 + "\n" + "x " * 50_000
    started = time.perf_counter()
    strip_quotes(body)
    assert time.perf_counter() - started < 1.0


FILLER = "".join(f"line {n} of a long plain body, with nothing quoted in it\n" for n in range(300))


@pytest.mark.parametrize(("body", "want"), QUOTES)
def test_quote_headers_deep_in_a_long_body(body: str, want: str) -> None:
    """The per-line patterns run only on candidate lines: one far down is still found."""
    assert strip_quotes(FILLER + "\n" + body) == FILLER + "\n" + want
