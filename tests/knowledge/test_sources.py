"""Knowledge sources: what an article is, read from real files of each format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from daemon.knowledge.sources import load_source

# (relative path, file content, expected {key, namespace, title, url, language}, body start)
FILES: list[tuple[str, str, dict[str, str | None], str]] = [
    (
        "policies/refunds.md",
        "---\ntitle: Refund policy\nurl: https://help.example.com/refunds\nlang: en\n---\n"
        "We refund within 30 days.\n",
        {
            "key": "kb/policies/refunds",
            "namespace": "policies",
            "title": "Refund policy",
            "url": "https://help.example.com/refunds",
            "language": "en",
        },
        "We refund within 30 days.",
    ),
    (
        "policies/shipping.md",
        "# Shipping times\n\nParcels leave the warehouse within two days.\n",
        {"key": "kb/policies/shipping", "namespace": "policies", "title": "Shipping times"},
        "Parcels leave the warehouse",
    ),
    (
        "manuals/router.md",
        "---\nid: router-setup\nnamespace: devices\n---\n## Setup\n\nPlug it in.\n",
        {"key": "router-setup", "namespace": "devices", "title": "Router"},
        "## Setup",
    ),
    (
        "faq/errors.html",
        "<html><head><title>Error E1234</title><script>var x;</script></head><body>"
        "<h1>Error E1234</h1><p>Shown when the <b>firmware</b> update failed.</p>"
        "<h2>Fix</h2><ul><li>Hold reset for 10 s.</li><li>Install 2.3 again.</li></ul>"
        '<p>See <a href="https://example.com/fw">firmware</a>.</p></body></html>',
        {"key": "kb/faq/errors", "namespace": "faq", "title": "Error E1234"},
        "Shown when the firmware update failed.",
    ),
    (
        "faq/plain-notes.txt",
        "Opening hours are 9 to 5.\n",
        {"key": "kb/faq/plain-notes", "namespace": "faq", "title": "Plain notes"},
        "Opening hours are 9 to 5.",
    ),
    (
        "faq/broken-front-matter.md",
        "---\ntitle: [unclosed\n---\n# Still readable\n\nText.\n",
        {"key": "kb/faq/broken-front-matter", "namespace": "faq"},
        "",
    ),
]


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    for rel, content, _, _ in FILES:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(content)
    (root / ".git").mkdir()
    (root / ".git" / "notes.md").write_text("# hidden\n\nnever indexed\n")
    (root / "faq" / "image.png").write_bytes(b"\x89PNG")
    return root


@pytest.mark.parametrize(("rel", "expected", "body_start"), [(f, e, b) for f, _, e, b in FILES])
def test_each_file_becomes_an_article(
    kb: Path, rel: str, expected: dict[str, str | None], body_start: str
) -> None:
    articles = {a.path: a for a in load_source(kb).articles}
    article = articles[str(kb / rel)]
    for field, value in expected.items():
        assert getattr(article, field) == value, field
    assert article.body.startswith(body_start)
    assert article.origin == str(kb)
    assert article.mtime == (kb / rel).stat().st_mtime


def test_hidden_folders_and_other_files_are_not_read(kb: Path) -> None:
    paths = {Path(a.path).name for a in load_source(kb).articles}
    assert paths == {Path(rel).name for rel, *_ in FILES}


def test_html_keeps_headings_lists_and_links(kb: Path) -> None:
    (article,) = [a for a in load_source(kb).articles if a.key == "kb/faq/errors"]
    assert "## Fix" in article.body.splitlines()
    assert "* Hold reset for 10 s." in article.body
    assert "https://example.com/fw" in article.body
    assert "var x" not in article.body


def test_configured_namespace_wins(kb: Path) -> None:
    namespaces = {a.namespace for a in load_source(kb, namespace="help").articles}
    assert namespaces == {"help"}


def test_jsonl_lines_and_their_problems(tmp_path: Path) -> None:
    path = tmp_path / "faq.jsonl"
    lines = [
        json.dumps({"id": "a1", "title": "Reset a password", "body": "Use the link."}),
        json.dumps({"id": "a2", "body": "No title here.", "namespace": "account", "lang": "DE"}),
        "{not json",
        json.dumps({"title": "no id", "body": "x"}),
        "",
        json.dumps(["a", "list"]),
    ]
    path.write_text("\n".join(lines) + "\n")
    loaded = load_source(path)
    assert [(a.key, a.namespace, a.title, a.language) for a in loaded.articles] == [
        ("a1", "faq", "Reset a password", None),
        ("a2", "account", "a2", "de"),
    ]
    assert [where for where, _ in loaded.problems] == [f"{path}:3", f"{path}:4", f"{path}:6"]


def test_version_changes_with_content_only(tmp_path: Path) -> None:
    path = tmp_path / "kb" / "a.md"
    path.parent.mkdir()
    path.write_text("# A\n\nOne.\n")
    first = load_source(path.parent).articles[0]
    path.write_text("# A\n\nOne.\n")
    assert load_source(path.parent).articles[0].version == first.version
    path.write_text("# A\n\nTwo.\n")
    assert load_source(path.parent).articles[0].version != first.version
