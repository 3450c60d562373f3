"""The mail set of issue 17 (tests/mailset/cases), scored on both splits.

Scores are printed on every run (also without -s), beside the corpus scores. The floors below
are the figures after issue 17's reply, forward and robot work landed (2026-12-08; when the set
was added main had dev reply 54, forward 15, held-out reply 33, forward 4): they say that
nothing got worse. Issue 17's goal is 95% exact reply text on this set.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tests.mailset.score import (
    CASES,
    MACHINES,
    PEOPLE,
    SPLITS,
    Scores,
    forwarded_ok,
    run,
    summary,
    tally,
)

FLOORS: dict[str, dict[str, int]] = {
    # exact reply texts per class, machine mail screened out per class
    "dev": {"reply": 104, "forward": 40, "human-new": 17, "bounce": 16, "robot": 11},
    "heldout": {"reply": 51, "forward": 18, "human-new": 8, "bounce": 8, "robot": 5},
}
FORWARDED_FOUND = {"dev": 41, "heldout": 17}
"""Forwards whose `forwarded` entries match (sender, subject, text, day)."""
WRONGLY_SCREENED = {"dev": 0, "heldout": 1}
"""People's mail the screen drops today (a ceiling, to be brought to 0): one first mail in the
held-out part is read as an out-of-office."""


def report(capsys: pytest.CaptureFixture[str], lines: list[str]) -> None:
    with capsys.disabled():
        print()
        for line in lines:
            print(line)


def figures(scores: Scores) -> dict[str, int]:
    got = {cls: tally.ok for cls, tally in scores.reply.items()}
    got.update({cls: tally.ok for cls, tally in scores.machines_out.items()})
    return got


@pytest.mark.parametrize("split", SPLITS)
def test_mailset_scores(split: str, capsys: pytest.CaptureFixture[str]) -> None:
    scores = tally(run(split))
    report(capsys, summary(split, scores))
    got = figures(scores)
    below = {
        cls: (got.get(cls, 0), floor)
        for cls, floor in FLOORS[split].items()
        if got.get(cls, 0) < floor
    }
    assert below == {}, f"fewer than on main (got, floor): {below}"
    assert scores.people_screened.ok <= WRONGLY_SCREENED[split]
    assert scores.forwarded is not None and scores.forwarded.ok >= FORWARDED_FOUND[split]


def test_the_set_is_what_issue_17_asks_for() -> None:
    cases = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(CASES.glob("*/*.json"))]
    for case in cases:
        assert case["layout_source"] and case["client"], case["id"]
        assert case["class"] in (*PEOPLE, *MACHINES), case["id"]
    emls = {p.stem for p in CASES.glob("*/*.eml")}
    assert emls == {c["id"] for c in cases}
    classes = Counter(c["class"] for c in cases)
    assert len(cases) >= 200
    assert len({c["language"] for c in cases}) >= 12
    assert classes["forward"] >= 30 and classes["human-new"] >= 20
    assert classes["bounce"] + classes["robot"] >= 30
    assert len({c["client"] for c in cases if c["class"] in MACHINES}) >= 10
    heldout = sum(1 for p in CASES.glob("heldout/*.json"))
    assert 0.25 <= heldout / len(cases) <= 0.4


def test_forwards_are_judged_once_the_parse_has_them() -> None:
    """The scorer is ready for issue 17's `forwarded: [{from, date, subject, text,
    attachments}]`: the sender's address, subject and text must match, the date's day when
    the parse gives an ISO date; before the field exists nothing is judged."""
    want = [
        {
            "from": "Example Shop <orders@shop.example.net>",
            "date": "2026-12-01T09:41:00",
            "subject": "Order confirmation 10077",
            "text": "Thank you for your order 10077.\n\nDelivery: 3-5 working days",
        }
    ]
    got = {
        "from": {"name": "Example Shop", "email": "orders@shop.example.net"},
        "date": "2026-12-01T09:41:00+01:00",
        "subject": "Order confirmation 10077",
        "text": "Thank you for your order 10077.\nDelivery: 3-5 working days\n",
        "attachments": [],
    }
    assert forwarded_ok(None, want) is None
    assert forwarded_ok([got], None) is None
    assert forwarded_ok([got], want) is True
    assert forwarded_ok([{**got, "date": None}], want) is True
    assert forwarded_ok([], want) is False
    assert forwarded_ok([{**got, "date": "2026-11-30T09:41:00"}], want) is False
    assert forwarded_ok([{**got, "from": "orders@store.example.net"}], want) is False
    assert forwarded_ok([{**got, "text": "Thank you for your order."}], want) is False
