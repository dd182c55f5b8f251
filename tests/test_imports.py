"""The core's modules form no import circle: each imports alone in a fresh interpreter, and the graph
of the imports written in them (at any depth, inside functions too) has no cycle."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "clinic_sms" / "core"
#: Modules may grow, but one a newcomer cannot read in one sitting is split.
MAX_LINES = 500


def module_name(path: Path) -> str:
    parts = path.relative_to(CORE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


PATHS = {module_name(path): path for path in sorted(CORE.rglob("*.py"))}


def imports_of(name: str) -> set[str]:
    """The core modules that module ``name`` imports (``import``/``from … import`` anywhere in it)."""
    path = PATHS[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                found.add(submodule if submodule in PATHS else target)
    if name == "core.providers":  # the registry imports the provider modules by name
        found.update(f"core.providers.{module}" for module in _provider_modules())
    return {module for module in found if module in PATHS and module != name}


def _provider_modules() -> tuple[str, ...]:
    tree = ast.parse(PATHS["core.providers"].read_text(encoding="utf-8"))
    for node in tree.body:
        targets = [node.target] if isinstance(node, ast.AnnAssign) else getattr(node, "targets", [])
        if any(isinstance(t, ast.Name) and t.id == "MODULES" for t in targets):
            return ast.literal_eval(node.value)
    raise AssertionError("core/providers/__init__.py has no MODULES tuple")


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import circle of ``graph`` (module → modules it imports) as a path, or []."""
    done, path = set(), []

    def visit(node):
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return []
        path.append(node)
        for target in sorted(graph.get(node, ())):
            cycle = visit(target)
            if cycle:
                return cycle
        path.pop()
        done.add(node)
        return []

    for start in sorted(graph):
        cycle = visit(start)
        if cycle:
            return cycle
    return []


def test_the_cycle_finder_finds_a_circle_and_accepts_a_tree():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_the_import_reader_sees_relative_imports_and_the_provider_registry():
    assert "core.gateway" in imports_of("core.providers.base")
    assert "core.providers.base" in imports_of("core.providers.twilio")
    assert {"core.providers.test", "core.providers.kannel"} <= imports_of("core.providers")


def test_no_import_circle_in_the_core():
    graph = {name: imports_of(name) for name in PATHS}
    assert find_cycle(graph) == []


def test_each_core_module_imports_alone_in_a_fresh_interpreter():
    env = {**os.environ, "PYTHONPATH": str(CORE.parent)}
    runs = {
        name: subprocess.Popen(
            [sys.executable, "-c", f"import {name}"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name in PATHS
    }
    failures = {}
    for name, run in runs.items():
        output, _ = run.communicate(timeout=60)
        if run.returncode:
            failures[name] = output.strip().splitlines()[-1:]
    assert len(runs) >= 15 and failures == {}


@pytest.mark.parametrize("folder", ["clinic_sms/core", "tools", "bench"])
def test_no_module_is_over_the_size_a_newcomer_reads(folder):
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for path in (ROOT / folder).rglob("*.py")
    }
    assert sizes and {path: n for path, n in sizes.items() if n > MAX_LINES} == {}
