"""forward: forwarded mail becomes structure; `reply_text` keeps only the customer's note.

The layouts are the ones mail clients write (their forward headers as each client and
language spells them); the parse contract is checked through `parse_bytes`, as the CLI and
the pipeline see it."""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner

from daemon.cli.mail import parse
from daemon.mail.forward import MAX_FORWARDED, is_forward_subject, split_forward
from daemon.mail.message import parse_bytes
from daemon.records import ParsedMail
from tests.factories import mime_mail

CONFIRMATION = "Order 48213 confirmed.\nTotal: 59.90 EUR\nDelivery in 3 days."

# (client and language, outer subject, the forwarded block as written under the note,
#  expected forwarded sender email, expected subject, expected date start)
INLINE = [
    (
        "Gmail, English",
        "Fwd: Your order 48213",
        "---------- Forwarded message ---------\nFrom: Shop <shop@example.com>\n"
        "Date: Mon, Dec 7, 2026 at 9:00 AM\nSubject: Your order 48213\nTo: <anna@example.org>\n",
        "shop@example.com",
        "Your order 48213",
        "Mon, Dec 7, 2026",
    ),
    (
        "Thunderbird, German",
        "WG: Ihre Bestellung 48213",
        "-------- Weitergeleitete Nachricht --------\nBetreff: \tIhre Bestellung 48213\n"
        "Datum: \tMon, 7 Dec 2026 09:00:00 +0100\nVon: \tShop <shop@example.com>\n"
        "An: \tanna@example.org\n",
        "shop@example.com",
        "Ihre Bestellung 48213",
        "2026-12-07T09:00:00+01:00",
    ),
    (
        "Apple Mail, French",
        "TR: Votre commande 48213",
        "Début du message réexpédié :\n\nDe: Boutique <shop@example.com>\n"
        "Objet: Votre commande 48213\nDate: 7 décembre 2026 à 09:00:00 UTC+1\n"
        "À: anna@example.org\n",
        "shop@example.com",
        "Votre commande 48213",
        "7 décembre 2026",
    ),
    (
        "Gmail, Spanish",
        "RV: Su pedido 48213",
        "---------- Mensaje reenviado ---------\nDe: Tienda <shop@example.com>\n"
        "Date: lun, 7 dic 2026 a las 9:00\nSubject: Su pedido 48213\nTo: <ana@example.org>\n",
        "shop@example.com",
        "Su pedido 48213",
        "lun, 7 dic 2026",
    ),
    (
        "Thunderbird, Italian",
        "I: Il suo ordine 48213",
        "-------- Messaggio Inoltrato --------\nOggetto: \tIl suo ordine 48213\n"
        "Data: \tMon, 7 Dec 2026 09:00:00 +0100\nMittente: \tNegozio <shop@example.com>\n"
        "Destinatario: \tanna@example.org\n",
        "shop@example.com",
        "Il suo ordine 48213",
        "2026-12-07",
    ),
    (
        "Thunderbird, Polish",
        "PD: Zamówienie 48213",
        "-------- Przekazana wiadomość --------\nTemat: \tZamówienie 48213\n"
        "Data: \tMon, 7 Dec 2026 09:00:00 +0100\nNadawca: \tSklep <shop@example.com>\n"
        "Adresat: \tanna@example.org\n",
        "shop@example.com",
        "Zamówienie 48213",
        "2026-12-07",
    ),
    (
        "Thunderbird, Russian",
        "Fwd: Заказ 48213",
        "-------- Перенаправленное сообщение --------\nТема: \tЗаказ 48213\n"
        "Дата: \tMon, 7 Dec 2026 09:00:00 +0300\nОт: \tМагазин <shop@example.com>\n"
        "Кому: \tanna@example.org\n",
        "shop@example.com",
        "Заказ 48213",
        "2026-12-07",
    ),
    (
        "Outlook desktop, Dutch (no marker line: the subject says it is a forward)",
        "Doorst: Uw bestelling 48213",
        "________________________________\nVan: Winkel <shop@example.com>\n"
        "Verzonden: maandag 7 december 2026 09:00\nAan: anna@example.org\n"
        "Onderwerp: Uw bestelling 48213\n",
        "shop@example.com",
        "Uw bestelling 48213",
        "maandag 7 december 2026",
    ),
    (
        "Outlook, Swedish, original-message separator",
        "VB: Din beställning 48213",
        "-----Ursprungligt meddelande-----\nFrån: Butik [mailto:shop@example.com]\n"
        "Skickat: den 7 december 2026 09:00\nTill: anna@example.org\n"
        "Ämne: Din beställning 48213\n",
        "shop@example.com",
        "Din beställning 48213",
        "den 7 december 2026",
    ),
    (
        "GMX / web.de, German, Gesendet first",
        "WG: Ihre Bestellung 48213",
        'Gesendet: Montag, 07. Dezember 2026 um 09:00 Uhr\nVon: "Shop" <shop@example.com>\n'
        "An: anna@example.org\nBetreff: Ihre Bestellung 48213\n",
        "shop@example.com",
        "Ihre Bestellung 48213",
        "Montag, 07. Dezember 2026",
    ),
    (
        "Apple Mail iOS, Portuguese, forwarded text quoted with >",
        "Fwd: Sua encomenda 48213",
        "Início da mensagem encaminhada:\n\n> De: Loja <shop@example.com>\n"
        "> Assunto: Sua encomenda 48213\n> Data: 7 de dezembro de 2026 09:00\n"
        "> Para: ana@example.org\n>\n",
        "shop@example.com",
        "Sua encomenda 48213",
        "7 de dezembro de 2026",
    ),
    (
        "Yahoo Mail, French: fields glued onto the marker line",
        "Fwd: Votre commande 48213",
        "   ----- Message transmis ----- De : Boutique <shop@example.com>À : "
        '"anna@example.org" <anna@example.org>Envoyé : mardi 7 décembre 2026, 09:00:00 UTC+1'
        "Objet : Votre commande 48213\n",
        "shop@example.com",
        "Votre commande 48213",
        "mardi 7 décembre 2026",
    ),
    (
        "HTML-to-text decorated marker, Czech",
        "Fwd: Objednávka 48213",
        "*---------- Přeposlaná zpráva ----------*\nOd: Obchod <shop@example.com>\n"
        "Datum: 7. 12. 2026 9:00\nPředmět: Objednávka 48213\nKomu: anna@example.org\n",
        "shop@example.com",
        "Objednávka 48213",
        "7. 12. 2026",
    ),
]


