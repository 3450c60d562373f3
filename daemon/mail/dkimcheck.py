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

MAX_SIGNATURES = 2
"""Aligned signatures verified per message (unaligned ones cannot verify the sender and are
never checked): each costs a DNS lookup, a hash of the whole body and an RSA verification."""
MAX_BYTES = 10 * 1024 * 1024
"""Larger messages are not checked (unverified, held with the reason): hashing the body costs
about 0.2 s a megabyte per signature in dkimpy."""
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
    if not domain:
        return AuthResult(reason=why)
    if len(raw) > MAX_BYTES:
        return AuthResult(reason=f"too large for helpdeskd's own DKIM check ({len(raw)} bytes)")
    strict = dmarc_strict(domain, lookup)
    signers = signing_domains(raw)
    tried = verify_aligned([i for i, d in signers if aligns(d, domain, strict)], raw, lookup)
    result = "pass" if any(s.passed for s in tried) else ("fail" if tried else None)
    if any(counts(s) and aligns(s.domain, domain, strict) for s in tried):  # d= as verified
        return AuthResult(dmarc="pass", dkim=result, verified=True)
    how = "exactly (adkim=s)" if strict else "by organizational domain"
    if not tried:
        others = ", ".join(dict.fromkeys(d for _, d in signers)) or "nobody"
        reason = f"no DKIM signature aligned with {domain} {how} (signed by {others})"
        return AuthResult(reason=reason if signers else "no DKIM signature")
    return AuthResult(dkim=result, reason=explain(tried, lookup))


def verify_aligned(indexes: list[int], raw: bytes, lookup: TxtLookup) -> list[Signature]:
    """The first `MAX_SIGNATURES` aligned signatures, in order, up to the first that counts."""
    tried: list[Signature] = []
    for idx in indexes[:MAX_SIGNATURES]:
        tried.append(verify(raw, idx, lookup))
        if counts(tried[-1]):
            break
    return tried


def signing_domains(raw: bytes) -> list[tuple[int, str]]:
    """(index, d=) of each DKIM-Signature, read without verifying anything, numbered as
    dkimpy numbers them (its own header parser, on the header block only)."""
    end = re.search(rb"\r?\n\r?\n", raw)
    try:
        headers, _ = dkim.rfc822_parse(raw[: end.start()] if end else raw)
    except Exception:  # dkimpy's parser raises on a malformed header block
        return []
    values = [bytes(v) for k, v in headers if bytes(k).lower() == b"dkim-signature"]
    return [(i, d) for i, d in enumerate(map(signer_of, values)) if d]


def signer_of(value: bytes) -> str:
    try:
        tags = dkim.util.parse_tag_value(value)
    except Exception:  # a malformed signature is no one's
        return ""
    return bytes(tags.get(b"d", b"")).decode("ascii", "replace").lower().rstrip(".")


def verify(raw: bytes, idx: int, lookup: TxtLookup) -> Signature:
    """The `idx`th signature checked by dkimpy (a fresh checker: no state carried over)."""
    try:
        checker = dkim.DKIM(raw, minkey=1024, logger=log)
        passed, error = bool(checker.verify(idx=idx, dnsfunc=lookup)), ""
    except Exception as exc:  # DKIMException, DNS errors, malformed tags: a failed signature
        return Signature("", False, False, False, f"{type(exc).__name__}: {exc}"[:200])
    fields = getattr(checker, "signature_fields", None) or {}
    signed = tuple(getattr(checker, "include_headers", ()) or ())
    domain = bytes(fields.get(b"d", b"")).decode("ascii", "replace").lower().rstrip(".")
    return Signature(domain, passed, b"l" not in fields, b"from" in signed, error)


def counts(sig: Signature) -> bool:
    return sig.passed and sig.whole_body and sig.signs_from


def aligns(signer: str, domain: str, strict: bool) -> bool:
    return signer == domain if strict else relaxed_aligned(signer, domain)


def dmarc_strict(domain: str, lookup: TxtLookup) -> bool:
    """`adkim=s` in the From domain's DMARC record (or its organizational domain's); a record
    that cannot be read (DNS failure, a name that is not ASCII) counts as strict, so a
    resolver made to fail cannot relax the alignment the domain asked for."""
    names = dict.fromkeys(filter(None, (domain, organizational_domain(domain))))
    try:
        records = (lookup(f"_dmarc.{name}.".encode("ascii")) for name in names)
        record = next(
            (r for r in records if r and r.lstrip().lower().startswith(b"v=dmarc1")), None
        )
    except Exception as exc:  # DnsTimeoutError from DnsLookup, UnicodeError
        log.info("DMARC lookup for %s failed, aligning strictly: %s", domain, exc)
        return True
    if record is None:
        return False
    tags = dict(tag_pair(t) for t in record.split(b";") if b"=" in t)
    return tags.get(b"adkim", b"r").lower() == b"s"


def tag_pair(tag: bytes) -> tuple[bytes, bytes]:
    key, _, value = tag.partition(b"=")
    return key.strip().lower(), value.strip()


def explain(tried: list[Signature], lookup: TxtLookup) -> str:
    if any(s.passed for s in tried):
        return "DKIM signature covers part of the body (l=) or not the From header"
    dns_failures = getattr(lookup, "failures", None)
    why = tried[0].error or (dns_failures[0] if dns_failures else "bad signature")
    return f"DKIM signature failed: {why}"


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
