"""Bytes of a mail as a client writes them: headers, MIME parts, charsets, transfer encodings.

Lines end in LF, as a Maildir delivery stores them.
"""

from __future__ import annotations

import base64
import hashlib
import html
import quopri
from email.header import Header


def encode_body(text: str, charset: str, cte: str) -> bytes:
    data = text.encode(charset)
    if cte == "quoted-printable":
        return quopri.encodestring(data)
    if cte == "base64":
        return base64.encodebytes(data)
    return data if data.endswith(b"\n") else data + b"\n"


def word(value: str, charset: str = "utf-8") -> str:
    """An RFC 2047 encoded word where the value is not ASCII."""
    if value.isascii():
        return value
    return Header(value, charset).encode()


def address(name: str, email: str, charset: str = "utf-8") -> str:
    if not name:
        return email
    if name.isascii():
        special = any(c in name for c in ",.'()<>@;:\"")
        return f'"{name}" <{email}>' if special else f"{name} <{email}>"
    return f"{word(name, charset)} <{email}>"


def leaf(ctype: str, text: str, charset: str, cte: str, extra: str = "") -> bytes:
    head = (
        f'Content-Type: {ctype}; charset="{charset}"{extra}\nContent-Transfer-Encoding: {cte}\n\n'
    )
    return head.encode() + encode_body(text, charset, cte)


def boundary(seed: str, style: str) -> str:
    digest = hashlib.sha256(seed.encode() + style.encode()).hexdigest()
    return {
        "gmail": "000000000000" + digest[:16],
        "outlook": f"_000_{digest[:20].upper()}EURP195_",
        "apple": f"Apple-Mail={digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:28]}".upper(),
        "thunderbird": "------------" + digest[:24],
    }.get(style, f"----={digest[:24]}")


def multipart(subtype: str, parts: list[bytes], mark: str) -> bytes:
    body = b"".join(b"--" + mark.encode() + b"\n" + part + b"\n" for part in parts)
    head = f'Content-Type: multipart/{subtype};\n\tboundary="{mark}"\n\n'.encode()
    return head + body + b"--" + mark.encode() + b"--\n"


def rfc822(inner: bytes, filename: str | None = None) -> bytes:
    name = f'; name="{filename}"' if filename else ""
    disposition = f'Content-Disposition: attachment; filename="{filename}"\n' if filename else ""
    return f"Content-Type: message/rfc822{name}\n{disposition}\n".encode() + inner


def message(headers: list[tuple[str, str]], entity: bytes) -> bytes:
    head = "".join(f"{name}: {value}\n" for name, value in headers)
    return head.encode() + b"MIME-Version: 1.0\n" + entity


def html_lines(text: str, line: str = "<div>{}</div>", blank: str = "<div><br></div>") -> str:
    """Each line of `text` in the client's line markup."""
    return "\n".join(line.format(html.escape(x)) if x.strip() else blank for x in text.split("\n"))


def esc(text: str) -> str:
    return html.escape(text)
