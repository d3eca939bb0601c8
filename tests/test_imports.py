"""No import cycles anywhere in the package, and each module imports alone.

The import graph is read from the source (every ``import`` / ``from ... import``, also those
inside functions), so a cycle hidden behind a lazy import is found too.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("muie_bench",)


def _module_of(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_of(p): p for d in PACKAGES for p in sorted((ROOT / d).rglob("*.py"))}


def _imports(path: Path, known: set[str]) -> set[str]:
    """Modules of ``known`` that ``path`` imports (a package counts as its ``__init__``)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        out.update(n for n in names if n in known)
    return out


def test_no_import_cycle() -> None:
    mods = _modules()
    graph = {m: _imports(p, set(mods)) - {m} for m, p in mods.items()}
    # a submodule importing its own package's __init__ while __init__ imports it is a cycle too
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*stack[stack.index(n):], n]))
            if n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
    assert "muie_bench.leaderboard.model" in graph and len(graph) >= 80


_IMPORT_EACH = """
import importlib, os, sys, traceback
failed = []
for name in sys.argv[1:]:
    pid = os.fork()
    if pid == 0:  # a fresh child: nothing of the package imported yet
        try:
            importlib.import_module(name)
        except BaseException:
            traceback.print_exc()
            os._exit(1)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    if status:
        failed.append(name)
print("FAILED " + " ".join(failed) if failed else "OK")
"""


def test_each_module_imports_alone() -> None:
    """Each module imports in a process where nothing of the package was imported before."""
    modules = sorted(_modules())
    proc = subprocess.run([sys.executable, "-c", _IMPORT_EACH, *modules], capture_output=True,
                          text=True, timeout=600, cwd=ROOT)
    assert proc.stdout.strip() == "OK", proc.stdout + proc.stderr[-3000:]
