"""score: the mail set of issue 17 (tests/mailset/cases) read by today's parser.

`PYTHONPATH=. python -m tests.mailset.score [--split dev|heldout|all] [--verbose]`

Each .eml is parsed with `daemon.mail.message.parse_bytes` and compared with its .json:

- reply_text: exact after the whitespace normalisation of tests/corpus/test_parse_corpus.py's
  `ws` (all whitespace removed), for replies, forwards (the customer's note, "" when there is
  none) and people's first mails. Our definition follows README's parse contract ("only what
  the sender wrote now: no quoted history, no signature"): a sign-off with the name under it,
  a "-- " signature and a phone or app footer are signature, the greeting is text.
- forwarded: when the parse contract has a `forwarded` field, each expected forward must be
  found in order: same sender address, subject and text (whitespace aside), and the date's day
  when the parse gives one; "n/a" while the field does not exist.
- screened: what the screen stage would drop for being machine-written, judged as
  tests/corpus/test_screen_corpus.py sees it: a bounce, an `auto` flag, or a sender the default
  `[screen] noreply_patterns` match (the stage's rules `machine_written` and `noreply_sender`;
  its rate rules need a store and never fire on a single mail). Bounces and robots must be
  screened out; replies, forwards and first mails from people must not.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daemon.config import ScreenSettings
from daemon.mail.message import parse_bytes
from daemon.records import ParsedMail

CASES = Path(__file__).resolve().parent / "cases"
SPLITS = ("dev", "heldout")
PEOPLE = ("reply", "forward", "human-new")
MACHINES = ("bounce", "robot")
NOREPLY = tuple(re.compile(p) for p in ScreenSettings().noreply_patterns)


@dataclass(frozen=True, slots=True)
class Outcome:
    id: str
    split: str
    cls: str
    language: str
    client: str
    reply_ok: bool | None
    """None: not judged (bounces and robots)."""
    forwarded_ok: bool | None
    """None: the parse has no `forwarded` field yet, or the case expects none."""
    screened: str | None
    """Why the screen would drop the mail, None when it would be answered."""
    got_reply: str
    want_reply: str | None


def ws(text: str | None) -> str:
    """tests/corpus/test_parse_corpus.py's normalisation: whitespace does not count."""
    return re.sub(r"\s+", "", text or "")


def load(split: str) -> Iterable[tuple[Path, dict[str, Any]]]:
    splits = SPLITS if split == "all" else (split,)
    for name in splits:
        for sidecar in sorted((CASES / name).glob("*.json")):
            yield sidecar.with_suffix(".eml"), json.loads(sidecar.read_text(encoding="utf-8"))


def screened_out(parsed: ParsedMail) -> str | None:
    if parsed.bounce is not None:
        return "bounce"
    if parsed.auto.is_auto:
        return f"auto:{parsed.auto.kind}"
    sender = parsed.sender.email.lower() if parsed.sender else ""
    if not sender:
        return "no sender"
    return "noreply" if any(p.search(sender) for p in NOREPLY) else None


def forwarded_ok(got: Any, want: list[dict[str, str]] | None) -> bool | None:
    if got is None or want is None:
        return None
    if not isinstance(got, list) or len(got) < len(want):
        return False
    return all(same_forward(g, w) for g, w in zip(got, want, strict=False))


def same_forward(got: Any, want: dict[str, str]) -> bool:
    if not isinstance(got, dict):
        return False
    address = re.search(r"<([^>]+)>", want["from"])
    sender = str(got.get("from") or "").lower()
    day = want["date"][:10]
    date = str(got.get("date") or "")
    return (
        (address is None or address.group(1).lower() in sender)
        and ws(str(got.get("subject") or "")) == ws(want["subject"])
        and ws(str(got.get("text") or "")) == ws(want["text"])
        and (not re.match(r"\d{4}-\d\d-\d\d", date) or date.startswith(day))
    )


def judge(eml: Path, case: dict[str, Any], split: str) -> Outcome:
    parsed = parse_bytes(eml.read_bytes())
    contract = parsed.to_json()
    expected = case["expected"]
    want = expected.get("reply_text")
    judged = case["class"] in PEOPLE and want is not None
    return Outcome(
        id=case["id"],
        split=split,
        cls=case["class"],
        language=case["language"],
        client=case["client"],
        reply_ok=ws(parsed.reply_text) == ws(want) if judged else None,
        forwarded_ok=forwarded_ok(contract.get("forwarded"), expected.get("forwarded")),
        screened=screened_out(parsed),
        got_reply=parsed.reply_text,
        want_reply=want,
    )


def run(split: str = "all") -> list[Outcome]:
    out = []
    for eml, case in load(split):
        out.append(judge(eml, case, eml.parent.name))
    return out


@dataclass
class Tally:
    ok: int = 0
    total: int = 0

    def add(self, ok: bool) -> None:
        self.ok += ok
        self.total += 1

    def __str__(self) -> str:
        if not self.total:
            return "-"
        return f"{self.ok}/{self.total} ({self.ok / self.total:.0%})"

    @property
    def rate(self) -> float:
        return self.ok / self.total if self.total else 1.0


