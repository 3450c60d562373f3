"""body: which parts of a message are its text, and HTML made into plain text.

Decides what "the body" is when a message has several candidates: the first text/plain part
that is not an attachment is the text, with the text/plain parts that continue it inline (Apple
Mail splits a body around pictures); HTML is used only when there is no plain text. HTML is
cleaned with BeautifulSoup (lxml's tree builder) — scripts, styles, heads, comments, hidden
elements and tracking pixels removed, Office namespaces dropped, links whose text is their
address unwrapped — and rendered with inscriptis (lists, tables and links survive;
../shared/DEPENDENCIES.md). Nothing in the HTML is ever run: it is only read as a tree. For
the reply, the quoted blocks mail clients mark up (Gmail's `gmail_quote`, Apple Mail and
Thunderbird's `blockquote type=cite`, Outlook's `divRplyFwdMsg` and border-top header block,
Hotmail's `stopSpelling`, Yahoo's `yahoo_quoted`, Zimbra's divider) are cut from the soup;
failing those, the last top-level blockquote.

Speed (benchmarks/parse.py): an HTML body, its text and its reply, takes ~3 ms on the
corpus, against ~9 ms for the first BeautifulSoup version and ~1.6 ms with lxml alone; building
the soup is most of the difference. The markup is parsed once; cleaning is one walk, finding
the quote markers another, with plain attribute look-ups (a soupsieve selector list costs
5-10x as much, bs4's attribute filters 2-3x); inscriptis reads the soup through `View`, the
few fields of an lxml element it walks, instead of the soup serialised and parsed again by lxml
(~10x cheaper, and inscriptis walks it faster); the reply is cut in place after the whole text
was rendered, so the soup is never copied (a copy costs as much as the parse).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from email.message import Message

from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning, Tag, XMLParsedAsHTMLWarning
from bs4.element import NavigableString, PageElement, PreformattedString
from inscriptis import Inscriptis
from inscriptis.model.config import ParserConfig

from daemon.mail.mime import (
    MAX_DEPTH,
    Hint,
    Lifted,
    Parsed,
    decode_text,
    hashes,
    make_attachment,
    part_charset,
    part_data,
    part_filename,
)
from daemon.mail.pdftext import PDF_LIMITS, PdfLimits, is_pdf, read_pdf_text
from daemon.mail.reply import one_newline, strip_quotes
from daemon.records import Attachment

# bs4 warns when markup looks like a file name or a URL (a body that is only a link) or like
# XML: hints for programmers, noise for mail. Ignored for this module, once: catch_warnings()
# around each parse would swap the process-wide filter list under the daemon's other threads.
warnings.filterwarnings("ignore", category=MarkupResemblesLocatorWarning, module=__name__)
warnings.filterwarnings("ignore", category=XMLParsedAsHTMLWarning, module=__name__)

DROP_TAGS = frozenset(
    ("script", "style", "head", "title", "meta", "link", "noscript", "template", "object")
)
HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden|mso-hide\s*:\s*all", re.I)
XML_DECLARATION = re.compile(r"\A<\?xml[^>]*>")
PIXEL_SIZE = re.compile(r"\s*[01](px)?\s*", re.I)
OUTLOOK_HEADER_STYLE = re.compile(r"border-top\s*:\s*solid\s*#(B5C4DF|E1E1E1)", re.I)
FORWARDED = re.compile(r"-{3,}\s*(forwarded message|original message)", re.I)
CONFIG = ParserConfig(display_links=True)
MAX_NESTING = 256
"""Elements nested deeper are read as their text only: inscriptis walks the tree recursively
(thousands of levels would exhaust Python's stack; libxml2's own trees stop at 256)."""

Mark = tuple[str, str, str]
"""A quote marker: tag name, attribute, and the value (for `class`: one of its classes)."""
GMAIL_QUOTE: Mark = ("div", "class", "gmail_quote")
# Elements that start the quoted history; everything from them to the end of their parent
# is history too (Outlook puts the old message in siblings after its header block). The first
# kind found wins, in this order.
QUOTE_STARTS: tuple[Mark, ...] = (
    ("div", "id", "divRplyFwdMsg"),
    ("div", "id", "appendonsend"),
    ("hr", "id", "stopSpelling"),
    ("hr", "data-marker", "__DIVIDER__"),
    ("div", "class", "moz-cite-prefix"),
    ("div", "id", "OLK_SRC_BODY_SECTION"),
    ("span", "id", "OLK_SRC_BODY_SECTION"),
)
# Elements that are the quoted history themselves.
QUOTE_BLOCKS: tuple[Mark, ...] = (
    ("blockquote", "type", "cite"),
    ("div", "class", "yahoo_quoted"),
    ("div", "class", "zmail_extra"),
)
MARKS = frozenset((GMAIL_QUOTE, *QUOTE_STARTS, *QUOTE_BLOCKS))
MARKED_ATTRIBUTES = ("id", "type", "data-marker")


@dataclass(frozen=True, slots=True)
class HtmlReply:
    soup: BeautifulSoup = field(repr=False)
    """The cleaned soup of what the sender wrote now."""
    text: str
    """The same, rendered as plain text."""
    cut: bool
    """True when quoted history was found and cut."""

    @property
    def html(self) -> str:
        """The cleaned HTML of what the sender wrote now."""
        return self.soup.decode()


@dataclass(frozen=True, slots=True)
class Body:
    """The text of a message and everything else it carries."""

    text: str
    html: str | None
    """The HTML body, when the text had to be rendered from it (there was no plain text)."""
    attachments: tuple[Attachment, ...]
    html_reply: HtmlReply | None = field(default=None, compare=False, repr=False)
    """For an HTML body: what the sender wrote now, cut from the soup `text` was rendered from
    (one parse for both)."""


def read_body(parsed: Parsed, hint: Hint, defects: list[str], pdf: PdfLimits = PDF_LIMITS) -> Body:
    """Split a parsed message into its text and its attachments (a PDF's text read within
    `pdf`)."""
    plain: list[str] = []
    html: str | None = None
    attachments: list[Attachment] = []
    for part in leaves(parsed.msg, defects):
        filename = part_filename(part, hint, defects)
        data = part_data(part, parsed, defects)
        kind = body_kind(part, filename)
        if kind == "text/plain" and isinstance(data, bytes):
            plain.append(one_newline(decode_text(data, part_charset(part), defects)))
        elif kind == "text/html" and html is None and isinstance(data, bytes):
            html = decode_text(data, part_charset(part), defects)
        else:
            attachments.append(read_attachment(part, filename, data, pdf, defects))
    text = "\n".join(p.strip("\n") for p in plain).strip()
    if text or html is None:
        return Body(text, None, tuple(attachments))
    soup = clean_html(html)
    text = render(soup)
    return Body(text, html, tuple(attachments), cut_reply(soup, text, html))


def read_attachment(
    part: Message, filename: str | None, data: bytes | Lifted, pdf: PdfLimits, defects: list[str]
) -> Attachment:
    """The attachment record of a part; with its text when it is a PDF."""
    attachment = make_attachment(part, filename, hashes(data))
    content = data if isinstance(data, bytes) else data.data
    if content is None or not is_pdf(attachment.content_type, filename, content):
        return attachment
    text, found = read_pdf_text(content, filename or "(unnamed)", pdf)
    defects.extend(found)
    return replace(attachment, text=text)


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
    return render(clean_html(html))


def split_html_reply(html: str) -> HtmlReply:
    """What the sender wrote now, with the quoted history the mail client marked cut away."""
    soup = clean_html(html)
    return cut_reply(soup, render(soup), html)


def cut_reply(soup: BeautifulSoup, whole: str, html: str) -> HtmlReply:
    """The reply in `soup` (cleaned `html`, rendered as `whole`); cuts `soup` in place.

    When cutting would leave nothing readable (the sender wrote inside the quote), the whole
    message is the reply; only then is `html` parsed again, for the uncut `HtmlReply.soup`.
    """
    if cut_quotes(soup):
        text = strip_quotes(render(soup))
        if text.strip():
            return HtmlReply(soup, text, True)
        soup = clean_html(html)
    text = strip_quotes(whole)
    return HtmlReply(soup, text or whole, text != whole)


def clean_html(html: str) -> BeautifulSoup:
    """Parse and clean: nothing that is not shown to a reader survives.

    The text is str already decoded with the MIME charset, so a <meta charset> in it is not
    obeyed. One walk, parents before children, that does not enter what it removes. (Not
    `Tag.decomposed`: on a live tag it falls through to `find("_decomposed")`, a search of the
    whole subtree, which made this walk quadratic.)
    """
    markup = one_newline(html)
    # an XHTML body's <?xml?> names the encoding of bytes decoded already; bs4 would only read
    # it as a comment (removed below), after warning that the markup looks like XML
    soup = BeautifulSoup(XML_DECLARATION.sub("", markup, count=1), "lxml")
    stack: list[PageElement] = [soup]
    while stack:
        node = stack.pop()
        if isinstance(node, Tag):
            children = node.contents[::-1]  # as they were: unwrapping a link moves them up
            if node is soup or clean_tag(soup, node):
                stack.extend(children)
        elif isinstance(node, PreformattedString):
            node.extract()  # comments, doctypes, processing instructions
    return soup


def clean_tag(soup: BeautifulSoup, tag: Tag) -> bool:
    """Remove `tag` if it is not shown, else make it plain HTML inscriptis renders right;
    True when it is kept."""
    name = tag.name
    if name in DROP_TAGS or hidden(tag) or (name == "img" and tracking_pixel(tag)):
        tag.decompose()
        return False
    if ":" in name:
        tag.name = name.split(":", 1)[1]  # Office's <o:p> is a paragraph
    elif name == "a":
        unwrap_plain_link(tag)
    elif name == "hr":
        tag.insert_before(soup.new_tag("br"))  # so a header block after it starts a line
    return True


def hidden(tag: Tag) -> bool:
    attrs = tag.attrs
    return "hidden" in attrs or bool(HIDDEN_STYLE.search(str(attrs.get("style") or "")))


def tracking_pixel(img: Tag) -> bool:
    """A 0- or 1-pixel image is a read receipt, never content."""
    return any(PIXEL_SIZE.fullmatch(str(img.attrs.get(side, "x"))) for side in ("width", "height"))


def unwrap_plain_link(link: Tag) -> None:
    """A link whose text is its address says nothing more as "[text](url)"."""
    href = str(link.attrs.get("href") or "")
    text = link.get_text().strip()
    if not href or href.removeprefix("mailto:") == text or href.rstrip("/") == text.rstrip("/"):
        link.unwrap()


class View:
    """What inscriptis reads of an lxml element — tag, attrib, text, tail and the child
    elements — made from a cleaned soup. inscriptis takes an lxml tree; serialising the soup and
    parsing it again would cost more than the rest of the rendering."""

    __slots__ = ("attrib", "children", "tag", "tail", "text")

    def __init__(self, tag: str, attrib: Mapping[str, object]) -> None:
        self.tag = tag
        self.attrib = attrib
        self.text: str | None = None
        self.tail: str | None = None
        self.children: list[View] = []

    def __iter__(self) -> Iterator[View]:
        return iter(self.children)


def view(soup: BeautifulSoup) -> View:
    """The soup as inscriptis walks an lxml tree: text before the first child element is the
    parent's `text`, text after an element its `tail`."""
    root = View("html", {})  # the document: the soup's own <html> is a child of it
    stack: list[tuple[View, Tag, int]] = [(root, soup, 0)]
    while stack:
        parent, tag, depth = stack.pop()
        last: View | None = None
        for child in tag.contents:
            if isinstance(child, Tag) and depth < MAX_NESTING:
                last = View(child.name, child.attrs)
                parent.children.append(last)
                stack.append((last, child, depth + 1))
                continue
            if isinstance(child, Tag):
                text = child.get_text()  # nested too deep: its text, without its layout
            elif isinstance(child, NavigableString):
                text = child
            else:
                continue
            if last is None:
                parent.text = text if parent.text is None else parent.text + text
            else:
                last.tail = text if last.tail is None else last.tail + text
    return root


