"""The benchmark's question-style queries: deterministic, short, about their target, and not a
copy of its words (benchmarks/question_queries.py)."""

from __future__ import annotations

import random
import re

from benchmarks.question_queries import FRAMES, question_mail, typo

STOP = {"the", "a", "of", "to", "is", "my", "and", "how", "i"}
TARGET = {
    "title": "Resetting the router password",
    "text": "Hold the reset button of the NovaRouter X12 for ten seconds; error E1234 means the "
    "firmware is too old, so update the firmware before you reset the password again.",
}


def noise(n: int) -> list[str]:
    return ["zebra"] * n


def mails(seed: int, count: int = 200) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    return [question_mail(rng, TARGET, STOP, noise) for _ in range(count)]


def test_the_same_seed_gives_the_same_queries() -> None:
    assert mails(7) == mails(7)
    assert mails(7) != mails(8)


def test_questions_are_short_framed_and_do_not_copy_the_passage() -> None:
    target_words = set(re.findall(r"\w+", f"{TARGET['title']} {TARGET['text']}".lower()))
    frames = [re.compile(re.escape(f).replace(r"\{\}", ".+"), re.I) for f in FRAMES]
    copied = 0
    for subject, body in mails(3):
        assert any(f.fullmatch(body) for f in frames), body
        words = re.findall(r"[^\W\d_]+", body.lower())
        frame_words = {w for f in FRAMES for w in re.findall(r"[a-z]+", f)}
        topic = [w for w in words if w not in frame_words]
        assert 1 <= len(topic) <= 6, body  # 3 words, 1 of their own, a 2-word product name
        copied += all(w in target_words for w in topic)
        assert len(subject.split()) <= 4  # a word or two (a product name is two)
    assert copied < 200  # inflections, typos and the customer's own words change some


def test_a_typo_changes_one_letter_of_the_longest_word() -> None:
    out = typo(random.Random(1), ["reset", "firmware"])
    assert out[0] == "reset" and out[1] != "firmware"
    assert abs(len(out[1]) - len("firmware")) <= 1
