"""Question-style benchmark queries: what a customer asks, not words copied from the answer.

Decides how `benchmarks/retrieval.py --query-style questions` (the default) turns a target
passage into a customer mail. The copied style put 3–8 of the passage's own words into the
mail, so almost any engine found the target (R@10 0.998) and speed was measured on easy,
long queries. Real support questions, as the FAQ sets in tests/retrieval_sets/ show, are
short, built around a question frame ("how do I", "why is my … not working"), share only one
to three content words with the answer, bring words the answer does not use, inflect the words
differently and carry typos. Each of those is drawn here, deterministically from the caller's
seeded `random.Random`, so every engine gets the same queries run after run.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Collection

FRAMES = (
    "how do i {}?",
    "how can i {}",
    "why is my {} not working?",
    "can i {}?",
    "what happens if {}?",
    "is there a way to {}?",
    "where can i find {}?",
    "what is {}?",
    "{}?",
    "help with {} please",
    "my {} doesn't work, what should i do?",
    "i have a problem with {}",
    "question about {}",
    "what should i do if {}",
)
"""Question frames of the kind the dev sets' customers use; the slot takes the topic words."""

SUFFIXES = ("s", "ing", "ed", "er")
CODE = re.compile(r"\b(?:E\d{4}|[A-Z]\w+ [XS]\d+)\b")


def question_mail(
    rng: random.Random,
    target: dict[str, str],
    stop: Collection[str],
    noise: Callable[[int], list[str]],
) -> tuple[str, str]:
    """(subject, body) of a short question about `target` ({title, text}); `noise(n)` draws
    n content words from the same vocabulary (the customer's own words, not the answer's)."""
    topic = [inflect(rng, w) for w in topic_words(rng, target, stop)]
    if len(topic) > 1 and rng.random() < 0.3:
        topic.insert(rng.randrange(len(topic) + 1), noise(1)[0])
    if rng.random() < 0.25:
        topic = typo(rng, topic)
    codes = CODE.findall(target["text"])
    if codes and rng.random() < 0.5:
        topic.append(rng.choice(codes))
    question = rng.choice(FRAMES).format(" ".join(topic))
    if rng.random() < 0.5:
        question = question[0].upper() + question[1:]
    return subject_of(rng, topic), question


def topic_words(rng: random.Random, target: dict[str, str], stop: Collection[str]) -> list[str]:
    """One to three of the target's content words, half the time led by a title word."""

    def content(text: str) -> list[str]:
        return [w for w in re.findall(r"[^\W\d_]+", text.lower()) if w not in stop]

    title, body = content(target["title"]), content(target["text"])
    words: list[str] = []
    if title and rng.random() < 0.5:
        words.append(rng.choice(title))
    pool = body or title
    while pool and len(words) < rng.choice((1, 2, 2, 3)):
        words.append(rng.choice(pool))
    return list(dict.fromkeys(words)) or [rng.choice(title or ["account"])]


def inflect(rng: random.Random, word: str) -> str:
    """Another form of the word one time in three ("refund" → "refunds", "refunded")."""
    if rng.random() >= 1 / 3 or len(word) < 4:
        return word
    for suffix in SUFFIXES:
        if word.endswith(suffix):
            return word[: -len(suffix)]
    return word + rng.choice(SUFFIXES)


def typo(rng: random.Random, words: list[str]) -> list[str]:
    """One slip in the longest word: two letters swapped, one dropped or one doubled."""
    i = max(range(len(words)), key=lambda n: len(words[n]))
    word = words[i]
    if len(word) < 5:
        return words
    at = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        word = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    elif kind == 1:
        word = word[:at] + word[at + 1 :]
    else:
        word = word[:at] + word[at] + word[at:]
    return [*words[:i], word, *words[i + 1 :]]


def subject_of(rng: random.Random, topic: list[str]) -> str:
    """Often no real subject at all; else a word or two of the question."""
    choice = rng.random()
    if choice < 0.4:
        return rng.choice(("", "Question", "Help", "Support request"))
    return " ".join(topic[: rng.randint(1, 2)]).capitalize()
