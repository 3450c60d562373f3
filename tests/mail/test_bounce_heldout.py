"""Held-out gateway notices and look-alikes: written after the word tables were frozen, from
layouts the development cases (test_bounce_gateways.py) do not use, and never tuned on.

The score is printed and held to a floor, not to 100%: a miss here is a finding to report, and
fixing it by adding its words to the tables would turn this set into a development set. Sources
as in the development set: sisimai's `Lhost` modules (MailFoundry, MessagingServer, Courier,
EinsUndEins, V5sendmail, Yandex) for the markers each server writes.
"""

from __future__ import annotations

import email
import email.policy

import pytest

from daemon.mail.auto import detect_auto
from daemon.mail.bounce import detect_bounce, sender_address
from tests.mail.test_bounce_gateways import Case, build, person

HELD_OUT: list[Case] = [
    Case(
        "sisimai Lhost::MailFoundry ('Message delivery has failed', 'Unable to deliver message "
        "to: <')",
        '"MailFoundry" <mailfoundry@filter.example.org>',
        "Message delivery has failed",
        "Unable to deliver message to: <kijitora@example.org>\nDelivery failed for the "
        "following reason:\nServer mx22.example.org[192.0.2.222] failed with: 550 "
        "<kijitora@example.org> No such user here\n\nThis has been a permanent failure.  No "
        "further delivery attempts will be made.\n",
        "kijitora@example.org",
    ),
    Case(
        "sisimai Lhost::MessagingServer ('Delivery Notification: ', 'This report relates to')",
        "Internet Mail Delivery <postmaster@me.example.com>",
        "Delivery Notification: Delivery has failed",
        "This report relates to a message you sent with the following header fields:\n\n"
        "  Message-id: <4411@shop.example>\n  To: kijitora@example.jp\n  Subject: Your order\n\n"
        "Your message cannot be delivered to the following recipients:\n\n"
        "  Recipient address: kijitora@example.jp\n  Reason: Remote SMTP server has rejected "
        "address\n  Diagnostic code: smtp;550 5.1.1 <kijitora@example.jp>... User Unknown\n",
        "kijitora@example.jp",
    ),
    Case(
        "sisimai Lhost::Courier ('Courier mail server at', 'UNDELIVERABLE MAIL')",
        '"Courier mail server at mx.example.org" <@>',
        "NOTICE: mail delivery status.",
        "This is a delivery status notification from mx.example.org,\nrunning the Courier mail "
        "server, version 0.65.2.\n\n                          UNDELIVERABLE MAIL\n\n"
        "Your message to the following recipients cannot be delivered:\n\n"
        "<kijitora@example.co.jp>:\n   mx.example.co.jp [192.0.2.95]:\n"
        ">>> RCPT TO:<kijitora@example.co.jp>\n<<< 550 5.1.1 <kijitora@example.co.jp>... User "
        "Unknown\n",
        "kijitora@example.co.jp",
    ),
    Case(
        "sisimai Lhost::Courier ('WARNING: delayed mail.', 'DELAYS IN DELIVERING YOUR MESSAGE')",
        '"Courier mail server at mx.example.org" <courier@mx.example.org>',
        "WARNING: delayed mail.",
        "This is a delivery status notification from mx.example.org.\n\n"
        "                     DELAYS IN DELIVERING YOUR MESSAGE\n\n"
        "Your message to the following recipients has not yet been delivered; the system "
        "will keep trying:\n\n<later@example.org>:\n<<< 451 4.3.0 Temporary local problem\n",
        "later@example.org",
        permanent=False,
    ),
    Case(
        "sisimai Lhost::EinsUndEins ('Mail delivery failed: returning message to sender')",
        '"Mail Delivery System" <mailer@kundenserver.example>',
        "Mail delivery failed: returning message to sender",
        "This message was created automatically by mail delivery software.\n\nA message that "
        "you sent could not be delivered to one or more of\nits recipients. This is a "
        "permanent error.\n\nThe following address failed:\n\ngeneral@example.eu\n\nFor the "
        "following reason:\n\nMail size limit exceeded.\n",
        "general@example.eu",
    ),
    Case(
        "sisimai Lhost::V5sendmail ('Returned mail: ', 'Transcript of session follows')",
        "Mail Delivery Subsystem <smtp@old.example.org>",
        "Returned mail: User unknown",
        "   ----- Transcript of session follows -----\nWhile talking to smtp.example.com:\n"
        ">>> RCPT To:<kijitora@example.org>\n<<< 550 <kijitora@example.org>, User Unknown\n"
        "550 <kijitora@example.org>... User unknown\n\n   ----- Unsent message follows -----\n",
        "kijitora@example.org",
    ),
    Case(
        "sisimai Lhost::Yandex (Postfix wording in Russian Yandex mail, no DSN part kept)",
        "Yandex Mail <robot@mail.example.ru>",
        "Недоставленное сообщение",
        "This is the mail system at host mail.example.ru.\n\nI'm sorry to have to inform you "
        "that your message could not\nbe delivered to one or more recipients.\n\n"
        "<kijitora@example.jp>: host mx.example.jp[192.0.2.153] said: 550\n    5.1.1 "
        "<kijitora@example.jp>... User Unknown (in reply to RCPT TO command)\n",
        "kijitora@example.jp",
    ),
    Case(
        "anti-virus gateway in German: the message stopped, the sender told",
        '"Virenschutz" <virenschutz@mail.example.de>',
        "Nicht zustellbar: Ihre Bestellung 4411",
        "Die Nachricht konnte nicht zugestellt werden: sie enthält einen Virus.\n\n"
        "Empfänger: <einkauf@example.de>\n554 5.7.1 Message rejected: virus detected\n",
        "einkauf@example.de",
    ),
    Case(
        "SMTP relay service in French ('Échec de la remise')",
        '"Service SMTP" <smtp@relais.example.fr>',
        "Échec de la remise du message",
        "Votre message n'a pas pu être remis au destinataire suivant :\n\n"
        "<paul@example.fr> : 550 5.1.1 Utilisateur inconnu\n",
        "paul@example.fr",
    ),
    Case(
        "mail gateway in Polish ('Nie można dostarczyć')",
        '"Bramka pocztowa" <gateway@poczta.example.pl>',
        "Nie można dostarczyć wiadomości",
        "Wiadomość nie mogła zostać dostarczona do następującego adresata:\n\n"
        "<anna@example.pl>: 550 5.1.1 Nieznany adresat\n",
        "anna@example.pl",
    ),
]

