"""The package's imports flow one way: cli -> commands -> watchdog -> session ->
config/ssh/remote -> utilities -> leaves (see the jssh package docstring).

These read the source with `ast`, imports inside functions included, so a lazy
import cannot hide an arrow that runs back up.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "jssh"

# The layer of each module or package, lowest first. A module may import from its own
# layer or below, never above.
LAYERS: dict[str, int] = {
    "jssh": 0,  # the package face: __version__ only
    "jssh.errors": 0,
    "jssh.durations": 0,
    "jssh.failures": 0,
    "jssh.states": 0,
    "jssh.paths": 0,
    "jssh.names": 0,
    "jssh.hosts": 0,
    "jssh.forwards": 0,
    "jssh.fsutil": 1,
    "jssh.exits": 1,
    "jssh.ports": 1,
    "jssh.probe": 1,
    "jssh.watchstatus": 1,
    "jssh.render": 1,
    "jssh.config": 2,
    "jssh.ssh": 2,
    "jssh.remote": 2,
    "jssh.session": 3,
    "jssh.watchdog": 4,
    "jssh.commands": 5,
    "jssh.completion": 6,
    "jssh.fastpath": 6,
    "jssh.tab": 6,
    "jssh.entry": 7,
    "jssh.cli": 6,
    "jssh.__main__": 7,
}
LEAVES = {name for name, layer in LAYERS.items() if layer == 0}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _layer(module: str) -> int:
    best = max((name for name in LAYERS if module == name or module.startswith(name + ".")),
               key=len)  # fmt: skip
    return LAYERS[best]


def _imports(path: Path) -> list[tuple[str, list[str], int]]:
    """(module, names taken from it, line) for every jssh import in PATH."""
    found: list[tuple[str, list[str], int]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(a.name, [], node.lineno) for a in node.names if a.name.startswith("jssh")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("jssh"):
            found.append((node.module, [a.name for a in node.names], node.lineno))
    return found


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _targets(module: str, names: list[str]) -> list[str]:
    """The modules an import statement reaches: `from jssh import fsutil` is jssh.fsutil."""
    subs = [f"{module}.{n}" for n in names if f"{module}.{n}" in MODULES]
    return subs or [module]


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        assert any(module == n or module.startswith(n + ".") for n in LAYERS), module


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_runs_back_up_a_layer(module: str) -> None:
    own = _layer(module)
    for imported, names, line in _imports(MODULES[module]):
        for target in _targets(imported, names):
            assert _layer(target) <= own, (
                f"{module} (layer {own}) imports {target} (layer {_layer(target)}) at line {line}"
            )


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m in LEAVES))
def test_leaves_import_only_other_leaves(module: str) -> None:
    for imported, names, line in _imports(MODULES[module]):
        for target in _targets(imported, names):
            assert target in LEAVES, f"leaf {module} imports {target} at line {line}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_takes_another_modules_private_names(module: str) -> None:
    for imported, names, line in _imports(MODULES[module]):
        if imported == module:
            continue
        private = [n for n in names if n.startswith("_") and not n.startswith("__")]
        assert not private, f"{module} imports {private} from {imported} at line {line}"


def test_the_import_graph_has_no_cycle() -> None:
    graph = {
        module: {
            target
            for imported, names, _ in _imports(path)
            for target in _targets(imported, names)
            if target in MODULES and target != module and not module.startswith(target + ".")
        }
        for module, path in MODULES.items()
    }
    # A package's __init__ re-exporting its own submodules is its face, not a cycle.
    for module, targets in graph.items():
        graph[module] = {t for t in targets if not t.startswith(module + ".")}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt) :], nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_no_private_api_of_a_dependency_is_used() -> None:
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not any(part.startswith("_") for part in node.module.split(".")[1:]), (
                    f"{module} imports from {node.module}"
                )
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in {"typer", "sshconf", "click", "psutil", "pexpect"}
            ):
                assert not node.attr.startswith("_"), f"{module} uses {node.value.id}.{node.attr}"


def test_no_module_is_much_over_500_lines() -> None:
    for module, path in MODULES.items():
        lines = len(path.read_text().splitlines())
        assert lines <= 500, f"{module} has {lines} lines: split it by job"
