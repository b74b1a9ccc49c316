"""The package's layout: small modules in packages named after what they hold, imports that
point down (never in a circle, counting those inside functions), and tests that mirror it."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

from tests.paths import ROOT

PACKAGE = ROOT / "exporter"
MAX_TOP_LEVEL_MODULES = 12
MAX_MODULE_LINES = 400

# What each part of the package may import from the rest of it: a layered graph, so a
# lower layer never imports a higher one. A part is a subpackage or a top-level module.
BASE = {"exporter", "types"}  # the package root (__version__) and the shared aliases
ALLOWED: Mapping[str, set[str]] = {
    "types": set(),
    "atomic": set(),
    "ratelog": set(),
    "metric_names": set(),
    "stats": set(),
    "readers": set(),
    "rulegen": set(),
    "metric_docs": {"metric_names"},
    "config": {"stats"},
    "profile": {"atomic", "config", "metric_names", "readers", "stats"},
    "client": {"ratelog"},
    "history": {"metric_names", "stats"},
    "integrations": {"stats"},
    "responder": {"atomic", "config", "metric_names"},
    "sidecar": {"atomic", "config", "metric_names", "profile", "ratelog", "stats"},
    "batch": {"atomic", "config", "metric_names", "profile", "readers", "stats"},
    # the optional Spark engine of profile build and batch (pyspark imported lazily)
    "spark": {"batch", "cli", "config", "profile", "readers", "stats"},
    "demo": {"atomic", "client", "config", "metric_names", "profile", "readers", "responder",
             "rulegen", "stats"},
    "commands": {"atomic", "batch", "client", "config", "demo", "history", "integrations",
                 "metric_docs", "metric_names", "profile", "readers", "responder", "rulegen",
                 "sidecar", "spark", "stats"},
    "cli": set(),  # loads exporter.commands.* by name
    "__main__": {"cli"},
}
# Standard-library modules the pure statistics core must not use: it does no I/O.
IO_MODULES = {"asyncio", "logging", "socket", "os", "io", "pathlib", "subprocess", "threading",
              "http", "urllib", "shutil", "tempfile", "time"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(root: Path = PACKAGE) -> dict[str, Path]:
    return {module_name(p): p for p in sorted(root.rglob("*.py"))}


def imported(path: Path, name: str) -> Iterator[str]:
    """Every module name an import statement in the file names, wherever it stands."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = name.split(".") if is_package else name.split(".")[:-1]
                here = here[:len(here) - (node.level - 1)]
                base = ".".join([*here, base] if base else here)
            yield base
            yield from (f"{base}.{a.name}" for a in node.names)


def import_graph(mods: Mapping[str, Path]) -> dict[str, set[str]]:
    return {m: {t for t in imported(p, m) if t in mods and t != m} for m, p in mods.items()}


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def part(module: str) -> str:
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else "exporter"


def test_few_modules_sit_directly_in_the_package() -> None:
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
    assert len(loose) <= MAX_TOP_LEVEL_MODULES, loose


def test_no_module_is_too_long() -> None:
    long = {m: n for m, p in modules().items()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert long == {}


def test_no_import_cycle_counting_imports_inside_functions() -> None:
    assert cycles(import_graph(modules())) == []


def test_the_cycle_finder_finds_a_cycle_through_a_function_level_import(
        tmp_path: Path) -> None:
    pkg = tmp_path / "exporter"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from exporter.b import f\n")
    (pkg / "b.py").write_text("def f() -> None:\n    from exporter import a\n")
    (pkg / "c.py").write_text("import exporter.a\n")
    mods = {f"exporter.{p.stem}": p for p in pkg.glob("[abc].py")}
    assert cycles(import_graph(mods)) == [["exporter.a", "exporter.b"]]


def test_imports_point_down_the_layers() -> None:
    assert set(ALLOWED) | {"exporter"} == {part(m) for m in modules()}
    upward = sorted(f"{m} imports {t}" for m, targets in import_graph(modules()).items()
                    for t in targets
                    if part(t) != part(m) and part(t) not in ALLOWED[part(m)] | BASE)
    assert upward == []


def test_the_statistics_core_imports_only_numpy_and_pure_stdlib() -> None:
    allowed_third_party = {"numpy", "exporter"}  # scipy is the tests' oracle only
    bad = sorted(f"{m}: {t}" for m, p in modules(PACKAGE / "stats").items()
                 for t in imported(p, m)
                 if (top := t.split(".")[0]) in IO_MODULES
                 or (top not in sys.stdlib_module_names and top not in allowed_third_party
                     and top != "__future__")
                 or (top == "exporter" and not t.startswith("exporter.stats")))
    assert bad == []


def test_every_subpackage_has_a_mirroring_test_folder() -> None:
    subpackages = sorted(p.parent.relative_to(PACKAGE) for p in PACKAGE.rglob("__init__.py")
                         if p.parent != PACKAGE)
    missing = [str(s) for s in subpackages if not (ROOT / "tests" / s / "__init__.py").is_file()]
    assert missing == []
