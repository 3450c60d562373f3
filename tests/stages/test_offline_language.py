"""The offline drafter writes in the customer's language: every sentence, tool label and status
word of the draft, not only the greeting and the disclosure; English for other languages.

The demo's own sample mails (daemon/demo_data/mail) run through `helpdeskd demo` once; the
drafts of its German, Spanish, French, Italian and Polish mails must read as that language
line by line (the language detector) and carry none of the English draft's phrases.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import jinja2
import pytest
from click.testing import CliRunner
from sqlmodel import select

from daemon.cli import main
from daemon.config import load_settings
from daemon.mail.language import detect_language
from daemon.offline.drafter import split_by_language, template_names
from daemon.records import Passage, ToolResult
from daemon.store.engine import open_engine, session_scope
from daemon.tables import Draft, Message

SHIPPED = Path(__file__).resolve().parents[2] / "templates"

# sample -> the language its draft must be written in
SAMPLES = {
    "14-german-refund.eml": "de",
    "15-spanish-order.eml": "es",
    "24-french-order.eml": "fr",
    "25-italian-order.eml": "it",
    "26-polish-order.eml": "pl",
}
# sample -> words that show the read-only tool's answer reached the draft, translated
TOOL_WORDS = {
    "14-german-refund.eml": ("Rückerstattung möglich: ja",),
    "24-french-order.eml": ("Statut: expédiée", "Numéro de suivi: 6A04830500012"),
    "25-italian-order.eml": ("Stato: in transito", "Corriere: GLS"),
    "26-polish-order.eml": ("Status: etykieta utworzona, czeka na przewoźnika",),
}
# What the English draft and reply layout say; none may appear in a translated draft.
ENGLISH_MARKERS = (
    "thank you",
    "your message",
    "what our systems say",
    "here is what we found",
    "should help",
    "if this does not answer",
    "reply to this email",
    "take it from there",
    "looking into it",
    "get back to you",
    "shipped",
    "delivered",
    "waiting for the carrier",
    "in transit",
    "hello",
    "this reply was prepared",
    "ai assistant",
    "checked by our rules",
)
# The English tool labels, as the English draft starts a line with them.
ENGLISH_LABELS = re.compile(
    r"(?im)^\s*(order id|tracking|carrier|eta|total|eligible|max amount|reason)\s*:"
)
CITATION = re.compile(r"^\s*\[[\w/.#-]+\] ")  # "[faq/gift-cards] Gift cards": an article's title


@pytest.fixture(scope="module")
def drafts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("demo") / "helpdeskd-demo"
    env = {"COLUMNS": "200", "HELPDESKD_CONFIG": None}
    result = CliRunner().invoke(main, ["demo", "--dir", str(folder)], env=env)
    assert result.exit_code == 0, result.output
    settings = load_settings(folder / "helpdeskd.toml")
    engine = open_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            rows = session.exec(
                select(Message.source_key, Draft.body).where(Draft.id == Message.draft_id)
            ).all()
    finally:
        engine.dispose()
    return {str(key): body for key, body in rows}


def sentences(body: str, signature: str) -> list[str]:
    """The draft's lines that say something: not the signature, not an article's title."""
    skip = set(signature.splitlines())
    return [
        line.strip()
        for line in body.splitlines()
        if line.strip()
        and line.strip() not in skip
        and line.strip() != "--"
        and not CITATION.match(line)
    ]


@pytest.mark.parametrize(("sample", "language"), SAMPLES.items())
def test_demo_drafts_have_no_english_sentence(
    drafts: dict[str, str], sample: str, language: str
) -> None:
    body = drafts[sample]
    signature = "Larkspur Outdoor Support\nsupport@larkspur-outdoor.example | +49 761 555 0190"
    lines = sentences(body, signature)
    assert len(lines) >= 3, body
    text = "\n".join(lines)
    assert detect_language(text) == language, body
    found = [m for m in ENGLISH_MARKERS if re.search(rf"\b{m}\b", text.lower())]
    assert found == [], body
    assert ENGLISH_LABELS.search(text) is None, body
    # each sentence long enough to tell is in the customer's language, never English
    for line in lines:
        if len(line.split()) >= 5 and ":" not in line[:-1]:
            assert detect_language(line) in (language, None), line
    for words in TOOL_WORDS.get(sample, ()):
        assert words in body, body


def test_an_english_mail_keeps_the_english_draft(drafts: dict[str, str]) -> None:
    body = drafts["02-where-is-my-order.eml"]
    assert "Thank you for your message" in body
    assert detect_language(body) == "en"


TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(SHIPPED),
    autoescape=jinja2.select_autoescape(["html", "htm"]),  # as daemon.app.template_env
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
ENGLISH = Passage("faq/gift-cards", "Gift cards", "faq", "Gift cards never expire. " * 8, 1.0)
GERMAN = Passage("faq/gutscheine", "Gutscheine", "faq", "Gutscheine verfallen nie. " * 8, 1.0)
ORDER = ToolResult(
    "check_refund_eligibility",
    {"order_id": "48090"},
    True,
    {
        "order_id": "48090",
        "eligible": True,
        "reason": "delivered 12 days ago, within the 30-day window",
        "max_amount": "39.95 EUR",
    },
)


@pytest.mark.parametrize("language", ["de", "es", "fr", "it", "nl", "pl", "pt"])
def test_every_translated_template_leaves_out_english_prose(language: str) -> None:
    template = TEMPLATES.select_template(template_names(language))
    assert template.name == f"draft_offline.{language}.txt.j2"
    body = template.render(
        mail=SimpleNamespace(subject="48090"),
        intent="refund",
        passages=(ENGLISH,),
        quoted=(),
        cited=(ENGLISH,),
        tool_results=(ORDER,),
    )
    assert "delivered 12 days ago" not in body  # the tool's English prose is left out
    assert "Gift cards never expire" not in body  # an English article is cited, not quoted
    assert "[faq/gift-cards] Gift cards" in body
    assert "39.95 EUR" in body and "True" not in body
    assert "\n\n\n" not in body


def test_other_languages_fall_back_to_the_english_template() -> None:
    assert template_names("sv") == ["draft_offline.sv.txt.j2", "draft_offline.txt.j2"]
    assert TEMPLATES.select_template(template_names("sv")).name == "draft_offline.txt.j2"
    assert template_names(None) == ["draft_offline.txt.j2"]
    assert template_names("../x") == ["draft_offline.txt.j2"]  # never a path


def test_passages_in_the_mails_language_are_quoted_the_others_cited() -> None:
    assert split_by_language((ENGLISH, GERMAN), "de") == ((GERMAN,), (ENGLISH,))
    assert split_by_language((ENGLISH, GERMAN), None) == ((ENGLISH, GERMAN), ())