def mail(subject: str, body: str) -> ParsedMail:
    raw = mime_mail(
        sender="Anna Berg <anna@example.org>",
        to="support@example.com",
        subject=subject,
        message_id="<f1@example.org>",
        date="Tue, 08 Dec 2026 10:00:00 +0100",
        body=body,
    )
    return parse_bytes(raw)


@pytest.mark.parametrize(
    ("client", "subject", "block", "email", "fsubject", "date"),
    INLINE,
    ids=[case[0] for case in INLINE],
)
def test_inline_forward_with_a_note(
    client: str, subject: str, block: str, email: str, fsubject: str, date: str
) -> None:
    quoted = block.strip().endswith(">")
    text = "\n".join(f"> {line}" for line in CONFIRMATION.split("\n")) if quoted else CONFIRMATION
    parsed = mail(subject, f"Where is this order?\n\nAnna\n\n{block}\n{text}\n")
    assert parsed.reply_text == "Where is this order?"
    assert len(parsed.forwarded) == 1
    fwd = parsed.forwarded[0]
    assert fwd.sender is not None and fwd.sender.email == email
    assert fwd.subject == fsubject
    assert fwd.date is not None and fwd.date.startswith(date)
    assert fwd.text == CONFIRMATION
    assert fwd.kind == "inline"


def test_forward_without_a_note_leaves_reply_text_empty() -> None:
    parsed = mail("Fwd: Your order 48213", INLINE[0][2] + "\n" + CONFIRMATION)
    assert parsed.reply_text == ""
    assert parsed.forwarded[0].text == CONFIRMATION
    assert parsed.text.startswith("---------- Forwarded message")  # the whole text stays


def test_nested_forward_is_a_second_entry() -> None:
    inner = (
        "---------- Forwarded message ---------\nFrom: Shop <shop@example.com>\n"
        "Date: Mon, 7 Dec 2026 09:00:00 +0100\nSubject: Your order 48213\n\n" + CONFIRMATION
    )
    outer = (
        "-------- Weitergeleitete Nachricht --------\nBetreff: Fwd: Your order 48213\n"
        "Von: Bob <bob@example.net>\n\nAnna, kannst du das klären?\n\n" + inner
    )
    parsed = mail("WG: Fwd: Your order 48213", "Bitte prüfen.\n\n" + outer)
    assert parsed.reply_text == "Bitte prüfen."
    assert [f.sender.email for f in parsed.forwarded if f.sender] == [
        "bob@example.net",
        "shop@example.com",
    ]
    assert parsed.forwarded[0].text == "Anna, kannst du das klären?"
    assert parsed.forwarded[1].text == CONFIRMATION


def test_outlook_block_in_a_reply_is_quoted_history_not_a_forward() -> None:
    body = (
        "Thanks, that worked.\n\nFrom: Support <support@example.com>\nSent: Monday\n"
        "To: Anna\nSubject: RE: login\n\nPlease reset your password.\n"
    )
    parsed = mail("RE: login", body)
    assert parsed.forwarded == ()
    assert parsed.reply_text == "Thanks, that worked."


