"""body: which parts of a message are its text, and HTML made into plain text.

Decides what "the body" is when a message has several candidates: the first text/plain part
that is not an attachment is the text, with the text/plain parts that continue it inline (Apple
Mail splits a body around pictures); HTML is used only when there is no plain text. HTML is
cleaned with BeautifulSoup — scripts, styles, heads and hidden elements removed, Office
namespaces dropped, links whose text is their address unwrapped — and rendered with inscriptis
(lists, tables and links survive; ../shared/DEPENDENCIES.md). Nothing in the HTML is ever run:
it is only read as a tree. For the reply, the quoted blocks mail clients mark up (Gmail's
`gmail_quote`, Apple Mail and Thunderbird's `blockquote type=cite`, Outlook's `divRplyFwdMsg`
and border-top header block, Hotmail's `stopSpelling`, Yahoo's `yahoo_quoted`, Zimbra's
divider) are cut from the tree before rendering; failing those, the last top-level blockquote.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message

from bs4 import (
    BeautifulSoup,
    Comment,
    MarkupResemblesLocatorWarning,
    Tag,
    XMLParsedAsHTMLWarning,
)
from inscriptis import Inscriptis
from inscriptis.model.config import ParserConfig
from lxml import html as lxml_html  # type: ignore[import-untyped]

from daemon.mail.mime import (
    MAX_DEPTH,
    Hint,
    Parsed,
    decode_text,
    make_attachment,
    part_charset,
    part_data,
    part_filename,
)
from daemon.mail.reply import strip_quotes
from daemon.records import Attachment

DROP_TAGS = ("script", "style", "head", "title", "meta", "link", "noscript", "template", "object")
HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden|mso-hide\s*:\s*all", re.I)
OUTLOOK_HEADER_STYLE = re.compile(r"border-top\s*:\s*solid\s*#(B5C4DF|E1E1E1)", re.I)
FORWARDED = re.compile(r"-{3,}\s*(forwarded message|original message)", re.I)
CONFIG = ParserConfig(display_links=True)

# Elements that start the quoted history; everything from them to the end of their parent
# is history too (Outlook puts the old message in siblings after its header block).
QUOTE_STARTS = (
    {"name": "div", "id": "divRplyFwdMsg"},
    {"name": "div", "id": "appendonsend"},
    {"name": "hr", "id": "stopSpelling"},
    {"name": "hr", "attrs": {"data-marker": "__DIVIDER__"}},
    {"name": "div", "class_": "moz-cite-prefix"},
    {"name": "div", "id": "OLK_SRC_BODY_SECTION"},
    {"name": "span", "id": "OLK_SRC_BODY_SECTION"},
)
# Elements that are the quoted history themselves.
QUOTE_BLOCKS = (
    {"name": "blockquote", "attrs": {"type": "cite"}},
    {"name": "div", "class_": "yahoo_quoted"},
    {"name": "div", "class_": "zmail_extra"},
)


@dataclass(frozen=True, slots=True)
class Body:
    """The text of a message and everything else it carries."""

    text: str
    html: str | None
    """The HTML body, when the text had to be rendered from it (there was no plain text)."""
    attachments: tuple[Attachment, ...]


@dataclass(frozen=True, slots=True)
class HtmlReply:
    html: str
    """The cleaned HTML of what the sender wrote now."""
    text: str
    """The same, rendered as plain text."""
    cut: bool
    """True when quoted history was found and cut."""


def read_body(parsed: Parsed, hint: Hint, defects: list[str]) -> Body:
    """Split a parsed message into its text and its attachments."""
    plain: list[str] = []
    html: str | None = None
    attachments: list[Attachment] = []
    for part in leaves(parsed.msg, defects):
        filename = part_filename(part, hint, defects)
        data, digest = part_data(part, parsed, defects)
        kind = body_kind(part, filename)
        if kind == "text/plain" and data is not None:
            plain.append(decode_text(data, part_charset(part), defects))
        elif kind == "text/html" and html is None and data is not None:
            html = decode_text(data, part_charset(part), defects)
        else:
            attachments.append(make_attachment(part, filename, digest))
    text = "\n".join(p.strip("\n") for p in plain).strip()
    if text or html is None:
        return Body(text, None, tuple(attachments))
    return Body(html_to_text(html), html, tuple(attachments))


def leaves(msg: Message, defects: list[str], depth: int = 0) -> Iterator[Message]:
    """The parts that hold data, in order; a message/* part is one leaf (the attached mail)."""
    if not msg.is_multipart() or msg.get_content_maintype() == "message":
        yield msg
        return
    if depth >= MAX_DEPTH:
        defects.append(f"parts nested deeper than {MAX_DEPTH} were not read")
        return
    for sub in msg.get_payload():
        if isinstance(sub, Message):
            yield from leaves(sub, defects, depth + 1)


def body_kind(part: Message, filename: str | None) -> str | None:
    """ "text/plain" or "text/html" when the part is body text, None when it is attached.

    A text part with a file name or `Content-Disposition: attachment` is a file the sender
    attached; a part without a Content-Type is text/plain (RFC 2046 §5.1).
    """
    ctype = part.get_content_type()
    if ctype.startswith("multipart/"):
        return "text/plain"  # a multipart whose boundary never came: its body is the text
    if ctype not in ("text/plain", "text/html") or filename is not None:
        return None
    return None if part.get_content_disposition() == "attachment" else ctype


def html_to_text(html: str) -> str:
    """The whole HTML body as plain text."""
    soup = clean_html(html)
    return render(soup)


def split_html_reply(html: str, whole: str | None = None) -> HtmlReply:
    """What the sender wrote now, with the quoted history the mail client marked cut away.

    When cutting would leave nothing readable (the sender wrote inside the quote), the whole
    message is the reply. `whole` is `html_to_text(html)` when the caller has it already.
    """
    soup = clean_html(html)
    if cut_quotes(soup):
        text = strip_quotes(render(soup))
        if text.strip():
            return HtmlReply(str(soup), text, True)
        soup = clean_html(html)
    whole = render(soup) if whole is None else whole
    text = strip_quotes(whole)
    return HtmlReply(str(soup), text or whole, text != whole)


def clean_html(html: str) -> BeautifulSoup:
    """Parse and clean: nothing that is not shown to a reader survives."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(html.replace("\r\n", "\n").replace("\r", "\n"), "lxml")
    for node in soup.find_all(string=lambda s: isinstance(s, Comment)):
        node.extract()
    for tag in soup.find_all(True):  # one walk: each find_all is a full traversal
        if tag.decomposed:
            continue
        if tag.name in DROP_TAGS or hidden(tag):
            tag.decompose()
        elif ":" in tag.name:
            tag.name = tag.name.split(":", 1)[1]  # Office's <o:p> is a paragraph
        elif tag.name == "a":
            unwrap_plain_link(tag)
    for rule in soup.find_all("hr"):
        rule.insert_before(soup.new_tag("br"))  # so a header block after it starts a line
    return soup


def hidden(tag: Tag) -> bool:
    return tag.has_attr("hidden") or bool(HIDDEN_STYLE.search(str(tag.get("style") or "")))


def unwrap_plain_link(link: Tag) -> None:
    """A link whose text is its address says nothing more as "[text](url)"."""
    href = str(link.get("href") or "")
    text = link.get_text().strip()
    if not href or href.removeprefix("mailto:") == text or href.rstrip("/") == text.rstrip("/"):
        link.unwrap()


def render(soup: BeautifulSoup) -> str:
    """inscriptis' text of the tree, each line stripped, blank runs folded to one."""
    markup = str(soup)
    if not markup.strip():
        return ""
    try:
        tree = lxml_html.fromstring(markup)
    except (ValueError, TypeError):
        return tidy(soup.get_text("\n"))
    return tidy(Inscriptis(tree, CONFIG).get_text())


def tidy(text: str) -> str:
    lines = [line.strip() for line in text.replace("\xa0", " ").splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def cut_quotes(soup: BeautifulSoup) -> bool:
    """Remove the quoted history the mail client marked up; True when something was cut."""
    return (
        cut_gmail_quote(soup)
        or cut_marked(soup)
        or cut_outlook_header(soup)
        or cut_blockquote(soup)
    )


def cut_gmail_quote(soup: BeautifulSoup) -> bool:
    quote = soup.find("div", class_="gmail_quote")
    if not isinstance(quote, Tag) or FORWARDED.search(quote.get_text()[:300]):
        return False
    quote.decompose()
    return True


def cut_marked(soup: BeautifulSoup) -> bool:
    for spec in QUOTE_STARTS:
        start = soup.find(**spec)
        if isinstance(start, Tag):
            cut_from(start)
            return True
    for spec in QUOTE_BLOCKS:
        block = soup.find(**spec)
        if isinstance(block, Tag):
            block.decompose()
            return True
    return False


def cut_outlook_header(soup: BeautifulSoup) -> bool:
    """Outlook 2007+ starts the old message with a div whose top border is its header."""
    start = soup.find(style=OUTLOOK_HEADER_STYLE)
    if not isinstance(start, Tag):
        return False
    cut_from(start)
    return True


def cut_blockquote(soup: BeautifulSoup) -> bool:
    """The last top-level blockquote (not Gmail's own) is the quote, as talon decides."""
    quotes = [
        q
        for q in soup.find_all("blockquote")
        if "gmail_quote" not in (q.get("class") or []) and q.find_parent("blockquote") is None
    ]
    if not quotes:
        return False
    quotes[-1].decompose()
    return True


def cut_from(start: Tag) -> None:
    """Remove `start` and everything after it, up to the end of the body."""
    node: Tag | None = start
    while node is not None and node.name not in ("body", "html", "[document]"):
        for sibling in list(node.next_siblings):
            sibling.extract()
        parent = node.parent
        if node is start:
            node.decompose()
        node = parent