HELD_OUT_PEOPLE: list[tuple[str, bytes]] = [
    (
        "customer: courier could not deliver",
        person(
            "Lena <lena@example.de>",
            "Zustellung fehlgeschlagen?",
            "Hallo, DHL schreibt: Zustellung fehlgeschlagen, Empfänger unbekannt. Ich wohne "
            "aber dort! Bestellung 4411.\n",
        ),
    ),
    (
        "customer: 'Your message could not be delivered' screenshot text",
        person(
            "Omar <omar@example.com>",
            "Can't email your billing team",
            "Every time I write to billing@shop.example I get 'Your message could not be "
            "delivered'. Is that address still in use?\n",
        ),
    ),
    (
        "IT admin from administrator@ asking about a blocklist",
        person(
            "Administrator <administrator@customer.example>",
            "Our mail to you is rejected",
            "Hello, since today our mails to support@shop.example are rejected with 554 5.7.1. "
            "Are we on a blocklist? Regards, the administrator of customer.example\n",
        ),
    ),
    (
        "customer: an undelivered gift",
        person(
            "Paola <paola@example.it>",
            "Regalo non recapitato",
            "Buongiorno, il regalo per mia madre non è stato recapitato. Il corriere dice "
            "destinatario sconosciuto. Potete verificare l'indirizzo?\n",
        ),
    ),
]

FLOOR = 0.8


def test_held_out_gateway_notices(capsys: pytest.CaptureFixture[str]) -> None:
    screened, named = 0, 0
    missed: list[str] = []
    for case in HELD_OUT:
        msg = email.message_from_bytes(build(case), policy=email.policy.default)
        bounce = detect_bounce(msg)
        if bounce is None:
            missed.append(case.source)
            continue
        screened += 1
        found = bounce.permanent if case.permanent else bounce.temporary
        named += case.failed in found
    with capsys.disabled():
        print(
            f"\n[bounce held-out] gateway notices screened out {screened}/{len(HELD_OUT)}, "
            f"failed recipient and class right {named}/{len(HELD_OUT)}; missed {missed}"
        )
    assert screened >= FLOOR * len(HELD_OUT), missed


@pytest.mark.parametrize(("name", "raw"), HELD_OUT_PEOPLE, ids=[c[0] for c in HELD_OUT_PEOPLE])
def test_held_out_look_alikes_stay_a_persons_mail(name: str, raw: bytes) -> None:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert detect_bounce(msg) is None
    assert not detect_auto(msg, sender_address(msg)).is_auto
