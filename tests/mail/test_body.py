"""body: HTML cleaned and rendered, client-marked quotes cut, the text part chosen."""

from __future__ import annotations

from daemon.mail.body import clean_html, html_to_text, render, split_html_reply

HOSTILE = """<html><head><title>T</title><style>p{color:red}</style>
<script>alert('x')</script></head><body onload="steal()">
<p>Visible <b>text</b></p><div style="display:none">hidden tracking</div>
<span hidden>also hidden</span><!-- a comment -->
<p><a href="https://shop.example.com/o/42">your order</a> and
<a href="mailto:bob@example.com">bob@example.com</a></p>
<ul><li>one</li><li>two</li></ul><o:p>Office para</o:p></body></html>"""


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


def test_the_cleaned_tree_is_cut_on_a_copy() -> None:
    """parse hands the tree it rendered the body from to the reply cutter: it must stay whole."""
    tree = clean_html(GMAIL)
    reply = split_html_reply(tree, render(tree))
    assert "Do you want" not in reply.text and "Do you want" not in reply.html
    assert "Do you want" in render(tree)
