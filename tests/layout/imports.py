"""Static import scan of the first-party packages: the module graph, its circles, and the edges
that break the layering (issue 11, deliverable 7; tests/layout/test_layout.py runs it).

Every `import`/`from ... import` statement counts, wherever it is: module level, inside a
function or class, under `if TYPE_CHECKING:`, inside `try:`. Relative imports are resolved against
the importing module's package. `from pkg import name` is an edge to `pkg.name` when that is a
module of ours, else to `pkg` (a re-exported attribute). Parent packages that Python imports
implicitly are not edges: they would make every `__init__` re-export look like a circle. Calls to
`importlib.import_module` or `__import__` are reported on their own: the scan cannot follow them.

`scan(root)` returns a `Scan`; `problems(scan)` lists what must be empty once issue 11 is done,
and `check(scan, known)` the same minus an allowlist of `"src -> dst"` edges still to be removed
(plus the allowlist entries that are no longer a problem: the list only shrinks). Run from the
repository root, `python -m tests.layout.imports` prints that allowlist as the source of
tests/layout/known.py (redirect it there to regenerate), `--report` prints the human report.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

PACKAGES = ("daemon", "connectors")
ROOT_MODULE = "daemon.app"  # the composition root
ROOT_IMPORTERS_ALLOWED = ("daemon.cli", "daemon.cycle", "daemon.scheduler")  # prefixes
DYNAMIC_IMPORTERS = frozenset({"import_module", "__import__"})  # importlib's and the builtin

# The kinds of problem edge, as the allowlist source and the messages name them.
CIRCLE = "circle"
UPWARD = "connectors -> daemon"
ROOT_IMPORT = "composition root imported"


@dataclass(frozen=True, slots=True)
class Edge:
    src: str
    dst: str
    path: str
    line: int
    lazy: bool  # inside a function/method body
    type_only: bool  # under `if TYPE_CHECKING:`

    @property
    def key(self) -> str:
        """How the allowlist names the edge: no path or line, so unrelated edits never break it."""
        return f"{self.src} -> {self.dst}"

    def where(self) -> str:
        tags = ",".join(
            t for t, on in (("lazy", self.lazy), ("TYPE_CHECKING", self.type_only)) if on
        )
        return f"{self.path}:{self.line} {self.src} -> {self.dst}" + (f" [{tags}]" if tags else "")


@dataclass(slots=True)
class Scan:
    modules: dict[str, Path]
    edges: list[Edge]
    dynamic: list[str] = field(default_factory=list)  # "path:line" of each dynamic import
    graph: dict[str, set[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.graph = {m: set() for m in self.modules}
        for e in self.edges:
            if e.src != e.dst:
                self.graph[e.src].add(e.dst)


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def find_modules(root: Path, packages: Iterable[str] = PACKAGES) -> dict[str, Path]:
    mods: dict[str, Path] = {}
    for pkg in packages:
        for path in sorted((root / pkg).rglob("*.py")):
            if ".venv" not in path.parts:
                mods[module_name(root, path)] = path
    return mods


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(
    body: Iterable[ast.stmt], lazy: bool, type_only: bool
) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool, bool]]:
    """Every import statement in `body` and the statements nested in it, with whether it is in a
    function / under TYPE_CHECKING. Only statement lists are descended: an import is a statement,
    so expressions (most of the tree) cannot hold one, and skipping them keeps the scan fast."""
    for stmt in body:
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            yield stmt, lazy, type_only
        elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            yield from _walk(stmt.body, True, type_only)
        elif isinstance(stmt, ast.If) and _is_type_checking(stmt.test):
            yield from _walk(stmt.body, lazy, True)
            yield from _walk(stmt.orelse, lazy, type_only)
        else:  # class bodies, if/for/while/with/try blocks, except handlers, match cases
            for name in ("body", "orelse", "finalbody", "handlers", "cases"):
                for child in getattr(stmt, name, ()):
                    nested = [child] if isinstance(child, ast.stmt) else child.body
                    yield from _walk(nested, lazy, type_only)


def _resolve(src: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = src.split(".") if is_pkg else src.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _targets(
    src: str, path: Path, node: ast.Import | ast.ImportFrom, mods: dict[str, Path]
) -> Iterator[str]:
    def ours(name: str) -> str | None:  # the longest prefix of `name` that is one of our modules
        parts = name.split(".")
        for i in range(len(parts), 0, -1):
            if ".".join(parts[:i]) in mods:
                return ".".join(parts[:i])
        return None

    if isinstance(node, ast.Import):
        for alias in node.names:
            if (m := ours(alias.name)) is not None:
                yield m
    elif isinstance(node, ast.ImportFrom):
        base = _resolve(src, path.name == "__init__.py", node)
        for alias in node.names:
            full = f"{base}.{alias.name}"
            m = full if full in mods else ours(base)
            if m is not None:
                yield m


def scan(root: Path | str, packages: Iterable[str] = PACKAGES) -> Scan:
    root = Path(root)
    mods = find_modules(root, packages)
    edges: list[Edge] = []
    dynamic: list[str] = []
    for src, path in mods.items():
        source = path.read_bytes()
        tree = ast.parse(source, filename=str(path))
        rel = path.relative_to(root).as_posix()
        for node, lazy, type_only in _walk(tree.body, False, False):
            seen: set[str] = set()
            for dst in _targets(src, path, node, mods):
                if dst not in seen:
                    seen.add(dst)
                    edges.append(Edge(src, dst, rel, node.lineno, lazy, type_only))
        if any(name.encode() in source for name in DYNAMIC_IMPORTERS):  # rare: skip the walk
            dynamic += [f"{rel}:{line}" for line in _dynamic_imports(tree)]
    return Scan(mods, edges, dynamic)


def _dynamic_imports(tree: ast.AST) -> Iterator[int]:
    """Lines that name `import_module` or `__import__`: a call, an attribute, or an import of it
    (so `from importlib import import_module as load` is caught although `load(...)` is not)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            name: str = node.id
        elif isinstance(node, ast.Attribute):
            name = node.attr
        elif isinstance(node, ast.alias):
            name = node.name.rpartition(".")[2]
        else:
            continue
        if name in DYNAMIC_IMPORTERS:
            yield node.lineno


