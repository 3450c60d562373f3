"""dkimcheck: helpdeskd's own DKIM and DMARC-alignment check (`[screen] verify = "dkim"`).

Decides whether a message's From domain is authenticated by a DKIM signature that helpdeskd
verifies itself (dkimpy, keys from DNS through dnspython), for mailboxes whose receiving server
writes no Authentication-Results we can trust (Microsoft 365 writes no authserv-id). A
signature counts only when it verifies, signs the From header, covers the whole body (no `l=`
tag: text appended after a genuine signed body would ride on its signature), and its `d=`
aligns with the one From address's domain: relaxed by organizational domain (public-suffix
list), or exactly when the domain's DMARC record (`_dmarc.<From domain>`, else of its
organizational domain) says `adkim=s`. DMARC's SPF half is not checked (only the receiving
server saw the client IP), so SPF is never claimed. A DNS failure verifies nothing and says so.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import Message
from typing import NoReturn

import dkim
import dns.exception
import dns.nameserver
import dns.resolver

from daemon.mail.auth import organizational_domain, read_from_domain, relaxed_aligned
from daemon.records import AuthResult

log = logging.getLogger("helpdeskd.auth")

MAX_SIGNATURES = 5
"""Signatures tried per message: each may cost a DNS lookup and an RSA verification."""
BRACKETED = re.compile(r"^\[([^\[\]]+)\](?::(\d{1,5}))?$")

TxtLookup = Callable[..., bytes | None]
"""dkimpy's `dnsfunc`: a TXT name (bytes, with or without the final dot) to the record's text
(`DnsLookup`, or a stand-in)."""


@dataclass(frozen=True, slots=True)
class Signature:
    domain: str
    passed: bool
    whole_body: bool
    signs_from: bool
    error: str = ""


def check_dkim(raw: bytes, msg: Message, lookup: TxtLookup) -> AuthResult:
    """Whether an aligned, verified DKIM signature authenticates the From domain."""
    domain, why = read_from_domain(msg)
    signatures = verify_signatures(raw, lookup)
    result = "pass" if any(s.passed for s in signatures) else ("fail" if signatures else None)
    if not domain:
        return AuthResult(dkim=result, reason=why)
    strict = dmarc_strict(domain, lookup)
    aligned = [s for s in signatures if counts(s) and aligns(s.domain, domain, strict)]
    if aligned:
        return AuthResult(dmarc="pass", dkim=result, verified=True)
    return AuthResult(dkim=result, reason=explain(signatures, domain, strict, lookup))


def verify_signatures(raw: bytes, lookup: TxtLookup) -> list[Signature]:
    try:
        checker = dkim.DKIM(raw, minkey=1024, logger=log)
    except Exception as exc:  # dkimpy raises assorted errors on a hostile message
        return [Signature("", False, False, False, f"unreadable: {type(exc).__name__}")]
    count = sum(1 for name, _ in checker.headers if name.lower() == b"dkim-signature")
    return [verify_one(checker, i, lookup) for i in range(min(count, MAX_SIGNATURES))]


def verify_one(checker: dkim.DKIM, idx: int, lookup: TxtLookup) -> Signature:
    checker.signature_fields, checker.include_headers = {}, ()  # not the previous signature's
    try:
        passed = bool(checker.verify(idx=idx, dnsfunc=lookup))
        error = ""
    except Exception as exc:  # DKIMException, DNS errors, malformed tags: a failed signature
        passed, error = False, f"{type(exc).__name__}: {exc}"[:200]
    fields = getattr(checker, "signature_fields", None) or {}
    domain = bytes(fields.get(b"d", b"")).decode("ascii", "replace").lower().rstrip(".")
    signed = tuple(getattr(checker, "include_headers", ()) or ())
    return Signature(domain, passed, b"l" not in fields, b"from" in signed, error)


def counts(sig: Signature) -> bool:
    return sig.passed and sig.whole_body and sig.signs_from


def aligns(signer: str, domain: str, strict: bool) -> bool:
    return signer == domain if strict else relaxed_aligned(signer, domain)


def dmarc_strict(domain: str, lookup: TxtLookup) -> bool:
    """`adkim=s` in the From domain's DMARC record (or its organizational domain's)."""
    names = dict.fromkeys(filter(None, (domain, organizational_domain(domain))))
    for name in names:
        record = safe_lookup(lookup, f"_dmarc.{name}.")
        if record is not None and record.lstrip().lower().startswith(b"v=dmarc1"):
            tags = dict(tag_pair(t) for t in record.split(b";") if b"=" in t)
            return tags.get(b"adkim", b"r").lower() == b"s"
    return False


def tag_pair(tag: bytes) -> tuple[bytes, bytes]:
    key, _, value = tag.partition(b"=")
    return key.strip().lower(), value.strip()


def safe_lookup(lookup: TxtLookup, name: str) -> bytes | None:
    try:
        return lookup(name.encode("ascii"))
    except Exception as exc:  # a DMARC record we cannot read: relaxed alignment, as with none
        log.info("DMARC lookup %s failed: %s", name, exc)
        return None


def explain(signatures: list[Signature], domain: str, strict: bool, lookup: TxtLookup) -> str:
    if not signatures:
        return "no DKIM signature"
    passed = [s for s in signatures if s.passed]
    if not passed:
        dns_failures = getattr(lookup, "failures", None)
        why = signatures[0].error or (dns_failures[0] if dns_failures else "bad signature")
        return f"DKIM signature failed: {why}"
    if not any(s.whole_body and s.signs_from for s in passed):
        return "DKIM signature covers part of the body (l=) or not the From header"
    how = "exactly (adkim=s)" if strict else "by organizational domain"
    return f"no DKIM pass aligned with {domain} {how} (signed by {passed[0].domain})"


class DnsLookup:
    """dkimpy's DNS function on a dnspython resolver: `servers` ("host", "host:port",
    "[v6]:port"), or the system's resolvers when empty. All lookups of one message share
    `budget` seconds, so many signatures on slow names stay bounded; `failures` keeps what went
    wrong (dkimpy turns a DNS error into a plain failed signature)."""

    def __init__(self, servers: Sequence[str], budget: float) -> None:
        self.resolver = dns.resolver.Resolver(configure=not servers)
        if servers:
            self.resolver.nameservers = [nameserver(s) for s in servers]
        self.budget = budget
        self.deadline = time.monotonic() + budget
        self.failures: list[str] = []

    def __call__(self, name: bytes, timeout: float = 5.0) -> bytes | None:
        label = name.decode("ascii", "replace").rstrip(".")
        left = min(timeout, self.deadline - time.monotonic())
        if left <= 0:
            self.fail(f"DNS budget of {self.budget:g} s spent before {label}")
        try:
            answer = self.resolver.resolve(label, "TXT", raise_on_no_answer=False, lifetime=left)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoNameservers):
            return None
        except dns.exception.Timeout:
            self.fail(f"DNS timeout for {label}")
        except dns.exception.DNSException as exc:
            self.fail(f"DNS {type(exc).__name__} for {label}")
        records = [b"".join(r.strings) for r in answer.rrset or ()]
        return records[0] if records else None

    def fail(self, why: str) -> NoReturn:
        self.failures.append(why)
        raise dkim.DnsTimeoutError(why)


def nameserver(spec: str) -> dns.nameserver.Nameserver:
    """ "host", "host:port", a bare IPv6 address, or "[v6]:port"."""
    host, port = split_host_port(spec.strip())
    return dns.nameserver.Do53Nameserver(host, port)


def split_host_port(spec: str) -> tuple[str, int]:
    bracketed = BRACKETED.match(spec)
    if bracketed:
        return bracketed[1], int(bracketed[2] or 53)
    host, colon, port = spec.rpartition(":")
    if colon and ":" not in host and port.isdigit():
        return host, int(port)
    return spec, 53
