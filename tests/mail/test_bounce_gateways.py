"""Delivery failures without a DSN, from the gateways and servers that write their own texts.

Development cases: each notice is written after a layout that a public source documents, named
in the case (sisimai's `Lhost` modules quote the subjects, senders and body markers of each
server; flufl.bounce's `simplematch`/`simplewarning` detectors quote the markers GNU Mailman
met; issue 17 quotes the gateways a support mailbox met). Addresses and hosts are made up. Each
must be screened as a machine's mail, name its failed recipient when the layout names one (and
class it as for good or for now), and every look-alike a person writes must stay a person's.
Every case runs on both the compat32 and the modern `EmailMessage` parse.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass

import pytest

from daemon.mail.auto import detect_auto
from daemon.mail.bounce import bounce_evidence, detect_bounce, sender_address

POLICIES = [email.policy.compat32, email.policy.default]
ORIGINAL = """\
From: Support <support@shop.example>
To: {to}
Subject: Your order 4411
Message-ID: <reply-4411@shop.example>

Hello, your order 4411 has shipped.
"""


@dataclass(frozen=True)
class Case:
    source: str  # where the layout is documented
    sender: str
    subject: str
    body: str
    failed: str | None = None  # the failed recipient the layout names
    permanent: bool = True
    headers: str = ""
    attach: bool = False  # the returned message as a message/rfc822 part
    kind: str = "bounce"


def build(case: Case) -> bytes:
    head = (
        f"From: {case.sender}\nTo: support@shop.example\nSubject: {case.subject}\n"
        f"Date: Tue, 08 Dec 2026 03:30:00 +0100\nMessage-ID: <n-{abs(hash(case.subject))}@gw>\n"
        f"MIME-Version: 1.0\n{case.headers}"
    )
    if not case.attach:
        head += "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n"
        return (head + "\n" + case.body).encode()
    original = ORIGINAL.format(to=case.failed or "someone@example.net")
    return (
        head + 'Content-Type: multipart/mixed; boundary="GW"\n\n--GW\n'
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
        f"{case.body}\n--GW\nContent-Type: message/rfc822\n\n{original}\n--GW--\n"
    ).encode()


GATEWAYS: list[Case] = [
    Case(
        "sisimai Lhost::Domino (subject 'DELIVERY FAILURE:', 'was not delivered to:')",
        '"Mail Router" <router@notes.example.jp>',
        "DELIVERY FAILURE: User Kijitora (kijitora@notes.example.jp) not listed in Domino "
        "Directory",
        "Your message\n\n  Subject: Your order 4411\n\nwas not delivered to:\n\n"
        "  kijitora@notes.example.jp\n\nbecause:\n\n  User Kijitora (kijitora@notes.example.jp) "
        "not listed in Domino Directory\n",
        "kijitora@notes.example.jp",
    ),
    Case(
        "sisimai Lhost::Notes (subject 'Undeliverable message', '------- Failure Reasons')",
        '"Lotus Notes" <notes@n.example.co.jp>',
        "Undeliverable message",
        "------- Failure Reasons  --------\n\nUser not listed in public Name & Address Book\n"
        "kijitora@n.example.co.jp\n\n------- Returned Message --------\n"
        "To: kijitora@n.example.co.jp\nSubject: Your order 4411\n",
        "kijitora@n.example.co.jp",
    ),
    Case(
        "sisimai Lhost::Exchange2003 ('did not reach the following recipient(s)', MSEXCH)",
        "System Administrator <admin@exchange.example.com>",
        "Undeliverable: Your order 4411",
        "Your message\n\n  To:      nobody@exchange.example.com\n  Subject: Your order 4411\n"
        "  Sent:    Tue, 8 Dec 2026 03:30:00 +0100\n\ndid not reach the following recipient(s):\n\n"
        "nobody@exchange.example.com on Tue, 8 Dec 2026 03:30:05 +0100\n"
        "    The recipient name is not recognized\n"
        "    MSEXCH:IMS:EXAMPLE:MAIL:EX01 0 (000C05A6) Unknown Recipient\n",
        "nobody@exchange.example.com",
        headers="X-MS-Embedded-Report: \nX-Mailer: Internet Mail Service (5.5.2657.72)\n",
    ),
    Case(
        "issue 17: 'Delivery Failure' from a 'System Administrator' (Exchange 5.5 wording)",
        "System Administrator <sysadmin@corp.example.com>",
        "Delivery Failure",
        "Your message did not reach some or all of the intended recipients.\n\n"
        "      Subject:\tYour order 4411\n      Sent:\t08/12/2026 03:30\n\n"
        "The following recipient(s) could not be reached:\n\n"
        "      jdoe@corp.example.com on 08/12/2026 03:30\n"
        "            The e-mail account does not exist at the organization this message was "
        "sent to.\n            <mx.corp.example.com #5.1.1>\n",
        "jdoe@corp.example.com",
    ),
    Case(
        "issue 17: 'Returned Mail - Error During Delivery' from a 'System Administrator'",
        '"System Administrator" <administrator@mail.example.org>',
        "Returned Mail - Error During Delivery",
        "Your message could not be delivered to one or more recipients.\n\n"
        "   jane@example.org  - 550 5.1.1 User unknown\n",
        "jane@example.org",
        attach=True,
    ),
    Case(
        "sisimai Lhost::IMailServer (subject 'Undeliverable Mail', 'Original message follows.')",
        '"IMail Server" <imail@mail.example.net>',
        "Undeliverable Mail",
        "Unknown user: kijitora@example.net\n\nOriginal message follows.\n\n"
        "Subject: Your order 4411\n",
        "kijitora@example.net",
        headers="X-Mailer: <SMTP32 v8.22>\n",
    ),
    Case(
        "sisimai Lhost::InterScanMSS (From 'InterScan MSS', 'Sent <<< RCPT TO:')",
        '"InterScan MSS" <ismss@gw.example.co.jp>',
        "Mail could not be delivered",
        "Sent <<< RCPT TO:<kijitora@example.co.jp>\n"
        "Received >>> 550 5.1.1 <kijitora@example.co.jp>... user unknown\n\n"
        "Unable to deliver message to <kijitora@example.co.jp>.\n",
        "kijitora@example.co.jp",
    ),
    Case(
        "sisimai Lhost::InterScanMSS (Japanese subject 'メッセージを配信できません。')",
        '"InterScan MSS" <ismss@gw.example.co.jp>',
        "=?UTF-8?B?44Oh44OD44K744O844K444KS6YWN5L+h44Gn44GN44G+44Gb44KT44CC?=",
        "送信 <<< RCPT TO:<neko@example.co.jp>\n受信 >>> 550 5.1.1 <neko@example.co.jp>... "
        "User unknown\n",
        "neko@example.co.jp",
    ),
    Case(
        "sisimai Lhost::MailMarshalSMTP (subject 'Undeliverable Mail: \"', 'Your message:')",
        '"MailMarshal" <mailmarshal@relay.example.com>',
        'Undeliverable Mail: "Your order 4411"',
        "Your message:\n   From:    support@shop.example\n   Subject: Your order 4411\n\n"
        "Could not be delivered because of\n\n550 5.1.1 User unknown\n\n"
        "The following recipients were affected:\n    dummyuser@example.com\n\n"
        "Additional Information\n======================\n"
        "Original Sender:    <support@shop.example>\nReporting-MTA:      <relay.example.com>\n",
        "dummyuser@example.com",
    ),
    Case(
        "sisimai Lhost::McAfee (X-NAI-Header, subject 'Delivery Status')",
        '"McAfee Email Gateway" <gateway@mx.example.co.jp>',
        "Delivery Status",
        "--- The following addresses had delivery problems ---\n\n"
        "<kijitora@example.co.jp>   (User unknown kijitora@example.co.jp)\n",
        "kijitora@example.co.jp",
        headers="X-NAI-Header: Modified by McAfee Email and Web Security Virtual Appliance\n",
    ),
    Case(
        "sisimai Lhost::SurfControl (X-Mailer 'SurfControl E-mail Filter')",
        '"SurfControl" <filter@sc.example.com>',
        "Mail delivery failure",
        "Your message could not be sent.\nA transcript of the attempts to send the message "
        "follows.\nThe number of attempts made: 1\nAddressed To: kijitora@example.com\n\n"
        "Thu 29 Apr 2010 23:34:45 +0900\nFailed to send to identified host,\n"
        "kijitora@example.com: [192.0.2.5], 550 kijitora@example.com... No such user\n"
        "--- Message non-deliverable.\n",
        "kijitora@example.com",
        headers="X-SEF-Processed: 0_0_0_000__2010_04_29_23_34_45\n"
        "X-Mailer: SurfControl E-mail Filter\n",
    ),
    Case(
        "sisimai Lhost::Activehunter (X-AHMailID, 'FAILURE NOTICE :')",
        '"Active!hunter" <ahadmin@mx.example.org>',
        "FAILURE NOTICE : Your order 4411",
        "  ----- The following addresses had permanent fatal errors -----\n\n"
        ">>> kijitora@example.org <kijitora@example.org>\n\n"
        "  ----- Transcript of session follows -----\n"
        "550 sorry, no mailbox here by that name (#5.1.1 - chkusr)\n",
        "kijitora@example.org",
        headers="X-AHMailID: 00000000000000000000\n",
    ),
    Case(
        "sisimai Lhost::mFILTER (X-Mailer 'm-FILTER', subject 'failure notice')",
        '"m-FILTER" <mfilter@mx.example.jp>',
        "failure notice",
        "このメールは「m-FILTER」が自動的に生成して送信しています。\n"
        "以下のメールアドレスへの送信に失敗しました。\nkijitora@example.jp\n\n\n"
        "-------server message\n550 5.1.1 unknown user <kijitora@example.jp>\n\n"
        "-------SMTP command\nDATA\n\n-------original message\n",
        "kijitora@example.jp",
        headers="X-Mailer: m-FILTER\n",
    ),
    Case(
        "sisimai Lhost::X1 (From '\"Mail Deliver System\"', subject 'Returned Mail: ')",
        '"Mail Deliver System" <mds@mx.example.jp>',
        "Returned Mail: User unknown",
        "The original message was received at Thu, 29 Apr 2010 23:34:45 +0900 (JST)\n"
        "from shironeko@example.jp\n\n---The following addresses had delivery errors---\n\n"
        "kijitora@example.co.jp [User unknown]\n",
        "kijitora@example.co.jp",
    ),
    Case(
        "sisimai Lhost::X2 (subject 'Delivery failure', 'Unable to deliver message to')",
        '"Mail Administrator" <mailadmin@example.com>',
        "Delivery failure",
        "Message from example.com.\nUnable to deliver message to the following address(es).\n\n"
        "<kijitora@example.com>:\nThis user doesn't have a example.com account "
        "(kijitora@example.com) [0]\n\n--- Original message follows.\n",
        "kijitora@example.com",
    ),
    Case(
        "sisimai Lhost::X3 (From 'Mail Delivery System', 'Delivery status notification')",
        "Mail Delivery System <mail.delivery.system@mx44.example.com>",
        "Delivery status notification: error",
        "=========================================\n      This is an automatically generated "
        "Delivery Status Notification.\n\nDelivery to the following recipients failed "
        "permanently:\n\n  * kijitora@example.com\n\n"
        "SMTP:RCPT host 192.0.2.8: 553 5.3.0 <kijitora@example.com>... No such user here\n",
        "kijitora@example.com",
    ),
    Case(
        "sisimai Lhost::X4 (qmail clone, 'Su mensaje no pudo ser entregado')",
        '"Servidor de correo" <correo@mx.example.es>',
        "failure notice",
        "Hola. Este es el programa de envío de correo.\nSu mensaje no pudo ser entregado a "
        "los siguientes destinatarios.\n\n<kijitora@example.es>:\n192.0.2.153 does not like "
        "recipient.\nRemote host said: 550 5.1.1 <kijitora@example.es>... User Unknown\n"
        "Giving up on 192.0.2.153.\n\n--- Below this line is a copy of the message.\n",
        "kijitora@example.es",
    ),
    Case(
        "sisimai Lhost::X4 (qmail-ldap: 'Sorry, no mailbox here by that name')",
        "<qmail-send@mx.example.com>",
        "Permanent Delivery Failure",
        "Hi. This is the qmail-send program at mx.example.com.\nI'm afraid I wasn't able to "
        "deliver your message to the following addresses.\nThis is a permanent error; I've "
        "given up. Sorry it didn't work out.\n\n<neko@example.com>:\nSorry, no mailbox here by "
        "that name. (#5.1.1)\n\n--- Below this line is a copy of the message.\n",
        "neko@example.com",
    ),
    Case(
        "sisimai Lhost::X6 ('There was an error sending your mail', 'SMTP Server <')",
        '"SMTP Service" <smtp@relay.example.jp>',
        "There was an error sending your mail",
        "We had trouble delivering your message. Full details follow:\n\nSubject: 'Your order "
        "4411'\nDate: 'Thu, 29 Apr 2012 23:34:45 +0000'\n\n1 error(s):\n\n"
        "SMTP Server <mta2.example.jp> rejected recipient <kijitora@example.jp> (Error "
        "following RCPT command). It responded as follows: [550 5.1.1 User unknown]\n\n"
        "The attachment contains the original mail headers.\n",
        "kijitora@example.jp",
    ),
    Case(
        "flufl.bounce simplematch 'MDaemon': 'did NOT receive a copy of your message'",
        '"MDaemon at mail.example.com" <MDaemon@mail.example.com>',
        "Permanent Delivery Failure",
        "The attached message had PERMANENT fatal delivery errors!\n\n"
        "After one or more unsuccessful delivery attempts the attached message has been "
        "removed from the mail queue on this server.\n\n"
        "YOUR MESSAGE WAS NOT DELIVERED TO ONE OR MORE RECIPIENTS!\n\n"
        "The following addresses did NOT receive a copy of your message:\n\n"
        "> jsmith@example.com\n\n--- Session Transcript ---\n"
        " Tue 2026-12-08 03:30:00: Sending <support@shop.example> to [192.0.2.9]\n"
        " Tue 2026-12-08 03:30:01: <-- 550 5.1.1 <jsmith@example.com>: User unknown!\n"
        "--- End Transcript ---\n",
        "jsmith@example.com",
        attach=True,
    ),
    Case(
        "issue 17: MDaemon 'User unknown!' as the subject",
        '"MDaemon at mx.example.net" <MDaemon@mx.example.net>',
        "User unknown!",
        "The following addresses did NOT receive a copy of your message:\n\n"
        "> old.mailbox@example.net\n\n--- Session Transcript ---\n"
        " <-- 550 <old.mailbox@example.net>: User unknown!\n--- End Transcript ---\n",
        "old.mailbox@example.net",
    ),
    Case(
        "issue 17: 'Mail Delivery Warning'; flufl.bounce simplewarning (Symantec gateway)",
        '"MDaemon at mx.example.net" <MDaemon@mx.example.net>',
        "Mail Delivery Warning",
        "This is a warning message only. YOU DO NOT NEED TO RESEND YOUR MESSAGE.\n\n"
        "Delivery attempts will continue to be made for 4 more days.\n\n"
        "The following recipient has not yet received your message:\n"
        "  slow@example.net  - 451 4.4.1 temporary failure, will retry\n",
        "slow@example.net",
        permanent=False,
    ),
    Case(
        "flufl.bounce simplewarning: Exchange 'This is an advisory-only email'",
        "System Administrator <admin@ex.example.org>",
        "Delivery Status Notification (Delay)",
        "This is an advisory-only email. Please do not reply to it.\n\n"
        'Delivery of the message you sent to "later@ex.example.org" has been postponed '
        "because the recipient's mailbox is temporarily unavailable. The system will keep "
        "trying.\n",
        "later@ex.example.org",
        permanent=False,
    ),
    Case(
        "flufl.bounce simplewarning: MessageSwitch 'This is just a warning'",
        '"MessageSwitch" <switch@mx.example.com>',
        "Warning: message delayed",
        "This is just a warning, you do not need to take any action.\n\n"
        "Your message to <wait@example.com> has not yet been delivered; delivery is "
        "delayed, we will try again.\n",
        "wait@example.com",
        permanent=False,
    ),
    Case(
        "flufl.bounce simplematch: Microsoft SMTPSVC 'The email below could not be delivered'",
        "postmaster@smtpsvc.example.com",
        "Delivery Failure",
        "The email below could not be delivered to the following user:\n\n"
        "<gone@example.com>\n\nOld message:\n\nSubject: Your order 4411\n",
        "gone@example.com",
    ),
    Case(
        "flufl.bounce simplematch: mxlogic.net 'The following address failed:'",
        '"MXLogic" <gateway@mxlogic.example.net>',
        "Message delivery failure",
        "The following address failed:\n\n<bounced@example.net>: 550 5.1.1 Recipient address "
        "rejected\n\nIncluded is a copy of the message header:\n",
        "bounced@example.net",
    ),
    Case(
        "flufl.bounce simplematch: uci.edu 'Message not delivered to the following addresses'",
        '"Mail Server" <mailserver@mta1.example.edu>',
        "Mail delivery failed",
        "Message not delivered to the following addresses:\n\n  student@example.edu "
        "(550 5.1.1 mailbox unavailable)\n\nError detail: user unknown\n",
        "student@example.edu",
    ),
    Case(
        "flufl.bounce simplematch: dadoservice.it 'Your message has encountered delivery problems'",
        '"Servizio Posta" <mailer@mx.example.it>',
        "Mancato recapito: Your order 4411",
        "Your message has encountered delivery problems\nto the following recipient:\n\n"
        "addressed to mario@example.it (550 5.1.1 utente sconosciuto)\n\nYour message reads:\n",
        "mario@example.it",
    ),
    Case(
        "flufl.bounce groupwise detector: 'The message that you sent was undeliverable'",
        '"GroupWise Internet Agent" <groupwise@gw.example.com>',
        "Message status - undeliverable",
        "The message that you sent was undeliverable to the following:\n"
        "\tjdoe@gw.example.com (user not found)\n\nPossible causes: the user does not exist.\n",
        "jdoe@gw.example.com",
    ),
    Case(
        "Postfix without DSN (notify_classes, plain text): 'This is the mail system at host'",
        '"Mail Delivery System" <double-bounce@mx1.example.com>',
        "Undelivered Mail Returned to Sender",
        "This is the mail system at host mx1.example.com.\n\nI'm sorry to have to inform you "
        "that your message could not\nbe delivered to one or more recipients.\n\n"
        "<gone@example.net>: host mx.example.net[192.0.2.1] said: 550 5.1.1\n"
        "    <gone@example.net>: Recipient address rejected: User unknown\n",
        "gone@example.net",
    ),
    Case(
        "qmail-send without MAILER-DAEMON in From (bounce from a virtual domain's alias)",
        "<bounce-handler@mail.example.org>",
        "failure notice",
        "Hi. This is the qmail-send program at mail.example.org.\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n\n"
        "<full@example.org>:\nmail.example.org does not like recipient.\n"
        "Remote host said: 552 5.2.2 Mailbox full\n",
        "full@example.org",
    ),
    Case(
        "Exchange Online NDR in German (Outlook subject prefix 'Unzustellbar:')",
        '"Microsoft Outlook" <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@contoso.example>',
        "Unzustellbar: Ihre Bestellung 4411",
        "Die Übermittlung an folgende Empfänger oder Gruppen ist fehlgeschlagen:\n\n"
        "max.muster@contoso.example\nDie E-Mail-Adresse wurde nicht gefunden.\n\n"
        "Diagnoseinformationen für Administratoren:\nRemote Server returned '550 5.1.10 "
        "RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup'\n",
        "max.muster@contoso.example",
    ),
    Case(
        "Exchange NDR in French (subject prefix 'Non remis :')",
        '"Microsoft Outlook" <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@contoso.example>',
        "Non remis : Votre commande 4411",
        "Votre message n'a pas pu être remis à ces destinataires ou groupes :\n\n"
        "<jean.dupont@contoso.example>\nL'adresse de messagerie est introuvable.\n\n"
        "Remote Server returned '550 5.1.1 User unknown'\n",
        "jean.dupont@contoso.example",
    ),
    Case(
        "Exchange NDR in Spanish (subject prefix 'No se puede entregar:')",
        "Administrador del sistema <postmaster@correo.example.es>",
        "No se puede entregar: Su pedido 4411",
        "No se pudo entregar el mensaje a los siguientes destinatarios o grupos:\n\n"
        "<ana@correo.example.es>\nNo se encontró la dirección de correo electrónico.\n\n"
        "Remote Server returned '550 5.1.1 User unknown'\n",
        "ana@correo.example.es",
    ),
    Case(
        "Exchange NDR in Italian (subject prefix 'Non recapitabile:')",
        "Amministratore di sistema <admin@posta.example.it>",
        "Non recapitabile: Il tuo ordine 4411",
        "Impossibile recapitare il messaggio ai destinatari o gruppi seguenti:\n\n"
        "<luca@posta.example.it>\nIndirizzo di posta elettronica non trovato.\n\n"
        "Remote Server returned '550 5.1.1 User unknown'\n",
        "luca@posta.example.it",
    ),
    Case(
        "Exchange NDR in Polish (subject prefix 'Niedostarczalne:')",
        "Administrator systemu <admin@poczta.example.pl>",
        "Niedostarczalne: Zamówienie 4411",
        "Nie można dostarczyć wiadomości do następujących adresatów lub grup:\n\n"
        "<jan.kowalski@poczta.example.pl>\nNie znaleziono adresu e-mail.\n\n"
        "Remote Server returned '550 5.1.1 User unknown'\n",
        "jan.kowalski@poczta.example.pl",
    ),
    Case(
        "Exchange NDR in Dutch (subject prefix 'Onbestelbaar:')",
        "Systeembeheerder <admin@mail.example.nl>",
        "Onbestelbaar: Uw bestelling 4411",
        "Uw bericht kon niet worden afgeleverd bij de volgende ontvangers:\n\n"
        "<piet@mail.example.nl>\n\nRemote Server returned '550 5.1.1 User unknown'\n",
        "piet@mail.example.nl",
    ),
    Case(
        "Exchange NDR in Portuguese (subject prefix 'Não é possível entregar:')",
        "Administrador do sistema <admin@mail.example.com.br>",
        "Não é possível entregar: Seu pedido 4411",
        "Sua mensagem não pôde ser entregue aos seguintes destinatários:\n\n"
        "<joao@mail.example.com.br>\n\nRemote Server returned '550 5.1.1 User unknown'\n",
        "joao@mail.example.com.br",
    ),
    Case(
        "Russian mail server notice ('Не удалось доставить сообщение')",
        '"Почтовый сервер" <mailserver@mail.example.ru>',
        "Недоставленное сообщение",
        "Не удалось доставить сообщение следующим получателям:\n\n<ivan@mail.example.ru>: "
        "550 5.1.1 Mailbox not found\n",
        "ivan@mail.example.ru",
    ),
    Case(
        "anti-virus gateway: Symantec Mail Security quarantine notice (no failed recipient)",
        '"Symantec Mail Security" <sms@gw.example.com>',
        'Virus found in message "Your order 4411"',
        "Symantec Mail Security discovered a virus in a message you sent.\n\n"
        "Subject: Your order 4411\nRecipient: buyer@example.com\n\nA virus was found: "
        "EICAR Test String. The message was blocked and has been quarantined.\n",
        kind="bounce",
    ),
    Case(
        "anti-virus gateway: Sophos message blocked, the attachment removed",
        '"Sophos Email Appliance" <antivirus@mx.example.org>',
        "Message blocked: Your order 4411",
        "The message was blocked by our content filter: the attachment was removed because "
        "it is infected with Troj/Agent-ABC.\n\n<customer@example.org>: 554 5.7.1 message "
        "rejected\n",
        "customer@example.org",
    ),
    Case(
        "SMTP service gateway: Barracuda 'Your message could not be delivered'",
        '"Barracuda Email Security" <barracuda@gw.example.com>',
        "Message delivery failure",
        "Your message could not be sent to one or more recipients.\n\n"
        "<sales@example.com>: 550 5.7.1 Rejected by policy: mailbox unavailable\n",
        "sales@example.com",
    ),
]

MODERATION: list[Case] = [
    Case(
        "GNU Mailman 2 hold notice (Mailman/Handlers/Hold.py wording)",
        "orders-bounces@lists.example.org",
        "Your message to Orders awaits moderator approval",
        "Your mail to 'Orders' with the subject\n\n    Your order 4411\n\n"
        "Is being held until the list moderator can review it for approval.\n\n"
        "The reason it is being held:\n\n    Post by non-member to a members-only list\n",
        kind="list",
    ),
    Case(
        "GNU Mailman 3 hold notice (sent from the list's -owner address)",
        "orders-owner@lists.example.org",
        "Your message to orders@lists.example.org awaits moderator approval",
        "Your message to orders@lists.example.org awaits moderator approval.\n",
        kind="list",
    ),
    Case(
        "Sympa moderation notice ('has been forwarded to the moderator')",
        "sympa@lists.example.org",
        "Message for list orders is pending moderation",
        "Your message for list orders has been forwarded to the moderator(s).\n",
        kind="list",
    ),
]


@pytest.mark.parametrize("policy", POLICIES, ids=["compat32", "default"])
@pytest.mark.parametrize("case", GATEWAYS, ids=[c.source[:60] for c in GATEWAYS])
def test_gateway_notices_are_bounces(case: Case, policy: email.policy.Policy) -> None:
    msg = email.message_from_bytes(build(case), policy=policy)
    assert bounce_evidence(msg), case.source
    assert detect_auto(msg, sender_address(msg)).kind == "bounce"
    bounce = detect_bounce(msg)
    assert bounce is not None
    if case.failed:
        found = bounce.permanent if case.permanent else bounce.temporary
        assert case.failed in found, (case.source, bounce)


@pytest.mark.parametrize("case", MODERATION, ids=[c.source[:50] for c in MODERATION])
def test_moderation_notices_are_list_robots(case: Case) -> None:
    msg = email.message_from_bytes(build(case), policy=email.policy.default)
    info = detect_auto(msg, sender_address(msg))
    assert (info.kind, info.is_auto) == ("list", True), info.reason


def person(sender: str, subject: str, body: str, headers: str = "") -> bytes:
    return (
        f"From: {sender}\nTo: support@shop.example\nSubject: {subject}\nMIME-Version: 1.0\n"
        f"{headers}Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
        f"{body}"
    ).encode()


LOOK_ALIKES: list[tuple[str, bytes]] = [
    (
        "customer: delivery failure of a parcel",
        person(
            "Jane Buyer <jane@example.org>",
            "Delivery failure - order 4411",
            "Hi, the delivery failed twice and the parcel was returned to sender. "
            "Can you send it again?\n",
        ),
    ),
    (
        "customer: 'my delivery failed'",
        person(
            "Tom <tom@example.net>",
            "my delivery failed",
            "The courier says the address is unknown. Delivery failed, what now?\n",
        ),
    ),
    (
        "customer: 'Returned mail?'",
        person(
            "Ana <ana@example.es>",
            "Returned mail?",
            "I got a returned mail notice when I wrote to support@shop.example. Did you get "
            "my message about order 4411?\n",
        ),
    ),
    (
        "a person writing from postmaster@ with a question",
        person(
            "Jane (IT) <postmaster@customer.example>",
            "Question about your SPF record",
            "Hello, mail from your domain could not be delivered to our users since Monday. "
            "Could you check your SPF record? Thanks, Jane\n",
        ),
    ),
    (
        "a person writing from postmaster@ with 'Returned mail?'",
        person(
            "Postmaster <postmaster@customer.example>",
            "Returned mail?",
            "Hi, several of your invoices came back to us as undeliverable. Is the address "
            "billing@shop.example still valid?\n",
        ),
    ),
    (
        "a company's 'System Administrator' about a parcel",
        person(
            "System Administrator <admin@customer.example>",
            "Delivery failure",
            "Our delivery failed twice; the courier says the recipient is unknown. Please "
            "advise.\n",
        ),
    ),
    (
        "an IT person quoting an SMTP error",
        person(
            "Sam Sysadmin <sysadmin@customer.example>",
            "Returned mail from your system?",
            "Your newsletter to <team@customer.example> bounced with '550 5.1.1 User "
            "unknown'. Could you remove that address?\n",
        ),
    ),
    (
        "a person forwarding a bounce inline (flufl.bounce would find its recipient)",
        person(
            "Jane Buyer <jane@example.org>",
            "Fwd: Undeliverable: Order 4411",
            "Why does this bounce?\n\n---------- Forwarded message ---------\n"
            "Your message did not reach some or all of the intended recipients.\n\n"
            "The following recipient(s) could not be reached:\n\n"
            "      orders@example.com on 08/12/2026\n        <mx.example.com #5.1.1>\n"
            "550 5.1.1 <orders@example.com>: Recipient address rejected\n",
        ),
    ),
    (
        "German customer: 'Nicht zustellbar'",
        person(
            "Klaus <klaus@example.de>",
            "Nicht zustellbar – Bestellung 4411",
            "Hallo, laut DHL ist mein Paket nicht zustellbar. Was soll ich tun?\n",
        ),
    ),
    (
        "French customer: 'Colis non remis'",
        person(
            "Marie <marie@example.fr>",
            "Colis non remis",
            "Bonjour, mon colis n'a pas été remis, le livreur dit destinataire inconnu.\n",
        ),
    ),
    (
        "Italian customer: 'Mancato recapito del pacco'",
        person(
            "Luca <luca@example.it>",
            "Mancato recapito del pacco",
            "Buongiorno, il corriere dice destinatario sconosciuto. Potete aiutarmi?\n",
        ),
    ),
    (
        "Polish customer: 'Nie dostarczono przesyłki'",
        person(
            "Jan <jan@example.pl>",
            "Nie dostarczono przesyłki",
            "Dzień dobry, kurier napisał: nieznany adresat. Co dalej?\n",
        ),
    ),
    (
        "Spanish customer: 'Pedido no entregado'",
        person(
            "Javier <javier@example.es>",
            "Pedido no entregado",
            "Hola, el pedido 4411 figura como no entregado. ¿Qué ha pasado?\n",
        ),
    ),
    (
        "customer: virus question",
        person(
            "Tom <tom@example.net>",
            "Virus found in your download?",
            "My antivirus says a virus was detected in the installer. Is that a false alarm?\n",
        ),
    ),
    (
        "customer: message blocked by a spam filter?",
        person(
            "Ana <ana@example.es>",
            "Message blocked by your spam filter?",
            "My emails to you seem to be blocked. Your message could not be delivered, my "
            "mail program said.\n",
        ),
    ),
    (
        "customer: mailbox full",
        person(
            "Jane Buyer <jane@example.org>",
            "Please resend the invoice",
            "My mailbox is full, please resend the invoice to <jane.b@other.example>.\n",
        ),
    ),
    (
        "a shop's admin@ about an undelivered order",
        person(
            "Shop Admin <admin@shop-partner.example>",
            "Undelivered order 5512",
            "Order 5512 was returned to sender by the courier. Please check the address.\n",
        ),
    ),
    (
        "an IT company about a mail delivery issue",
        person(
            "The IT Team <team@it.example>",
            "Mail delivery issue with your domain",
            "Hi, messages from our server could not be delivered to your support address; our "
            "logs say '550 5.7.1 relay denied'. Could you whitelist us?\n",
        ),
    ),
    (
        "a customer named Domino",
        person(
            "Mark Domino <mark@example.com>",
            "Delivery failure of my order",
            "The delivery failed, can you help?\n",
        ),
    ),
    (
        "customer: 'Delivery Status Notification for my order?'",
        person(
            "Jane Buyer <jane@example.org>",
            "Delivery Status Notification for my order?",
            "Where can I see the delivery status of order 4411?\n",
        ),
    ),
    (
        "customer: forum post pending moderation",
        person(
            "Tom <tom@example.net>",
            "My post is awaiting moderation",
            "My review of the Summit 45 has been pending moderation for a week.\n",
        ),
    ),
    (
        "customer: 'Your message to support was rejected?'",
        person(
            "Ana <ana@example.es>",
            "Your message to support was rejected",
            "That is what your contact form told me. Here is my question again: where is "
            "order 4411?\n",
        ),
    ),
]


@pytest.mark.parametrize("policy", POLICIES, ids=["compat32", "default"])
@pytest.mark.parametrize(("name", "raw"), LOOK_ALIKES, ids=[c[0] for c in LOOK_ALIKES])
def test_look_alikes_stay_a_persons_mail(
    name: str, raw: bytes, policy: email.policy.Policy
) -> None:
    msg = email.message_from_bytes(raw, policy=policy)
    assert detect_bounce(msg) is None, bounce_evidence(msg)
    info = detect_auto(msg, sender_address(msg))
    assert not info.is_auto, info.reason


def test_the_set_is_as_large_as_the_issue_asks() -> None:
    assert len(GATEWAYS) + len(MODERATION) >= 40
    assert len(LOOK_ALIKES) >= 20
    assert all(case.source for case in GATEWAYS + MODERATION)
