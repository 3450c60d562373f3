"""One header decoder: the bounce reader decodes headers as the parser does, proven on real mail.

Until issue 11 the bounce reader first read stray 8-bit bytes as UTF-8 (replacing what was
not) and only then decoded encoded words, while the parser tries UTF-8, then the charsets the
message declares, then cp1252. Now both call `mime.decode_words` with the message's charset
hint. The corpus test below keeps the old reader as a reference and decodes every header of
every message in ../shared/corpus both ways: the new reader must never raise and never give
more U+FFFD than the old one; the counts are printed. The table holds the real headers where
the two differ (all from the corpus), each decoded as the parser decodes the same mail.
"""

from __future__ import annotations

import importlib.util
import mailbox
import re
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest

from daemon.mail.bounce import decode_text, header_text, hint_for
from daemon.mail.message import parse_bytes
from daemon.mail.mime import MAX_HEADER_CHARS, decode_words, read_message

OLD_FOLD = re.compile(r"\r?\n(?=[ \t])")
REPLACEMENT = "\ufffd"


def old_decode_text(raw: str) -> str:
    """The bounce reader's decoder before issue 11, kept as the reference to beat."""
    text = OLD_FOLD.sub("", raw).strip()
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return decode_words(text) if "=?" in text else text[:MAX_HEADER_CHARS]


def new_decode_text(msg: Message, raw: str) -> str:
    return decode_text(raw, hint_for(msg, raw))


# The corpus headers where the two readers differ, each in a message declaring what the source
# declares: (raw mail, header name, old reading, new reading = the parser's).
DIFFERING = [
    pytest.param(
        # zammad/mail/mail046.box: raw GB2312 bytes; the message declares gb2312, iso-8859-1
        b'From: "\xce\xe4\xc0\xbc\xb3\xc9" <Glopelf7121@example.com>\n'
        b"Subject: x\nContent-Type: text/plain; charset=gb2312\n\nbody\n",
        "From",
        '"\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd" <Glopelf7121@example.com>',
        '"武兰成" <Glopelf7121@example.com>',
        id="gb2312-from",
    ),
    pytest.param(
        b"From: a@example.org\nSubject: \xd7\xaa\xb7\xa2\xa3\xba\xd5\xfb\xcc\xe5\xcc\xe1"
        b"\xc9\xfd\xc6\xf3\xd2\xb5\xb7\xfe\xce\xf1\xcb\xae\xc6\xbd\n"
        b"Content-Type: text/plain; charset=gb2312\n\nbody\n",
        "Subject",
        "ת\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd"
        "\ufffdҵ\ufffd\ufffd\ufffd\ufffdˮƽ",
        "转发：整体提升企业服务水平",
        id="gb2312-subject",
    ),
    pytest.param(
        # zammad/mail/mail093.box: Shift_JIS bytes; ISO-2022-JP declared, so cp932 is tried
        b"From: a@example.org\nSubject: \x83c\x81[\x83\x8b\n"
        b"Content-Type: text/plain; charset=iso-2022-jp\n\nbody\n",
        "Subject",
        "\ufffdc\ufffd[\ufffd\ufffd",
        "ツール",
        id="shift-jis-subject",
    ),
    pytest.param(
        # zammad/mail/mail105.box: an encoded word, then a raw Latin-1 byte in the address;
        # no charset declared, so cp1252
        b'From: a@example.org\nTo: metest@znuny.com, "=?iso-8859-1?Q?G=FCnther_John_=7C_'
        b'Example_GmbH?=" <k.g\xfcnther@example.com>\n\nbody\n',
        "To",
        'metest@znuny.com, "Günther John | Example GmbH" <k.g\ufffdnther@example.com>',
        'metest@znuny.com, "Günther John | Example GmbH" <k.günther@example.com>',
        id="latin-1-address",
    ),
    pytest.param(
        # mbox_perceval/mbox_iso8859_encoding.mbox: a raw Latin-1 byte beside an encoded word
        b"From: luc\xedacharlie at wellsfargo.com (=?UTF-8?Q?Luc=eda_Charlie?=)\n"
        b"Subject: x\n\nbody\n",
        "From",
        "luc\ufffdacharlie at wellsfargo.com (Lucía Charlie)",
        "lucíacharlie at wellsfargo.com (Lucía Charlie)",
        id="latin-1-comment-address",
    ),
]


@pytest.mark.parametrize(("raw", "name", "old", "new"), DIFFERING)
def test_raw_8bit_headers_read_with_the_declared_charset(
    raw: bytes, name: str, old: str, new: str
) -> None:
    msg = read_message(raw).msg
    value = next(str(v) for k, v in msg.raw_items() if k == name)
    assert old_decode_text(value) == old
    assert header_text(msg, name) == new
    if name == "Subject":  # the parsed mail's subject reads the same
        assert parse_bytes(raw).subject == new


@pytest.mark.parametrize(
    "value",
    [
        b"=?ut\xfff-8?q?caf?= x",  # 8-bit bytes in the charset label: no charset
        b"=?utf-8?q?caf\xc3\xa9?= x",  # raw UTF-8 inside a word: the old reader raised here
    ],
)
def test_8bit_bytes_inside_encoded_words_never_raise(value: bytes) -> None:
    raw = b"From: a@example.org\nSubject: " + value + b"\n\nbody\n"
    subject = header_text(read_message(raw).msg, "Subject")
    subject.encode("utf-8")  # no lone surrogates left
    assert subject.endswith(" x")
    assert parse_bytes(raw).subject == subject


def corpus_messages(corpus_dir: Path) -> Iterator[tuple[str, bytes]]:
    """Every input of the manifest (labelled or not), and each message of the mbox files."""
    spec = importlib.util.spec_from_file_location("corpus_load", corpus_dir / "load.py")
    assert spec is not None and spec.loader is not None
    load = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(load)
    for raw, expected in load.iter_cases(str(corpus_dir), include_unlabeled=True):
        yield str(expected["_file"]), raw
    for path in sorted((corpus_dir / "mbox_perceval").glob("*.mbox")):
        box = mailbox.mbox(path, create=False)
        for key in box.iterkeys():  # the raw bytes of each, not parsed messages
            yield f"{path.name}#{key}", box.get_bytes(key)


def test_new_decoder_is_equal_or_better_on_the_corpus(
    corpus_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    messages = headers = differ = old_raised = old_bad = new_bad = 0
    worse: list[str] = []
    for name, raw in corpus_messages(corpus_dir):
        messages += 1
        msg = read_message(raw).msg
        for key, value in msg.raw_items():
            headers += 1
            new = new_decode_text(msg, str(value))  # must not raise
            try:
                old: str | None = old_decode_text(str(value))
            except (UnicodeError, ValueError):
                old, old_raised = None, old_raised + 1
            if old == new:
                continue
            differ += 1
            old_bad += 0 if old is None else old.count(REPLACEMENT)
            new_bad += new.count(REPLACEMENT)
            if old is not None and new.count(REPLACEMENT) > old.count(REPLACEMENT):
                worse.append(f"{name} {key}: {old!r} -> {new!r}")
    with capsys.disabled():
        print(
            f"\n[corpus] header decoders: {messages} messages, {headers} headers, "
            f"{headers - differ} equal, {differ} differ (old raised on {old_raised}); "
            f"U+FFFD in the differing headers: old {old_bad}, new {new_bad}"
        )
    assert messages > 900 and headers > 10_000  # the corpus was read
    assert not worse