@dataclass
class Scores:
    """The figures of one split (or all)."""

    reply: dict[str, Tally]
    """reply_text exact, per class of people's mail."""
    forwarded: Tally | None
    """None while the parse contract has no `forwarded` field."""
    machines_out: dict[str, Tally]
    people_screened: Tally
    """People's mail the screen would drop (false positives): ok counts the wrongly screened."""
    by_language: dict[str, dict[str, Tally]]
    caught_by: dict[str, int]
    """For bounces and robots screened out: which reading caught them (the bounce reader, an
    auto kind, or only the no-reply sender pattern)."""

    @property
    def reply_all(self) -> Tally:
        return Tally(
            sum(t.ok for t in self.reply.values()), sum(t.total for t in self.reply.values())
        )


def tally(outcomes: list[Outcome]) -> Scores:
    reply: dict[str, Tally] = defaultdict(Tally)
    machines: dict[str, Tally] = defaultdict(Tally)
    langs: dict[str, dict[str, Tally]] = defaultdict(lambda: defaultdict(Tally))
    forwarded: Tally | None = None
    wrong = Tally()
    caught: dict[str, int] = defaultdict(int)
    for o in outcomes:
        if o.cls in MACHINES:
            machines[o.cls].add(o.screened is not None)
            if o.screened is not None:
                caught[o.screened] += 1
            langs[o.language]["screened"].add(o.screened is not None)
            continue
        wrong.add(o.screened is not None)
        if o.reply_ok is not None:
            reply[o.cls].add(o.reply_ok)
            langs[o.language]["reply_text"].add(o.reply_ok)
        if o.forwarded_ok is not None:
            forwarded = forwarded or Tally()
            forwarded.add(o.forwarded_ok)
    by_language = {k: dict(v) for k, v in langs.items()}
    return Scores(dict(reply), forwarded, dict(machines), wrong, by_language, dict(caught))


def summary(name: str, scores: Scores) -> list[str]:
    reply = ", ".join(f"{cls} {scores.reply[cls]}" for cls in PEOPLE if cls in scores.reply)
    machines = ", ".join(
        f"{cls} {scores.machines_out[cls]}" for cls in MACHINES if cls in scores.machines_out
    )
    forwarded = (
        "n/a (the parse has no `forwarded` field)"
        if scores.forwarded is None
        else str(scores.forwarded)
    )
    caught = ", ".join(f"{k} {v}" for k, v in sorted(scores.caught_by.items())) or "-"
    langs = "; ".join(
        f"{lang} " + " ".join(f"{k} {v.ok}/{v.total}" for k, v in sorted(tallies.items()))
        for lang, tallies in sorted(scores.by_language.items())
    )
    return [
        f"[mailset {name}] reply_text exact {scores.reply_all}: {reply}",
        f"[mailset {name}] forwarded found: {forwarded}",
        f"[mailset {name}] bounces/robots screened out: {machines} (caught by {caught})",
        f"[mailset {name}] people's mail wrongly screened: {scores.people_screened}",
        f"[mailset {name}] per language: {langs}",
    ]


def by_client(outcomes: list[Outcome]) -> list[str]:
    """reply_text exact per mail client (people's mail only), worst first."""
    tallies: dict[str, Tally] = defaultdict(Tally)
    for o in outcomes:
        if o.reply_ok is not None:
            tallies[o.client].add(o.reply_ok)
    ranked = sorted(tallies.items(), key=lambda item: (item[1].rate, item[0]))
    return [f"[mailset] reply_text by client: {client} {tally}" for client, tally in ranked]


def misses(outcomes: list[Outcome]) -> list[str]:
    lines = []
    for o in outcomes:
        if o.reply_ok is False:
            want, got = repr(o.want_reply), repr(o.got_reply)
            lines.append(f"{o.split}/{o.id} ({o.client}): reply_text\n  want {want}\n  got  {got}")
        if o.forwarded_ok is False:
            lines.append(f"{o.split}/{o.id} ({o.client}): forwarded not found")
        if o.cls in MACHINES and o.screened is None:
            lines.append(f"{o.split}/{o.id} ({o.client}): {o.cls} not screened out")
        if o.cls not in MACHINES and o.screened is not None:
            lines.append(
                f"{o.split}/{o.id} ({o.client}): a person's mail screened out ({o.screened})"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--split", choices=(*SPLITS, "all"), default="all")
    parser.add_argument("--verbose", action="store_true", help="also list every miss")
    args = parser.parse_args(argv)
    outcomes = run(args.split)
    names = SPLITS if args.split == "all" else (args.split,)
    for name in names:
        print("\n".join(summary(name, tally([o for o in outcomes if o.split == name]))))
    if args.split == "all":
        print("\n".join(summary("all", tally(outcomes))))
    if args.verbose:
        print("\n".join(by_client(outcomes)))
        print("\n".join(misses(outcomes)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
