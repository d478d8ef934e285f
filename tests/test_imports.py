"""The package's import graph, read from the source: no module imports itself back."""

import ast
from pathlib import Path

import occmask

ROOT = Path(occmask.__file__).resolve().parent


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = ("occmask", *path.relative_to(ROOT).with_suffix("").parts)
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package's modules that ``name`` imports anywhere in its source (functions included)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            # ``from a import b`` imports module a.b when there is one, else a name of module a
            targets.update(
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names
            )
    return {t for t in targets if t in known and t != name}


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the directed graph as a list of nodes, or None (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in sorted(edges):
        if start in state:
            continue
        path, stack = [start], [iter(sorted(edges[start]))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(edges[nxt])))
    return None


def test_cycle_finder_finds_cycles():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"a"}}) == ["a", "a"]


def test_graph_sees_relative_absolute_and_function_level_imports():
    edges = graph()
    assert {"occmask._occlude", "occmask._validate"} <= edges["occmask.apply"]
    assert "occmask.torch" in edges["occmask.apply"]  # imported inside a function
    assert "occmask.calibrate" in edges["occmask.families._engine"]  # ``from .. import _validate, calibrate``
    assert "occmask._noise" in edges["occmask.families.cgol"]  # ``from .. import _noise, _validate``


def test_import_graph_has_no_cycle():
    found = cycle(graph())
    assert found is None, " -> ".join(found)


def test_adapters_share_a_leaf_module():
    edges = graph()
    assert edges["occmask._occlude"] <= {"occmask._validate"}
    assert edges["occmask._fill"] <= {"occmask._jit", "occmask._occlude"}  # the kernels beside the rules
    assert not edges["occmask._validate"]  # a leaf too
    assert "occmask.apply" not in edges["occmask.torch"]
