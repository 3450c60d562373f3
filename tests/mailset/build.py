# ruff: noqa: E501  (mail text, client strings and source citations kept on one line each: they are data)
"""Regenerate tests/mailset/cases/ (the committed .eml/.json files are the truth).

`PYTHONPATH=. python -m tests.mailset.build` writes every case of the mail set: replies from
each mail client in its own layout and language, forwards (inline and attached), gateway
bounces and robots that write no DSN, and first mails from people that must not be screened.
Each case names the public source its layout was read from; the people, texts and addresses
are invented (texts.py). The split is stratified by class, client and language: within each class, in
(client, language, id) order, every third case from the second on is held out.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from tests.mailset import layouts as L
from tests.mailset import texts as T
from tests.mailset.mime import (
    address,
    boundary,
    esc,
    html_lines,
    leaf,
    message,
    multipart,
    rfc822,
    word,
)

CASES = Path(__file__).resolve().parent / "cases"
SUPPORT_EMAIL = "support@shop.example.com"
TIMES = ["09:41", "10:15", "11:02", "08:27", "10:58", "09:06"]
WEEKDAY = {day: date(2026, 12, day).strftime("%a") for day in range(1, 8)}
"""English day names for the Date header of 1-7 December 2026."""
REPLY_PREFIX = {
    "en": "Re",
    "de": "AW",
    "fr": "RE",
    "es": "RE",
    "it": "R",
    "pt": "RE",
    "nl": "RE",
    "pl": "ODP",
    "ru": "RE",
    "uk": "RE",
    "cs": "RE",
    "sv": "SV",
    "ja": "RE",
    "zh": "答复",
    "tr": "YNT",
}
OUTLOOK_CHARSET = {
    "ru": "koi8-r",
    "uk": "koi8-u",
    "pl": "iso-8859-2",
    "cs": "iso-8859-2",
    "ja": "iso-2022-jp",
    "zh": "gb2312",
    "tr": "iso-8859-9",
    "de": "iso-8859-1",
    "fr": "iso-8859-1",
    "es": "iso-8859-1",
    "it": "iso-8859-1",
    "pt": "iso-8859-1",
    "nl": "us-ascii",
    "sv": "iso-8859-1",
    "en": "us-ascii",
}


@dataclass
class Case:
    id: str
    client: str
    language: str
    cls: str
    layout_source: str
    raw: bytes
    reply_text: str | None
    forwarded: list[dict[str, str]] | None = None
    screened: str | None = None
    notes: str = ""
    split: str = ""

    def sidecar(self) -> dict[str, Any]:
        expected: dict[str, Any] = {"reply_text": self.reply_text, "screened": self.screened}
        if self.forwarded is not None:
            expected["forwarded"] = self.forwarded
        out: dict[str, Any] = {
            "id": self.id,
            "client": self.client,
            "language": self.language,
            "class": self.cls,
            "layout_source": self.layout_source,
            "expected": expected,
        }
        if self.notes:
            out["notes"] = self.notes
        return out


@dataclass
class Ctx:
    """One reply: who writes, what, to which earlier answer."""

    lang: str
    n: int
    signed: bool = True
    cust: tuple[str, str] = ("", "")
    new: str = ""
    t: str = "10:15"
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.cust = T.CUSTOMERS[self.lang][self.n % 2]
        self.new = T.NEW[self.lang][self.n % len(T.NEW[self.lang])]
        self.t = TIMES[self.n % len(TIMES)]

    @property
    def t12(self) -> str:
        return self.t.lstrip("0") + " AM"

    @property
    def agent(self) -> str:
        return self.extra.get("agent") or T.SUPPORT[self.lang][0]

    @property
    def first_name(self) -> str:
        name = self.cust[0]
        return name if self.lang in ("ja", "zh") else name.split()[0]

    @property
    def sign(self) -> str:
        return f"{T.SIGN_OFF[self.lang]}\n{self.first_name}" if self.signed else ""

    @property
    def body(self) -> str:
        """What the customer typed: the new text and the sign-off."""
        return self.new + (f"\n\n{self.sign}" if self.signed else "")

    @property
    def quoted(self) -> str:
        """Our earlier answer, as it is quoted."""
        return f"{T.SUPPORT[self.lang][1]}\n\n{self.agent}"

    def fill(self, pattern: str) -> str:
        return pattern.format(n=self.agent, e=SUPPORT_EMAIL, t=self.t, t12=self.t12)

    @property
    def subject(self) -> str:
        return f"{REPLY_PREFIX[self.lang]}: {T.SUBJECT[self.lang]}"

    def headers(self, client_id: str, charset: str = "utf-8") -> list[tuple[str, str]]:
        day = 2 + self.n % 5
        return [
            ("From", address(*self.cust, charset=charset)),
            ("To", address(self.agent, SUPPORT_EMAIL, charset=charset)),
            ("Subject", word(self.subject, charset)),
            ("Date", f"{WEEKDAY[day]}, 0{day} Dec 2026 {self.t}:{10 + self.n % 40:02d} +0100"),
            (
                "Message-ID",
                f"<{msgid(client_id + self.lang + str(self.n))}@{self.cust[1].split('@')[1]}>",
            ),
            ("In-Reply-To", f"<ticket-{4100 + self.n}.{self.lang}@shop.example.com>"),
            ("References", f"<ticket-{4100 + self.n}.{self.lang}@shop.example.com>"),
        ]


def msgid(seed: str) -> str:
    """A Message-ID left part, stable per case."""
    return hashlib.sha256(seed.encode()).hexdigest()[:20].upper()


def quote(text: str, prefix: str = "> ") -> str:
    return "\n".join(
        prefix + line if line.strip() else prefix.rstrip() for line in text.split("\n")
    )


def gmail_wrap(line: str, width: int = 76) -> str:
    """Gmail's plain-text part wraps a long attribution line at the last break before the
    width: after a space or after the `<` of an address (crisp-oss fixture
    email_gmail_split_line_from_german.txt: '… schrieb Test Mailer <' / 'testing@…>:')."""
    out = []
    while len(line) > width:
        breaks = [i + 1 for i, ch in enumerate(line[:width]) if ch in " <"]
        if not breaks:
            break
        cut = max(breaks)
        out.append(line[:cut].rstrip(" "))
        line = line[cut:]
    return "\n".join([*out, line])


def cte_for(text: str, charset: str) -> str:
    if charset.lower() == "iso-2022-jp":
        return "7bit"
    return "7bit" if text.isascii() else "quoted-printable"


# --- replies --------------------------------------------------------------------------------


def gmail(c: Ctx, case_id: str) -> tuple[bytes, str]:
    attr = c.fill(L.GMAIL_DE_NAME_FIRST if c.extra.get("name_first") else L.GMAIL[c.lang])
    text = f"{c.body}\n\n{gmail_wrap(attr)}\n\n{quote(c.quoted)}\n"
    html_part = (
        f'<div dir="ltr">{html_lines(c.body)}</div><br><div class="gmail_quote">'
        f'<div dir="ltr" class="gmail_attr">{esc(attr)}<br></div><blockquote class="gmail_quote" '
        'style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex">'
        f"{html_lines(c.quoted)}</blockquote></div>\n"
    )
    cte = "base64" if c.lang in ("ja", "zh") else cte_for(text, "utf-8")
    parts = [
        leaf("text/plain", text, "UTF-8", cte),
        leaf("text/html", html_part, "UTF-8", "base64" if cte == "base64" else "quoted-printable"),
    ]
    entity = multipart("alternative", parts, boundary(case_id, "gmail"))
    headers = c.headers("CAGm" + case_id[-6:].replace("-", "x"))
    src = (
        f"Gmail web ({c.lang} locale): attribution 'On … wrote:' and its translations, wrapped "
        f"in the text part; {L.SRC_CRISP}/email_gmail_split_line_from_german.txt, "
        f"email_russian.txt; {L.SRC_ALFONS}"
    )
    return message(headers, entity), src


def gmail_old(c: Ctx, case_id: str) -> tuple[bytes, str]:
    attr = c.fill(L.GMAIL_OLD_RU if c.extra.get("form") == "ru_user" else L.GMAIL_DATE_FIRST)
    text = f"{c.body}\n\n{gmail_wrap(attr)}\n\n{quote(c.quoted)}\n"
    entity = leaf("text/plain", text, "UTF-8", cte_for(text, "utf-8"))
    src = (
        "Gmail web, older non-English locales (2014-2017): date-first attribution "
        "'2016-03-03 17:21 GMT+01:00 Name <x@y>:' without a verb (issue 17; "
        f"{L.SRC_GITHUB}/email_2_*.txt, {L.SRC_TALON}), Russian '… пользователь … написал:'"
    )
    return message(c.headers("CAOld" + case_id[-4:]), entity), src


def apple_mac(c: Ctx, case_id: str) -> tuple[bytes, str]:
    attr = c.fill(L.APPLE[c.lang])
    text = f"{c.body}\n\n{attr}\n\n{quote(c.quoted)}\n"
    entity = leaf("text/plain", text, "utf-8", cte_for(text, "utf-8"))
    headers = [
        *c.headers(f"{case_id[-8:].upper()}-APPLE"),
        ("X-Mailer", "Apple Mail (2.3826.200.121)"),
    ]
    src = f"Apple Mail macOS ({c.lang}): 'On … at …, Name <x@y> wrote:' translations; {L.SRC_CRISP} (apple_mail_*), {L.SRC_ALFONS}"
    return message(headers, entity), src


def apple_ios(c: Ctx, case_id: str) -> tuple[bytes, str]:
    attr = c.fill(L.APPLE[c.lang])
    phone = c.extra.get("phone") or L.IPHONE[c.lang]
    text = f"{c.new}\n\n{phone}\n\n> {attr}\n>\n{quote(c.quoted)}\n"
    html_part = (
        '<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head>'
        f'<body dir="auto"><div dir="ltr">{html_lines(c.new)}</div><div dir="ltr"><br>'
        f'<div dir="ltr">{esc(phone)}</div><div dir="ltr"><br><blockquote type="cite">'
        f'{esc(attr)}<br><br></blockquote></div><blockquote type="cite"><div dir="ltr">'
        f"{html_lines(c.quoted)}</div></blockquote></div></body></html>\n"
    )
    parts = [
        leaf("text/plain", text, "utf-8", cte_for(text, "utf-8")),
        leaf("text/html", html_part, "utf-8", "quoted-printable"),
    ]
    entity = multipart("alternative", parts, boundary(case_id, "apple"))
    headers = [*c.headers(f"{case_id[-8:].upper()}-IOS"), ("X-Mailer", "iPhone Mail (22B91)")]
    src = (
        f"iOS Mail ({c.lang}): footer 'Sent from my iPhone' translated, the attribution line "
        f"itself quoted with '> '; {L.SRC_CRISP}/email_sent_from.txt, apple_mail_*; {L.SRC_GITHUB}"
    )
    return message(headers, entity), src


def thunderbird(c: Ctx, case_id: str) -> tuple[bytes, str]:
    attr = c.fill(L.THUNDERBIRD[c.lang])
    sig = f"-- \n{c.cust[0]}"
    if c.extra.get("below"):
        text = f"{attr}\n{quote(c.quoted)}\n\n{c.new}\n\n{sig}\n"
    else:
        text = f"{c.new}\n\n{attr}\n{quote(c.quoted)}\n\n{sig}\n"
    entity = leaf("text/plain", text, "UTF-8", "8bit", "; format=flowed")
    headers = [
        *c.headers(f"{case_id[-8:]}-tb"),
        ("User-Agent", "Mozilla Thunderbird"),
        ("Content-Language", c.lang),
    ]
    where = "below the quote (Thunderbird's default)" if c.extra.get("below") else "above the quote"
    src = (
        f"Thunderbird 128 ({c.lang}): reply header 'On <date>, <name> wrote:' per locale "
        f"(mailnews.reply_header_authorwrotesingle / ondateauthorwrote), reply {where}, "
        f"'-- ' signature; {L.SRC_TB_L10N}"
    )
    return message(headers, entity), src


def thunderbird_original(c: Ctx, case_id: str) -> tuple[bytes, str]:
    sep = L.TB_ORIGINAL.get(c.lang, L.TB_ORIGINAL["en"])
    starred = bool(c.extra.get("starred"))
    head = (
        f"Subject: {T.SUBJECT[c.lang]}\nDate: Tue, 1 Dec 2026 {c.t}:00 +0100\n"
        f"From: {c.agent} <{SUPPORT_EMAIL}>\nTo: {c.cust[1]}"
    )
    if starred:
        sep = f"*{sep}*"
        head = "\n".join(
            f"*{h.split(':', 1)[0]}:* {h.split(':', 1)[1].strip()}" for h in head.split("\n")
        )
    text = f"{c.body}\n\n{sep}\n{head}\n\n{c.quoted}\n"
    entity = leaf("text/plain", text, "UTF-8", "8bit", "; format=flowed")
    headers = [*c.headers(f"{case_id[-8:]}-tbo"), ("User-Agent", "Mozilla Thunderbird")]
    src = (
        "Thunderbird with reply header type 'original message' (mailnews.reply_header_type 0); "
        + (
            "the HTML reply converted to plain text, bold as *…* (issue 17: "
            "'*-------- Original Message --------*'); "
            if starred
            else ""
        )
        + L.SRC_TB_L10N
        + " mailnews.reply_header_originalmessage"
    )
    return message(headers, entity), src


def outlook_block(c: Ctx, labels: tuple[str, str, str, str, str], mailto: bool = False) -> str:
    frm, sent, to, subj, date = labels
    who = f"{c.agent} [mailto:{SUPPORT_EMAIL}]" if mailto else f"{c.agent} <{SUPPORT_EMAIL}>"
    return (
        f"{frm}: {who} \n{sent}: {c.fill(date)}\n{to}: {c.cust[0]} <{c.cust[1]}>\n"
        f"{subj}: {T.SUBJECT[c.lang]}"
    )


def outlook_html(c: Ctx, block: str, owa: bool, top: str = "") -> str:
    rows = "<br>\n".join(
        f"<b>{esc(line.split(':', 1)[0])}:</b>{esc(line.split(':', 1)[1])}"
        for line in block.split("\n")
    )
    if owa:
        return (
            f'<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head><body>'
            f'<div dir="ltr">{html_lines(c.body)}</div>{top}<hr style="display:inline-block;width:98%" '
            f'tabindex="-1"><div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" '
            f'style="font-size:11pt" color="#000000">{rows}</font><div>&nbsp;</div></div>'
            f"<div>{html_lines(c.quoted)}</div></body></html>\n"
        )
    para = '<p class="MsoNormal">{}<o:p></o:p></p>'
    return (
        '<html xmlns:o="urn:schemas-microsoft-com:office:office"><head><meta http-equiv='
        '"Content-Type" content="text/html; charset=utf-8"></head><body lang="EN-US">'
        f'<div class="WordSection1">{html_lines(c.body, para, para.format("&nbsp;"))}'
        f'{para.format("&nbsp;")}<div><div style="border:none;border-top:solid #E1E1E1 1.0pt;'
        f'padding:3.0pt 0cm 0cm 0cm"><p class="MsoNormal">{rows}<o:p></o:p></p></div></div>'
        f"{para.format('&nbsp;')}{html_lines(c.quoted, para, para.format('&nbsp;'))}</div></body></html>\n"
    )


def outlook(c: Ctx, case_id: str) -> tuple[bytes, str]:
    """Outlook for Windows (variant: plain header block, '[mailto:]' 2010-2013, or
    '-----Original Message-----' 2003-2007)."""
    variant = c.extra.get("variant", "2016")
    block = outlook_block(c, L.OUTLOOK[c.lang], mailto=variant == "2010")
    sep = (
        f"{L.OUTLOOK_ORIGINAL.get(c.lang, L.OUTLOOK_ORIGINAL['en'])}\n" if variant == "2003" else ""
    )
    text = f"{c.body}\n\n{sep}{block}\n\n{c.quoted}\n"
    charset = OUTLOOK_CHARSET[c.lang]
    if not text.isascii() and charset == "us-ascii":
        charset = "iso-8859-1"
    try:
        text.encode(charset)
    except UnicodeEncodeError:
        charset = "utf-8"
    cte = cte_for(text, charset)
    parts = [
        leaf("text/plain", text, charset, cte),
        leaf("text/html", outlook_html(c, block, owa=False), "utf-8", "quoted-printable"),
    ]
    entity = multipart("alternative", parts, boundary(case_id, "outlook"))
    headers = [
        *c.headers(f"00{case_id[-6:]}01d9$OUTLOOK", charset),
        (
            "X-Mailer",
            "Microsoft Outlook 16.0" if variant != "2003" else "Microsoft Office Outlook 12.0",
        ),
        ("Thread-Index", "AQHbRZt0cXh2b3N0cmluZ2Z1bGw="),
        ("Content-Language", {"en": "en-us"}.get(c.lang, f"{c.lang}-{c.lang}")),
    ]
    what = {
        "2016": "header block 'From:/Sent:/To:/Subject:' (translated labels) without a rule",
        "2010": "header block with 'From: Name [mailto:x@y]'",
        "2003": "'-----Original Message-----' (translated) then the header block",
    }[variant]
    src = (
        f"Outlook for Windows ({c.lang}, {charset} quoted-printable + HTML): {what}; "
        f"{L.SRC_CRISP}/email_german_outlook.txt, email_original_message.txt; {L.SRC_ALFONS} from_header"
    )
    return message(headers, entity), src


def outlook_web(c: Ctx, case_id: str) -> tuple[bytes, str]:
    block = outlook_block(c, L.OUTLOOK[c.lang])
    text = f"{c.body}\n\n________________________________\n{block}\n\n{c.quoted}\n"
    parts = [
        leaf("text/plain", text, "utf-8", cte_for(text, "utf-8")),
        leaf("text/html", outlook_html(c, block, owa=True), "utf-8", "quoted-printable"),
    ]
    entity = multipart("alternative", parts, boundary(case_id, "outlook"))
    headers = [
        *c.headers(f"AM0PR{case_id[-6:]}.eurprd01.prod.outlook.com"),
        ("X-MS-Has-Attach", ""),
        ("Content-Language", f"{c.lang}-{c.lang.upper()}"),
    ]
    src = (
        f"Outlook on the web / Outlook.com / new Outlook ({c.lang}): '_' * 32 rule then the "
        f"translated From/Sent/To/Subject block; {L.SRC_CRISP}/email_outlook_split_line_from.txt; {L.SRC_ALFONS}"
    )
    return message(headers, entity), src


def outlook_mobile(c: Ctx, case_id: str) -> tuple[bytes, str]:
    ios = bool(c.extra.get("ios"))
    footer = (L.OUTLOOK_IOS if ios else L.OUTLOOK_MOBILE).get(c.lang) or L.OUTLOOK_MOBILE["en"]
    labels = L.OUTLOOK[c.lang]
    date = labels[4]
    date = date.replace("{t12}", "{t}:31 AM") if "{t12}" in date else date.replace("{t}", "{t}:31")
    labels = (*labels[:4], date)
    block = outlook_block(c, labels)
    text = f"{c.new}\n\n{footer}\n________________________________\n{block}\n\n{c.quoted}\n"
    top = f'<div id="ms-outlook-mobile-signature"><div dir="ltr">{esc(footer)}</div></div>'
    cc = Ctx(c.lang, c.n, signed=False)
    parts = [
        leaf("text/plain", text, "utf-8", cte_for(text, "utf-8")),
        leaf("text/html", outlook_html(cc, block, owa=True, top=top), "utf-8", "quoted-printable"),
    ]
    entity = multipart("alternative", parts, boundary(case_id, "outlook"))
    headers = c.headers(f"DB9PR{case_id[-6:]}.eurprd02.prod.outlook.com")
    app = "iOS" if ios else "Android"
    src = (
        f"Outlook for {app} ({c.lang}): footer 'Get Outlook for {app}<https://aka.ms/…>' "
        f"(translated), rule, header block with seconds; {L.SRC_CRISP}/email_android_outlook_fr.txt, "
        "email_ios_outlook_fr.txt, email_android_outlook_en.txt"
    )
    return message(headers, entity), src


def outlook_mac(c: Ctx, case_id: str) -> tuple[bytes, str]:
    de = c.lang == "de"
    labels = ("Von", "Datum", "An", "Betreff") if de else ("From", "Date", "To", "Subject")
    date = "Dienstag, 1. Dezember 2026 um {t}" if de else "Tuesday, 1 December 2026 at {t}"
    block = (
        f"{labels[0]}: {c.agent} <{SUPPORT_EMAIL}>\n{labels[1]}: {c.fill(date)}\n"
        f"{labels[2]}: {c.cust[0]} <{c.cust[1]}>\n{labels[3]}: {T.SUBJECT[c.lang]}"
    )
    text = f"{c.body}\n\n{block}\n\n{c.quoted}\n"
    parts = [
        leaf("text/plain", text, "utf-8", cte_for(text, "utf-8")),
        leaf("text/html", outlook_html(c, block, owa=False), "utf-8", "quoted-printable"),
    ]
    entity = multipart("alternative", parts, boundary(case_id, "outlook"))
    headers = [
        *c.headers(f"{case_id[-8:].upper()}@outlook-mac"),
        ("User-Agent", "Microsoft-MacOutlook/16.91.24111020"),
    ]
    src = f"Outlook for Mac ({c.lang}): header block 'From:/Date:/To:/Subject:' (Date, not Sent); {L.SRC_ALFONS} from_header (Date label)"
    return message(headers, entity), src


def k9(c: Ctx, case_id: str) -> tuple[bytes, str]:
    """K-9 as seen in mail it sent: the reply, the header, the quote marked '>' without a
    space, and the default signature under '-- ' at the very end; text and HTML parts, 8bit."""
    old = bool(c.extra.get("old"))
    attr = c.fill((L.K9_OLD if old else L.K9)[c.lang])
    footer = L.K9_FOOTER[c.lang]
    text = f"{c.new}\n\n\n\n{attr}\n\n{quote(c.quoted, '>')}\n\n-- \n{footer}\n"
    html_part = (
        f"<html><head/><body>{esc(c.new).replace(chr(10), '<br>')}<br><br>"
        f'<div class="gmail_quote">{esc(attr)}<blockquote class="gmail_quote" style="margin: 0pt '
        '0pt 0pt 0.8ex; border-left: 1px solid rgb(204, 204, 204); padding-left: 1ex;">'
        f"{esc(c.quoted).replace(chr(10), '<br>')}</blockquote></div><br>-- <br>{esc(footer)}"
        "</body></html>\n"
    )
    parts = [
        leaf("text/plain", text, "UTF-8", "8bit"),
        leaf("text/html", html_part, "utf-8", "8bit"),
    ]
    entity = multipart("alternative", parts, boundary(case_id, "k9"))
    headers = [*c.headers(f"{case_id[-8:]}@k9mail"), ("User-Agent", "K-9 Mail for Android")]
    what = (
        "K-9 4.x: header 'Name <x@y> wrote:' without a date"
        if old
        else ("K-9 5/6: header '<date> <time> <zone>, Name <x@y> wrote:' translated")
    )
    src = (
        f"{what} ({c.lang}), quote '>', '-- ' and the default signature 'Sent from my Android "
        "device with K-9 Mail…' (translated) at the end; K-9 mail in public archives "
        "(linux-mips list 2013: 'Name <x@y> schrieb:'; theScrabi/NewPipe issue 3, 2015: 'Am 18. "
        "September 2015 10:49:05 MESZ, schrieb …:'), thunderbird-android "
        "message_compose_reply_header_fmt(_with_date)"
    )
    return message(headers, entity), src


def outlook_2019(c: Ctx, case_id: str) -> tuple[bytes, str]:
    attr = c.fill(L.OUTLOOK_2019[c.lang])
    text = f"{c.body}\n\n{attr}\n\n{quote(c.quoted, '    ')}\n"
    entity = leaf("text/plain", text, "utf-8", cte_for(text, "utf-8"))
    headers = [
        *c.headers(f"{case_id[-8:]}@outlook2019"),
        ("User-Agent", "Microsoft-MacOutlook/16.54.21101001"),
    ]
    src = (
        f'Outlook 2019 for Mac in plain text ({c.lang}): \'On dd/mm/yyyy hh:mm, "Name" <x@y> '
        "wrote:' then the quote indented by four spaces, no '>'; yodjii/email-origin-chain "
        "CRISP_COMPATIBILITY_REPORT.md (crisp-oss fixtures outlook_2019_*_body.txt)"
    )
    return message(headers, entity), src


def android_generic(c: Ctx, case_id: str) -> tuple[bytes, str]:
    de = c.lang == "de"
    footer = "Von meinem Mobilgerät gesendet" if de else "Sent from my mobile device"
    sep, labels, date = L.SAMSUNG_HEADER["de" if de else "en"]
    block = (
        f"{sep}\n{labels[0]}: {c.agent} <{SUPPORT_EMAIL}>\n{labels[1]}: {c.fill(date)}\n"
        f"{labels[2]}: {c.cust[1]}\n{labels[3]}: {T.SUBJECT[c.lang]}"
    )
    text = f"{c.new}\n\n{footer}\n\n{block}\n\n{c.quoted}\n"
    entity = leaf("text/plain", text, "utf-8", cte_for(text, "utf-8"))
    src = (
        f"Android mail app with the default signature '{footer}' and an 'Original message' "
        "block; the footer as listed in discourse/email_reply_trimmer "
        "lib/email_reply_trimmer/signature_matcher.rb (and issue 17)"
    )
    return message(c.headers(f"{case_id[-8:]}@android"), entity), src


def samsung_corporate(c: Ctx, case_id: str) -> tuple[bytes, str]:
    block = L.SAMSUNG_CORPORATE.format(n=c.agent, e=SUPPORT_EMAIL, t=c.t, s=T.SUBJECT[c.lang])
    text = f"{c.body}\n  \n{block}\n  \n{c.quoted}\n"
    entity = leaf("text/plain", text, "UTF-8", "8bit", "; format=flowed")
    src = (
        "Samsung corporate mail (epcms web mailer): '--------- Original Message ---------' then "
        "'Sender :', 'Date : yyyy-mm-dd hh:mm (GMT+9)', 'Title :' with a space before each colon; "
        "seen quoted in a linux-f2fs thread (2024, 'Re: [PATCH] f2fs: fix null reference error')"
    )
    return message(c.headers(f"{case_id[-8:]}@epcms2p4"), entity), src


def samsung(c: Ctx, case_id: str) -> tuple[bytes, str]:
    sep, labels, date = L.SAMSUNG_HEADER[c.lang]
    footer = L.SAMSUNG_FOOTER[c.lang]
    block = (
        f"{sep}\n{labels[0]}: {c.agent} <{SUPPORT_EMAIL}> \n{labels[1]}: {c.fill(date)} \n"
        f"{labels[2]}: {c.cust[1]} \n{labels[3]}: {T.SUBJECT[c.lang]} \n"
    )
    text = f"{c.new}\n\n\n\n{footer}\n\n{block}\n{c.quoted}\n"
    html_part = (
        f'<html><head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8"></head><body dir="auto">'
        f'<div dir="auto">{html_lines(c.new)}</div><div dir="auto"><br></div><div id="composer_signature" dir="auto">'
        f'<div style="font-size:85%;color:#575757" dir="auto">{esc(footer)}</div></div><div dir="auto"><br></div>'
        f'<div align="left" dir="auto" style="font-size:100%;color:#000000">{html_lines(block)}</div>'
        f"{html_lines(c.quoted)}</body></html>\n"
    )
    parts = [
        leaf("text/plain", text, "UTF-8", "base64"),
        leaf("text/html", html_part, "UTF-8", "base64"),
    ]
    entity = multipart("alternative", parts, boundary(case_id, "samsung"))
    src = (
        f"Samsung Email ({c.lang}): footer 'Sent from my Samsung Galaxy smartphone.' translated, "
        "'-------- Original message --------' block with trailing blanks, quote not marked; "
        f"{L.SRC_TALON} (android), {L.SRC_ALFONS}; issue 17"
    )
    return message(c.headers(f"{case_id[-8:]}.samsung"), entity), src


def yahoo(c: Ctx, case_id: str) -> tuple[bytes, str]:
    mobile = bool(c.extra.get("mobile"))
    if mobile:
        footer, attr_p = L.YAHOO_MOBILE[c.lang]
        attr = c.fill(attr_p)
        text = f"{c.new}\n\n{footer}\n \n  {attr}   \n\n{quote(c.quoted)}\n"
    else:
        attr = c.fill(L.YAHOO[c.lang])
        text = f"{c.body}\n\n\n    {attr}  \n \n \n{c.quoted}\n"
    html_part = (
        f'<html><head></head><body><div class="ydp3a1b2c3cyahoo-style-wrap"><div dir="ltr" data-setdir="false">'
        f'{html_lines(c.body if not mobile else c.new)}</div></div><div id="yahoo_quoted_1234567890" class="yahoo_quoted">'
        f'<div style="font-family:Helvetica, Arial, sans-serif;font-size:13px;color:#26282a;"><div>{esc(attr)}</div>'
        f'<div><br></div><div><br></div><div><div dir="ltr">{html_lines(c.quoted)}</div></div></div></div></body></html>\n'
    )
    parts = [
        leaf("text/plain", text, "UTF-8", cte_for(text, "utf-8")),
        leaf("text/html", html_part, "UTF-8", "quoted-printable"),
    ]
    entity = multipart("alternative", parts, boundary(case_id, "yahoo"))
    headers = [
        *c.headers(f"{case_id[-8:]}.1234@mail.yahoo.com"),
        (
            "X-Mailer",
            "WebService/1.1.22941 YMailNorrin"
            if not mobile
            else "WebService/1.1.22941 YahooMailAndroidMobile",
        ),
    ]
    src = (
        f"Yahoo Mail {'Android app' if mobile else 'web'} ({c.lang}): "
        + (
            "footer 'Sent from Yahoo Mail on Android' translated, indented attribution; "
            if mobile
            else "long attribution 'On <weekday>, <date> at <time>, Name <x@y> wrote:' indented, quote not marked; "
        )
        + "yodjii/email-origin-chain CRISP_COMPATIBILITY_REPORT.md (yahoo fixtures of crisp-oss/email-reply-parser)"
    )
    return message(headers, entity), src


def gmx(c: Ctx, case_id: str) -> tuple[bytes, str]:
    brand = c.extra.get("brand", "GMX")
    lang = "de" if c.lang == "de" else "en"
    first, labels = L.GMX[lang]
    block = (
        f'{c.fill(first)}\n{labels[0]}: "{c.agent}" <{SUPPORT_EMAIL}>\n'
        f'{labels[1]}: "{c.cust[0]}" <{c.cust[1]}>\n{labels[2]}: Re: {T.SUBJECT[c.lang]}'
    )
    mobile = bool(c.extra.get("mobile"))
    lead = f"{c.new}\n\n{L.GMX_FOOTER.format(brand=brand)}" if mobile else c.body
    text = f"{lead}\n \n \n\n{block}\n\n{c.quoted}\n"
    rows = "<br/>\n".join(
        f"<b>{esc(r.split(':', 1)[0])}:</b>&nbsp;{esc(r.split(':', 1)[1].strip())}"
        for r in block.split("\n")
    )
    html_part = (
        '<html><head></head><body><div style="font-family: Verdana;font-size: 12.0px;">'
        f"{html_lines(lead)}\n<div>&nbsp;</div>\n<div>&nbsp;\n"
        '<div style="margin: 10.0px 5.0px 5.0px 10.0px;padding: 10.0px 0 10.0px 10.0px;border-left: 2.0px solid rgb(195,217,229);">'
        f'<div style="margin: 0 0 10.0px 0;">{rows}</div>\n\n<div name="quoted-content">{html_lines(c.quoted)}</div>'
        "</div></div></div></body></html>\n"
    )
    parts = [
        leaf("text/plain", text, "UTF-8", cte_for(text, "utf-8")),
        leaf("text/html", html_part, "UTF-8", "quoted-printable"),
    ]
    entity = multipart("alternative", parts, boundary(case_id, "gmx"))
    domain = "web.de" if brand == "WEB.DE" else "gmx.net"
    headers = [
        *c.headers(f"trinity-{case_id[-8:]}-{domain}"),
        ("Importance", "normal"),
        ("Sensitivity", "Normal"),
        ("X-UI-Message-Type", "mail"),
    ]
    src = (
        f"{brand} FreeMail web{' (Android app)' if mobile else ''} ({lang}): block starting with "
        "'Gesendet: <date> um <time> Uhr' then Von/An/Betreff, quote not marked in the text part"
        + (
            "; footer 'Diese Nachricht wurde von meinem Android Mobiltelefon mit GMX Mail gesendet.'"
            if mobile
            else ""
        )
        + f"; {L.SRC_ALFONS} (de from_header: Gesendet/Von/An/Betreff), {L.SRC_CRISP}/email_german_2.txt"
    )
    return message(headers, entity), src


def mailru(c: Ctx, case_id: str) -> tuple[bytes, str]:
    attr = c.fill(L.MAILRU)
    mobile = bool(c.extra.get("mobile"))
    footer = L.MAILRU_FOOTER.get(c.lang, L.MAILRU_FOOTER["en"])
    if c.extra.get("web_footer"):
        lead = f"{c.new}\n\n--\n{c.cust[0]}\n{L.MAILRU_WEB_FOOTER}"
    else:
        lead = f"{c.new}\n\n--\n{footer}" if mobile else c.body
    text = f"{lead}\n \n \n \n{attr}\n>\n{quote(c.quoted, '>')}\n"
    charset = "koi8-r" if c.extra.get("koi8") else "utf-8"
    html_part = (
        f'<html><body><div>{html_lines(lead)}</div><blockquote style="border-left:1px solid #0857A6; margin:10px; '
        f'padding:0 0 0 10px;">{esc(attr[1:])}<br><br><div id="">{html_lines(c.quoted)}</div></blockquote></body></html>\n'
    )
    parts = [
        leaf("text/plain", text, charset, "base64"),
        leaf("text/html", html_part, charset, "base64"),
    ]
    entity = multipart("alternative", parts, boundary(case_id, "mailru"))
    headers = [
        *c.headers(f"{case_id[-8:]}@f123.i.mail.ru", charset),
        ("X-Mailer", "Mail.Ru Mailer 1.0"),
    ]
    src = (
        f"Mail.ru web{'/mobile' if mobile else ''} ({c.lang}, {charset} base64): attribution "
        "'>Вторник, 1 декабря 2026, 10:15 +03:00 от Name <x@y>:' marked like the quote, "
        f"'>' without a space; {L.SRC_CRISP}/email_russian.txt (Russian date forms); issue 17"
    )
    return message(headers, entity), src


def yandex(c: Ctx, case_id: str) -> tuple[bytes, str]:
    attr = c.fill(L.YANDEX)
    footer = L.YANDEX_FOOTER.get(c.lang, L.YANDEX_FOOTER["en"])
    mobile = bool(c.extra.get("mobile"))
    if mobile:
        text = f"{c.new}\n\n-- \n{footer}\n\n{attr}\n{quote(c.quoted)}\n"
        entity = leaf("text/plain", text, "utf-8", "base64")
    else:
        html_part = (
            f"<div>{html_lines(c.body, '<div>{}</div>', '<div>&nbsp;</div>')}</div><div>&nbsp;</div>"
            f"<div>&nbsp;</div><div>{esc(attr)}</div><blockquote>{html_lines(c.quoted)}</blockquote>\n"
        )
        entity = leaf("text/html", html_part, "utf-8", "base64")
    headers = [
        *c.headers(f"{case_id[-8:]}@mail.yandex.ru"),
        ("X-Mailer", "Yamail [ http://yandex.ru ] 5.0"),
    ]
    src = (
        f"Yandex Mail {'mobile app, text/plain' if mobile else 'web, text/html only'} ({c.lang}): "
        "attribution '01.12.2026, 10:15, \"Name\" <x@y>:' (date first, no verb); "
        f"{L.SRC_ALFONS}; {L.SRC_CRISP}/email_russian.txt"
    )
    return message(headers, entity), src


# --- forwards -------------------------------------------------------------------------------


@dataclass
class Fwd:
    lang: str
    n: int
    note: bool
    t: str = "10:15"

    def __post_init__(self) -> None:
        self.t = TIMES[self.n % len(TIMES)]
        self.cust = T.CUSTOMERS[self.lang][self.n % 2]
        self.shop, self.subj, self.text = T.CONFIRMATION[self.lang]
        self.shop_email = f"orders@{['shop', 'store', 'boutique'][self.n % 3]}.example.net"
        notes = T.FORWARD_NOTE[self.lang]
        self.note_text = notes[self.n % len(notes)] if self.note else ""

    def fill(self, pattern: str) -> str:
        return pattern.format(t=self.t, t12=self.t.lstrip("0") + " AM")

    def expected(self) -> list[dict[str, str]]:
        return [
            {
                "from": f"{self.shop} <{self.shop_email}>",
                "date": f"2026-12-01T{self.t}:00",
                "subject": self.subj,
                "text": self.text,
            }
        ]

    def headers(self, client_id: str, prefix: str = "Fwd") -> list[tuple[str, str]]:
        return [
            ("From", address(*self.cust)),
            ("To", address(T.SUPPORT[self.lang][0], SUPPORT_EMAIL)),
            ("Subject", word(f"{prefix}: {self.subj}")),
            ("Date", f"Thu, 03 Dec 2026 {self.t}:44 +0100"),
            (
                "Message-ID",
                f"<{msgid(client_id + self.lang + str(self.n))}.fwd@{self.cust[1].split('@')[1]}>",
            ),
        ]

    def inner(self) -> bytes:
        """The confirmation as the shop sent it (for message/rfc822 forwards)."""
        headers = [
            ("From", address(self.shop, self.shop_email)),
            ("To", address(*self.cust)),
            ("Subject", word(self.subj)),
            ("Date", f"Tue, 01 Dec 2026 {self.t}:00 +0100"),
            ("Message-ID", f"<conf-{self.lang}{self.n}@shop.example.net>"),
        ]
        return message(
            headers, leaf("text/plain", self.text + "\n", "utf-8", cte_for(self.text, "utf-8"))
        )


def block_lines(labels: tuple[str, ...], values: tuple[str, ...]) -> str:
    """'Label: value' lines; a label written with its colon (French 'De\u00a0:') is kept."""
    rows = zip(labels, values, strict=True)
    return "\n".join(f"{lab if lab.endswith(':') else lab + ':'} {val}" for lab, val in rows)


def fwd_gmail(f: Fwd, case_id: str) -> tuple[bytes, str]:
    sep, labels, date = L.GMAIL_FORWARD[f.lang]
    values = (f"{f.shop} <{f.shop_email}>", f.fill(date), f.subj, f"<{f.cust[1]}>")
    block = f"{sep}\n{block_lines(labels, values)}"
    text = (f"{f.note_text}\n\n" if f.note else "") + f"{block}\n\n\n{f.text}\n"
    parts = [
        leaf("text/plain", text, "UTF-8", cte_for(text, "utf-8")),
        leaf(
            "text/html",
            f'<div dir="ltr">{html_lines(f.note_text)}<br><div class="gmail_quote">'
            f'<div dir="ltr" class="gmail_attr">{html_lines(block)}<br></div><br><br>{html_lines(f.text)}</div></div>\n',
            "UTF-8",
            "quoted-printable",
        ),
    ]
    entity = multipart("alternative", parts, boundary(case_id, "gmail"))
    src = (
        f"Gmail web forward ({f.lang}): '---------- Forwarded message ---------' with From "
        f"translated and Date/Subject/To kept in English; {L.SRC_CRISP}/email_tricky_17_forward_header.txt; issue 17"
    )
    return message(f.headers("CAFwd" + case_id[-5:]), entity), src


def fwd_apple(f: Fwd, case_id: str) -> tuple[bytes, str]:
    sep, labels, date = L.APPLE_FORWARD[f.lang]
    values = (f"{f.shop} <{f.shop_email}>", f.subj, f.fill(date), f"{f.cust[0]} <{f.cust[1]}>")
    block = f"{sep}\n\n{block_lines(labels, values)}\n\n{f.text}"
    ios = f.n % 2 == 1
    if ios:
        text = (f"{f.note_text}\n\n" if f.note else "") + f"{L.IPHONE[f.lang]}\n\n{quote(block)}\n"
    else:
        text = (f"{f.note_text}\n\n" if f.note else "") + f"{block}\n"
    entity = leaf("text/plain", text, "utf-8", cte_for(text, "utf-8"))
    headers = [
        *f.headers(f"{case_id[-8:].upper()}-APPLE"),
        ("X-Mailer", "iPhone Mail (22B91)" if ios else "Apple Mail (2.3826.200.121)"),
    ]
    src = (
        f"{'iOS Mail (forward quoted with > after the phone footer)' if ios else 'Apple Mail macOS'} forward "
        f"({f.lang}): '{sep}' then From/Subject/Date/To translated; "
        f"yodjii/email-origin-chain CRISP_COMPATIBILITY_REPORT.md (apple_mail_cs_body.txt)"
    )
    return message(headers, entity), src


def fwd_thunderbird(f: Fwd, case_id: str) -> tuple[bytes, str]:
    sep, labels = L.TB_FORWARD.get(f.lang, L.TB_FORWARD["en"])
    values = (f.subj, f"Tue, 1 Dec 2026 {f.t}:00 +0100", f"{f.shop} <{f.shop_email}>", f.cust[1])
    rows = "\n".join(
        f"{lab.rstrip(' :')}{' :' if lab.endswith(' :') else ':'} \t{val}"
        for lab, val in zip(labels, values, strict=True)
    )
    text = (f"{f.note_text}\n\n\n" if f.note else "\n\n") + f"{sep}\n{rows}\n\n\n\n{f.text}\n"
    entity = leaf("text/plain", text, "UTF-8", "8bit", "; format=flowed")
    headers = [*f.headers(f"{case_id[-8:]}-tbf"), ("User-Agent", "Mozilla Thunderbird")]
    src = f"Thunderbird inline forward ({f.lang}): '{sep}' with tab-separated Subject/Date/From/To; {L.SRC_TB_L10N} (mailnews.forward_header_originalmessage)"
    return message(headers, entity), src


def fwd_attached(f: Fwd, case_id: str) -> tuple[bytes, str]:
    client = f.n % 3  # 0 Thunderbird, 1 Outlook, 2 Apple Mail
    note = f.note_text + "\n" if f.note else ""
    name = {0: f"{f.subj}.eml", 1: f"{f.subj}.eml", 2: None}[client]
    parts = []
    if note or client != 2:
        parts.append(leaf("text/plain", note or "\n", "UTF-8", cte_for(note, "utf-8")))
    parts.append(rfc822(f.inner(), name))
    entity = multipart(
        "mixed", parts, boundary(case_id, ["thunderbird", "outlook", "apple"][client])
    )
    prefix = "FW" if client == 1 else "Fwd"
    headers = f.headers(f"{case_id[-8:]}-att", prefix)
    headers.append(
        ("User-Agent", "Mozilla Thunderbird")
        if client == 0
        else ("X-Mailer", ["", "Microsoft Outlook 16.0", "Apple Mail (2.3826.200.121)"][client])
    )
    who = [
        "Thunderbird 'Forward As > Attachment'",
        "Outlook 'Forward as Attachment'",
        "Apple Mail 'Forward as Attachment'",
    ][client]
    src = f"{who} ({f.lang}): the original as a message/rfc822 part{' with a note' if f.note else ', no note'}; RFC 2046 §5.2.1; issue 17"
    return message(headers, entity), src


def fwd_outlook(f: Fwd, case_id: str) -> tuple[bytes, str]:
    frm, sent, to, subj, date = L.OUTLOOK[f.lang]
    owa = f.n % 2 == 1
    rule = "________________________________\n" if owa else ""
    d = date.replace("{t12}", f.t.lstrip("0") + " AM").replace("{t}", f.t)
    block = f"{frm}: {f.shop} <{f.shop_email}>\n{sent}: {d}\n{to}: {f.cust[0]} <{f.cust[1]}>\n{subj}: {f.subj}"
    text = (f"{f.note_text}\n\n" if f.note else "") + f"{rule}{block}\n\n{f.text}\n"
    parts = [
        leaf("text/plain", text, "utf-8", cte_for(text, "utf-8")),
        leaf(
            "text/html",
            f'<html><body><div>{html_lines(f.note_text)}</div><hr><div id="divRplyFwdMsg">{html_lines(block)}</div><div>{html_lines(f.text)}</div></body></html>\n',
            "utf-8",
            "quoted-printable",
        ),
    ]
    entity = multipart("alternative", parts, boundary(case_id, "outlook"))
    headers = f.headers(f"{case_id[-8:]}.outlook", L.OUTLOOK_FW[f.lang])
    src = (
        f"{'Outlook on the web' if owa else 'Outlook for Windows'} forward ({f.lang}): subject prefix "
        f"'{L.OUTLOOK_FW[f.lang]}:', translated From/Sent/To/Subject block{' under the rule' if owa else ''}; {L.SRC_ALFONS}"
    )
    return message(headers, entity), src


def fwd_yahoo(f: Fwd, case_id: str) -> tuple[bytes, str]:
    sep, labels, date = L.YAHOO_FORWARD[f.lang]
    values = (f"{f.shop} <{f.shop_email}>", f'"{f.cust[1]}" <{f.cust[1]}>', f.fill(date), f.subj)
    glued = "".join(
        f"{lab if lab.endswith(':') else lab + ':'} {val}"
        for lab, val in zip(labels, values, strict=True)
    )
    text = (f"{f.note_text}\n\n\n" if f.note else "") + f"   {sep} {glued}\n {f.text}\n"
    entity = leaf("text/plain", text, "UTF-8", cte_for(text, "utf-8"))
    src = (
        f"Yahoo Mail web forward ({f.lang}): '{sep}' and the From/To/Sent/Subject labels "
        "(translated) glued on one line, as Yahoo's text part renders its HTML; "
        "yodjii/email-origin-chain CRISP_COMPATIBILITY_REPORT.md (crisp-oss fixtures yahoo_*_body.txt)"
    )
    return message(f.headers(f"{case_id[-8:]}@yahoo"), entity), src


def fwd_gmx(f: Fwd, case_id: str) -> tuple[bytes, str]:
    first, _labels = L.GMX["de"]
    block = f'{f.fill(first)}\nVon: "{f.shop}" <{f.shop_email}>\nAn: {f.cust[1]}\nBetreff: {f.subj}'
    text = (f"{f.note_text}\n" if f.note else "") + f" \n \n\n{block}\n\n{f.text}\n"
    entity = leaf("text/plain", text, "UTF-8", cte_for(text, "utf-8"))
    headers = [*f.headers(f"trinity-{case_id[-6:]}-gmx"), ("X-UI-Message-Type", "mail")]
    src = f"GMX FreeMail web forward (de): the same 'Gesendet:/Von:/An:/Betreff:' block as a reply, no forward line; {L.SRC_ALFONS}"
    return message(headers, entity), src


def fwd_mailru(f: Fwd, case_id: str) -> tuple[bytes, str]:
    sep, labels, date = L.MAILRU_FORWARD
    values = (f"{f.shop} <{f.shop_email}>", f.cust[1], f.fill(date), f.subj)
    text = (
        (f"{f.note_text}\n\n" if f.note else "")
        + f"\n\n{sep}\n{block_lines(labels, values)}\n{f.text}\n\n----------------------------------------------------------------------\n"
    )
    entity = leaf("text/plain", text, "utf-8", "base64")
    headers = [*f.headers(f"{case_id[-8:]}@f1.mail.ru"), ("X-Mailer", "Mail.Ru Mailer 1.0")]
    src = "Mail.ru web forward (ru): '-------- Пересылаемое сообщение --------' then От кого/Кому/Дата/Тема; issue 17 ('Пересылаемое сообщение' as in daemon/mail/reply.py FORWARDS)"
    return message(headers, entity), src


def fwd_yandex(f: Fwd, case_id: str) -> tuple[bytes, str]:
    start, end = L.YANDEX_FORWARD
    line = f'01.12.2026, {f.t}, "{f.shop}" <{f.shop_email}>:'
    text = (f"{f.note_text}\n\n" if f.note else "") + f"{start}\n{line}\n{f.text}\n{end}\n"
    entity = leaf("text/plain", text, "utf-8", "base64")
    headers = [
        *f.headers(f"{case_id[-8:]}@mail.yandex.ru"),
        ("X-Mailer", "Yamail [ http://yandex.ru ] 5.0"),
    ]
    src = "Yandex Mail forward (ru): 'Начало/Конец переадресованного сообщения' around a date-first line; issue 17"
    return message(headers, entity), src


# --- bounces and robots ---------------------------------------------------------------------

ORIG_TO = "jan.kowalski@corp.example.net"


def robot_mail(
    frm: str,
    subject: str,
    text: str,
    extra: list[tuple[str, str]],
    mid: str,
    charset: str = "utf-8",
    null_path: bool = True,
    attach_original: bool = False,
) -> bytes:
    headers = (
        ([("Return-Path", "<>")] if null_path else [])
        + [
            ("From", frm),
            ("To", address("Example Shop Support", SUPPORT_EMAIL)),
            ("Subject", word(subject, charset)),
            ("Date", "Tue, 01 Dec 2026 10:16:03 +0100"),
            ("Message-ID", f"<{mid}>"),
        ]
        + extra
    )
    body = leaf("text/plain", text, charset, cte_for(text, charset))
    if attach_original:
        original = message(
            [
                ("From", address("Example Shop Support", SUPPORT_EMAIL)),
                ("To", ORIG_TO),
                ("Subject", "Re: Your order 10042"),
                ("Date", "Tue, 01 Dec 2026 10:15:00 +0100"),
                ("Message-ID", f"<orig-{mid}>"),
            ],
            leaf("text/plain", "Hello,\n\nyour parcel is on its way.\n", "utf-8", "7bit"),
        )
        body = multipart("mixed", [body, rfc822(original)], f"----={mid[:12]}")
    return message(headers, body)


BOUNCES: list[tuple[str, str, str, Callable[[str], bytes]]] = []
ROBOTS: list[tuple[str, str, str, Callable[[str], bytes]]] = []


def bounce(
    lang: str, client: str, source: str
) -> Callable[[Callable[[str], bytes]], Callable[[str], bytes]]:
    def register(fn: Callable[[str], bytes]) -> Callable[[str], bytes]:
        BOUNCES.append((lang, client, source, fn))
        return fn

    return register


def robot(
    lang: str, client: str, source: str
) -> Callable[[Callable[[str], bytes]], Callable[[str], bytes]]:
    def register(fn: Callable[[str], bytes]) -> Callable[[str], bytes]:
        ROBOTS.append((lang, client, source, fn))
        return fn

    return register


@bounce(
    "en",
    "Exchange 2003",
    f"{L.SRC_SISIMAI}/Exchange2003.pm: 'Your message did not reach some or all of the intended recipients.' from a 'System Administrator'",
)
def b_exchange2003(mid: str) -> bytes:
    text = (
        "Your message did not reach some or all of the intended recipients.\n\n"
        "      Subject:\tRe: Your order 10042\n      Sent:\t12/1/2026 10:15 AM\n\n"
        "The following recipient(s) could not be reached:\n\n"
        f"      {ORIG_TO} on 12/1/2026 10:16 AM\n"
        "            The e-mail account does not exist at the organization this message was sent to.  "
        "Check the e-mail address, or contact the recipient directly to find out the correct address.\n"
        "            <mx1.corp.example.net #5.1.1>\n"
    )
    return robot_mail(
        "System Administrator <sysadmin@corp.example.net>",
        "Undeliverable: Re: Your order 10042",
        text,
        [],
        mid,
        attach_original=True,
    )


@bounce(
    "en",
    "Exchange 2003 (Delivery Failure)",
    f"issue 17 ('Delivery Failure' from a 'System Administrator'); {L.SRC_SISIMAI}/X2.pm (subject 'Delivery failure')",
)
def b_delivery_failure(mid: str) -> bytes:
    text = (
        "Your message\n\n  To:      jan.kowalski@corp.example.net\n  Subject: Re: Your order 10042\n"
        "  Sent:    Tue, 1 Dec 2026 10:15:00 +0100\n\ndid not reach the following recipient(s):\n\n"
        f"{ORIG_TO} on Tue, 1 Dec 2026 10:16:03 +0100\n    The recipient name is not recognized\n"
        "    MSEXCH:IMS:Corp:Main:MAIL01 0 (000C05A6) Unknown Recipient\n"
    )
    return robot_mail(
        "System Administrator <admin@corp.example.net>",
        "Delivery Failure",
        text,
        [],
        mid,
        null_path=False,
    )


@bounce(
    "de",
    "Exchange 2003 (German)",
    f"{L.SRC_SISIMAI}/Exchange2003.pm and Exchange2007.pm (subjects 'Unzustellbar:', German body)",
)
def b_exchange_de(mid: str) -> bytes:
    text = (
        "Ihre Nachricht hat einige oder alle Empfänger nicht erreicht.\n\n"
        "      Betreff:\tAW: Ihre Bestellung 10042\n      Gesendet am:\t01.12.2026 10:15\n\n"
        "Folgende(r) Empfänger konnte(n) nicht erreicht werden:\n\n"
        "      max.mustermann@firma.example.de am 01.12.2026 10:16\n"
        "            Das E-Mail-Konto ist in der Organisation, an die die Nachricht gesendet wurde, nicht vorhanden.\n"
        "            <mail.firma.example.de #5.1.1>\n"
    )
    return robot_mail(
        "Systemadministrator <sysadmin@firma.example.de>",
        "Unzustellbar: AW: Ihre Bestellung 10042",
        text,
        [],
        mid,
    )


@bounce(
    "fr",
    "Exchange 2003 (French)",
    f"{L.SRC_SISIMAI}/Exchange2007.pm (subject 'Non remis :', French body)",
)
def b_exchange_fr(mid: str) -> bytes:
    text = (
        "Votre message n'est pas parvenu à certains ou à tous les destinataires.\n\n"
        "      Objet :\tRE : Votre commande 20417\n      Envoyé :\t01/12/2026 10:15\n\n"
        "Impossible de joindre le ou les destinataires suivants :\n\n"
        "      claire.dupont@societe.example.fr le 01/12/2026 10:16\n"
        "            Le compte de messagerie n'existe pas dans l'organisation à laquelle ce message a été envoyé.\n"
    )
    return robot_mail(
        "Administrateur système <admin@societe.example.fr>",
        "Non remis : RE : Votre commande 20417",
        text,
        [],
        mid,
    )


@bounce(
    "en",
    "Lotus Domino",
    f"{L.SRC_SISIMAI}/Domino.pm: 'DELIVERY FAILURE: User … not listed in Domino Directory'",
)
def b_domino(mid: str) -> bytes:
    text = (
        "Your message\n\n  Subject: Re: Your order 10042\n\nwas not delivered to:\n\n"
        f"  {ORIG_TO}\n\nbecause:\n\n  User jan.kowalski ({ORIG_TO}) not listed in Domino Directory\n"
    )
    return robot_mail(
        "Mail Router <mailrouter@corp.example.net>",
        f"DELIVERY FAILURE: User jan.kowalski ({ORIG_TO}) not listed in Domino Directory",
        text,
        [],
        mid,
        attach_original=True,
    )


@bounce(
    "en",
    "Lotus Notes",
    f"{L.SRC_SISIMAI}/Notes.pm: '------- Failure Reasons --------' … '------- Returned Message --------'",
)
def b_notes(mid: str) -> bytes:
    text = (
        "------- Failure Reasons --------\n\nUser not listed in public Name & Address Book\n"
        f"{ORIG_TO}\n\n------- Returned Message --------\nSubject: Re: Your order 10042\n"
        "From: support@shop.example.com\n\nHello,\n\nyour parcel is on its way.\n"
    )
    return robot_mail(
        "Notes Mail Router <router@notes.example.net>",
        "Undeliverable message",
        text,
        [],
        mid,
        null_path=False,
    )


@bounce(
    "en",
    "Novell GroupWise",
    f"{L.SRC_FLUFL}/groupwise.py: 'Message status - undeliverable', 'The message that you sent was undeliverable to the following:'",
)
def b_groupwise(mid: str) -> bytes:
    text = (
        "The message that you sent was undeliverable to the following:\n"
        "\tjkowalski (user not found)\n\nPossible causes:  The e-mail address may be incorrect, or the "
        "user may have been removed from the system.\n"
    )
    return robot_mail(
        "GroupWise Internet Agent <gwia@gw.example.org>",
        "Message status - undeliverable",
        text,
        [],
        mid,
        attach_original=True,
    )


@bounce(
    "en",
    "MDaemon",
    f"{L.SRC_FLUFL}/simplematch.py (MDaemon: 'The following addresses did NOT receive a copy of your message:' … '--- Session Transcript ---'); issue 17 ('User unknown!')",
)
def b_mdaemon(mid: str) -> bytes:
    text = (
        "The attached message had PERMANENT fatal delivery errors!\n\n"
        "After one or more unsuccessful delivery attempts the attached message has been removed from "
        "the mail queue on this server.  The number and frequency of delivery attempts are determined "
        "by local configuration parameters.\n\n"
        "The following addresses did NOT receive a copy of your message:\n\n"
        f"> {ORIG_TO}\n\n--- Session Transcript ---\n"
        f" Tue 2026-12-01 10:16:02: Parsing message <mail.example.net\\pd50000001.msg>\n"
        f" Tue 2026-12-01 10:16:02: * To: {ORIG_TO}\n"
        " Tue 2026-12-01 10:16:03: <-- 550 User unknown!\n--- End Transcript ---\n"
    )
    return robot_mail(
        "MDaemon@mail.example.net",
        "Permanent Delivery Failure",
        text,
        [],
        mid,
        attach_original=True,
    )


@bounce(
    "en",
    "MDaemon (warning)",
    "issue 17 ('Mail Delivery Warning'); MDaemon queue warning layout as described in flufl.bounce simplematch (MDaemon) and sisimai 'Delivery Status Notification (Delay)' texts",
)
def b_mdaemon_warning(mid: str) -> bytes:
    text = (
        "This is an advisory-only email.  Please do not reply to it.\n\n"
        "The message you sent could not be delivered yet.  The server will keep trying to deliver it "
        "for another 4 days.\n\nThe following recipient has not yet received your message:\n\n"
        f"  {ORIG_TO}\n\nLast error: 451 4.2.0 Mailbox temporarily unavailable\n"
    )
    return robot_mail("MDaemon@mail.example.net", "Mail Delivery Warning", text, [], mid)


@bounce(
    "en",
    "E500 SMTP Mail Service",
    f"{L.SRC_FLUFL}/simplematch.py ('------ Failed Recipients ------' … '-------- Returned Mail --------'); issue 17 ('Returned Mail - Error During Delivery')",
)
def b_returned_mail(mid: str) -> bytes:
    text = (
        "------ Failed Recipients ------\n"
        f"<{ORIG_TO}>: Requested action not taken: mailbox unavailable. [mail.example.net]\n\n"
        "-------- Returned Mail --------\nSubject: Re: Your order 10042\n\nHello,\n\nyour parcel is on its way.\n"
    )
    return robot_mail(
        "Mail Administrator <Postmaster@mail.example.net>",
        "Returned Mail - Error During Delivery",
        text,
        [],
        mid,
    )


@bounce("en", "qmail", f"{L.SRC_SISIMAI}/qmail.pm: 'Hi. This is the qmail-send program at …'")
def b_qmail(mid: str) -> bytes:
    text = (
        "Hi. This is the qmail-send program at mx.example.net.\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
        f"<{ORIG_TO}>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n"
        "--- Below this line is a copy of the message.\n\nSubject: Re: Your order 10042\n"
    )
    return robot_mail("MAILER-DAEMON@mx.example.net", "failure notice", text, [], mid)


@bounce(
    "en",
    "Trend Micro InterScan MSS",
    f"{L.SRC_SISIMAI}/InterScanMSS.pm: From '\"InterScan MSS\"', subject 'Mail could not be delivered', 'Sent <<< RCPT TO:' / 'Received >>> 550'",
)
def b_interscan(mid: str) -> bytes:
    text = (
        "Unable to deliver the message to the following recipient.\n\n"
        f"Sent <<< RCPT TO:<{ORIG_TO}>\nReceived >>> 550 5.1.1 <{ORIG_TO}>... User unknown\n"
    )
    return robot_mail(
        '"InterScan MSS" <imss@gw.example.net>',
        "Mail could not be delivered",
        text,
        [],
        mid,
        null_path=False,
        attach_original=True,
    )


@bounce(
    "ja",
    "Trend Micro InterScan MSS (Japanese)",
    f"{L.SRC_SISIMAI}/InterScanMSS.pm: subject 'メッセージを配信できません。'",
)
def b_interscan_ja(mid: str) -> bytes:
    text = (
        "次の宛先にメッセージを配信できませんでした。\n\n"
        "Sent <<< RCPT TO:<tanaka@kaisha.example.jp>\n"
        "Received >>> 550 5.1.1 <tanaka@kaisha.example.jp>... User unknown\n"
    )
    return robot_mail(
        '"InterScan MSS" <imss@kaisha.example.jp>',
        "メッセージを配信できません。",
        text,
        [],
        mid,
        charset="iso-2022-jp",
        null_path=False,
    )


@bounce(
    "ja",
    "m-FILTER",
    f"{L.SRC_SISIMAI}/mFILTER.pm: 'このメールは「m-FILTER」が自動的に生成して送信しています。'",
)
def b_mfilter(mid: str) -> bytes:
    text = (
        "このメールは「m-FILTER」が自動的に生成して送信しています。\n"
        "メールサーバーとの通信中、下記の理由により\nこのメールは送信できませんでした。\n\n"
        "以下のメールアドレスへの送信に失敗しました。\nsuzuki@kaisha.example.jp\n\n\n"
        "エラーの種類：宛先不明\n\n------------------------------------------------------------\n"
    )
    return robot_mail(
        "Mail Administrator <postmaster@kaisha.example.jp>",
        "failure notice",
        text,
        [],
        mid,
        charset="iso-2022-jp",
    )


@bounce(
    "en",
    "MailMarshal SMTP",
    f"{L.SRC_SISIMAI}/MailMarshalSMTP.pm: 'Your message: … Could not be delivered because of … The following recipients were affected:'",
)
def b_mailmarshal(mid: str) -> bytes:
    text = (
        "Your message:\n   From:    Example Shop Support <support@shop.example.com>\n"
        "   Subject: Re: Your order 10042\n\nCould not be delivered because of\n\n550 5.1.1 User unknown\n\n"
        f"The following recipients were affected: \n    {ORIG_TO}\n"
    )
    return robot_mail(
        "MailMarshal <mailmarshal@gw.example.org>",
        'Undeliverable Mail: "Re: Your order 10042"',
        text,
        [],
        mid,
        null_path=False,
    )


@bounce(
    "en",
    "McAfee Email Gateway",
    f"{L.SRC_SISIMAI}/McAfee.pm: '--- The following addresses had delivery problems ---'",
)
def b_mcafee(mid: str) -> bytes:
    text = (
        "--- The following addresses had delivery problems ---\n\n"
        f"<{ORIG_TO}>   (User unknown {ORIG_TO})\n\n--- Transcript of session follows ---\n"
        f"RCPT TO:<{ORIG_TO}>\n550 5.1.1 unknown user\n"
    )
    return robot_mail(
        "Email Gateway <gateway@mail.example.org>",
        "Delivery Status Notification",
        text,
        [("X-NAI-Header", "Modified by McAfee Email Gateway")],
        mid,
    )


@bounce(
    "en",
    "IMail Server",
    f"{L.SRC_SISIMAI}/IMailServer.pm: subject 'Undeliverable Mail', 'Unknown user:' then 'Original message follows.'",
)
def b_imail(mid: str) -> bytes:
    text = f"Body of message generated response:\n\nUnknown user: {ORIG_TO}\n\nOriginal message follows.\n\nSubject: Re: Your order 10042\n"
    return robot_mail(
        "IMail Postmaster <postmaster@imail.example.net>",
        "Undeliverable Mail",
        text,
        [("X-Mailer", "<SMTP32 v8.22>")],
        mid,
        null_path=False,
    )


@bounce(
    "en",
    "Unknown MTA (X3)",
    f"{L.SRC_SISIMAI}/X3.pm: From 'Mail Delivery System', subject 'Delivery status notification', '      This is an automatically generated Delivery Status Notification.'",
)
def b_x3(mid: str) -> bytes:
    rule = "=" * 76
    text = (
        f"{rule}\n      This is an automatically generated Delivery Status Notification.\n\n"
        f"Delivery to the following recipients failed permanently:\n\n   * {ORIG_TO}\n\n\n{rule}\n"
        f"                            Technical details:\n\nSMTP:RCPT host 192.0.2.8: 553 5.3.0 <{ORIG_TO}>... No such user here\n\n\n{rule}\n"
    )
    return robot_mail(
        "Mail Delivery System <mds@relay.example.org>",
        "Delivery status notification",
        text,
        [],
        mid,
    )


@bounce(
    "en",
    "Unknown MTA (X1)",
    f"{L.SRC_SISIMAI}/X1.pm: subject 'Returned Mail: ', 'The original message was received at …', '---The following addresses had delivery errors---'",
)
def b_x1(mid: str) -> bytes:
    text = (
        "The original message was received at Tue, 1 Dec 2026 10:15:40 +0100 (CET)\nfrom support@shop.example.com\n\n"
        f"---The following addresses had delivery errors---\n\n{ORIG_TO} [User unknown]\n"
    )
    return robot_mail(
        '"Mail Delivery System" <mds@mx.example.org>',
        "Returned Mail: User unknown",
        text,
        [],
        mid,
        attach_original=True,
    )


@bounce(
    "en",
    "Yahoo partner MTA (X2)",
    f"{L.SRC_FLUFL}/simplematch.py ('Unable to deliver message to the following address(es).' … '--- Original message follows.'); {L.SRC_SISIMAI}/X2.pm",
)
def b_x2(mid: str) -> bytes:
    text = (
        "Message from example.org.\nUnable to deliver message to the following address(es).\n\n"
        f"<{ORIG_TO}>:\nThis user doesn't have a example.org account ({ORIG_TO}) [0]\n\n"
        "--- Original message follows.\n\nSubject: Re: Your order 10042\n"
    )
    return robot_mail("MAILER-DAEMON@mx.example.org", "Delivery failure", text, [], mid)


@bounce(
    "en",
    "Amavis anti-virus",
    f"{L.SRC_SISIMAI}/Amavis.pm; anti-virus gateways (issue 17): 'The message WAS NOT delivered to:'",
)
def b_amavis(mid: str) -> bytes:
    text = (
        "Our content checker found\n    virus: Eicar-Test-Signature\n\nin an email to you from\n"
        "  support@shop.example.com\n\nThe message WAS NOT delivered to:\n"
        f"<{ORIG_TO}>:\n   554 5.7.0 Reject, id=12345-01 - INFECTED: Eicar-Test-Signature\n"
    )
    return robot_mail(
        "Content-filter at mail.example.net <virusalert@mail.example.net>",
        "VIRUS (Eicar-Test-Signature) IN MAIL TO YOU (from <support@shop.example.com>)",
        text,
        [],
        mid,
    )


@bounce(
    "de",
    "Kaspersky anti-virus gateway (German)",
    "issue 17 (anti-virus gateways without DSN); sisimai Lhost descriptions (content filters); German gateway notice",
)
def b_av_de(mid: str) -> bytes:
    text = (
        'Die Nachricht mit dem Betreff "AW: Ihre Bestellung 10042" konnte nicht zugestellt werden.\n\n'
        "Grund: Im Anhang wurde ein gefährliches Objekt gefunden (Trojan.Win32.Generic).\n"
        "Empfänger: max.mustermann@firma.example.de\n\nDiese Nachricht wurde automatisch erstellt.\n"
    )
    return robot_mail(
        "Virenschutz-Gateway <av-gateway@firma.example.de>",
        "Zustellung fehlgeschlagen: Virus gefunden",
        text,
        [],
        mid,
        null_path=False,
    )


@bounce(
    "ru",
    "Exim (Mail.ru, Russian)",
    f"{L.SRC_SISIMAI}/MailRu.pm (Exim-based, Russian intro); flufl.bounce simplematch ('This message was created automatically by mail delivery software')",
)
def b_mailru(mid: str) -> bytes:
    text = (
        "Это письмо создано автоматически\nсервером Mail.Ru, отвечать на него не\nнужно.\n\n"
        "К сожалению, Ваше письмо не может\nбыть доставлено одному или нескольким\nполучателям:\n\n"
        "ivan.petrov@example.ru\nНеверный адрес получателя\n\n"
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of its\nrecipients. This is a permanent error. The following address(es) failed:\n\n"
        "  ivan.petrov@example.ru\n    user not found\n"
    )
    return robot_mail(
        "Mail Delivery System <mailer-daemon@corp.mail.ru>",
        "Mail delivery failed: returning message to sender",
        text,
        [],
        mid,
    )


@bounce("ru", "Yandex relay (Russian)", f"{L.SRC_SISIMAI}/Yandex.pm (Russian text part)")
def b_yandex(mid: str) -> bytes:
    text = (
        "Это письмо отправлено почтовым роботом.\nПожалуйста, не отвечайте на него.\n\n"
        "Ваше письмо не доставлено по адресу:\n\n  olga.smirnova@example.ru\n\n"
        "Ответ сервера: 550 5.7.1 No such user!\n"
    )
    return robot_mail(
        "mailer-daemon@yandex.example.ru",
        "Недоставленное сообщение",
        text,
        [],
        mid,
        charset="koi8-r",
    )


@bounce(
    "en",
    "Postfix (no DSN, forwarded by a gateway)",
    "issue 17 (SMTP-service gateways); the Postfix 'I'm sorry to have to inform you' text delivered as one text/plain part by a relaying gateway",
)
def b_postfix_plain(mid: str) -> bytes:
    text = (
        "This is the mail system at host relay.example.org.\n\n"
        "I'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients. It's attached below.\n\n"
        "For further assistance, please send mail to postmaster.\n\n"
        "If you do so, please include this problem report. You can\ndelete your own text from the attached returned message.\n\n"
        "                   The mail system\n\n"
        f"<{ORIG_TO}>: host mx.corp.example.net[192.0.2.25] said: 550 5.1.1\n    <{ORIG_TO}>: Recipient address rejected: User unknown (in reply to RCPT TO command)\n"
    )
    return robot_mail(
        "Mail Delivery Service <relay-notify@relay.example.org>",
        "Undelivered Mail Returned to Sender",
        text,
        [],
        mid,
        null_path=False,
    )


@robot(
    "en",
    "Mailman 2 moderation",
    "GNU Mailman 2 templates/en/postheld.txt: 'Your mail to … with the subject … Is being held until the list moderator can review it for approval.'",
)
def r_mailman(mid: str) -> bytes:
    text = (
        "Your mail to 'Retail-partners' with the subject\n\n    Re: Your order 10042\n\n"
        "Is being held until the list moderator can review it for approval.\n\n"
        "The reason it is being held:\n\n    Post by non-member to a members-only list\n\n"
        "Either the message will get posted to the list, or you will receive\nnotification of the moderator's decision.\n"
    )
    return robot_mail(
        "retail-partners-owner@lists.example.org",
        "Your message to Retail-partners awaits moderator approval",
        text,
        [
            ("X-List-Administrivia", "yes"),
            ("Precedence", "bulk"),
            ("List-Id", "<retail-partners.lists.example.org>"),
        ],
        mid,
        null_path=False,
    )


@robot(
    "fr",
    "Sympa moderation",
    "Sympa mail_tt2/message_report.tt2 (French): message forwarded to the moderator",
)
def r_sympa(mid: str) -> bytes:
    text = (
        "Votre message pour la liste revendeurs@listes.example.fr a été transmis au(x) modérateur(s).\n\n"
        "Il sera diffusé après validation.\n"
    )
    return robot_mail(
        "SYMPA <sympa@listes.example.fr>",
        "Message pour revendeurs transmis au modérateur",
        text,
        [],
        mid,
        null_path=False,
    )


@robot(
    "en",
    "Exchange Online out of office",
    "Exchange automatic replies: subject 'Automatic reply:', Auto-Submitted: auto-generated, X-Auto-Response-Suppress: All (RFC 3834; zammad_autoresponse fixtures)",
)
def r_ooo_en(mid: str) -> bytes:
    text = "Thank you for your email. I am out of the office until 7 December with no access to email.\nFor urgent matters please contact purchasing@corp.example.net.\n"
    return robot_mail(
        "Jan Kowalski <jan.kowalski@corp.example.net>",
        "Automatic reply: Re: Your order 10042",
        text,
        [("Auto-Submitted", "auto-generated"), ("X-Auto-Response-Suppress", "All")],
        mid,
        null_path=False,
    )


@robot(
    "de",
    "Outlook rule out of office (German, no headers)",
    "Outlook client-side 'Abwesenheitsassistent' rule reply: subject 'Automatische Antwort:' without RFC 3834 headers (issue 17)",
)
def r_ooo_de(mid: str) -> bytes:
    text = "Vielen Dank für Ihre Nachricht.\n\nIch bin bis einschließlich 11.12.2026 nicht im Büro und habe keinen Zugriff auf meine E-Mails.\nIn dringenden Fällen wenden Sie sich bitte an einkauf@firma.example.de.\n"
    return robot_mail(
        "Max Mustermann <max.mustermann@firma.example.de>",
        "Automatische Antwort: AW: Ihre Bestellung 10042",
        text,
        [],
        mid,
        null_path=False,
    )


@robot(
    "fr",
    "Outlook out of office (French)",
    "Outlook/Exchange automatic replies, French subject 'Réponse automatique :' (no RFC 3834 header from a client rule)",
)
def r_ooo_fr(mid: str) -> bytes:
    text = "Bonjour,\n\nJe suis absente du bureau jusqu'au 8 décembre inclus. Pour toute urgence, merci de contacter achats@societe.example.fr.\n\nCordialement\n"
    return robot_mail(
        "Claire Dupont <claire.dupont@societe.example.fr>",
        "Réponse automatique : RE : Votre commande 20417",
        text,
        [],
        mid,
        null_path=False,
    )


@robot(
    "es",
    "Outlook out of office (Spanish)",
    "Outlook automatic replies, Spanish subject 'Respuesta automática:'",
)
def r_ooo_es(mid: str) -> bytes:
    text = "Gracias por su mensaje. Estaré fuera de la oficina hasta el 9 de diciembre.\nPara asuntos urgentes, escriba a compras@empresa.example.es.\n"
    return robot_mail(
        "Pilar Ruiz <pilar.ruiz@empresa.example.es>",
        "Respuesta automática: RE: Su pedido 30552",
        text,
        [("X-Auto-Response-Suppress", "All")],
        mid,
        null_path=False,
    )


@robot(
    "it",
    "Outlook out of office (Italian)",
    "Outlook automatic replies, Italian subject 'Risposta automatica:'",
)
def r_ooo_it(mid: str) -> bytes:
    text = "Grazie per il messaggio. Sarò fuori ufficio fino al 10 dicembre.\nPer urgenze contattare acquisti@azienda.example.it.\n"
    return robot_mail(
        "Luca Bianchi <luca.bianchi@azienda.example.it>",
        "Risposta automatica: R: Il suo ordine 40981",
        text,
        [],
        mid,
        null_path=False,
    )


@robot(
    "nl",
    "Outlook out of office (Dutch)",
    "Outlook automatic replies, Dutch subject 'Automatisch antwoord:'",
)
def r_ooo_nl(mid: str) -> bytes:
    text = "Bedankt voor je bericht. Ik ben tot en met 9 december afwezig.\nVoor dringende zaken: inkoop@bedrijf.example.nl.\n"
    return robot_mail(
        "Sanne de Vries <sanne@bedrijf.example.nl>",
        "Automatisch antwoord: RE: Je bestelling 61120",
        text,
        [("Auto-Submitted", "auto-replied")],
        mid,
        null_path=False,
    )


@robot(
    "pl",
    "Outlook out of office (Polish)",
    "Outlook automatic replies, Polish subject 'Odpowiedź automatyczna:'",
)
def r_ooo_pl(mid: str) -> bytes:
    text = "Dziękuję za wiadomość. Do 8 grudnia jestem poza biurem.\nW pilnych sprawach proszę pisać na zakupy@firma.example.pl.\n"
    return robot_mail(
        "Anna Nowak <anna.nowak@firma.example.pl>",
        "Odpowiedź automatyczna: ODP: Zamówienie 70418",
        text,
        [],
        mid,
        null_path=False,
    )


@robot(
    "ru",
    "Outlook out of office (Russian)",
    "Outlook automatic replies, Russian subject 'Автоматический ответ:'",
)
def r_ooo_ru(mid: str) -> bytes:
    text = "Здравствуйте!\n\nЯ в отпуске до 14 декабря. По срочным вопросам пишите на zakupki@kompaniya.example.ru.\n"
    return robot_mail(
        "Ольга Смирнова <o.smirnova@kompaniya.example.ru>",
        "Автоматический ответ: RE: Ваш заказ 80214",
        text,
        [],
        mid,
        charset="windows-1251",
        null_path=False,
    )


@robot(
    "zh",
    "QQ Mail vacation reply",
    "QQ Mail vacation auto-reply: subject '自动回复:' and body '这是来自QQ邮箱的假期自动回复邮件。'",
)
def r_qq(mid: str) -> bytes:
    text = "这是来自QQ邮箱的假期自动回复邮件。\n\n您好，我最近正在休假中，无法亲自回复您的邮件。我将在假期结束后，尽快给您回复。\n"
    return robot_mail(
        "张伟 <zhangwei@example.cn>",
        "自动回复: 关于您的订单14427",
        text,
        [("X-QQ-mid", "bizesmtp12t1733040963")],
        mid,
        null_path=False,
    )


@robot(
    "ja",
    "Japanese shop auto-acknowledgement",
    "Japanese e-commerce auto-acknowledgements: subject '【自動返信】', body 'このメールは自動送信されています'",
)
def r_ja_ack(mid: str) -> bytes:
    text = "※このメールは自動送信されています。\n\nお問い合わせいただきありがとうございます。\n担当者より2営業日以内にご連絡いたします。\n"
    return robot_mail(
        "サンプル株式会社 <info@sample.example.jp>",
        "【自動返信】お問い合わせありがとうございます",
        text,
        [],
        mid,
        charset="iso-2022-jp",
        null_path=False,
    )


@robot(
    "en",
    "Zendesk-style ticket acknowledgement",
    "help desk auto-acknowledgements ('Request received', ticket number in the subject; zammad_autoresponse fixtures, RFC 3834 Auto-Submitted: auto-replied)",
)
def r_ticket_ack(mid: str) -> bytes:
    text = "Your request (#48213) has been received and is being reviewed by our support staff.\n\nTo add additional comments, reply to this email.\n"
    return robot_mail(
        "Vendor Support <help@vendor.example.net>",
        "[Vendor] Re: Your order 10042 (#48213)",
        text,
        [("Auto-Submitted", "auto-replied")],
        mid,
        null_path=False,
    )


@robot(
    "de",
    "OTRS ticket acknowledgement (German)",
    "OTRS/Znuny auto-reply template 'Ihre Anfrage ist bei uns eingegangen' with [Ticket#…] in the subject, X-Loop header",
)
def r_otrs_de(mid: str) -> bytes:
    text = "Sehr geehrte Damen und Herren,\n\nIhre Anfrage ist bei uns eingegangen und wird unter der Ticketnummer 2026120110000123 bearbeitet.\n\nIhr Service-Team\n"
    return robot_mail(
        "Lieferant Service <service@lieferant.example.de>",
        "[Ticket#2026120110000123] Ihre Anfrage ist eingegangen",
        text,
        [("X-Loop", "yes")],
        mid,
        null_path=False,
    )


@robot(
    "tr",
    "Outlook out of office (Turkish)",
    "Outlook automatic replies, Turkish subject 'Otomatik yanıt:'",
)
def r_ooo_tr(mid: str) -> bytes:
    text = "Mesajınız için teşekkürler. 10 Aralık'a kadar ofis dışındayım.\nAcil durumlarda satinalma@firma.example.com.tr adresine yazabilirsiniz.\n"
    return robot_mail(
        "Ayşe Demir <ayse.demir@firma.example.com.tr>",
        "Otomatik yanıt: YNT: 15520 numaralı siparişiniz",
        text,
        [],
        mid,
        null_path=False,
    )


@robot(
    "cs",
    "Outlook out of office (Czech)",
    "Outlook automatic replies, Czech subject 'Automatická odpověď:'",
)
def r_ooo_cs(mid: str) -> bytes:
    text = "Dobrý den,\n\ndo 9. 12. jsem mimo kancelář. V naléhavých případech pište na nakup@firma.example.cz.\n"
    return robot_mail(
        "Petr Novák <petr.novak@firma.example.cz>",
        "Automatická odpověď: RE: Vaše objednávka 11503",
        text,
        [],
        mid,
        null_path=False,
    )


@robot(
    "sv",
    "Outlook out of office (Swedish)",
    "Outlook automatic replies, Swedish subject 'Automatiskt svar:'",
)
def r_ooo_sv(mid: str) -> bytes:
    text = "Tack för ditt mejl. Jag är tjänstledig till och med 11 december.\nVid brådskande ärenden, kontakta inkop@foretag.example.se.\n"
    return robot_mail(
        "Karin Berg <karin.berg@foretag.example.se>",
        "Automatiskt svar: SV: Din beställning 12260",
        text,
        [],
        mid,
        null_path=False,
    )


@robot(
    "pt",
    "Gmail vacation responder (Portuguese)",
    "Gmail vacation responder: user's own subject, Auto-Submitted: auto-replied (RFC 3834)",
)
def r_gmail_vacation(mid: str) -> bytes:
    text = "Olá! Estou de férias até dia 15 de dezembro, com acesso limitado ao e-mail.\nResponderei assim que possível.\n"
    return robot_mail(
        "Rita Sousa <rita.sousa@example.pt>",
        "Férias",
        text,
        [("Auto-Submitted", "auto-replied")],
        mid,
        null_path=False,
    )


# --- first mails from people ----------------------------------------------------------------


def human_new(lang: str, subject: str, text: str, n: int, case_id: str) -> tuple[bytes, str, str]:
    name, email = T.CUSTOMERS[lang][n % 2]
    kind = n % 4  # rotate the clients people write new mail with
    headers = [
        ("From", address(name, email)),
        ("To", address(T.SUPPORT[lang][0], SUPPORT_EMAIL)),
        ("Subject", word(subject)),
        ("Date", f"Fri, 04 Dec 2026 1{n % 10}:0{n % 6}:12 +0100"),
        ("Message-ID", f"<new-{case_id}@{email.split('@')[1]}>"),
    ]
    if kind == 0:
        sig = "\n\nSent from my iPhone" if lang == "en" else f"\n\n{L.IPHONE[lang]}"
        body = leaf("text/plain", text + sig + "\n", "utf-8", cte_for(text + sig, "utf-8"))
        headers.append(("X-Mailer", "iPhone Mail (22B91)"))
        return message(headers, body), "iOS Mail", "iOS Mail new message with the phone footer"
    if kind == 1:
        parts = [
            leaf("text/plain", text + "\n", "UTF-8", cte_for(text, "utf-8")),
            leaf(
                "text/html",
                f'<div dir="ltr">{html_lines(text)}</div>\n',
                "UTF-8",
                "quoted-printable",
            ),
        ]
        return (
            message(headers, multipart("alternative", parts, boundary(case_id, "gmail"))),
            "Gmail web",
            "Gmail web new message (text + HTML)",
        )
    if kind == 2:
        body = leaf("text/plain", text + f"\n\n-- \n{name}\n", "UTF-8", "8bit", "; format=flowed")
        headers.append(("User-Agent", "Mozilla Thunderbird"))
        return (
            message(headers, body),
            "Thunderbird",
            "Thunderbird new message with a '-- ' signature",
        )
    parts = [
        leaf("text/plain", text + "\n", "utf-8", cte_for(text, "utf-8")),
        leaf(
            "text/html",
            f"<html><body><p>{esc(text).replace(chr(10), '<br>')}</p></body></html>\n",
            "utf-8",
            "quoted-printable",
        ),
    ]
    headers.append(("X-Mailer", "Microsoft Outlook 16.0"))
    return (
        message(headers, multipart("alternative", parts, boundary(case_id, "outlook"))),
        "Outlook for Windows",
        "Outlook new message",
    )


# --- the set --------------------------------------------------------------------------------

Layout = Callable[[Ctx, str], tuple[bytes, str]]
CLIENT_NAMES: dict[str, str] = {
    "gmail": "Gmail web",
    "gmail_old": "Gmail web (2014-2017)",
    "apple_mac": "Apple Mail macOS",
    "apple_ios": "iOS Mail",
    "thunderbird": "Thunderbird",
    "thunderbird_original": "Thunderbird",
    "outlook": "Outlook for Windows",
    "outlook_web": "Outlook on the web",
    "outlook_mobile": "Outlook mobile",
    "outlook_mac": "Outlook for Mac",
    "k9": "K-9 Mail",
    "samsung": "Samsung Email",
    "yahoo": "Yahoo Mail",
    "gmx": "GMX",
    "webde": "WEB.DE",
    "mailru": "Mail.ru",
    "yandex": "Yandex Mail",
    "outlook_2019": "Outlook 2019 for Mac",
    "samsung_corporate": "Samsung corporate webmail",
    "android_generic": "Android mail app",
}
LAYOUTS: dict[str, Layout] = {
    "gmail": gmail,
    "gmail_old": gmail_old,
    "apple_mac": apple_mac,
    "apple_ios": apple_ios,
    "thunderbird": thunderbird,
    "thunderbird_original": thunderbird_original,
    "outlook": outlook,
    "outlook_web": outlook_web,
    "outlook_mobile": outlook_mobile,
    "outlook_mac": outlook_mac,
    "k9": k9,
    "samsung": samsung,
    "yahoo": yahoo,
    "gmx": gmx,
    "webde": gmx,
    "mailru": mailru,
    "yandex": yandex,
    "outlook_2019": outlook_2019,
    "samsung_corporate": samsung_corporate,
    "android_generic": android_generic,
}

# (language, client, options) for every reply case
REPLIES: list[tuple[str, str, dict[str, Any]]] = [
    # English
    ("en", "gmail", {}),
    ("en", "gmail", {"signed": False}),
    ("en", "apple_ios", {}),
    ("en", "apple_mac", {}),
    ("en", "thunderbird", {"below": True}),
    ("en", "thunderbird", {}),
    ("en", "outlook", {}),
    ("en", "outlook", {"variant": "2003"}),
    ("en", "outlook", {"variant": "2010"}),
    ("en", "outlook_web", {}),
    ("en", "outlook_mobile", {}),
    ("en", "outlook_mobile", {"ios": True}),
    ("en", "outlook_mac", {}),
    ("en", "k9", {}),
    ("en", "samsung", {}),
    ("en", "yahoo", {}),
    ("en", "yahoo", {"mobile": True}),
    ("en", "thunderbird_original", {"starred": True}),
    ("en", "thunderbird_original", {}),
    ("en", "gmx", {}),
    ("en", "gmail_old", {}),
    # German
    ("de", "gmail", {}),
    ("de", "gmail", {"signed": False}),
    ("de", "apple_ios", {}),
    ("de", "apple_mac", {}),
    ("de", "thunderbird", {"below": True}),
    ("de", "thunderbird", {}),
    ("de", "outlook", {}),
    ("de", "outlook", {"variant": "2003"}),
    ("de", "outlook_web", {}),
    ("de", "outlook_mobile", {}),
    ("de", "outlook_mobile", {"ios": True}),
    ("de", "outlook_mac", {}),
    ("de", "k9", {}),
    ("de", "samsung", {}),
    ("de", "yahoo", {}),
    ("de", "yahoo", {"mobile": True}),
    ("de", "gmx", {}),
    ("de", "gmx", {"mobile": True}),
    ("de", "webde", {"brand": "WEB.DE"}),
    ("de", "webde", {"brand": "WEB.DE", "mobile": True}),
    ("de", "thunderbird_original", {"starred": True}),
    ("de", "gmail_old", {}),
    # French
    ("fr", "gmail", {}),
    ("fr", "apple_ios", {}),
    ("fr", "apple_mac", {}),
    ("fr", "thunderbird", {"below": True}),
    ("fr", "outlook", {}),
    ("fr", "outlook_web", {}),
    ("fr", "outlook_mobile", {}),
    ("fr", "outlook_mobile", {"ios": True}),
    ("fr", "k9", {}),
    ("fr", "samsung", {}),
    ("fr", "yahoo", {}),
    ("fr", "yahoo", {"mobile": True}),
    ("fr", "outlook", {"variant": "2003"}),
    # Spanish
    ("es", "gmail", {}),
    ("es", "apple_ios", {}),
    ("es", "thunderbird", {}),
    ("es", "outlook", {}),
    ("es", "outlook_web", {}),
    ("es", "outlook_mobile", {}),
    ("es", "k9", {}),
    ("es", "samsung", {}),
    ("es", "yahoo", {}),
    ("es", "yahoo", {"mobile": True}),
    # Italian
    ("it", "gmail", {}),
    ("it", "apple_ios", {}),
    ("it", "thunderbird", {"below": True}),
    ("it", "outlook", {}),
    ("it", "outlook_web", {}),
    ("it", "k9", {}),
    ("it", "samsung", {}),
    ("it", "yahoo", {"mobile": True}),
    # Portuguese
    ("pt", "gmail", {}),
    ("pt", "apple_ios", {}),
    ("pt", "thunderbird", {}),
    ("pt", "outlook", {}),
    ("pt", "samsung", {}),
    ("pt", "yahoo", {}),
    ("pt", "outlook_web", {}),
    # Dutch
    ("nl", "gmail", {}),
    ("nl", "apple_mac", {}),
    ("nl", "thunderbird", {"below": True}),
    ("nl", "outlook", {}),
    ("nl", "outlook_mobile", {}),
    ("nl", "k9", {}),
    ("nl", "samsung", {}),
    # Polish
    ("pl", "gmail", {}),
    ("pl", "apple_ios", {}),
    ("pl", "thunderbird", {}),
    ("pl", "outlook", {}),
    ("pl", "outlook_web", {}),
    ("pl", "k9", {}),
    ("pl", "samsung", {}),
    ("pl", "gmail_old", {}),
    # Russian
    ("ru", "gmail", {}),
    ("ru", "gmail_old", {"form": "ru_user"}),
    ("ru", "apple_ios", {}),
    ("ru", "thunderbird", {}),
    ("ru", "outlook", {}),
    ("ru", "k9", {}),
    ("ru", "samsung", {}),
    ("ru", "mailru", {}),
    ("ru", "mailru", {"mobile": True, "koi8": True}),
    ("ru", "yandex", {}),
    ("ru", "yandex", {"mobile": True}),
    # Ukrainian
    ("uk", "gmail", {}),
    ("uk", "apple_ios", {}),
    ("uk", "thunderbird", {}),
    ("uk", "outlook", {}),
    ("uk", "samsung", {}),
    ("uk", "mailru", {"mobile": True}),
    ("uk", "yandex", {"mobile": True}),
    # Czech
    ("cs", "gmail", {}),
    ("cs", "apple_mac", {}),
    ("cs", "thunderbird", {}),
    ("cs", "outlook", {}),
    ("cs", "k9", {}),
    ("cs", "samsung", {}),
    # Swedish
    ("sv", "gmail", {}),
    ("sv", "apple_ios", {}),
    ("sv", "thunderbird", {"below": True}),
    ("sv", "outlook", {}),
    ("sv", "k9", {}),
    ("sv", "samsung", {}),
    # Japanese
    ("ja", "gmail", {}),
    ("ja", "apple_mac", {}),
    ("ja", "thunderbird", {}),
    ("ja", "outlook", {}),
    ("ja", "apple_ios", {}),
    # Chinese
    ("zh", "gmail", {}),
    ("zh", "apple_ios", {}),
    ("zh", "thunderbird", {}),
    ("zh", "outlook", {}),
    ("zh", "outlook_web", {}),
    # Turkish
    ("tr", "gmail", {}),
    ("tr", "apple_ios", {}),
    ("tr", "thunderbird", {}),
    ("tr", "outlook", {}),
    ("tr", "samsung", {}),
    ("tr", "outlook_mobile", {}),
    # added after reading more public layouts (appended: earlier ids stay)
    ("en", "k9", {"old": True}),
    ("de", "k9", {"old": True}),
    ("en", "outlook_2019", {}),
    ("de", "outlook_2019", {}),
    ("es", "outlook_2019", {}),
    ("cs", "outlook_2019", {}),
    ("en", "samsung_corporate", {}),
    ("ru", "mailru", {"web_footer": True}),
    ("de", "gmail", {"name_first": True}),
    ("de", "gmail", {"name_first": True, "agent": "Kundenservice Beispiel-Shop GmbH & Co. KG"}),
    ("en", "gmail", {"agent": "Example Shop Customer Care Team (Returns and Refunds)"}),
    ("de", "android_generic", {}),
    ("en", "android_generic", {}),
    ("fr", "apple_ios", {"phone": "Envoyé depuis mon iPhone"}),
]

# (language, layout, with a note)
FORWARDS: list[tuple[str, str, bool]] = [
    ("en", "gmail", True),
    ("en", "gmail", False),
    ("en", "apple", True),
    ("en", "apple", False),
    ("en", "thunderbird", True),
    ("en", "attached", True),
    ("en", "attached", False),
    ("en", "outlook", True),
    ("en", "outlook", False),
    ("en", "yahoo", True),
    ("de", "gmail", True),
    ("de", "apple", True),
    ("de", "thunderbird", True),
    ("de", "thunderbird", False),
    ("de", "attached", True),
    ("de", "attached", False),
    ("de", "outlook", True),
    ("de", "gmx", True),
    ("de", "gmx", False),
    ("fr", "gmail", True),
    ("fr", "apple", True),
    ("fr", "thunderbird", True),
    ("fr", "outlook", False),
    ("fr", "attached", True),
    ("es", "gmail", True),
    ("es", "apple", False),
    ("es", "outlook", True),
    ("es", "attached", True),
    ("it", "gmail", False),
    ("it", "apple", True),
    ("it", "thunderbird", True),
    ("pt", "gmail", True),
    ("pt", "apple", True),
    ("pt", "outlook", True),
    ("nl", "apple", True),
    ("nl", "thunderbird", True),
    ("nl", "outlook", False),
    ("pl", "gmail", True),
    ("pl", "thunderbird", True),
    ("pl", "attached", True),
    ("ru", "mailru", True),
    ("ru", "yandex", True),
    ("ru", "apple", True),
    ("ru", "thunderbird", False),
    ("uk", "gmail", True),
    ("cs", "apple", True),
    ("cs", "thunderbird", True),
    ("sv", "apple", True),
    ("ja", "gmail", True),
    ("ja", "apple", False),
    ("zh", "gmail", True),
    ("zh", "apple", True),
    ("tr", "gmail", True),
    ("tr", "outlook", True),
    ("de", "yahoo", True),
    ("fr", "yahoo", False),
    ("es", "yahoo", True),
    ("it", "yahoo", True),
    ("nl", "yahoo", False),
    ("pl", "yahoo", True),
    ("cs", "yahoo", True),
]
FORWARD_LAYOUTS: dict[str, Callable[[Fwd, str], tuple[bytes, str]]] = {
    "gmail": fwd_gmail,
    "apple": fwd_apple,
    "thunderbird": fwd_thunderbird,
    "attached": fwd_attached,
    "outlook": fwd_outlook,
    "yahoo": fwd_yahoo,
    "gmx": fwd_gmx,
    "mailru": fwd_mailru,
    "yandex": fwd_yandex,
}
FORWARD_CLIENT = {
    "gmail": "Gmail web",
    "apple": "Apple Mail / iOS Mail",
    "thunderbird": "Thunderbird",
    "attached": "message/rfc822 attachment",
    "outlook": "Outlook",
    "yahoo": "Yahoo Mail",
    "gmx": "GMX",
    "mailru": "Mail.ru",
    "yandex": "Yandex Mail",
}


def reply_cases() -> list[Case]:
    out = []
    counter: dict[str, int] = defaultdict(int)
    for lang, client, opts in REPLIES:
        n = counter[lang]
        counter[lang] += 1
        signed = opts.get("signed", True) and client in SIGNED_CLIENTS
        ctx = Ctx(
            lang, n, signed=signed, extra={k: str(v) for k, v in opts.items() if v is not False}
        )
        case_id = f"reply-{lang}-{client}-{n:02d}"
        raw, src = LAYOUTS[client](ctx, case_id)
        out.append(Case(case_id, CLIENT_NAMES[client], lang, "reply", src, raw, ctx.new))
    return out


SIGNED_CLIENTS = {
    "gmail",
    "gmail_old",
    "apple_mac",
    "outlook",
    "outlook_web",
    "outlook_mac",
    "yahoo",
    "gmx",
    "webde",
    "mailru",
    "yandex",
    "thunderbird_original",
}
"""Desktop and web clients, where people sign with a sign-off and their name; on phones they
mostly do not (the phone footer is the signature there)."""


def forward_client(layout: str, n: int) -> str:
    """The client a forward case names (the layouts alternate between two clients by n)."""
    if layout == "apple":
        return "iOS Mail" if n % 2 == 1 else "Apple Mail macOS"
    if layout == "outlook":
        return "Outlook on the web" if n % 2 == 1 else "Outlook for Windows"
    if layout == "attached":
        return ["Thunderbird", "Outlook for Windows", "Apple Mail macOS"][n % 3]
    return FORWARD_CLIENT[layout]


def forward_cases() -> list[Case]:
    out = []
    counter: dict[str, int] = defaultdict(int)
    for lang, layout, note in FORWARDS:
        n = counter[lang]
        counter[lang] += 1
        fwd = Fwd(lang, n, note)
        case_id = f"forward-{lang}-{layout}-{n:02d}"
        raw, src = FORWARD_LAYOUTS[layout](fwd, case_id)
        out.append(
            Case(
                case_id,
                forward_client(layout, n),
                lang,
                "forward",
                src,
                raw,
                fwd.note_text,
                forwarded=fwd.expected(),
            )
        )
    return out


def machine_cases() -> list[Case]:
    out = []
    for cls, table, screened in (("bounce", BOUNCES, "bounce"), ("robot", ROBOTS, "auto")):
        for n, (lang, client, src, fn) in enumerate(table):
            case_id = f"{cls}-{lang}-{fn.__name__[2:].replace('_', '-')}-{n:02d}"
            raw = fn(f"{case_id}@gw.example.net")
            out.append(Case(case_id, client, lang, cls, src, raw, None, screened=screened))
    return out


def human_cases() -> list[Case]:
    out = []
    for n, (lang, subject, text) in enumerate(T.HUMAN_NEW):
        case_id = f"human-{lang}-{n:02d}"
        raw, client, src = human_new(lang, subject, text, n, case_id)
        notes = (
            "must not be screened: a person's first mail that sounds like a robot's"
            if any(
                w in subject.lower()
                for w in (
                    "deliver",
                    "returned",
                    "automatic",
                    "out of office",
                    "unzustell",
                    "abwesen",
                    "автомат",
                )
            )
            else ""
        )
        out.append(
            Case(
                case_id,
                client,
                lang,
                "human-new",
                src + "; the set's own false-positive guard (issue 17)",
                raw,
                text,
                notes=notes,
            )
        )
    return out


def assign_splits(cases: list[Case]) -> None:
    """Within each class, in (client, language, id) order, every third case from the second on
    is held out: a third of each class, spread over its clients and, within a client, over its
    languages."""
    groups: dict[str, list[Case]] = defaultdict(list)
    for case in cases:
        groups[case.cls].append(case)
    for members in groups.values():
        for index, case in enumerate(sorted(members, key=lambda c: (c.client, c.language, c.id))):
            case.split = "heldout" if index % 3 == 1 else "dev"


def all_cases() -> list[Case]:
    cases = reply_cases() + forward_cases() + machine_cases() + human_cases()
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), "duplicate case id"
    assign_splits(cases)
    return cases


def main() -> None:
    if CASES.exists():
        shutil.rmtree(CASES)
    cases = all_cases()
    for case in cases:
        folder = CASES / case.split
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{case.id}.eml").write_bytes(case.raw)
        sidecar = json.dumps(case.sidecar(), ensure_ascii=False, indent=1) + "\n"
        (folder / f"{case.id}.json").write_text(sidecar, encoding="utf-8")
    by: dict[tuple[str, str], int] = defaultdict(int)
    for case in cases:
        by[(case.split, case.cls)] += 1
    print(f"{len(cases)} cases written to {CASES}: {dict(sorted(by.items()))}")


if __name__ == "__main__":
    main()