def cycles(s: Scan) -> list[list[str]]:
    """The strongly connected components with more than one module (each one circle or more),
    sorted; Tarjan, iterative so deep graphs do not hit the recursion limit."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for start in sorted(s.graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(s.graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(s.graph[w]))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return sorted(out, key=lambda c: (-len(c), c))


def shortest_cycle(s: Scan, through: str, within: set[str]) -> list[str]:
    """A shortest circle from `through` back to itself inside one component (a readable witness)."""
    prev: dict[str, str] = {}
    frontier = [through]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(s.graph[v] & within):
                if w == through:
                    path = [v]
                    while path[-1] != through:
                        path.append(prev[path[-1]])
                    return [through, *reversed(path[:-1]), through]
                if w not in prev:
                    prev[w] = v
                    nxt.append(w)
        frontier = nxt
    return []


def upward_edges(s: Scan) -> list[Edge]:
    """Imports from `connectors` into `daemon` (connectors must not know the daemon)."""
    return [e for e in s.edges if _within(e.src, "connectors") and _within(e.dst, "daemon")]


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def root_importers(s: Scan) -> list[Edge]:
    """Imports of the composition root from outside the CLI, the cycle/scheduler (tests are not
    scanned)."""
    return [
        e
        for e in s.edges
        if e.dst == ROOT_MODULE
        and e.src != ROOT_MODULE
        and not any(_within(e.src, p) for p in ROOT_IMPORTERS_ALLOWED)
    ]


def circle_edges(s: Scan) -> list[Edge]:
    """The edges that lie on a circle: both ends in one strongly connected component. Listing
    these (not just the circles) catches a new edge that closes a circle through allowed ones."""
    component = {m: i for i, comp in enumerate(cycles(s)) for m in comp}
    return [
        e
        for e in s.edges
        if e.src != e.dst and e.src in component and component[e.src] == component.get(e.dst)
    ]


def offending(s: Scan) -> list[tuple[str, Edge]]:
    """Every import statement deliverable 7 forbids, with its kind, in report order."""
    return (
        [(CIRCLE, e) for e in circle_edges(s)]
        + [(UPWARD, e) for e in upward_edges(s)]
        + [(ROOT_IMPORT, e) for e in root_importers(s)]
    )


def check(s: Scan, known: Iterable[str] = ()) -> list[str]:
    """What is wrong apart from the `known` edges, one line each; empty when the layout holds.
    A known edge that is no longer a problem is wrong too, so the allowlist only shrinks."""
    allowed = frozenset(known)
    found = offending(s)
    out = [f"{kind}: {e.where()}" for kind, e in found if e.key not in allowed]
    out += [f"dynamic import (the scan cannot follow it): {where}" for where in s.dynamic]
    current = {e.key for _, e in found}
    out += [f"stale allowlist entry, delete it: {key}" for key in sorted(allowed - current)]
    return out


def problems(s: Scan) -> list[str]:
    """Everything deliverable 7 forbids, one line each; empty when the layout holds."""
    return check(s)


def allowlist_source(s: Scan) -> str:
    """tests/layout/known.py for the current tree: every problem edge as a `"src -> dst"` string,
    grouped by circle and kind, sorted, formatted as `ruff format` writes it."""
    groups: list[tuple[str, list[str]]] = []
    on_circle = {e.key for e in circle_edges(s)}
    for comp in cycles(s):
        members = set(comp)
        keys = {key for key in on_circle if key.split(" -> ")[0] in members}
        groups.append((f"circle of {len(comp)} modules through {comp[0]}", sorted(keys)))
    listed = set(on_circle)
    for title, edges in ((UPWARD, upward_edges(s)), (ROOT_IMPORT, root_importers(s))):
        keys = {e.key for e in edges} - listed
        listed |= keys
        if keys:
            groups.append((title, sorted(keys)))
    lines = [
        '"""The import edges issue 11 has still to remove (generated by `python -m',
        "tests.layout.imports > tests/layout/known.py`; test_layout.py fails on any other problem",
        'edge and on an entry here that is no longer one). Delete lines, never add them."""',
        "",
    ]
    if not groups:
        return "\n".join([*lines, "KNOWN: frozenset[str] = frozenset()", ""])
    lines += ["KNOWN: frozenset[str] = frozenset(", "    {"]
    for title, entries in groups:
        lines.append(f"        # {title}")
        lines += [f'        "{key}",' for key in entries]
    return "\n".join([*lines, "    }", ")", ""])


