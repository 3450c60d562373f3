"""body: which parts of a message are its text, and HTML made into plain text.

Decides what "the body" is when a message has several candidates: the first text/plain part
that is not an attachment is the text, with the text/plain parts that continue it inline (Apple
Mail splits a body around pictures); HTML is used only when there is no plain text. HTML is
parsed once with lxml and cleaned in that tree — scripts, styles, heads, comments and hidden
elements removed, Office namespaces dropped, links whose text is their address unwrapped — and
the same tree is rendered with inscriptis (lists, tables and links survive;
../shared/DEPENDENCIES.md). Not BeautifulSoup: building its Python tree, serialising it and
re-parsing it for inscriptis took ~60 ms of a long HTML mail, the stdlib parses the whole
message in ~3 ms (benchmarks/parse.py). Nothing in the HTML is ever run: it is only read as a
tree. For the reply, the quoted blocks mail clients mark up (Gmail's `gmail_quote`, Apple Mail
and Thunderbird's `blockquote type=cite`, Outlook's `divRplyFwdMsg` and border-top header block,
Hotmail's `stopSpelling`, Yahoo's `yahoo_quoted`, Zimbra's divider) are cut from a copy of the
tree before rendering; failing those, the last top-level blockquote.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message

from inscriptis import Inscriptis
from inscriptis.model.config import ParserConfig
from lxml import etree  # type: ignore[import-untyped]
from lxml import html as lxml_html
from lxml.html import HtmlElement  # type: ignore[import-untyped]

from daemon.mail.mime import (
    MAX_DEPTH,
    Hint,
    Parsed,
    decode_text,
    hashes,
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
PARSER = lxml_html.HTMLParser(encoding="utf-8")


def find(tag: str, test: str) -> etree.XPath:
    """The elements named `tag` that pass an XPath `test`, in document order."""
    return etree.XPath(f"//{tag}[{test}]")


def has_class(name: str) -> str:
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


GMAIL_QUOTE = find("div", has_class("gmail_quote"))
# Elements that start the quoted history; everything from them to the end of their parent
# is history too (Outlook puts the old message in siblings after its header block). The first
# kind found wins, in this order.
QUOTE_STARTS = (
    find("div", "@id='divRplyFwdMsg'"),
    find("div", "@id='appendonsend'"),
    find("hr", "@id='stopSpelling'"),
    find("hr", "@data-marker='__DIVIDER__'"),
    find("div", has_class("moz-cite-prefix")),
    find("div", "@id='OLK_SRC_BODY_SECTION'"),
    find("span", "@id='OLK_SRC_BODY_SECTION'"),
)
# Elements that are the quoted history themselves.
QUOTE_BLOCKS = (
    find("blockquote", "@type='cite'"),
    find("div", has_class("yahoo_quoted")),
    find("div", has_class("zmail_extra")),
)
STYLED = find("*", "@style")
OUTER_BLOCKQUOTES = find("blockquote", "not(ancestor::blockquote)")


@dataclass(frozen=True, slots=True)
class Body:
    """The text of a message and everything else it carries."""

    text: str
    html: str | None
    """The HTML body, when the text had to be rendered from it (there was no plain text)."""
    attachments: tuple[Attachment, ...]
    tree: HtmlElement | None = field(default=None, compare=False, repr=False)
    """`html` parsed and cleaned (`clean_html`), kept so the reply is cut without a re-parse."""


@dataclass(frozen=True, slots=True)
class HtmlReply:
    tree: HtmlElement = field(repr=False)
    """The cleaned tree of what the sender wrote now."""
    text: str
    """The same, rendered as plain text."""
    cut: bool
    """True when quoted history was found and cut."""

    @property
    def html(self) -> str:
        """The cleaned HTML of what the sender wrote now."""
        return str(etree.tostring(self.tree, encoding="unicode", method="html"))


def read_body(parsed: Parsed, hint: Hint, defects: list[str]) -> Body:
    """Split a parsed message into its text and its attachments."""
    plain: list[str] = []
    html: str | None = None
    attachments: list[Attachment] = []
    for part in leaves(parsed.msg, defects):
        filename = part_filename(part, hint, defects)
        data = part_data(part, parsed, defects)
        kind = body_kind(part, filename)
        if kind == "text/plain" and isinstance(data, bytes):
            plain.append(decode_text(data, part_charset(part), defects))
        elif kind == "text/html" and html is None and isinstance(data, bytes):
            html = decode_text(data, part_charset(part), defects)
        else:
            attachments.append(make_attachment(part, filename, hashes(data)))
    text = "\n".join(p.strip("\n") for p in plain).strip()
    if text or html is None:
        return Body(text, None, tuple(attachments))
    tree = clean_html(html)
    return Body(render(tree), html, tuple(attachments), tree)


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


def split_html_reply(html: str | HtmlElement, whole: str | None = None) -> HtmlReply:
    """What the sender wrote now, with the quoted history the mail client marked cut away.

    `html` is markup or a tree `clean_html` made (it is not changed). When cutting would leave
    nothing readable (the sender wrote inside the quote), the whole message is the reply.
    `whole` is `render(tree)` when the caller has it already.
    """
    tree = clean_html(html) if isinstance(html, str) else html
    cut = copy.deepcopy(tree)  # C speed: a fraction of a millisecond on a long mail
    if cut_quotes(cut):
        text = strip_quotes(render(cut))
        if text.strip():
            return HtmlReply(cut, text, True)
    whole = render(tree) if whole is None else whole
    text = strip_quotes(whole)
    return HtmlReply(tree, text or whole, text != whole)


def clean_html(html: str) -> HtmlElement:
    """Parse and clean: nothing that is not shown to a reader survives."""
    markup = html.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8", "replace")
    try:
        # bytes with the encoding named: a <meta charset> or <?xml encoding?> in the mail
        # describes bytes that were already decoded, and must not be obeyed again
        root = lxml_html.document_fromstring(markup, parser=PARSER)
    except etree.ParserError:  # nothing but whitespace and comments
        return lxml_html.document_fromstring(b"<html></html>", parser=PARSER)
    clean_tree(root)
    for rule in list(root.iter("hr")):
        rule.addprevious(root.makeelement("br"))  # so a header block after it starts a line
    return root


def clean_tree(root: HtmlElement) -> None:
    """One walk over the tree, parents before children: drop comments and what is not shown,
    drop Office namespaces (`<o:p>` is a paragraph), unwrap links that only repeat their
    address. A dropped element's tail text stays: it is the text after it."""
    stack = [root]
    while stack:
        node = stack.pop()
        children = list(node)  # the children as they were: unwrapping moves them up
        if not isinstance(node.tag, str) or node.tag in DROP_TAGS or hidden(node):
            if node.getparent() is not None:
                node.drop_tree()
            else:  # the root itself is hidden: nothing is shown
                node.clear()
            continue
        if ":" in node.tag:
            node.tag = node.tag.split(":", 1)[1]
        elif node.tag == "a":
            unwrap_plain_link(node)
        stack.extend(reversed(children))