def test_a_quoted_forward_marker_belongs_to_the_quote() -> None:
    body = (
        "Any news?\n\nOn Mon, 7 Dec 2026 at 10:00, Support <support@example.com> wrote:\n"
        "> ---------- Forwarded message ---------\n> From: Shop <shop@example.com>\n> old\n"
    )
    parsed = mail("Re: Fwd: order", body)
    assert parsed.forwarded == ()
    assert parsed.reply_text == "Any news?"


def attached_forward(note: str, inner: bytes) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Anna Berg <anna@example.org>"
    msg["To"] = "support@example.com"
    msg["Subject"] = "Fwd: Your order 48213"
    msg["Message-ID"] = "<att@example.org>"
    msg.set_content(note)
    msg.add_attachment(inner, maintype="message", subtype="rfc822", filename="order.eml")
    return msg.as_bytes()


def confirmation_mail(attachments: tuple[tuple[str, str, bytes], ...] = ()) -> bytes:
    return mime_mail(
        sender="Shop <shop@example.com>",
        to="anna@example.org",
        subject="Your order 48213",
        message_id="<conf@example.com>",
        date="Mon, 07 Dec 2026 09:00:00 +0100",
        body=CONFIRMATION,
        attachments=attachments,
    )


def test_attached_message_is_parsed_with_the_same_parser() -> None:
    inner = confirmation_mail((("terms.txt", "text/plain", b"Terms and conditions\n"),))
    parsed = parse_bytes(attached_forward("See the attached mail, it never arrived.", inner))
    assert parsed.reply_text == "See the attached mail, it never arrived."
    (fwd,) = parsed.forwarded
    assert fwd.kind == "attached"
    assert fwd.sender is not None and fwd.sender.email == "shop@example.com"
    assert fwd.subject == "Your order 48213"
    assert fwd.date == "2026-12-07T09:00:00+01:00"
    assert fwd.text == CONFIRMATION
    assert [a.filename for a in fwd.attachments] == ["terms.txt"]
    assert [a.content_type for a in parsed.attachments] == ["message/rfc822"]  # kept as before


def test_attached_messages_are_bounded() -> None:
    inner = confirmation_mail()
    msg = EmailMessage()
    msg["From"] = "anna@example.org"
    msg["Subject"] = "Fwd: many"
    msg.set_content("all of them")
    for _ in range(MAX_FORWARDED + 5):
        msg.add_attachment(inner, maintype="message", subtype="rfc822")
    parsed = parse_bytes(msg.as_bytes())
    assert len(parsed.forwarded) == MAX_FORWARDED
    assert any("forwarded messages: the rest not read" in d for d in parsed.defects)


def test_returned_mail_of_a_delivery_report_is_not_a_forward() -> None:
    report = (
        b"From: MAILER-DAEMON@example.com\nTo: anna@example.org\nSubject: Undelivered\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
        b"--b\nContent-Type: text/plain\n\nfailed\n"
        b"--b\nContent-Type: message/delivery-status\n\nFinal-Recipient: rfc822; x@y.z\n"
        b"Action: failed\nStatus: 5.1.1\n\n"
        b"--b\nContent-Type: message/rfc822\n\n" + confirmation_mail() + b"\n--b--\n"
    )
    assert parse_bytes(report).forwarded == ()


def test_returned_mail_of_a_gateway_bounce_without_a_dsn_is_not_a_forward() -> None:
    """A gateway that writes no DSN sends multipart/mixed: the bounce reader, not the MIME
    type, says the attached message is our mail coming back."""
    notice = (
        b"From: MAILER-DAEMON@gateway.example.com\nTo: support@example.com\n"
        b"Subject: Undeliverable: Your order 48213\n"
        b'Content-Type: multipart/mixed; boundary="b"\n\n'
        b"--b\nContent-Type: text/plain\n\nDelivery has failed to these recipients:\n"
        b"<anna@example.org>\n550 5.1.1 User unknown\n"
        b"--b\nContent-Type: message/rfc822\n\n" + confirmation_mail() + b"\n--b--\n"
    )
    parsed = parse_bytes(notice)
    assert parsed.bounce is not None
    assert parsed.forwarded == ()


def test_stored_parse_round_trips_and_old_rows_load() -> None:
    parsed = mail("Fwd: Your order 48213", "See below\n\n" + INLINE[0][2] + "\n" + CONFIRMATION)
    assert ParsedMail.from_json(parsed.to_store()) == parsed
    old = parsed.to_store()
    del old["forwarded"]
    assert ParsedMail.from_json(old).forwarded == ()


