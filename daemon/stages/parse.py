"""parse: the stage that turns a message's raw bytes into its `ParsedMail`.

Decides only what the pipeline does with the result (the reading itself is
`daemon.mail.message`): a batch parsed ahead in worker processes hands its results over in
the context; an oversized message kept only as headers (a stub) is escalated at once. The
sender checks that need more than the trusted authserv-ids (`[screen]
trust_unnamed_topmost_from`, and `verify = "dkim"` with its DNS lookups) run here, once per
message in the main process, and replace the parse result's `auth`.
"""

from __future__ import annotations

import re
from dataclasses import replace
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32

from daemon.config import ParseSettings, ScreenSettings
from daemon.kernel.item import Item
from daemon.kernel.outcomes import Escalated
from daemon.kernel.stage import Context
from daemon.mail.auth import read_auth
from daemon.mail.dkimcheck import DnsLookup, check_dkim
from daemon.mail.message import parse_bytes
from daemon.mail.pdftext import PdfLimits
from daemon.records import AuthResult


def run(item: Item, ctx: Context) -> Item | Escalated:
    parsed = ctx.parsed_ahead.get(item.pk) or parse_bytes(
        item.raw, ctx.settings.screen.trusted_authserv_ids, pdf_limits(ctx.settings.parse)
    )
    screen = ctx.settings.screen
    if screen.verify == "dkim" or screen.trust_unnamed_topmost_from:
        parsed = replace(parsed, auth=authenticate(item.raw, screen))
    item = replace(item, parsed=parsed)
    if item.stub_reason:
        return Escalated(f"kept as headers only: {item.stub_reason}")
    return item


def pdf_limits(cfg: ParseSettings) -> PdfLimits:
    """`[parse]` as the limits the PDF reader takes (it imports no settings: workers)."""
    return PdfLimits(cfg.pdf_max_pages, cfg.pdf_max_chars, cfg.pdf_max_bytes, cfg.pdf_max_seconds)


def authenticate(raw: bytes, screen: ScreenSettings) -> AuthResult:
    """The sender check `[screen]` asks for; a counted header's `dmarc=fail` vetoes a DKIM pass
    (the receiving server saw something we cannot)."""
    msg = read_headers(raw)
    trusted, unnamed = screen.trusted_authserv_ids, screen.trust_unnamed_topmost_from
    headers = read_auth(msg, trusted, unnamed) if trusted or unnamed else AuthResult()
    if screen.verify != "dkim":
        return headers
    own = check_dkim(raw, msg, DnsLookup(screen.dns_servers, screen.dns_timeout_seconds))
    if own.verified and headers.dmarc == "fail":
        return replace(own, dmarc="fail", verified=False, reason="dmarc=fail")
    return replace(own, spf=headers.spf)


def read_headers(raw: bytes) -> Message:
    """The header block only: a huge body costs nothing here."""
    end = re.search(rb"\r?\n\r?\n", raw)
    return BytesHeaderParser(policy=compat32).parsebytes(raw[: end.end()] if end else raw)
