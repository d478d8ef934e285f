"""One registry: every part of occmask takes its list of families from ``occmask.FAMILIES``."""

import ast
import importlib.util
import inspect
import re
from pathlib import Path

import numpy as np
import pytest

import occmask as om
from occmask.families import BUILTIN
from occmask.families._docs import ENTRIES, fill
from occmask.families._family import signature_defaults

ROOT = Path(__file__).resolve().parents[1]
SRC = Path(om.__file__).resolve().parent


def test_builtin_families_are_registered_in_display_order():
    assert tuple(om.FAMILIES)[: len(BUILTIN)] == BUILTIN
    for name in BUILTIN:
        family = om.FAMILIES[name]
        assert family.name == name
        assert family.summary
        assert family.field.__module__ == f"occmask.families.{name}"


@pytest.mark.parametrize("name", BUILTIN)
def test_family_functions_share_generates_arguments(name):
    """Each family's function is exported, takes (shape, coverage) first and generate's defaults (its
    own parameters' defaults are the family's, read from its signature)."""
    function = getattr(om, name)
    assert name in om.__all__
    common = ("rng", "match", "temporal", "region")
    parameters = inspect.signature(function).parameters
    assert list(parameters)[:2] == ["shape", "coverage"]
    assert all(parameters[p].default == inspect.signature(om.generate).parameters[p].default for p in common)


@pytest.mark.parametrize("name", BUILTIN)
def test_family_docstrings_document_every_parameter_in_full(name):
    """Every parameter of a family's function has one entry in its docstring, the shared ones filled
    in (for ``help()`` and the doctests); the API reference fills in the source's docstring alike."""
    function = getattr(om, name)
    doc = inspect.cleandoc(function.__doc__)
    assert "%(" not in doc
    documented = re.findall(r"^(\w+) : ", doc, re.MULTILINE)
    assert sorted(documented) == sorted(inspect.signature(function).parameters)
    assert all(entry in doc for entry in ENTRIES.values())
    tree = ast.parse((SRC / "families" / f"{name}.py").read_text(encoding="utf-8"))
    (source,) = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == name]
    assert "%(shape)s" in ast.get_docstring(source)
    assert fill(ast.get_docstring(source)) == doc
    defaults = signature_defaults(function)
    for parameter, written in re.findall(r"^(\w+) : .*, default (.+)$", doc, re.MULTILINE):
        assert ast.literal_eval(written) == defaults[parameter], (parameter, written)  # the signature's


def test_signature_defaults_sees_a_wrong_default():
    def wrong(shape, coverage, *, rng=None, match="frame", temporal="evolving", scale=3.0):
        raise AssertionError

    assert signature_defaults(wrong) == {"scale": 3.0} != dict(om.FAMILIES["perlin"].defaults)


def test_display_colours_are_distinct():
    colours = [f.colour for f in om.FAMILIES.values() if f.name in BUILTIN]
    assert len(set(colours)) == len(colours)
    assert all(re.fullmatch(r"#[0-9a-fA-F]{6}", c) for c in colours)


def _family_lists(path: Path) -> list[str]:
    """Literal tuples, lists, sets and dict keys in a file that name three or more built-in families
    (``__all__``, the names a module exports, aside)."""
    tree = ast.parse(path.read_text())
    exports = {
        id(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in node.targets)
    }
    found = []
    for node in ast.walk(tree):
        if id(node) in exports:
            continue
        items = node.keys if isinstance(node, ast.Dict) else getattr(node, "elts", None)
        if not isinstance(node, (ast.Tuple, ast.List, ast.Set, ast.Dict)) or items is None:
            continue
        names = {i.value for i in items if isinstance(i, ast.Constant) and i.value in BUILTIN}
        if len(names) >= 3:
            found.append(f"{path}:{node.lineno}")
    return found


def test_no_other_list_of_families():
    """Outside the registry, no module, script or test writes its own list of families."""
    files = [
        *(p for p in SRC.rglob("*.py") if p != SRC / "families" / "__init__.py"),
        *(ROOT / "docs").rglob("*.py"),
        *(ROOT / "benchmarks").rglob("*.py"),
        *(ROOT / "tests").rglob("*.py"),
    ]
    found = [where for path in files for where in _family_lists(path)]
    assert not found, f"family lists outside occmask.FAMILIES: {found}"
    assert _family_lists(SRC / "families" / "__init__.py")  # the check does see the one list


@pytest.mark.repo_files("mkdocs.yml", "docs")
def test_everything_derives_from_the_registry():
    from occmask.cli import build_parser

    help_text = build_parser()._subparsers._group_actions[0].choices["study"].format_help()
    assert all(name in " ".join(help_text.split()) for name in om.FAMILIES)
    pytest.importorskip("occmask.study")
    from occmask.study.config import make_config

    assert make_config().families == tuple(om.FAMILIES)
    hooks = _docs_hooks()
    pages = [path for entry in hooks.family_pages() for path in entry.values()]
    assert pages == [f"families/{name}.md" for name in BUILTIN]
    assert all((ROOT / "docs" / p).is_file() for p in pages)
    api = hooks.api_markdown((ROOT / "docs" / "api.md").read_text())
    assert all(f"::: occmask.{name}\n" in api for name in BUILTIN)


