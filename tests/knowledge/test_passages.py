"""Passages: cut at headings and by size, with ids that survive edits elsewhere."""

from __future__ import annotations

from dataclasses import replace

import pytest

from daemon.knowledge.passages import split_article
from daemon.knowledge.sources import Article

GUIDE = """Intro before any heading.

## Returns window

Items can be returned within 30 days.

### Exceptions

Sale items cannot be returned.

## Damaged items

Send a photo.

```
# not a heading: inside a fence
```

Setext heading
--------------

Under a setext heading.

- a list item
---

## Returns window

A second section with the same title.
"""
SECTIONS = 250
"""A passage size below GUIDE's length, so it is cut at its headings."""


def article(body: str, **kw: str) -> Article:
    fields = {"key": "policies/returns", "namespace": "policies", "title": "Returns"}
    fields.update(kw)
    return Article(body=body, path="/kb/policies/returns.md", **fields)  # type: ignore[arg-type]


def test_sections_ids_titles_and_links() -> None:
    got = [
        (p.id, p.title, p.source, p.text.splitlines()[0])
        for p in split_article(article(GUIDE), SECTIONS)
    ]
    assert got == [
        ("policies/returns", "Returns", "/kb/policies/returns.md", "Intro before any heading."),
        (
            "policies/returns#returns-window",
            "Returns › Returns window",
            "/kb/policies/returns.md#returns-window",
            "Items can be returned within 30 days.",
        ),
        (
            "policies/returns#exceptions",
            "Returns › Returns window › Exceptions",
            "/kb/policies/returns.md#exceptions",
            "Sale items cannot be returned.",
        ),
        (
            "policies/returns#damaged-items",
            "Returns › Damaged items",
            "/kb/policies/returns.md#damaged-items",
            "Send a photo.",
        ),
        (
            "policies/returns#setext-heading",
            "Returns › Setext heading",
            "/kb/policies/returns.md#setext-heading",
            "Under a setext heading.",
        ),
        (
            "policies/returns#returns-window-1",
            "Returns › Returns window",
            "/kb/policies/returns.md#returns-window-1",
            "A second section with the same title.",
        ),
    ]


def test_fenced_code_stays_in_its_section() -> None:
    damaged = split_article(article(GUIDE), SECTIONS)[3]
    assert "# not a heading: inside a fence" in damaged.text


def test_a_list_followed_by_a_rule_is_not_a_heading() -> None:
    setext = split_article(article(GUIDE), SECTIONS)[4]
    assert "- a list item" in setext.text


def test_url_is_the_link_when_there_is_one() -> None:
    passages = split_article(article(GUIDE, url="https://help.example.com/returns"), SECTIONS)
    assert passages[1].source == "https://help.example.com/returns#returns-window"


def test_editing_one_section_keeps_the_other_ids() -> None:
    before = [p.id for p in split_article(article(GUIDE), SECTIONS)]
    edited = GUIDE.replace("Send a photo.", "Send a photo and the order number, please.")
    after = [p.id for p in split_article(article(edited), SECTIONS)]
    assert after == before


@pytest.mark.parametrize("limit", [200, 350, 600])
def test_long_sections_are_cut_at_paragraphs_then_sentences(limit: int) -> None:
    paragraphs = [
        " ".join(f"Sentence {p}.{s} has some words in it." for s in range(8)) for p in range(4)
    ]
    body = "## Long\n\n" + "\n\n".join(paragraphs)
    passages = split_article(article(body), limit)
    assert all(len(p.text) <= limit for p in passages)
    parts = [f"policies/returns#long/{n}" for n in range(2, len(passages) + 1)]
    assert len(passages) >= 2
    assert [p.id for p in passages] == ["policies/returns#long", *parts]
    words = " ".join(p.text for p in passages).split()
    assert words == " ".join(paragraphs).split()  # nothing lost, nothing repeated


def test_a_word_longer_than_the_limit_is_cut() -> None:
    passages = split_article(article("x" * 450), 200)
    assert [len(p.text) for p in passages] == [200, 200, 50]
    assert [p.id for p in passages] == [
        "policies/returns",
        "policies/returns#part-2",
        "policies/returns#part-3",
    ]


def test_empty_article_has_no_passages() -> None:
    assert split_article(article("\n\n## Only a heading\n\n"), 1500) == []
    assert split_article(replace(article(""), title="x"), 1500) == []


def test_an_article_that_fits_one_passage_is_one_passage() -> None:
    faq = "## How do I return a gift?\n\nSend it back within 30 days; the buyer is refunded.\n"
    assert len(GUIDE) <= 1500
    [whole] = split_article(article(faq, title="Gifts"), 1500)
    assert (whole.id, whole.title, whole.headings) == ("policies/returns", "Gifts", ())
    assert whole.text.splitlines()[0] == "## How do I return a gift?"
    assert whole.source == "/kb/policies/returns.md"
    assert [p.id for p in split_article(article(GUIDE), 1500)] == ["policies/returns"]


def test_every_part_of_a_long_article_keeps_its_title() -> None:
    body = "How do I return a gift? " + "Pack it well and send it back. " * 60
    passages = split_article(article(body, title="How do I return a gift?"), 500)
    assert len(passages) >= 3
    assert {p.title for p in passages} == {"How do I return a gift?"}
