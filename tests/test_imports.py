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


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def borrowed(name: str, path: Path, known: dict[str, Path]) -> list[str]:
    """The private names (``_x``) of the package's other modules that ``name`` uses: imported, or
    read as an attribute of a module it imported."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules, found = {}, []  # local name -> module it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                target = f"{base}.{alias.name}"
                if target in known:
                    modules[alias.asname or alias.name] = target
                elif base in known and base != name and _private(alias.name):
                    found.append(f"{base}.{alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known and alias.asname:
                    modules[alias.asname] = alias.name
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and _private(node.attr):
            module = modules.get(node.value.id)
            if module is not None and module != name:
                found.append(f"{module}.{node.attr}")
    return found


def test_borrowed_finds_private_names_imported_or_read():
    known = {"occmask": ROOT, "occmask.a": ROOT / "a.py", "occmask.b": ROOT / "b.py"}
    source = "from . import b\nfrom .b import _x, y\nb._z\nb.w\n"
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "a.py"
        path.write_text(source, encoding="utf-8")
        assert borrowed("occmask.a", path, known) == ["occmask.b._x", "occmask.b._z"]


def test_no_module_uses_another_modules_private_names():
    """A name that other modules use is part of its module's (internal) interface: no underscore.
    Private *modules* (``occmask._cut``) are the package's internals and fine to import."""
    known = modules()
    found = {name: borrowed(name, path, known) for name, path in known.items()}
    assert not {name: used for name, used in found.items() if used}
