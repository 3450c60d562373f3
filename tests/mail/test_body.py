"""body: HTML cleaned and rendered, client-marked quotes cut, the text part chosen."""

from __future__ import annotations

import pytest
from inscriptis import Inscriptis
from lxml import html as lxml_html  # type: ignore[import-untyped]

from daemon.mail.body import (
    CONFIG,
    clean_html,
    html_to_text,
    read_body,
    render,
    split_html_reply,
    tidy,
)
from daemon.mail.mime import charset_hint, read_message

HOSTILE = """<html><head><title>T</title><style>p{color:red}</style>
<script>alert('x')</script></head><body onload="steal()">
<p>Visible <b>text</b></p><div style="display:none">hidden tracking</div>
<span hidden>also hidden</span><!-- a comment -->
<p><a href="https://shop.example.com/o/42">your order</a> and
<a href="mailto:bob@example.com">bob@example.com</a></p>
<ul><li>one</li><li>two</li></ul><o:p>Office para</o:p>
<img src="https://t.example.com/open.gif" width="1" height="1"><img src="cid:logo" width="80">
</body></html>"""


def test_html_is_cleaned_and_rendered() -> None:
    text = html_to_text(HOSTILE)
    assert "Visible text" in text
    for gone in ("alert", "color:red", "hidden tracking", "also hidden", "a comment", "T\n"):
        assert gone not in text
    assert "[your order](https://shop.example.com/o/42)" in text
    assert "bob@example.com" in text and "mailto:" not in text
    assert "* one\n* two" in text
    assert "Office para" in text


GMAIL = (
    '<div dir="ltr">Yes, please refund.<br></div><br><div class="gmail_quote">'
    '<div dir="ltr" class="gmail_attr">On Mon, Jan 1, 2024 at 10:00 AM Shop &lt;s@x.com&gt; '
    'wrote:<br></div><blockquote class="gmail_quote">Do you want a refund?</blockquote></div>'
)
APPLE = (
    '<div>Works now.</div><div><br><blockquote type="cite"><div>On 1 Jan 2024, at 10:00, '
    "Shop wrote:</div><div>Try again</div></blockquote></div>"
)
OUTLOOK = (
    '<div>Got it.</div><div id="divRplyFwdMsg"><b>From:</b> Shop<br><b>Sent:</b> Monday</div>'
    "<div>old message</div>"
)


def test_client_quotes_are_cut() -> None:
    for html, want, gone in (
        (GMAIL, "Yes, please refund.", "Do you want"),
        (APPLE, "Works now.", "Try again"),
        (OUTLOOK, "Got it.", "old message"),
    ):
        reply = split_html_reply(html)
        assert reply.cut and want in reply.text and gone not in reply.text


def test_gmail_forward_is_kept() -> None:
    html = (
        '<div>fyi</div><div class="gmail_quote">---------- Forwarded message ---------<br>'
        "From: Bob<br><br>the content</div>"
    )
    assert "the content" in split_html_reply(html).text


def test_empty_html() -> None:
    assert html_to_text("") == ""
    assert split_html_reply("").text == ""


def test_declared_charsets_inside_html_are_not_obeyed_again() -> None:
    """The HTML is text already decoded with the MIME charset; a <meta> or <?xml?> charset in
    it must not make the parser decode it a second time."""
    for html in (
        '<html><head><meta charset="iso-8859-1"></head><body><p>Café über</p></body></html>',
        '<?xml version="1.0" encoding="iso-8859-1"?><html><body><p>Café über</p></body></html>',
        '<meta http-equiv="Content-Type" content="text/html; charset=windows-1252"><p>Café über',
    ):
        assert html_to_text(html) == "Café über"


def test_the_cleaned_html_keeps_nothing_a_reader_does_not_see() -> None:
    """The cleaning itself, not only the text: inscriptis would skip most of this anyway."""
    cleaned = split_html_reply(HOSTILE).html
    for gone in (
        "<script",
        "<style",
        "<title",
        "<head",
        "<!--",
        "a comment",
        "hidden tracking",
        "also hidden",
        "t.example.com/open.gif",
        "<o:p",
    ):
        assert gone not in cleaned
    assert "cid:logo" in cleaned and "<p>Office para</p>" in cleaned
    assert '<a href="https://shop.example.com/o/42">your order</a>' in cleaned
    assert '<a href="mailto:' not in cleaned


