"""Authentication-Results (RFC 8601): did DMARC, DKIM and SPF pass, according to a server we trust?

Decides which Authentication-Results headers count and what they prove. Anyone can write such a
header into a message, so only headers from our own receiving servers count (RFC 8601 §5): the
contiguous run at the top of the message whose authserv-id is in `trusted`, stopping at the
first foreign one. A trusted id below a foreign header was already there when the mail reached
us, so the sender may have forged it, and a header above ours that is not ours hides ours (our
MTA should strip forgeries; we do not rely on it). Microsoft 365 writes no authserv-id: its
topmost header counts only by the explicit `unnamed_from` opt-in, and only when the Received
header right below it (the hop whose server wrote it) was received `by` one of those hosts.
With nothing trusted, the topmost header's results are reported (for `helpdeskd parse` and the
agents) but verify nothing: a sender is only ever verified by a server named in config.

`verified` means the From address's domain is authenticated: exactly one From header holding
exactly one address (no group, no encoded word as the address), no `dmarc=fail` anywhere in the
counted headers (a fail wins over any pass: a forgery directly below ours cannot outvote it),
and then DMARC passed for that domain or a DKIM signature passed whose `header.d` (or
`header.i`) is in the From domain's organizational domain, by the public-suffix list (relaxed
alignment, RFC 7489 §3.2: `d=mail.shop.co.uk` aligns with `shop.co.uk`, `d=evil.co.uk` never
with `co.uk`). SPF alone never verifies: it authenticates the envelope sender, which a customer
never sees. Every unverified result says why in `reason`.

The parser is small and strict on purpose (the `authres` package has been unmaintained since
2019): comments (nested, with quoted strings) are dropped, results are split on `;` outside
quotes, and each result is `method[/version]=word` followed by `ptype.property=value` pairs.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import Message
from email.utils import getaddresses

from publicsuffixlist import PublicSuffixList

from connectors.rfc5322.head import unfold
from daemon.mail.mime import raw_headers, read_addresses
from daemon.records import AuthResult

RESULT = re.compile(r"^\s*([a-z0-9_-]+)(?:\s*/\s*\d+)?\s*=\s*([a-z0-9_-]+)(.*)$", re.I | re.S)
PROPERTY = re.compile(r"([a-z0-9_-]+)\.([a-z0-9_.-]+)\s*=\s*(\"(?:[^\"\\]|\\.)*\"|[^\s;]+)", re.I)
RECEIVED_BY = re.compile(r"\bby\s+([a-z0-9.-]+)", re.I)
QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
MAX_HEADERS = 50
"""Authentication-Results read from the top: a receiving chain writes a handful; the rest of a
message with thousands (a forger's, below ours) is never parsed."""
MAX_VALUE = 16_384
"""Longer header values (real ones are under 2 KB) are not read for results or addresses."""


@dataclass(frozen=True, slots=True)
class MethodResult:
    method: str
    result: str
    props: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Header:
    authserv_id: str
    results: tuple[MethodResult, ...]
    written_by: str = ""
    """The `by` host of the Received header right below (the server that wrote it)."""


def read_auth(
    msg: Message, trusted: Sequence[str] = (), unnamed_from: Sequence[str] = ()
) -> AuthResult:
    """What our trusted receiving servers found, and whether the From domain is authenticated."""
    headers = read_headers(msg)
    if not trusted and not unnamed_from:
        results = [r for h in headers[:1] for r in h.results]
        return summarize(results, False, "no trusted authserv-id configured" if results else "")
    results = [r for h in counted_headers(headers, trusted, unnamed_from) for r in h.results]
    if not results:
        return AuthResult(reason="no Authentication-Results from a trusted server")
    domain, why = read_from_domain(msg)
    verified, why = verdict(results, domain) if domain else (False, why)
    return summarize(results, verified, why)


def summarize(results: list[MethodResult], verified: bool, reason: str) -> AuthResult:
    return AuthResult(
        dmarc=worst_dmarc(results),
        dkim=best_dkim(results),
        spf=first_result(results, "spf"),
        verified=verified,
        reason="" if verified else reason,
    )


def read_headers(msg: Message) -> list[Header]:
    """The topmost `MAX_HEADERS` Authentication-Results headers, top first; the first one with
    the host that wrote it (only the topmost can count without an authserv-id)."""
    try:
        items = [(k.lower(), v) for k, v in msg.raw_items()]
    except Exception:  # the stdlib header parser raises assorted errors on hostile input
        return []
    found = [i for i, (k, _) in enumerate(items) if k == "authentication-results"]
    headers = [parse_header(readable(unfold(str(items[i][1])))) for i in found[:MAX_HEADERS]]
    if headers:
        below = (str(v) for k, v in items[found[0] + 1 :] if k == "received")
        headers[0] = replace_by(headers[0], received_by(unfold(next(below, ""))))
    return headers


def readable(value: str) -> str:
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def replace_by(header: Header, host: str) -> Header:
    return Header(header.authserv_id, header.results, host)


def received_by(value: str) -> str:
    match = RECEIVED_BY.search(strip_comments(readable(value[:MAX_VALUE])))
    return match[1].lower().rstrip(".") if match else ""


def counted_headers(
    headers: list[Header], trusted: Sequence[str], unnamed_from: Sequence[str] = ()
) -> list[Header]:
    """The headers whose word we take, top of the message first (see the module doc)."""
    if headers and not headers[0].authserv_id:
        hosts = [h.lower().rstrip(".") for h in unnamed_from]
        return headers[:1] if any(in_domain(headers[0].written_by, h) for h in hosts) else []
    ours = {t.lower() for t in trusted}
    counted: list[Header] = []
    for header in headers:
        if header.authserv_id.lower() not in ours:
            break  # the first foreign header: it, and all below it, are not ours
        counted.append(header)
    return counted


def in_domain(host: str, domain: str) -> bool:
    return bool(host and domain) and (host == domain or host.endswith("." + domain))


def parse_header(value: str) -> Header:
    """One Authentication-Results value; an unreadable one yields no results, never an error."""
    if len(value) > MAX_VALUE:  # unreadable: its id (if any) still stops or starts a run
        return Header(value[:256].split(";", 1)[0].strip().split(" ", 1)[0], ())
    parts = split_outside_quotes(strip_comments(value), ";")
    first = parts[0].split()[0] if parts[0].split() else ""
    if "=" in first:  # Microsoft 365 starts with a result: no authserv-id, never trusted by id
        first, parts = "", ["", *parts]
    results = tuple(r for r in map(parse_result, parts[1:]) if r is not None)
    return Header(first, results)


def parse_result(text: str) -> MethodResult | None:
    match = RESULT.match(text)
    if not match:
        return None
    props = {f"{p.lower()}.{k.lower()}": unquote(v) for p, k, v in PROPERTY.findall(match[3])}
    return MethodResult(match[1].lower(), match[2].lower(), props)


def strip_comments(text: str) -> str:
    """Drop (nested) comments, leaving quoted strings and escapes intact."""
    out: list[str] = []
    depth, quoted, escaped = 0, False, False
    for ch in text:
        if escaped:
            escaped = False
            if depth == 0:
                out.append(ch)
            continue
        if ch == "\\":
            escaped = True
        elif ch == '"' and depth == 0:
            quoted = not quoted
        elif ch == "(" and not quoted:
            depth += 1
            continue
        elif ch == ")" and not quoted and depth:
            depth -= 1
            continue
        if depth == 0:
            out.append(ch)
    return "".join(out)


def split_outside_quotes(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == sep and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts]


def unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def read_from_domain(msg: Message) -> tuple[str, str]:
    """The From address's domain, or "" and why no single sender can be authenticated: one
    From header with one mailbox, else there is no one address a DMARC result could be for."""
    try:
        values = raw_headers(msg, "From")
    except Exception:  # see read_headers
        values = []
    if len(values) != 1:
        return "", f"{len(values)} From headers" if values else "no From header"
    if len(values[0]) > MAX_VALUE:
        return "", "From header too long"
    bare = QUOTED.sub('""', strip_comments(readable(values[0])))
    if ":" in bare.split("<", 1)[0]:
        return "", "From is a group"
    addresses = [readable(a).lower() for _, a in getaddresses(values) if a]
    if len(addresses) != 1:
        return "", f"{len(addresses)} addresses in From"
    local, at, domain = addresses[0].rpartition("@")
    if not at or not local or not domain:
        return "", "From has no address"
    if "=?" in addresses[0]:
        return "", "From address is an encoded word (invalid sender)"
    # The sender the pipeline answers and binds tools to is read by `read_addresses`: the
    # domain verified must be that address's, whatever the two parsers make of odd syntax.
    if [a.email.lower() for a in read_addresses(msg, "From", (), [])] != addresses:
        return "", "From is read differently as the sender (ambiguous)"
    return domain.rstrip("."), ""


def verdict(results: list[MethodResult], domain: str) -> tuple[bool, str]:
    """Whether `domain` is authenticated by the counted results, and why not."""
    if any(r.method == "dmarc" and r.result == "fail" for r in results):
        return False, "dmarc=fail"
    for r in results:
        if r.method == "dmarc" and r.result == "pass":
            named = r.props.get("header.from", "").lower().rstrip(".")
            if not named or named == domain:
                return True, ""
    if any(r.method == "dkim" and r.result == "pass" and dkim_aligned(r, domain) for r in results):
        return True, ""
    return False, f"no DMARC pass or aligned DKIM pass for {domain}"


def first_result(results: list[MethodResult], method: str) -> str | None:
    return next((r.result for r in results if r.method == method), None)


def worst_dmarc(results: list[MethodResult]) -> str | None:
    """ "fail" if any counted header says so (it decides `verified`), else the first result."""
    dmarc = [r.result for r in results if r.method == "dmarc"]
    return "fail" if "fail" in dmarc else (dmarc[0] if dmarc else None)


def best_dkim(results: list[MethodResult]) -> str | None:
    """Several signatures: "pass" if any passed (alignment is judged in `verified`), else the
    first result."""
    dkim = [r.result for r in results if r.method == "dkim"]
    return "pass" if "pass" in dkim else (dkim[0] if dkim else None)


def dkim_aligned(result: MethodResult, domain: str) -> bool:
    signer = result.props.get("header.d") or result.props.get("header.i", "").rpartition("@")[2]
    return relaxed_aligned(signer, domain)


def relaxed_aligned(a: str, b: str) -> bool:
    """Same organizational domain (RFC 7489 §3.2) by the public-suffix list; a public suffix
    itself (`com`, `co.uk`, `github.io`) has none, so it aligns with nothing."""
    org_a, org_b = organizational_domain(a), organizational_domain(b)
    return org_a is not None and org_a == org_b


def organizational_domain(domain: str) -> str | None:
    name = domain.lower().strip().rstrip(".")
    return public_suffixes().privatesuffix(name) if name else None


@functools.cache
def public_suffixes() -> PublicSuffixList:
    """The list the `publicsuffixlist` package bundles (private suffixes included), read once."""
    return PublicSuffixList()
