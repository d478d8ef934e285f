"""The documentation works: its examples run, its images exist, its API reference is complete.

- every ```python block of every page under docs/ runs, the blocks of one page in
  order in one fresh namespace, inside a temporary folder; a block that is a complete
  script (``if __name__ == "__main__":``) runs as one, in a fresh interpreter (pages
  whose examples need torch are skipped where torch is missing);
- every image a page references exists;
- every public name of occmask, occmask.calibrate, occmask.torch and
  occmask.testing is in the API reference;
- the docstring examples of every module of the package pass (doctest);
- the gallery script draws the same figure twice from its seeds.
"""

from __future__ import annotations

import ast
import doctest
import importlib
import importlib.util
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import occmask
from occmask.families import BUILTIN

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = [page for page in (*sorted(DOCS.rglob("*.md")), ROOT / "README.md") if page.is_file()]
SRC = Path(occmask.__file__).resolve().parent

_BLOCK = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|<img\b[^>]*\bsrc=\"([^\"]+)\"")
_SCRIPT = re.compile(r"^if __name__ == [\"']__main__[\"']:", re.MULTILINE)
_TORCH = re.compile(
    r"^\s*(?:import torch|from torch\b|from occmask\.torch\b|import occmask\.torch\b)", re.MULTILINE
)


def _page_id(page: Path) -> str:
    return page.relative_to(DOCS if page.is_relative_to(DOCS) else ROOT).as_posix()


def python_blocks(text: str) -> list[str]:
    """The ```python code blocks of a Markdown page, dedented, in order."""
    blocks = []
    for match in _BLOCK.finditer(text):
        if match.group("lang") not in ("python", "py"):
            continue
        indent = len(match.group("indent"))
        blocks.append("\n".join(line[indent:] for line in match.group("body").splitlines()))
    return blocks


@pytest.mark.repo_files("docs")
def test_pages_exist():
    names = {_page_id(p) for p in PAGES}
    for page in (
        "index.md",
        "getting-started.md",
        "concepts.md",
        "descriptors.md",
        "testing.md",
        "study.md",
        "benchmarks.md",
        "api.md",
        *(f"families/{name}.md" for name in BUILTIN),
    ):
        assert page in names


@pytest.mark.repo_files("README.md", "docs/getting-started.md")
def test_test_command_is_the_same_everywhere():
    """The CI command in the README (the ``ci:test`` block) is the one the docs show."""
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"<!-- ci:test -->\s*```bash\n(.+?)\n```", readme, re.S).group(1).strip()
    assert command.startswith("pip install")
    assert "pytest" in command
    assert command in (DOCS / "getting-started.md").read_text()


def test_block_extraction():
    text = "a\n```python\nx = 1\n```\n\n```bash\nls\n```\n    ```python\n    y = 2\n    ```\n"
    assert python_blocks(text) == ["x = 1", "y = 2"]


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p.read_text())], ids=_page_id)
def test_code_blocks_run(page, tmp_path, monkeypatch, capsys):
    blocks = python_blocks(page.read_text())
    if any(_TORCH.search(b) for b in blocks):
        pytest.importorskip("torch")
    if any("hypothesis" in b for b in blocks):
        pytest.importorskip("hypothesis")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "docs_example"}
    for i, block in enumerate(blocks):
        if _SCRIPT.search(block):
            # A complete script (e.g. DataLoader workers started with spawn need an importable
            # __main__): run it as one, in a fresh interpreter.
            script = tmp_path / f"block_{i}.py"
            script.write_text(block)
            done = subprocess.run(
                [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300
            )
            assert done.returncode == 0, f"{_page_id(page)} block {i} failed:\n{done.stdout}\n{done.stderr}"
            continue
        code = compile(block, f"{_page_id(page)}[block {i}]", "exec")
        exec(code, namespace)
    capsys.readouterr()


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_referenced_images_exist(page):
    text = page.read_text()
    for match in _IMAGE.finditer(text):
        target = match.group(1) or match.group(2)
        if re.match(r"[a-z]+:", target):
            pytest.fail(f"{_page_id(page)} references a remote image {target}; the site must build offline")
        path = (page.parent / target.split("#")[0]).resolve()
        assert path.is_file(), f"{_page_id(page)} references {target}, which does not exist"


def _declared_all(module_path: Path) -> list[str]:
    """``__all__`` of a module, read from its source (no import: torch may be missing)."""
    tree = ast.parse(module_path.read_text())
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                return list(ast.literal_eval(node.value))
    raise AssertionError(f"{module_path} has no __all__")


def _hooks():
    spec = importlib.util.spec_from_file_location("occmask_docs_hooks", DOCS / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.repo_files("docs/api.md", "docs/hooks.py")
def test_api_reference_lists_every_public_name():
    api = _hooks().api_markdown((DOCS / "api.md").read_text())  # as the site renders it
    directives = set(re.findall(r"^::: ([\w.]+)", api, re.MULTILINE))
    for name in occmask.__all__:
        assert f"occmask.{name}" in directives, f"occmask.{name} is missing from docs/api.md"
    for module in ("calibrate", "torch", "testing"):
        path = SRC / f"{module}.py" if (SRC / f"{module}.py").exists() else SRC / module / "__init__.py"
        assert f"occmask.{module}" in directives, f"occmask.{module} is missing from docs/api.md"
        section = api.split(f"::: occmask.{module}", 1)[1].split(":::", 1)[0]
        listed = set(re.findall(r"^\s+- (\w+)\s*$", section, re.MULTILINE))
        for name in _declared_all(path):
            documented = (
                name in listed
                or f"occmask.{module}.{name}" in directives
                or (name in occmask.__all__ and f"occmask.{name}" in directives)
            )  # re-exported
            assert documented, f"occmask.{module}.{name} is missing from docs/api.md"


def _modules() -> list[str]:
    names = ["occmask"]
    for info in pkgutil.walk_packages([str(SRC)], prefix="occmask."):
        names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name):
    if name.startswith(("occmask.torch", "occmask.study")):
        pytest.importorskip("torch")
    if name == "occmask.testing":
        pytest.importorskip("hypothesis")
    try:
        module = importlib.import_module(name)
    except ImportError as error:  # an optional dependency of that module is missing
        pytest.skip(f"{name} does not import here: {error}")
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed"


def _gallery():
    if str(DOCS) not in sys.path:
        sys.path.insert(0, str(DOCS))  # gallery.py imports its figure modules from docs/figures/
    spec = importlib.util.spec_from_file_location("occmask_docs_gallery", DOCS / "gallery.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.repo_files("docs/gallery.py")
def test_gallery_is_deterministic(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    pytest.importorskip("PIL")
    from PIL import Image

    gallery = _gallery()
    pixels = []
    for run in ("a", "b"):
        monkeypatch.setattr(gallery.common, "OUT", tmp_path / run)
        (tmp_path / run).mkdir()
        (path,) = gallery.FIGURES["families"]()
        pixels.append(np.asarray(Image.open(path).convert("RGB")))
    np.testing.assert_array_equal(pixels[0], pixels[1])