def _docs_hooks():
    spec = importlib.util.spec_from_file_location("occmask_docs_hooks", ROOT / "docs" / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _stripes(shape, rng, temporal, need, *, period=6):
    t, _h, w = shape
    phase = rng.random((t, 1, 1)) * period
    columns = (np.arange(w)[None, None, :] + phase) % period
    return (columns + 1e-3 * rng.random(shape)).astype(np.float32)


def test_register_twice_is_an_error_unless_replace():
    first = om.register_family(om.Family("test_stripes", "stripes", _stripes, defaults={"period": 6}))
    assert om.FAMILIES["test_stripes"] is first
    with pytest.raises(ValueError, match="'test_stripes' is already registered; pass replace=True"):
        om.register_family(om.Family("test_stripes", "again", _stripes, defaults={"period": 6}))
    assert om.FAMILIES["test_stripes"] is first
    with pytest.raises(ValueError, match="'perlin' is already registered"):
        om.register_family(om.Family("perlin", "mine", _stripes))
    expected = om.generate("test_stripes", (4, 16, 16), 0.5, rng=0, match="expected")
    second = om.register_family(
        om.Family("test_stripes", "narrow", _stripes, defaults={"period": 3}), replace=True
    )
    assert om.FAMILIES["test_stripes"] is second
    again = om.generate("test_stripes", (4, 16, 16), 0.5, rng=0, match="expected")
    assert not np.array_equal(again, expected)  # the new field, calibrated afresh
    field = _stripes((4, 16, 16), np.random.default_rng(0), "evolving", None, period=3)
    np.testing.assert_array_equal(om.generate("test_stripes", (4, 16, 16), 0.5, rng=0), om.cut(field, 0.5))


@pytest.mark.parametrize(
    ("make", "error", "words"),
    [
        (lambda: om.Family("Bad Name", "x", _stripes), ValueError, ["name", "'Bad Name'"]),
        (lambda: om.Family("ok", "x", None), TypeError, ["field", "callable"]),
        (lambda: om.Family("ok", "x", _stripes, defaults={"rng": 1}), ValueError, ["'rng'"]),
        (
            lambda: om.Family("ok", "x", _stripes, defaults={"sizes": [1, 2]}),
            TypeError,
            ["unhashable", "sizes"],
        ),
        (lambda: om.Family("ok", "x", _stripes, colour="red"), ValueError, ["colour", "'red'"]),
        (lambda: om.register_family("perlin"), TypeError, ["occmask.Family", "str"]),
        (lambda: om.register_family(om.FAMILIES["perlin"], replace=1), TypeError, ["replace", "1"]),
    ],
)
def test_bad_families_are_refused(make, error, words):
    with pytest.raises(error) as info:
        make()
    assert all(w in str(info.value) for w in words), str(info.value)


def test_a_field_that_breaks_the_contract_is_refused():
    om.register_family(
        om.Family("test_float64", "wrong dtype", lambda shape, rng, temporal, need: np.zeros(shape))
    )
    with pytest.raises(TypeError, match="'test_float64' must return a float32 ndarray of shape"):
        om.generate("test_float64", (8, 8), 0.5)
    nan = np.full((1, 8, 8), np.nan, np.float32)
    om.register_family(om.Family("test_nan", "NaN", lambda shape, rng, temporal, need: nan))
    with pytest.raises(ValueError, match="'test_nan' holds NaN or -inf"):
        om.generate("test_nan", (8, 8), 0.5)
    listed = om.Family("test_list", "list", _stripes, defaults={"period": 6}, check=lambda p: {"period": [6]})
    om.register_family(listed)
    with pytest.raises(TypeError, match="parameter 'period' of family 'test_list' must be hashable"):
        om.generate("test_list", (8, 8), 0.5)


def test_remembered_parameters_keep_types_apart_and_are_copies():
    fam = om.FAMILIES["rectangles"]
    first = fam.params({"speed": 1, "size": (10, 20)})
    first["speed"] = -5.0  # the caller's copy: the remembered one is untouched
    assert fam.params({"speed": 1, "size": (10, 20)})["speed"] == 1.0
    same_hashes = ({"speed": True, "size": (10, 20)}, {"speed": 1, "size": (True, 20)},
                   {"speed": np.bool_(True), "size": (10, 20)})  # fmt: skip
    for bad in same_hashes:  # equal to the remembered set as Python compares values
        with pytest.raises(TypeError, match=r"speed|size"):
            fam.params(bad)
    assert fam.params({"speed": np.float64(1)})["speed"] == 1.0


def test_a_user_familys_check_runs_every_time():
    calls = []

    def check(params):
        calls.append(params)
        return params

    def field(shape, rng, temporal, need, k):
        return rng.random(shape, np.float32)

    noise = om.Family("memo_doc", "i.i.d.", field, defaults={"k": 1}, check=check)
    noise.params({"k": 2})
    noise.params({"k": 2})
    assert len(calls) == 2