@pytest.mark.parametrize(
    ("subject", "forward"),
    [
        ("Fwd: x", True),
        ("FW: x", True),
        ("WG: x", True),
        ("TR: x", True),
        ("RV: x", True),
        ("Re: Fwd: x", True),
        ("[#12] Fwd: x", True),
        ("Re: x", False),
        ("AW: x", False),
        ("Fwd x without colon", False),
        ("Invoice for framework", False),
    ],
)
def test_forward_subjects(subject: str, forward: bool) -> None:
    assert is_forward_subject(subject) is forward


def test_split_forward_leaves_plain_mail_alone() -> None:
    text = "Hello,\n\nFrom: the manual I learned to reset.\nDate: yesterday.\n\nThanks"
    split = split_forward(text, "Question")
    assert split.forwarded == ()
    assert split.note == text


def test_attached_message_sent_7bit_is_read_from_the_parsed_tree() -> None:
    inner = EmailMessage()
    inner["From"] = "Bob <bob@example.net>"
    inner["Subject"] = "Ticket 77"
    inner["Date"] = "Mon, 07 Dec 2026 09:00:00 +0000"
    inner.set_content("My printer prints blank pages.")
    msg = EmailMessage()
    msg["From"] = "anna@example.org"
    msg["Subject"] = "Fwd: Ticket 77"
    msg.set_content("")
    msg.add_attachment(inner)  # message/rfc822, 7bit: the parser builds its tree
    raw = msg.as_bytes()
    assert b"Content-Type: message/rfc822" in raw and b"base64" not in raw
    parsed = parse_bytes(raw)
    (fwd,) = parsed.forwarded
    assert (fwd.subject, fwd.text, parsed.reply_text) == (
        "Ticket 77",
        "My printer prints blank pages.",
        "",
    )


def test_outlook_html_forward_with_header_paragraphs() -> None:
    html = (
        "<html><body><p>Can you check this?</p>"
        '<div id="divRplyFwdMsg"><hr><p><b>From:</b> Shop &lt;shop@example.com&gt;</p>'
        "<p><b>Sent:</b> Monday, December 7, 2026 9:00 AM</p>"
        "<p><b>To:</b> anna@example.org</p><p><b>Subject:</b> Your order 48213</p></div>"
        "<p>Order 48213 confirmed.</p></body></html>"
    )
    msg = EmailMessage()
    msg["From"] = "anna@example.org"
    msg["Subject"] = "FW: Your order 48213"
    msg.set_content(html, subtype="html")
    parsed = parse_bytes(msg.as_bytes())
    assert parsed.reply_text == "Can you check this?"
    (fwd,) = parsed.forwarded
    assert fwd.sender is not None and fwd.sender.email == "shop@example.com"
    assert (fwd.subject, fwd.text) == ("Your order 48213", "Order 48213 confirmed.")
    assert fwd.date == "Monday, December 7, 2026 9:00 AM"


def test_language_of_a_bare_forward_comes_from_what_it_forwards() -> None:
    block = INLINE[1][2]  # Thunderbird, German
    parsed = mail(
        "WG: Ihre Bestellung",
        f"FYI\n\n{block}\nVielen Dank für Ihre Bestellung. "
        "Die Lieferung erfolgt in drei Tagen an Ihre Adresse.\n",
    )
    assert parsed.reply_text == "FYI"
    assert parsed.language == "de"


def test_parse_command_shows_forwards(tmp_path: Path) -> None:
    path = tmp_path / "fwd.eml"
    path.write_bytes(
        mime_mail(
            sender="anna@example.org",
            to="support@example.com",
            subject="WG: Ihre Bestellung 48213",
            message_id="<c1@example.org>",
            date="Tue, 08 Dec 2026 10:00:00 +0100",
            body=f"Wo bleibt sie?\n\n{INLINE[1][2]}\n{CONFIRMATION}\n",
        )
    )
    human = CliRunner().invoke(parse, [str(path)])
    assert (
        "forwards: inline from shop@example.com (2026-12-07T09:00:00+01:00): Ihre Bestellung"
        in human.output
    )
    data = json.loads(CliRunner().invoke(parse, [str(path), "--json"]).output)
    assert data["reply_text"] == "Wo bleibt sie?"
    assert data["forwarded"][0]["text"] == CONFIRMATION


def test_ios_forward_quoted_under_the_note() -> None:
    body = (
        "Can you fix the address?\n\n> Début du message réexpédié :\n>\n"
        "> De: Boutique <shop@example.com>\n> Objet: Votre commande 48213\n"
        "> Date: 7 décembre 2026 à 09:00:00 UTC+1\n>\n"
        + "\n".join(f"> {line}" for line in CONFIRMATION.split("\n"))
    )
    parsed = mail("Fwd: Votre commande 48213", body)
    assert parsed.reply_text == "Can you fix the address?"
    (fwd,) = parsed.forwarded
    assert (fwd.subject, fwd.text) == ("Votre commande 48213", CONFIRMATION)
