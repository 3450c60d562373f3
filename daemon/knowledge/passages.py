"""Passages: how an article is cut into the pieces a draft cites.

Decides the passage boundaries and ids. An article that fits in one passage (`max_chars`) is
one passage, headings and all: the common FAQ shape, a question and a short answer, is never
cut into an answer that lost its question, and no second threshold is needed. A longer
article is split at its headings (ATX `#` and setext underlines, never inside fenced code),
then each section by size at paragraph, sentence and finally word boundaries. A passage id is
the article key plus the slug of its heading (`policies/refunds#returns-window`), with `/2`,
`/3` for the further parts of a long section: editing one section leaves the other sections'
ids alone, so citations in old drafts still resolve. Each passage carries its title path
(article › section › subsection; the index weighs the article title, often the question
itself, into every passage) and a link to its place in the source (the article URL or file,
plus the heading anchor).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from daemon.knowledge.sources import ATX_HEADING, Article

TITLE_SEPARATOR = " › "
FENCE = re.compile(r"^\s*(```|~~~)")
SETEXT = re.compile(r"^(=+|-+)\s*$")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
WHOLE_SHORT_ARTICLES = True
"""An article that fits in one passage stays whole (benchmarks/retrieval_ablation.py)."""


@dataclass(frozen=True, slots=True)
class Section:
    headings: tuple[str, ...]
    text: str


@dataclass(frozen=True, slots=True)
class PassageDoc:
    """A passage as it goes into the index."""

    id: str
    article: Article
    headings: tuple[str, ...]
    text: str
    source: str

    @property
    def title(self) -> str:
        return TITLE_SEPARATOR.join((self.article.title, *self.headings))


def split_article(article: Article, max_chars: int) -> list[PassageDoc]:
    """The article's passages in reading order; an empty article gives none."""
    if WHOLE_SHORT_ARTICLES and len(article.body.strip()) <= max_chars:
        return whole_article(article)
    slugs: dict[str, int] = {}
    out: list[PassageDoc] = []
    for section in split_sections(article.body):
        anchor = unique_slug(section.headings[-1], slugs) if section.headings else ""
        for part, text in enumerate(split_by_size(section.text, max_chars)):
            fragment = fragment_for(anchor, part)
            out.append(
                PassageDoc(
                    id=f"{article.key}#{fragment}" if fragment else article.key,
                    article=article,
                    headings=section.headings,
                    text=text,
                    source=link_for(article, anchor),
                )
            )
    return out


def whole_article(article: Article) -> list[PassageDoc]:
    """A short article as one passage (none when it has no text beside headings)."""
    text = article.body.strip()
    if next(split_sections(text), None) is None:
        return []
    return [PassageDoc(article.key, article, (), text, link_for(article, ""))]


def fragment_for(anchor: str, part: int) -> str:
    if part == 0:
        return anchor
    return f"{anchor}/{part + 1}" if anchor else f"part-{part + 1}"


def link_for(article: Article, anchor: str) -> str:
    base = article.url or article.path
    return f"{base}#{anchor}" if anchor and base else base


def split_sections(body: str) -> Iterator[Section]:
    """Sections under their heading path; text before the first heading has an empty path."""
    path: list[tuple[int, str]] = []
    lines: list[str] = []
    in_fence = False
    for line in body.splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
        heading = None if in_fence else heading_of(line, lines)
        if heading is None:
            lines.append(line)
            continue
        if heading[0] == 0:  # setext: the previous line was the heading text
            heading = (1 if heading[1].startswith("=") else 2, lines.pop())
        yield from emit(path, lines)
        lines = []
        path = [(lvl, text) for lvl, text in path if lvl < heading[0]] + [heading]
    yield from emit(path, lines)


def heading_of(line: str, previous: list[str]) -> tuple[int, str] | None:
    """(level, text) for an ATX heading; (0, underline) for a setext underline."""
    if m := ATX_HEADING.match(line):
        return len(m.group(1)), m.group(2).strip()
    if SETEXT.match(line) and previous and previous[-1].strip():
        prior = previous[-1].lstrip()
        if not prior.startswith(("-", "*", "+", ">", "|")):  # list items and tables are not
            return 0, line.strip()
    return None


def emit(path: list[tuple[int, str]], lines: list[str]) -> Iterator[Section]:
    text = "\n".join(lines).strip()
    if text:
        yield Section(tuple(clean_heading(t) for _, t in path), text)


def clean_heading(text: str) -> str:
    return re.sub(r"[*_`]+", "", text).strip()


def unique_slug(heading: str, seen: dict[str, int]) -> str:
    """GitHub-style anchor: lowercase words joined by hyphens; repeats get -1, -2."""
    slug = re.sub(r"[^\w\- ]", "", heading.lower()).strip().replace(" ", "-") or "section"
    count = seen.get(slug, 0)
    seen[slug] = count + 1
    return f"{slug}-{count}" if count else slug


def split_by_size(text: str, max_chars: int) -> list[str]:
    """Paragraphs packed into chunks of at most `max_chars` (cut inside only when needed)."""
    chunks: list[str] = []
    current = ""
    for paragraph in re.split(r"\n\s*\n", text):
        units = list(cut_paragraph(paragraph.strip(), max_chars))
        for i, unit in enumerate(units):
            joiner = "\n\n" if i == 0 else " "
            if current and len(current) + len(joiner) + len(unit) > max_chars:
                chunks.append(current)
                current = unit
            else:
                current = f"{current}{joiner}{unit}" if current else unit
    if current:
        chunks.append(current)
    return chunks


def cut_paragraph(paragraph: str, max_chars: int) -> Iterator[str]:
    """The paragraph, or its sentences when too long, or its words when a sentence is."""
    if len(paragraph) <= max_chars:
        if paragraph:
            yield paragraph
        return
    for sentence in SENTENCE_END.split(paragraph):
        while len(sentence) > max_chars:
            cut = sentence.rfind(" ", 0, max_chars)
            cut = cut if cut > 0 else max_chars
            yield sentence[:cut].strip()
            sentence = sentence[cut:].strip()
        if sentence:
            yield sentence
