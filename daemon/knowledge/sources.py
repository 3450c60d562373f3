"""Knowledge sources: the articles found in folders of Markdown, HTML and text, and in JSONL.

Decides what an article is — its key, namespace, title, language, text and where it came from —
so that passages, the index and the incremental job all agree. A file's metadata comes from its
front matter (`id`, `title`, `namespace`, `lang`, `url`), else its first heading and its folder;
a JSONL line is `{"id", "title", "body", "namespace"?, "url"?, "lang"?}`. The namespace
configured for a source wins, then the article's own, then the folder (or JSONL file) name.
HTML is rendered to text with its headings kept as Markdown headings, so one splitter serves
every format. An unreadable file or a bad JSONL line is reported as a problem, never raised.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import frontmatter
from bs4 import BeautifulSoup
from inscriptis import get_text
from inscriptis.model.config import ParserConfig

MARKUP_SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".text": "text"}
HTML_SUFFIXES = {".html", ".htm"}
JSONL_SUFFIXES = {".jsonl"}
ATX_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")


@dataclass(frozen=True, slots=True)
class Article:
    """One article as read from its source, before it is split into passages."""

    key: str
    namespace: str
    title: str
    body: str
    path: str
    url: str = ""
    language: str | None = None
    mtime: float = 0.0
    origin: str = ""
    """The source root the article came from: the incremental job removes what vanished there."""

    @property
    def version(self) -> str:
        """A hash of everything indexed: a changed article gets a new version."""
        data = "\x1f".join((self.namespace, self.title, self.body, self.url, self.language or ""))
        return hashlib.sha256(data.encode()).hexdigest()[:16]


@dataclass
class Loaded:
    articles: list[Article] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    """(path, what is wrong) for every file or line that could not be read."""


def source_files(root: Path) -> Iterator[Path]:
    """The files of a source in a stable order: the root itself when it is a file."""
    if root.is_file():
        yield root
        return
    suffixes = {*MARKUP_SUFFIXES, *HTML_SUFFIXES, *JSONL_SUFFIXES}
    for path in sorted(root.rglob("*")):
        hidden = any(part.startswith(".") for part in path.relative_to(root).parts)
        if path.is_file() and path.suffix.lower() in suffixes and not hidden:
            yield path


def load_source(root: Path, namespace: str | None = None) -> Loaded:
    """Every article under `root` (a folder or one file)."""
    loaded = Loaded()
    for path in source_files(root):
        load_file(path, root, namespace, loaded)
    return loaded


def load_file(path: Path, root: Path, namespace: str | None, into: Loaded) -> None:
    """Read one file into `into`: one article, or one per JSONL line."""
    try:
        raw = path.read_bytes()
        mtime = path.stat().st_mtime
    except OSError as exc:
        into.problems.append((str(path), f"cannot read: {exc.strerror or exc}"))
        return
    text = raw.decode("utf-8", errors="replace")
    origin = str(root)
    if path.suffix.lower() in JSONL_SUFFIXES:
        into.articles.extend(read_jsonl(text, path, namespace, mtime, origin, into.problems))
    else:
        into.articles.append(read_document(text, path, root, namespace, mtime, origin))


def read_document(
    text: str, path: Path, root: Path, namespace: str | None, mtime: float, origin: str
) -> Article:
    meta, body = split_front_matter(text)
    if path.suffix.lower() in HTML_SUFFIXES:
        html_title, body = html_to_markdown(body)
        meta.setdefault("title", html_title)
    title, body = pop_title(body, str(meta.get("title") or ""))
    # keys start with the source folder's name, so two sources' index.md never collide
    rel = path.relative_to(root.parent).with_suffix("")
    return Article(
        key=str(meta.get("id") or rel.as_posix()),
        namespace=namespace or str(meta.get("namespace") or path.parent.name or "default"),
        title=title or humanize(path.stem),
        body=body.strip(),
        path=str(path),
        url=str(meta.get("url") or ""),
        language=_str_or_none(meta.get("lang") or meta.get("language")),
        mtime=mtime,
        origin=origin,
    )


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """YAML front matter (if any) and the rest; broken front matter is kept as text."""
    try:
        post = frontmatter.loads(text)
    except Exception:  # a YAML error in one article must not stop the others
        return {}, text
    return dict(post.metadata), post.content


def pop_title(body: str, title: str) -> tuple[str, str]:
    """The title (given, else the first top-level heading, which is then removed)."""
    lines = body.lstrip("\n").splitlines()
    if lines and (m := ATX_HEADING.match(lines[0])) and len(m.group(1)) == 1:
        return title or m.group(2).strip(), "\n".join(lines[1:])
    return title, body


def html_to_markdown(html: str) -> tuple[str, str]:
    """The <title> and the text of an HTML page, headings turned into `## …` lines."""
    soup = BeautifulSoup(html, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(["script", "style", "head", "nav"]):
        tag.decompose()
    for level in range(1, 7):
        for heading in soup.find_all(f"h{level}"):
            text = heading.get_text(" ", strip=True)
            heading.replace_with(soup.new_string(f"\n{'#' * level} {text}\n"))
    rendered = get_text(str(soup), ParserConfig(display_links=True))
    # inscriptis pads lines with spaces; headings must start their line to be found again
    return title, "\n".join(line.strip() for line in rendered.splitlines())


def read_jsonl(
    text: str,
    path: Path,
    namespace: str | None,
    mtime: float,
    origin: str,
    problems: list[tuple[str, str]],
) -> Iterator[Article]:
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append((where, f"not JSON ({exc.msg})"))
            continue
        if not isinstance(record, dict) or not record.get("id") or not record.get("body"):
            problems.append((where, 'needs at least "id" and "body"'))
            continue
        yield Article(
            key=str(record["id"]),
            namespace=namespace or str(record.get("namespace") or path.stem),
            title=str(record.get("title") or record["id"]),
            body=str(record["body"]),
            path=str(path),
            url=str(record.get("url") or ""),
            language=_str_or_none(record.get("lang") or record.get("language")),
            mtime=mtime,
            origin=origin,
        )


def humanize(stem: str) -> str:
    return re.sub(r"[-_]+", " ", stem).strip().capitalize()


def _str_or_none(value: Any) -> str | None:
    return str(value).lower()[:2] if value else None