def report(s: Scan) -> str:
    lines = [f"{len(s.modules)} modules, {len(s.edges)} import edges"]
    for comp in cycles(s):
        members = set(comp)
        lines.append(f"\nCIRCLE of {len(comp)}: {', '.join(comp)}")
        internal = sorted(
            (e for e in s.edges if e.src in members and e.dst in members),
            key=lambda e: (e.src, e.line),
        )
        for e in internal:
            lines.append(f"  {e.where()}")
        witnesses = {tuple(shortest_cycle(s, m, members)) for m in comp}
        for w in sorted(witnesses, key=lambda w: (len(w), w)):
            lines.append("  witness: " + " -> ".join(w))
    lines.append("\nCONNECTORS -> DAEMON")
    lines += [f"  {e.where()}" for e in upward_edges(s)] or ["  none"]
    lines.append(f"\nIMPORTERS OF {ROOT_MODULE} outside {', '.join(ROOT_IMPORTERS_ALLOWED)}")
    lines += [f"  {e.where()}" for e in root_importers(s)] or ["  none"]
    lines.append("\nDYNAMIC IMPORTS")
    lines += [f"  {where}" for where in s.dynamic] or ["  none"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.layout.imports",
        description="Print tests/layout/known.py for the tree at ROOT (or, with --report, "
        "its circles, connectors -> daemon edges and composition-root importers).",
    )
    parser.add_argument("root", nargs="?", default=".", help="repository root (default: .)")
    parser.add_argument(
        "--report", action="store_true", help="print the human report, not the allowlist"
    )
    args = parser.parse_args(argv)
    s = scan(args.root)
    sys.stdout.write(report(s) + "\n" if args.report else allowlist_source(s))
    return 0


if __name__ == "__main__":
    sys.exit(main())
