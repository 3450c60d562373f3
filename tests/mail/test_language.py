"""language: a code for real sentences, None for text too short to tell."""

from __future__ import annotations

import pytest

from daemon.mail.language import detect_language

CASES = [
    ("Where is my order? It has been two weeks since I paid.", "en"),
    ("Hallo, ich habe eine Frage zu meiner Bestellung vom Montag.", "de"),
    ("Bonjour, je voudrais être remboursé pour ma commande.", "fr"),
    ("Hola, ¿dónde está mi pedido? Lo pagué hace dos semanas.", "es"),
    ("Goedemiddag, mijn bestelling is nog steeds niet aangekomen.", "nl"),
    ("Здравствуйте, где мой заказ? Я оплатил его неделю назад.", "ru"),
    ("转发：整体提升企业服务水平", "zh"),
    # only the start is read: a German mail above a long English quote is German
    (
        "Hallo, ich habe eine Frage zu meiner Bestellung vom Montag. " * 20 + "Where is it? " * 400,
        "de",
    ),
    ("ok", None),
    ("thx!!", None),
    ("", None),
]


@pytest.mark.parametrize(("text", "want"), CASES)
def test_detect_language(text: str, want: str | None) -> None:
    assert detect_language(text) == want
