"""The layers only point one way: the import graph of the package, read from the source, has no cycle
and none of the forbidden directions; the orchestration layer imports no Locust until a run needs it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Where each layer's source lives in the repository, and its import name.
FOLDERS = {"swarmgate.analysis": "analysis", "swarmgate.reports": "reports", "swarmgate.shapes": "shapes",
           "swarmgate.locustfiles": "locustfiles", "swarmgate.demo": "demo", "swarmgate": "swarmgate"}  # fmt: skip
LAYERS = ("core", "analysis", "reports", "shapes", "locustfiles", "demo", "orchestration")
# layer -> what it may import (itself included); anything else in the package is forbidden.
ALLOWED = {
    "core": {"core"},
    "analysis": {"core", "analysis"},
    "reports": {"core", "reports"},
    "shapes": {"core", "shapes"},
    "locustfiles": {"core", "analysis", "locustfiles"},  # the live judge uses the analyzer's own rules
    "demo": {"core", "demo"},
    "orchestration": set(LAYERS),
}
# layers that never import Locust (nor gevent, except the demo server, which is a gevent WSGI app)
NO_LOCUST = {"core": ("locust", "gevent"), "analysis": ("locust", "gevent"), "reports": ("locust", "gevent"),
             "demo": ("locust",)}  # fmt: skip


def modules() -> dict[str, Path]:
    found = {}
    for package, folder in FOLDERS.items():
        for path in (ROOT / folder).rglob("*.py"):
            if "defaults" in path.parts:
                continue
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            name = ".".join([package, *parts])
            found.setdefault(name, path)
    return found


def layer_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in LAYERS:
        return parts[1]
    return "orchestration"


def imports_of(path: Path, module: str = "") -> set[str]:
    """Every module imported anywhere in the file (module level or inside functions): relative imports
    resolved against `module`, and `importlib.import_module("...")` / `__import__("...")` with a literal."""
    names = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}".rstrip(".")
            names.add(base)
            names |= {f"{base}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if called in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                names.add(node.args[0].value)
    return names


def graph() -> dict[str, set[str]]:
    known = modules()
    edges = {}
    for name, path in known.items():
        edges[name] = {target for target in imports_of(path, name) if target in known and target != name}
    return edges


EDGES = graph()


def test_the_graph_is_read_from_every_layer():
    assert {layer_of(m) for m in EDGES} == set(LAYERS)
    assert len(EDGES) > 60 and sum(map(len, EDGES.values())) > 100


@pytest.mark.parametrize("layer", LAYERS)
def test_each_layer_imports_only_what_it_may(layer):
    wrong = sorted(f"{source} -> {target}" for source, targets in EDGES.items() if layer_of(source) == layer
                   for target in targets if layer_of(target) not in ALLOWED[layer])  # fmt: skip
    assert not wrong, wrong


@pytest.mark.parametrize("layer", sorted(NO_LOCUST))
def test_locust_free_layers_import_no_locust(layer):
    found = modules()
    wrong = sorted(f"{name} -> {target}" for name, path in found.items() if layer_of(name) == layer
                   for target in imports_of(path, name) if target.split(".")[0] in NO_LOCUST[layer])  # fmt: skip
    assert not wrong, wrong


def test_no_import_cycle_between_modules():
    """Depth-first search over module edges; a back edge is a cycle."""
    state: dict[str, int] = {}
    cycles = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(EDGES[module]):
            if state.get(target) == 1:
                cycles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(EDGES):
        if module not in state:
            visit(module, [module])
    assert not cycles, cycles


def test_no_cycle_between_layers():
    layer_edges = {(layer_of(s), layer_of(t)) for s, ts in EDGES.items() for t in ts if layer_of(s) != layer_of(t)}
    assert not {(a, b) for a, b in layer_edges if (b, a) in layer_edges}


def test_the_checker_catches_a_forbidden_import(tmp_path, monkeypatch):
    """The rules above see an analysis module that imports reports (so they can fail)."""
    fake = {**EDGES, "swarmgate.analysis.bad": {"swarmgate.reports.html"}}
    wrong = [
        t for s, ts in fake.items() if layer_of(s) == "analysis" for t in ts if layer_of(t) not in ALLOWED["analysis"]
    ]
    assert wrong == ["swarmgate.reports.html"]


def test_relative_and_dynamic_imports_are_seen(tmp_path):
    source = tmp_path / "module.py"
    source.write_text("from ..reports import html\nfrom . import load\nimportlib.import_module('swarmgate.run')\n")
    found = imports_of(source, "swarmgate.analysis.module")
    assert {"swarmgate.reports.html", "swarmgate.analysis.load", "swarmgate.run"} <= found


def test_the_command_line_and_the_analyzer_load_without_locust():
    """Importing the CLI and every orchestration module must not load Locust (nor gevent's patching)."""
    code = ("import sys, swarmgate, swarmgate.cli, swarmgate.jobs, swarmgate.pipeline, swarmgate.web, "
            "swarmgate.weekly, swarmgate.run, swarmgate.supervisor, swarmgate.analysis.analyze; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('locust', 'gevent')))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_the_live_judge_loads_neither_pandas_nor_scipy():
    """The Locust master imports the analyzer's live judge: it must stay light (no pandas, no scipy)."""
    code = ("import sys, swarmgate.analysis.live; heavy = [m for m in ('pandas', 'scipy', 'numpy') "
            "if m in sys.modules]; print(heavy); sys.exit(1 if heavy else 0)")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
