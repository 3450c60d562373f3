"""Authentication-Results (RFC 8601): did DMARC, DKIM and SPF pass, according to a server we trust?

Decides which Authentication-Results headers count and what they prove. Anyone can write such a
header into a message, so only headers from our own receiving servers count: those whose
authserv-id is in `trusted`, and only the run of them at the top of the message — a trusted
id that turns up below a foreign header was already there when the mail reached us, so the
sender may have forged it (our MTA should strip such headers; we do not rely on it). With no
trusted ids configured, the topmost header's results are reported (for `helpdeskd parse` and the
agents) but verify nothing: with an MTA that writes no Authentication-Results, the topmost one
is the sender's own forgery, so a sender is only ever verified by a server named in config.

`verified` means the From address's domain is authenticated: DMARC passed (for that domain,
when the result names it), or a DKIM signature passed whose `header.d` (or `header.i`) is the
From domain or a parent or child of it — relaxed alignment approximated without a public suffix
list, and never to a bare top-level domain. SPF alone never verifies: it authenticates the
envelope sender, which a customer never sees.

The parser is small and strict on purpose (the `authres` package has been unmaintained since
2019): comments (nested, with quoted strings) are dropped, results are split on `;` outside
quotes, and each result is `method[/version]=word` followed by `ptype.property=value` pairs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import Message

from daemon.mail.mime import split_addresses
from daemon.records import AuthResult

METHODS = ("dmarc", "dkim", "spf")
RESULT = re.compile(r"^\s*([a-z0-9_-]+)(?:\s*/\s*\d+)?\s*=\s*([a-z0-9_-]+)(.*)$", re.I | re.S)
PROPERTY = re.compile(r"([a-z0-9_-]+)\.([a-z0-9_.-]+)\s*=\s*(\"(?:[^\"\\]|\\.)*\"|[^\s;]+)", re.I)


@dataclass(frozen=True, slots=True)
class MethodResult:
    method: str
    result: str
    props: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Header:
    authserv_id: str
    results: tuple[MethodResult, ...]


def read_auth(msg: Message, trusted: Sequence[str] = ()) -> AuthResult:
    """What our trusted receiving servers found, and whether the From domain is authenticated."""
    headers = [parse_header(v) for v in header_values(msg)]
    results = [r for h in counted_headers(headers, trusted) for r in h.results]
    if not results:
        return AuthResult()
    domain = from_domain(msg)
    return AuthResult(
        dmarc=first_result(results, "dmarc"),
        dkim=best_dkim(results),
        spf=first_result(results, "spf"),
        verified=bool(trusted) and is_verified(results, domain),
    )


def header_values(msg: Message) -> list[str]:
    try:
        values = msg.get_all("Authentication-Results", [])
    except Exception:  # the stdlib header parser raises assorted errors on hostile input
        return []
    return [str(v).encode("utf-8", "surrogateescape").decode("utf-8", "replace") for v in values]


def counted_headers(headers: list[Header], trusted: Sequence[str]) -> list[Header]:
    """The headers whose word we take, top of the message first (see the module doc)."""
    if not trusted:
        return headers[:1]
    ours = {t.lower() for t in trusted}
    counted: list[Header] = []
    for header in headers:
        if header.authserv_id.lower() in ours:
            counted.append(header)
        elif counted:
            break  # below a foreign header: written before our server saw the mail
    return counted


def parse_header(value: str) -> Header:
    """One Authentication-Results value; an unreadable one yields no results, never an error."""
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


def from_domain(msg: Message) -> str:
    try:
        values = [str(v) for v in msg.get_all("From", [])]
    except Exception:  # see header_values
        return ""
    addresses = [a for _, a in split_addresses(values) if "@" in a]
    # Two From addresses: no single domain to authenticate, so nothing is verified.
    if len({a.rpartition("@")[2].lower() for a in addresses}) != 1:
        return ""
    return addresses[0].rpartition("@")[2].lower().rstrip(".")


def first_result(results: list[MethodResult], method: str) -> str | None:
    return next((r.result for r in results if r.method == method), None)


def best_dkim(results: list[MethodResult]) -> str | None:
    """Several signatures: "pass" if any passed (alignment is judged in `verified`), else the
    first result."""
    dkim = [r.result for r in results if r.method == "dkim"]
    return "pass" if "pass" in dkim else (dkim[0] if dkim else None)


def is_verified(results: list[MethodResult], domain: str) -> bool:
    if not domain:
        return False
    for r in results:
        if r.method == "dmarc" and r.result == "pass":
            named = r.props.get("header.from", "").lower().rstrip(".")
            if not named or named == domain:
                return True
    return any(
        r.method == "dkim" and r.result == "pass" and dkim_aligned(r, domain) for r in results
    )


def dkim_aligned(result: MethodResult, domain: str) -> bool:
    signer = result.props.get("header.d") or result.props.get("header.i", "").rpartition("@")[2]
    return bool(domain) and relaxed_aligned(signer.lower().rstrip("."), domain)


def relaxed_aligned(a: str, b: str) -> bool:
    """Same domain, or one a subdomain of the other, the shorter having at least two labels."""
    if not a or not b:
        return False
    shorter, longer = sorted((a, b), key=len)
    if shorter.count(".") < 1:
        return False
    return longer == shorter or longer.endswith("." + shorter)
