"""reply: the words daemon/mail/quote_header.py scores are data covering the 38 languages."""

from __future__ import annotations

import importlib.util

import pytest

from daemon.mail import lexicon
from daemon.mail.language import LANGUAGES
from daemon.mail.monthnames import MONTHS
from daemon.mail.quote_header import attribution_score, phone_footer, separator


@pytest.mark.parametrize(
    "table",
    [
        lexicon.WROTE,
        lexicon.ORIGINAL_MESSAGE,
        lexicon.SENT_FROM,
        MONTHS,
        *(lexicon.HEADER_LABELS[role] for role in ("from", "date", "to", "subject")),
    ],
)
def test_every_language_has_words(table: dict[str, tuple[str, ...]]) -> None:
    assert set(LANGUAGES) <= set(table)
    assert all(table[language] for language in LANGUAGES)


@pytest.mark.skipif(importlib.util.find_spec("babel") is None, reason="Babel not installed")
def test_month_names_are_cldrs() -> None:
    """The committed table is what the generator makes from CLDR today."""
    from daemon.mail.monthnames_build import month_names

    assert {language: month_names(language) for language in LANGUAGES} == MONTHS


@pytest.mark.parametrize(
    ("text", "score", "who", "when"),
    [
        ("On Tue, Mar 5, 2024 at 10:14 AM Ana <ana@example.org> wrote:", 8, True, True),
        ("2016-03-03 17:21 GMT+01:00 Ana <ana@example.org>:", 4, True, True),
        ("вт, 5 мар. 2024 г. в 10:14, Ana <ana@example.org>:", 4, True, True),
        ("Ana wrote:", 3, True, False),
        ("Here is the log:", 0, False, False),
        ("Meeting on 5 March 2024 at 10:14:", 2, False, True),  # a date and a time only
    ],
)
def test_attribution_evidence(text: str, score: int, who: bool, when: bool) -> None:
    assert attribution_score(text) == (score, who, when)


@pytest.mark.parametrize(
    ("line", "want"),
    [
        ("*-------- Original Message --------*", True),
        ("-----Ursprüngliche Nachricht-----", True),
        ("________ Исходное сообщение ________", True),
        ("-- Ana wrote --", True),
        ("-------- my notes --------", False),
    ],
)
def test_separator(line: str, want: bool) -> None:
    assert separator(line) is want


@pytest.mark.parametrize(
    ("line", "want"),
    [
        ("Sent from my iPhone", True),
        ("Envoyé depuis mon iPhone", True),
        ("Sent from Outlook Mobile<https://aka.ms/abc123>", True),
        ("Enviado desde mi oficina móvil BlackBerry® de Telcel", True),
        ("Sent from my desk, is much easier then my mobile phone.", False),
        ("Sent from the warehouse in Leeds on Monday last week by courier", False),
    ],
)
def test_phone_footer(line: str, want: bool) -> None:
    assert phone_footer(line) is want