def render(soup: BeautifulSoup) -> str:
    """inscriptis' text of the soup, each line stripped, blank runs folded to one."""
    return tidy(Inscriptis(view(soup), CONFIG).get_text())


def tidy(text: str) -> str:
    lines = [line.strip() for line in text.replace("\xa0", " ").splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def cut_quotes(soup: BeautifulSoup) -> bool:
    """Remove the quoted history the mail client marked up; True when something was cut."""
    found = find_marks(soup)
    return (
        cut_gmail_quote(found)
        or cut_marked(found)
        or cut_outlook_header(soup)
        or cut_blockquote(soup)
    )


def find_marks(soup: BeautifulSoup) -> dict[Mark, Tag]:
    """The first tag of each kind in `MARKS`, in one walk over the tags."""
    found: dict[Mark, Tag] = {}
    for tag in soup.find_all(True):
        attrs = tag.attrs
        if not attrs:
            continue
        name = tag.name
        for attribute in MARKED_ATTRIBUTES:
            mark = (name, attribute, str(attrs.get(attribute)))
            if mark in MARKS:
                found.setdefault(mark, tag)
        for value in attrs.get("class") or ():
            mark = (name, "class", value)
            if mark in MARKS:
                found.setdefault(mark, tag)
    return found


def cut_gmail_quote(found: dict[Mark, Tag]) -> bool:
    quote = found.get(GMAIL_QUOTE)
    if quote is None or FORWARDED.search(quote.get_text()[:300]):
        return False
    quote.decompose()
    return True


def cut_marked(found: dict[Mark, Tag]) -> bool:
    for mark in QUOTE_STARTS:
        if mark in found:
            cut_from(found[mark])
            return True
    for mark in QUOTE_BLOCKS:
        if mark in found:
            found[mark].decompose()
            return True
    return False


def cut_outlook_header(soup: BeautifulSoup) -> bool:
    """Outlook 2007+ starts the old message with a div whose top border is its header."""
    for tag in soup.find_all(True):  # not find(style=...): bs4's filter is 2-3x slower
        if OUTLOOK_HEADER_STYLE.search(str(tag.attrs.get("style") or "")):
            cut_from(tag)
            return True
    return False


def cut_blockquote(soup: BeautifulSoup) -> bool:
    """The last top-level blockquote (not Gmail's own) is the quote, as talon decides."""
    quotes = [
        quote
        for quote in soup.find_all("blockquote")
        if "gmail_quote" not in (quote.attrs.get("class") or ())
        and quote.find_parent("blockquote") is None
    ]
    if not quotes:
        return False
    quotes[-1].decompose()
    return True


def cut_from(start: Tag) -> None:
    """Remove `start` and everything after it, up to the end of the body."""
    node: Tag | None = start
    while node is not None and node.name not in ("body", "html", BeautifulSoup.ROOT_TAG_NAME):
        for sibling in list(node.next_siblings):
            sibling.extract()
        parent = node.parent
        if node is start:
            node.decompose()
        node = parent