OUTLOOK_2007 = (
    '<div>Done, thanks.</div><div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3pt">'
    "<p><b>From:</b> Shop<br><b>Sent:</b> Monday</p></div><p>old message</p>"
)
HOTMAIL = '<div>Fine.</div><hr id="stopSpelling">From: Shop<br>old message'
YAHOO = '<div>Ok.</div><div class="yahoo_quoted"><div>On Monday, Shop wrote:</div>old message</div>'
PLAIN_BLOCKQUOTE = "<p>Thanks</p><blockquote><p>old message</p></blockquote>"


@pytest.mark.parametrize(
    ("html", "want"),
    [
        (OUTLOOK_2007, "Done, thanks."),
        (HOTMAIL, "Fine."),
        (YAHOO, "Ok."),
        (PLAIN_BLOCKQUOTE, "Thanks"),
    ],
)
def test_more_client_quotes_are_cut(html: str, want: str) -> None:
    reply = split_html_reply(html)
    assert reply.cut and reply.text == want and "old message" not in reply.html


def test_a_reply_written_inside_the_quote_is_the_whole_mail() -> None:
    html = '<blockquote type="cite">Is the parcel lost?<br>No, it arrived today.</blockquote>'
    reply = split_html_reply(html)
    assert reply.text == "Is the parcel lost?\nNo, it arrived today."
    assert "arrived today" in reply.html


def test_one_parse_gives_the_whole_text_and_the_cut_reply() -> None:
    """read_body renders the whole text first, then cuts the same soup for the reply."""
    parsed = read_message(b"Content-Type: text/html; charset=utf-8\r\n\r\n" + GMAIL.encode())
    body = read_body(parsed, charset_hint(parsed.msg), [])
    assert "Do you want a refund?" in body.text
    assert body.html_reply is not None and body.html_reply.cut
    assert body.html_reply.text == "Yes, please refund."


def test_a_rule_starts_a_line() -> None:
    """An unmarked Outlook quote header after an <hr> must start its own line for the
    plain-text quote rules to see it."""
    assert html_to_text("<span>Thanks</span><hr><span>From: Shop</span>") == "Thanks\nFrom: Shop"


def test_html_nested_thousands_deep_is_read() -> None:
    """bs4 keeps any depth and inscriptis recurses: past MAX_NESTING only the text is kept,
    instead of a RecursionError that would leave parse a minimal record."""
    html = "<div>" * 5000 + "Where is my parcel?" + "</div>" * 5000 + "<p>Anna</p>"
    assert html_to_text(html) == "Where is my parcel?\n\nAnna"


def test_text_after_the_closing_html_tag_is_kept() -> None:
    """Browsers show it (QQ Mail appends forwarded content there); lxml's own tree drops it."""
    html = "<html><body><p>My order is late.</p></body></html>\n<div>PS: it is order 42</div>"
    assert html_to_text(html) == "My order is late.\n\nPS: it is order 42"


@pytest.mark.parametrize(
    "html",
    [
        HOSTILE,
        GMAIL,
        APPLE,
        OUTLOOK_2007,
        "<table><tr><td>Item</td><td>Price</td></tr><tr><td colspan=2>Total 9.00</td></tr></table>",
        "<ol><li>first<ul><li>nested</li></ul></li><li>second</li></ol><pre>  two  spaces\n</pre>",
        '<p align="right">right</p><div style="white-space:pre">a   b</div>a<br>b<br/>c &amp; d',
        '<a name="top"></a><p>Text <a href="https://x.example">link</a> tail <b>bold</b> end</p>',
    ],
)
def test_inscriptis_reads_the_soup_as_it_reads_an_lxml_tree(html: str) -> None:
    """`View` stands in for the lxml tree inscriptis walks: same text as the tree lxml builds
    from the serialised soup."""
    soup = clean_html(html)
    tree = lxml_html.document_fromstring(soup.decode())
    assert render(soup) == tidy(Inscriptis(tree, CONFIG).get_text())
