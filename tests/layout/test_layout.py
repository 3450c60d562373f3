"""The layout test of issue 11 (deliverable 7): a static scan of every import in `daemon/` and
`connectors/` finds no module circle, no import from `connectors/` into `daemon/`, no import of
the composition root `daemon.app` outside the CLI, the cycle and the scheduler, and no dynamic
import it cannot follow, apart from the edges still listed in known.py; an entry there that is no
longer a problem fails too, so the allowlist only shrinks until it is empty. The scanner itself is
tested on small trees written to a temporary directory.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.layout.imports import (
    Scan,
    allowlist_source,
    check,
    circle_edges,
    cycles,
    problems,
    root_importers,
    scan,
    upward_edges,
)
from tests.layout.known import KNOWN

REPO = Path(__file__).resolve().parents[2]

HOW_TO_FIX = """\
The import layout of issue 11 is broken (tests/layout/imports.py explains the rules;
`python -m tests.layout.imports --report` from the repository root shows every circle).
- a circle / connectors -> daemon / composition root line: remove that import; do not add it
  to tests/layout/known.py.
- a stale allowlist entry: your change removed that problem; delete the line from known.py
  (or regenerate it: `python -m tests.layout.imports > tests/layout/known.py`, and check the
  diff only deletes lines).
"""


def test_layout_holds_apart_from_the_known_edges() -> None:
    found = check(scan(REPO), KNOWN)
    assert not found, HOW_TO_FIX + "\n".join(found)


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def edges_of(s: Scan) -> set[tuple[str, str, bool, bool]]:
    return {(e.src, e.dst, e.lazy, e.type_only) for e in s.edges}


# One tree for the scanner's rules; each module's comment says what it exercises.
TREE = {
    "daemon/__init__.py": "",
    "daemon/config.py": "",
    "daemon/mail/__init__.py": "from .mime import decode\n",  # re-export: edge to the module
    "daemon/mail/mime.py": "def decode() -> None: ...\n",
    # relative imports: a sibling module, a parent-package attribute, a module two levels up
    "daemon/stages/__init__.py": "",
    "daemon/stages/parse.py": (
        "from . import thread\nfrom ..mail import decode\nfrom .. import config\n"
    ),
    "daemon/stages/thread.py": "import daemon.mail.mime\n",  # no edge to the parents
    # an import under TYPE_CHECKING (also as typing.TYPE_CHECKING) and one inside a function
    "daemon/pipeline.py": (
        "import typing\nfrom typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from daemon.stages import parse\n"
        "if typing.TYPE_CHECKING:\n    import daemon.config\n"
        "def run() -> None:\n    from daemon.stages.thread import x\n"
    ),
    "daemon/cli/__init__.py": "",
    "daemon/cli/run.py": "import daemon.app\n",  # the CLI may import the composition root
    "daemon/app.py": "import daemon.pipeline\nimport json\n",
    "connectors/__init__.py": "",
    "connectors/imap.py": "try:\n    from daemon.config import X\nexcept ImportError:\n    pass\n",
}


def test_scanner_resolves_every_kind_of_import(tmp_path: Path) -> None:
    s = scan(write_tree(tmp_path, TREE))
    assert edges_of(s) == {
        ("daemon.mail", "daemon.mail.mime", False, False),
        ("daemon.stages.parse", "daemon.stages.thread", False, False),
        ("daemon.stages.parse", "daemon.mail", False, False),
        ("daemon.stages.parse", "daemon.config", False, False),
        ("daemon.stages.thread", "daemon.mail.mime", False, False),
        ("daemon.pipeline", "daemon.stages.parse", False, True),
        ("daemon.pipeline", "daemon.config", False, True),
        ("daemon.pipeline", "daemon.stages.thread", True, False),
        ("daemon.cli.run", "daemon.app", False, False),
        ("daemon.app", "daemon.pipeline", False, False),
        ("connectors.imap", "daemon.config", False, False),
    }
    assert cycles(s) == []
    assert [e.where() for e in upward_edges(s)] == [
        "connectors/imap.py:2 connectors.imap -> daemon.config"
    ]
    assert root_importers(s) == []
    assert problems(s) == [
        "connectors -> daemon: connectors/imap.py:2 connectors.imap -> daemon.config"
    ]


def test_scanner_finds_circles_root_importers_and_dynamic_imports(tmp_path: Path) -> None:
    s = scan(
        write_tree(
            tmp_path,
            {
                **TREE,
                "daemon/config.py": "def f() -> None:\n    import daemon.pipeline\n",  # lazy
                "daemon/stages/thread.py": (
                    "import importlib\nimportlib.import_module('daemon.app')\n"
                    "from daemon.app import Services\n"
                ),
            },
        )
    )
    # config -(lazy)-> pipeline -> parse -> config, and app -> pipeline -> thread -> app
    assert cycles(s) == [
        [
            "daemon.app",
            "daemon.config",
            "daemon.pipeline",
            "daemon.stages.parse",
            "daemon.stages.thread",
        ]
    ]
    assert [e.where() for e in root_importers(s)] == [
        "daemon/stages/thread.py:3 daemon.stages.thread -> daemon.app"
    ]
    assert s.dynamic == ["daemon/stages/thread.py:2"]


def test_allowlist_only_shrinks(tmp_path: Path) -> None:
    s = scan(write_tree(tmp_path, {**TREE, "daemon/stages/thread.py": "import daemon.app\n"}))
    # app -> pipeline -> (lazy) thread -> app, and pipeline -> parse -> thread
    assert {e.key for e in circle_edges(s)} == {
        "daemon.app -> daemon.pipeline",
        "daemon.pipeline -> daemon.stages.parse",
        "daemon.pipeline -> daemon.stages.thread",
        "daemon.stages.parse -> daemon.stages.thread",
        "daemon.stages.thread -> daemon.app",
    }
    known = {e.key for e in circle_edges(s)} | {"connectors.imap -> daemon.config"}
    assert check(s, known) == []
    # a new edge that closes a circle through allowed edges is a problem of its own
    again = scan(
        write_tree(tmp_path, {"daemon/mail/mime.py": "from daemon.stages.parse import x\n"})
    )
    assert check(again, known) == [
        "circle: daemon/mail/__init__.py:1 daemon.mail -> daemon.mail.mime",
        "circle: daemon/mail/mime.py:1 daemon.mail.mime -> daemon.stages.parse",
        "circle: daemon/stages/parse.py:2 daemon.stages.parse -> daemon.mail",
    ]
    # an allowed edge that is no longer a problem must leave the list
    assert check(s, {*known, "daemon.app -> daemon.config"}) == [
        "stale allowlist entry, delete it: daemon.app -> daemon.config"
    ]


CLEAN = {name: text for name, text in TREE.items() if name != "connectors/imap.py"}
CIRCLE = {**TREE, "daemon/stages/thread.py": "import daemon.app\n"}


@pytest.mark.parametrize(("files", "size"), [(CLEAN, 0), (TREE, 1), (CIRCLE, 6)])
def test_allowlist_source_round_trips(tmp_path: Path, files: dict[str, str], size: int) -> None:
    s = scan(write_tree(tmp_path, files))
    namespace: dict[str, object] = {}
    exec(allowlist_source(s), namespace)  # noqa: S102 - our own generated source
    known = namespace["KNOWN"]
    assert isinstance(known, frozenset)
    assert len(known) == size
    assert check(s, known) == []
    assert check(s, set()) == problems(s)
    assert bool(problems(s)) == bool(size)
