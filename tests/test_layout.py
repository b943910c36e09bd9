"""The package's layering, read from the source (nothing of mailproc is imported here).

Every ``import`` in every module under ``mailproc/`` counts: at the top, inside functions,
under ``if TYPE_CHECKING:``. Relative imports are resolved, and ``from mailproc.x import y``
counts as importing ``mailproc.x.y`` when ``y`` is a submodule.

The rule is :data:`LAYERS` below; the few extra rules follow it.
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

# THE RULE. Layers, lowest first. A module may import only
#   - modules of a lower layer, or
#   - modules of its own package: the same layer *and* the same top-level subpackage
#     (mailproc.store.db may import mailproc.store.models; mailproc.app may not import mailproc.testing).
# "mailproc.x.*" stands for mailproc.x and everything under it; any other entry is that one module.
# An entry may name a module that does not exist (yet). Every module under mailproc/ must match exactly one entry.
LAYERS: tuple[tuple[str, ...], ...] = (
    # 0: the leaves. mailproc/__init__.py itself imports nothing.
    ("mailproc", "mailproc.errors", "mailproc.vocabulary", "mailproc.shipped"),
    # 1: the configuration.
    ("mailproc.config",),
    # 1.5: OAuth 2.0 access tokens for IMAP and SMTP (talks to the token endpoint only).
    ("mailproc.oauth2.*",),
    # 2: what every stage uses: the context and report, text normalisation, work days, the agents' roster.
    ("mailproc.core.*",),
    # 3: the database: engine, ORM models, migrations.
    ("mailproc.store.*",),
    # 4: reading a mail: parsing, extraction, filters, routing, threads (pure, see ANALYSIS_* below).
    ("mailproc.analysis.*",),
    # 5: outgoing mail: templates, outbox, SMTP.
    ("mailproc.notices.*",),
    # 6: incoming mail: the IMAP poll.
    ("mailproc.intake.*",),
    # 7: the complaint process: states, steps, commands, deadlines, the processing pipeline.
    ("mailproc.workflow.*",),
    # 8: the application object; the throwaway mail stack for the demo and the tests.
    ("mailproc.app", "mailproc.testing.*"),
    # 9: running it: scheduler, checks, reports, views, logging, the demo.
    ("mailproc.ops.*",),
    # 10: the command line.
    ("mailproc.cli", "mailproc.__main__"),
)

# mailproc.testing (the throwaway Dovecot + SMTP stack) lives apart from the product:
# only these modules may import it (besides mailproc.testing itself).
TESTING_PACKAGE = "mailproc.testing"
TESTING_IMPORTERS = frozenset({"mailproc.ops.demo", "mailproc.cli"})

# mailproc.analysis is pure: text in, facts out. It imports no ORM (models, sessions), no mail transport
# and nothing of mailproc.store, except what ANALYSIS_ALLOWED names.
ANALYSIS_PACKAGE = "mailproc.analysis"
ANALYSIS_FORBIDDEN = ("mailproc.store", "sqlalchemy.orm", "aiosmtplib", "smtplib", "imaplib", "imap_tools")
# The allow-list, name by name (module -> the names analysis may take from it): the analysis pool's worker
# processes read the stored raw mail themselves through RawReader (plain SQL on their own connection).
ANALYSIS_ALLOWED: dict[str, frozenset[str]] = {
    "mailproc.store.db": frozenset({"RawReader"}),
}

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "mailproc"
PACKAGE_DIR = ROOT / PACKAGE


@dataclass(frozen=True)
class Import:
    source: str              # the importing module
    target: str              # the imported module (dotted; for other packages, as written)
    names: tuple[str, ...]   # what `from target import ...` takes; () when the module itself is imported
    where: str               # "mailproc/x.py:12"


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    is_package: bool         # an __init__.py

    @property
    def rel(self) -> str:
        return self.path.relative_to(ROOT).as_posix()


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


@cache
def modules() -> dict[str, Module]:
    found = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        name = module_name(path)
        found[name] = Module(name, path, path.name == "__init__.py")
    return found


@cache
def tree_of(name: str) -> ast.Module:
    module = modules()[name]
    return ast.parse(module.path.read_text(encoding="utf-8"), filename=module.rel)


def collect_imports(tree: ast.AST, module: str, is_package: bool, known: Iterable[str], rel: str) -> list[Import]:
    """Every import in ``tree`` (anywhere in it), as written by ``module``; ``known``: the modules that exist."""
    known = set(known)
    package = module if is_package else module.rpartition(".")[0]
    found: list[Import] = []
    for node in ast.walk(tree):
        where = f"{rel}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            found.extend(Import(module, alias.name, (), where) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.module == "__future__":
                continue
            if node.level:
                parts = package.split(".")
                if node.level - 1 >= len(parts):
                    raise AssertionError(f"{where}: relative import goes above the top-level package")
                base = ".".join(parts[: len(parts) - (node.level - 1)])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            names = []
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                if submodule in known:
                    found.append(Import(module, submodule, (), where))
                else:
                    names.append(alias.name)
            if names:
                found.append(Import(module, base, tuple(names), where))
    return found


@cache
def all_imports() -> tuple[Import, ...]:
    found: list[Import] = []
    for name, module in modules().items():
        found.extend(collect_imports(tree_of(name), name, module.is_package, modules(), module.rel))
    return tuple(found)


def is_in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def internal(imp: Import) -> bool:
    return is_in(imp.target, PACKAGE) and imp.target != imp.source


def _entry_matches(entry: str, module: str) -> bool:
    if entry.endswith(".*"):
        return is_in(module, entry[:-2])
    return module == entry


def layers_of(module: str) -> list[int]:
    return [layer for layer, entries in enumerate(LAYERS) if any(_entry_matches(e, module) for e in entries)]


def layer_of(module: str) -> int | None:
    found = layers_of(module)
    return found[0] if len(found) == 1 else None


def unit_of(module: str) -> str:
    """The top-level subpackage (or top-level module) a module belongs to: mailproc.store.db -> mailproc.store."""
    return ".".join(module.split(".")[:2])


def fail_with(title: str, violations: Iterable[str]) -> None:
    violations = sorted(set(violations))
    if violations:
        pytest.fail(f"{len(violations)} {title}:\n  " + "\n  ".join(violations), pytrace=False)


# --- the walker itself ----------------------------------------------------------------------------------------------


def test_collect_imports_resolves_relative_submodule_lazy_and_type_checking_imports() -> None:
    source = (
        "from __future__ import annotations\n"
        "import os, mailproc.errors\n"
        "from typing import TYPE_CHECKING\n"
        "from . import sibling, CONSTANT\n"
        "from .. import config\n"
        "from ..core import textnorm as tn\n"
        "from mailproc.store.db import RawReader\n"
        "from sqlalchemy import orm\n"
        "if TYPE_CHECKING:\n"
        "    from mailproc.app import App\n"
        "def later():\n"
        "    import mailproc.ops.views\n"
    )
    known = {"mailproc", "mailproc.errors", "mailproc.config", "mailproc.core", "mailproc.core.textnorm",
             "mailproc.store", "mailproc.store.db", "mailproc.app", "mailproc.ops", "mailproc.ops.views",
             "mailproc.pkg", "mailproc.pkg.sibling", "mailproc.pkg.mod"}
    got = {(i.target, i.names) for i in collect_imports(ast.parse(source), "mailproc.pkg.mod", False, known, "x")}
    assert got == {
        ("os", ()), ("mailproc.errors", ()), ("typing", ("TYPE_CHECKING",)),
        ("mailproc.pkg.sibling", ()), ("mailproc.pkg", ("CONSTANT",)), ("mailproc.config", ()),
        ("mailproc.core.textnorm", ()), ("mailproc.store.db", ("RawReader",)), ("sqlalchemy", ("orm",)),
        ("mailproc.app", ("App",)), ("mailproc.ops.views", ()),
    }
    # In a package's __init__, "." is the package itself.
    targets = {i.target for i in collect_imports(ast.parse("from . import sibling\nfrom .. import config\n"),
                                                 "mailproc.pkg", True, known, "x")}
    assert targets == {"mailproc.pkg.sibling", "mailproc.config"}


# --- the layout -----------------------------------------------------------------------------------------------------


def test_every_module_has_exactly_one_layer() -> None:
    problems = []
    for name, module in modules().items():
        found = layers_of(name)
        if not found:
            problems.append(f"{module.rel}: {name} has no layer: add it to LAYERS in tests/test_layout.py "
                            f"(or move it into a package that has one)")
        elif len(found) > 1:
            problems.append(f"{module.rel}: {name} matches layers {found}: LAYERS must give it exactly one")
    fail_with("module(s) without exactly one layer", problems)


def test_package_init_imports_nothing() -> None:
    tree = tree_of(PACKAGE)
    imports = [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)
               and not (isinstance(node, ast.ImportFrom) and node.module == "__future__")]
    fail_with("import(s) in mailproc/__init__.py (it must import nothing)",
              [f"mailproc/__init__.py:{node.lineno}: {ast.unparse(node)}" for node in imports])


def test_no_import_cycles() -> None:
    graph: dict[str, set[str]] = {name: set() for name in modules()}
    where: dict[tuple[str, str], str] = {}
    for imp in all_imports():
        if internal(imp) and imp.target in graph:
            graph[imp.source].add(imp.target)
            where.setdefault((imp.source, imp.target), imp.where)

    cycles = set()
    for component in strongly_connected(graph):
        if len(component) < 2:
            continue
        # One shortest cycle through each import inside the component: every import that closes a cycle shows.
        for source in component:
            for target in graph[source] & component:
                path = shortest_path(graph, target, source, component)
                cycles.add(canonical([source, *path[:-1]]))
    fail_with("import cycle(s)", [
        " -> ".join([*cycle, cycle[0]]) + "   (" + ", ".join(
            where[(a, b)] for a, b in zip(cycle, [*cycle[1:], cycle[0]], strict=True)) + ")"
        for cycle in cycles
    ])


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iteratively."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for nxt in successors:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    components.append(component)
    return components


def shortest_path(graph: dict[str, set[str]], start: str, goal: str, within: set[str]) -> list[str]:
    """The modules from ``start`` to ``goal`` (both included), breadth first, inside ``within``."""
    came_from: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            break
        for nxt in sorted(graph[node] & within):
            if nxt not in came_from:
                came_from[nxt] = node
                queue.append(nxt)
    path = [goal]
    while (prev := came_from[path[-1]]) is not None:
        path.append(prev)
    return path[::-1]


def canonical(cycle: list[str]) -> tuple[str, ...]:
    """The cycle (each module once), rotated to start at its smallest module."""
    first = cycle.index(min(cycle))
    return tuple(cycle[first:] + cycle[:first])


def test_imports_only_go_down_the_layers() -> None:
    problems = []
    for imp in all_imports():
        if not internal(imp):
            continue
        source_layer, target_layer = layer_of(imp.source), layer_of(imp.target)
        if source_layer is None:
            continue  # reported by test_every_module_has_exactly_one_layer
        if target_layer is None:
            problems.append(f"{imp.where}: {imp.source} imports {imp.target}, which has no layer (or several)")
        elif target_layer > source_layer or (
                target_layer == source_layer and unit_of(imp.source) != unit_of(imp.target)):
            problems.append(f"{imp.where}: {imp.source} (layer {source_layer}) imports "
                            f"{imp.target} (layer {target_layer})")
    fail_with("upward or sideways import(s)", problems)


def test_testing_package_is_imported_only_by_the_demo_and_the_cli() -> None:
    fail_with(f"import(s) of {TESTING_PACKAGE} outside {sorted(TESTING_IMPORTERS)}", [
        f"{imp.where}: {imp.source} imports {imp.target}"
        for imp in all_imports()
        if internal(imp) and is_in(imp.target, TESTING_PACKAGE)
        and not is_in(imp.source, TESTING_PACKAGE) and imp.source not in TESTING_IMPORTERS
    ])


def test_analysis_is_pure() -> None:
    problems = []
    for imp in all_imports():
        if not is_in(imp.source, ANALYSIS_PACKAGE):
            continue
        if imp.target in ANALYSIS_ALLOWED:
            allowed = ANALYSIS_ALLOWED[imp.target]
            extra = sorted(set(imp.names) - allowed) if imp.names else ["the whole module"]
            if extra:
                problems.append(f"{imp.where}: {imp.source} takes {', '.join(extra)} from {imp.target} "
                                f"(analysis may take only {', '.join(sorted(allowed))})")
            continue
        touched = [imp.target, *(f"{imp.target}.{name}" for name in imp.names)]
        hits = sorted({bad for bad in ANALYSIS_FORBIDDEN for t in touched if is_in(t, bad)})
        if hits:
            shown = imp.target + (f" ({', '.join(imp.names)})" if imp.names else "")
            problems.append(f"{imp.where}: {imp.source} imports {shown}: analysis may not use {', '.join(hits)}")
    fail_with("impure import(s) in mailproc.analysis", problems)


def test_every_package_states_its_rule() -> None:
    missing = [
        f"{module.rel}: no module docstring ({name} should say what belongs in it and what it may import)"
        for name, module in modules().items()
        if module.is_package and not (ast.get_docstring(tree_of(name)) or "").strip()
    ]
    fail_with("package(s) without a docstring", missing)
