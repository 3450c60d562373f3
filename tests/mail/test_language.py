"""language: a code for real sentences, None for text too short to tell."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.mail import language
from daemon.mail.language import cache_dir, detect_language, load_identifier

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


TEXTS = [text for text, _ in CASES if text] + [
    "Kiitos, tilaukseni ei ole vielä saapunut.",
    "Dziękuję, moje zamówienie jeszcze nie dotarło.",
    "注文した商品がまだ届いていません。",
]


def test_the_prepared_model_classifies_as_the_packaged_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    packaged = load_identifier(None)
    first = load_identifier(tmp_path)  # loads the packaged model and prepares the copy
    [folder] = tmp_path.glob("langid-*")
    assert (folder / "meta.json").is_file()

    def no_packaged_load(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the prepared copy should have been read")

    import py3langid.langid

    monkeypatch.setattr(py3langid.langid.LanguageIdentifier, "from_model_file", no_packaged_load)
    prepared = load_identifier(tmp_path)
    for text in TEXTS:
        assert prepared.classify(text) == first.classify(text) == packaged.classify(text), text


def test_a_damaged_prepared_model_is_made_again(tmp_path: Path) -> None:
    load_identifier(tmp_path)
    [folder] = tmp_path.glob("langid-*")
    nextmove = folder / "nextmove"
    nextmove.write_bytes(nextmove.read_bytes()[:-4])  # one item short
    assert language.read_prepared(folder) is None
    model = load_identifier(tmp_path)  # the packaged model, and a good copy again
    assert language.read_prepared(folder) is not None
    assert model.classify(TEXTS[1])[0] == "de"


def test_an_unwritable_cache_only_costs_the_slow_load(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    assert load_identifier(blocked).classify(TEXTS[0])[0] == "en"
    assert list(tmp_path.iterdir()) == [blocked]


def test_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CACHE_DIRECTORY", "/var/cache/helpdeskd")
    assert cache_dir() == Path("/var/cache/helpdeskd")
    monkeypatch.delenv("CACHE_DIRECTORY")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "helpdeskd"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_dir() == tmp_path / ".cache" / "helpdeskd"
