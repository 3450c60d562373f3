"""`helpdeskd index`, `search` and `eval-retrieval` as a person or a script runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from daemon.cli import main

ARTICLES = {
    "faq/refunds.md": "# Refunds\n\nRefunds reach your card within five working days.\n",
    "faq/shipping.md": "# Shipping\n\nParcels are shipped within two days.\n\n"
    "## Tracking\n\nThe tracking link is in the shipping confirmation email.\n",
    "manuals/router.md": "# Router\n\n## Error E42\n\nRestart the router when it shows E42.\n",
}


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for rel, text in ARTICLES.items():
        (tmp_path / "kb" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "kb" / rel).write_text(text)
    (tmp_path / "helpdeskd.toml").write_text(
        'state_dir = "state"\n[knowledge]\nsources = [{ path = "kb" }]\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HELPDESKD_CONFIG", raising=False)
    return tmp_path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_index_the_configured_sources_then_search_as_json(workdir: Path) -> None:
    code, out, _ = run("index")
    assert code == 0
    assert "rebuilt: 3 article(s), 3 passage(s)" in out
    code, out, _ = run(
        "search", "--json", "-k", "2", "where is the tracking link for my shipping? and my refund?"
    )
    assert code == 0
    hits = json.loads(out)
    assert [list(h) for h in hits] == [["id", "title", "namespace", "score", "snippet"]] * 2
    assert hits[0]["id"] == "kb/faq/shipping"  # short: one passage, its sections inside
    assert hits[0]["title"] == "Shipping"
    assert hits[0]["namespace"] == "faq"
    assert hits[0]["snippet"] == "The tracking link is in the shipping confirmation email."
    assert hits[0]["score"] > hits[1]["score"] > 0


def test_search_for_people_and_by_namespace(workdir: Path) -> None:
    run("index")
    code, out, _ = run("search", "--namespace", "manuals", "router says E42")
    assert code == 0
    assert out.splitlines()[0].startswith("1. kb/manuals/router  [manuals]  score ")
    assert "Restart the router when it shows E42." in out
    assert f"{workdir / 'kb/manuals/router.md'}\n" in out
    code, out, _ = run("search", "--json", "--namespace", "manuals", "refund to my card")
    assert (code, json.loads(out)) == (0, [])


def test_index_given_paths_into_another_folder_and_rebuild(workdir: Path) -> None:
    extra = workdir / "extra.jsonl"
    extra.write_text(json.dumps({"id": "x1", "title": "Gift cards", "body": "Never expire."}))
    code, out, _ = run("index", str(extra), "--index", "other")
    assert (code, "rebuilt: 1 article(s)" in out) == (0, True)
    code, out, _ = run("index", str(extra), "--index", "other")
    assert "0 new, 0 changed, 0 removed" in out
    code, out, _ = run("search", "--json", "--index", "other", "gift card")
    assert [(h["id"], h["namespace"]) for h in json.loads(out)] == [("x1", "extra")]
    code, out, _ = run("index", "--rebuild", "--index", "other")
    assert "rebuilt: 3 article(s)" in out
    assert json.loads(run("search", "--json", "--index", "other", "gift")[1]) == []


def test_problems_and_bad_usage(workdir: Path) -> None:
    code, _, err = run("search", "--json", "anything")
    assert code == 1 and "run `helpdeskd index` first" in err
    assert run("index", "no/such/folder")[0] == 2
    (workdir / "bad.jsonl").write_text('{"id": "a", "body": "fine"}\nnot json\n')
    code, out, err = run("index", "bad.jsonl", "--index", "bad")
    assert code == 1
    assert "rebuilt: 1 article(s)" in out
    assert f"{workdir / 'bad.jsonl'}:2: not JSON" in err


SET_ROWS = [
    ("a1", "Reset your password", "Use the forgot password link on the sign-in page."),
    ("a2", "Track a parcel", "The tracking number is in the confirmation email."),
    ("a3", "Cancel a subscription", "Cancel any time under Account, Billing."),
]
SET_ASKS = [
    ("q1", "I forgot my password", "a1"),
    ("q2", "where is my parcel", "a2"),
    ("q3", "stop billing me", "a3"),
]


def write_set(articles: Path, queries: Path, asks: int = 3) -> None:
    articles.parent.mkdir(parents=True, exist_ok=True)
    articles.write_text(
        "".join(json.dumps({"id": i, "title": t, "body": b}) + "\n" for i, t, b in SET_ROWS)
    )
    queries.write_text(
        "".join(
            json.dumps({"qid": q, "query": t, "relevant": [a]}) + "\n"
            for q, t, a in SET_ASKS[:asks]
        )
    )


def test_eval_retrieval_prints_ours_beside_bm25s(tmp_path: Path) -> None:
    pytest.importorskip("bm25s", reason="bm25s (a dev dependency) is the baseline")
    articles = tmp_path / "a.jsonl"
    queries = tmp_path / "q.jsonl"
    write_set(articles, queries)
    code, out, _ = run("eval-retrieval", "--articles", str(articles), "--queries", str(queries))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "3 queries, a.jsonl"
    assert lines[2].split() == ["helpdeskd", "(whoosh)", "1.000", "1.000", "1.000", "1.000"]
    assert lines[3].split()[0] == "bm25s"
    assert lines[4].split()[:3] == ["bm25s", "+", "snowball"]
    code, out, _ = run(
        "eval-retrieval", "--json", "--articles", str(articles), "--queries", str(queries)
    )
    first = json.loads(out.splitlines()[0])
    assert first == {
        "set": "a.jsonl",
        "engine": "helpdeskd (whoosh)",
        "queries": 3,
        "mrr": 1.0,
        "recall@1": 1.0,
        "recall@5": 1.0,
        "recall@10": 1.0,
    }


def test_eval_retrieval_prints_every_set_with_both_baselines(tmp_path: Path) -> None:
    pytest.importorskip("bm25s", reason="bm25s (a dev dependency) is the baseline")
    write_set(tmp_path / "sets/bank/articles.jsonl", tmp_path / "sets/bank/queries.jsonl")
    write_set(tmp_path / "shop/kb_articles.jsonl", tmp_path / "shop/queries.jsonl", asks=2)
    code, out, _ = run(
        "eval-retrieval", "--set", str(tmp_path / "sets"), "--set", str(tmp_path / "shop")
    )
    assert code == 0
    blocks = [b.splitlines() for b in out.strip().split("\n\n")]
    assert [b[0] for b in blocks] == ["3 queries, sets/bank", "2 queries, shop"]
    for block in blocks:
        assert [" ".join(line.split()[:-4]) for line in block[2:]] == [
            "helpdeskd (whoosh)",
            "bm25s",
            "bm25s + snowball",
        ]
    code, _, err = run("eval-retrieval", "--set", str(tmp_path))  # no set at its top: searched
    assert code == 0
    code, _, err = run("eval-retrieval", "--set", str(tmp_path / "sets" / "bank" / ".."))
    assert code == 0
    (tmp_path / "empty").mkdir()
    code, _, err = run("eval-retrieval", "--set", str(tmp_path / "empty"))
    assert code == 2 and "no evaluation set" in err