def hidden(node: HtmlElement) -> bool:
    return "hidden" in node.attrib or bool(HIDDEN_STYLE.search(node.get("style") or ""))


def unwrap_plain_link(link: HtmlElement) -> None:
    """A link whose text is its address says nothing more as "[text](url)"."""
    href = link.get("href") or ""
    text = link.text_content().strip()
    if not href or href.removeprefix("mailto:") == text or href.rstrip("/") == text.rstrip("/"):
        link.drop_tag()


def render(tree: HtmlElement) -> str:
    """inscriptis' text of the tree, each line stripped, blank runs folded to one."""
    return tidy(Inscriptis(tree, CONFIG).get_text())


def tidy(text: str) -> str:
    lines = [line.strip() for line in text.replace("\xa0", " ").splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def cut_quotes(tree: HtmlElement) -> bool:
    """Remove the quoted history the mail client marked up; True when something was cut."""
    return (
        cut_gmail_quote(tree)
        or cut_marked(tree)
        or cut_outlook_header(tree)
        or cut_blockquote(tree)
    )


def cut_gmail_quote(tree: HtmlElement) -> bool:
    found = GMAIL_QUOTE(tree)
    if not found or FORWARDED.search(found[0].text_content()[:300]):
        return False
    found[0].drop_tree()
    return True


def cut_marked(tree: HtmlElement) -> bool:
    for find in QUOTE_STARTS:
        found = find(tree)
        if found:
            cut_from(found[0])
            return True
    for find in QUOTE_BLOCKS:
        found = find(tree)
        if found:
            found[0].drop_tree()
            return True
    return False


def cut_outlook_header(tree: HtmlElement) -> bool:
    """Outlook 2007+ starts the old message with a div whose top border is its header."""
    for node in STYLED(tree):
        if OUTLOOK_HEADER_STYLE.search(node.get("style")):
            cut_from(node)
            return True
    return False


def cut_blockquote(tree: HtmlElement) -> bool:
    """The last top-level blockquote (not Gmail's own) is the quote, as talon decides."""
    quotes = [q for q in OUTER_BLOCKQUOTES(tree) if "gmail_quote" not in classes(q)]
    if not quotes:
        return False
    quotes[-1].drop_tree()
    return True


def classes(node: HtmlElement) -> list[str]:
    return str(node.get("class") or "").split()


def cut_from(start: HtmlElement) -> None:
    """Remove `start` and everything after it, up to the end of the body."""
    node: HtmlElement | None = start
    while node is not None and node.tag not in ("body", "html"):
        parent = node.getparent()
        for sibling in list(node.itersiblings()):
            parent.remove(sibling)
        node.tail = None  # the text after it goes with it
        if node is start:
            parent.remove(node)
        node = parent
