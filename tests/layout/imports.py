"""Static import scan of the first-party packages: the module graph, its circles, and the edges
that break the layering (issue 11, deliverable 7).

Every `import`/`from ... import` statement counts, wherever it is: module level, inside a
function or class, under `if TYPE_CHECKING:`, inside `try:`. Relative imports are resolved against
the importing module's package. `from pkg import name` is an edge to `pkg.name` when that is a
module of ours, else to `pkg` (a re-exported attribute). Parent packages that Python imports
implicitly are not edges: they would make every `__init__` re-export look like a circle.

Meant to become a test unchanged: `scan(root)` returns a `Scan`; `problems(scan)` lists what
must be empty. `python imports.py [ROOT]` prints the report.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

PACKAGES = ("daemon", "connectors")
ROOT_MODULE = "daemon.app"  # the composition root
ROOT_IMPORTERS_ALLOWED = ("daemon.cli", "daemon.cycle", "daemon.scheduler")  # prefixes


@dataclass(frozen=True, slots=True)
class Edge:
    src: str
    dst: str
    path: str
    line: int
    lazy: bool  # inside a function/method body
    type_only: bool  # under `if TYPE_CHECKING:`

    def where(self) -> str:
        tags = ",".join(
            t for t, on in (("lazy", self.lazy), ("TYPE_CHECKING", self.type_only)) if on
        )
        return f"{self.path}:{self.line} {self.src} -> {self.dst}" + (f" [{tags}]" if tags else "")


@dataclass(slots=True)
class Scan:
    modules: dict[str, Path]
    edges: list[Edge]
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


def _walk(node: ast.AST, lazy: bool, type_only: bool) -> Iterator[tuple[ast.stmt, bool, bool]]:
    """Every import statement under `node`, with whether it is in a function / TYPE_CHECKING."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, lazy, type_only
        elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield from _walk(child, True, type_only)
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for stmt in child.body:
                yield from _walk(ast.Module(body=[stmt], type_ignores=[]), lazy, True)
            for stmt in child.orelse:
                yield from _walk(ast.Module(body=[stmt], type_ignores=[]), lazy, type_only)
        else:
            yield from _walk(child, lazy, type_only)


def _resolve(src: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = src.split(".") if is_pkg else src.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _targets(src: str, path: Path, node: ast.stmt, mods: dict[str, Path]) -> Iterator[str]:
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
    for src, path in mods.items():
        tree = ast.parse(path.read_bytes(), filename=str(path))
        for node, lazy, type_only in _walk(tree, False, False):
            seen: set[str] = set()
            for dst in _targets(src, path, node, mods):
                if dst not in seen:
                    seen.add(dst)
                    rel = str(path.relative_to(root))
                    edges.append(Edge(src, dst, rel, node.lineno, lazy, type_only))
    return Scan(mods, edges)


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
    return [e for e in s.edges if e.src.startswith("connectors") and e.dst.startswith("daemon")]


def root_importers(s: Scan) -> list[Edge]:
    """Imports of the composition root from outside the CLI, the cycle/scheduler (tests are not
    scanned)."""
    return [
        e
        for e in s.edges
        if e.dst == ROOT_MODULE
        and e.src != ROOT_MODULE
        and not any(e.src == p or e.src.startswith(p + ".") for p in ROOT_IMPORTERS_ALLOWED)
    ]


def problems(s: Scan) -> list[str]:
    """Everything deliverable 7 forbids, one line each; empty when the layout holds."""
    out = [f"circle: {' , '.join(c)}" for c in cycles(s)]
    out += [f"connectors -> daemon: {e.where()}" for e in upward_edges(s)]
    out += [f"composition root imported: {e.where()}" for e in root_importers(s)]
    return out


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
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(scan(sys.argv[1] if len(sys.argv) > 1 else ".")))
