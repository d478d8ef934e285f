"""Packaging promises: light import, Numba kernel options, read-only installs, warm-up."""

import importlib
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from numba.core.registry import CPUDispatcher

import occmask as om

MODULES = ["occmask.calibrate", "occmask.describe", "occmask.families.perlin", "occmask.families.cgol",
           "occmask.families.triangles"]


def dispatchers():
    for name in MODULES:
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if isinstance(value, CPUDispatcher) and value.__module__ == name:
                yield f"{name}.{attr}", value


def test_kernels_are_cached_nogil_and_serial():
    found = dict(dispatchers())
    assert len(found) >= 15, sorted(found)
    for name, kernel in found.items():
        assert kernel.targetoptions.get("nogil") is True, name
        assert not kernel.targetoptions.get("parallel"), name
        assert type(kernel._cache).__name__ != "NullCache", f"{name} is not cache=True"


ENTRY_KERNELS = {"occmask.calibrate._cut_rows", "occmask.describe._label", "occmask.describe._measure",
                 "occmask.families.perlin._noise_field", "occmask.families.cgol._life_fields",
                 "occmask.families.triangles._draw"}


def test_warmup_compiles_every_entry_kernel():
    """The kernels called from Python are compiled by warmup (the others are inlined into them)."""
    om.warmup()
    compiled = {name for name, kernel in dispatchers() if kernel.signatures}
    missing = ENTRY_KERNELS - compiled
    assert not missing, f"not compiled by warmup(): {missing}"


def test_import_does_not_load_torch_or_plotting():
    code = "import sys, occmask; print(sorted(m for m in ('torch', 'matplotlib', 'hypothesis') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_works_from_a_read_only_install(tmp_path):
    """A copy of the installed package in a read-only folder imports and generates masks.

    Root ignores file modes, so each package folder also gets a plain file named
    ``__pycache__``: nothing can be cached inside the package, as in a read-only install.
    """
    site = tmp_path / "site"
    shutil.copytree(Path(om.__file__).parent, site / "occmask", ignore=shutil.ignore_patterns("__pycache__"))
    for package in [p.parent for p in (site / "occmask").rglob("__init__.py")]:
        (package / "__pycache__").write_text("")
    for path in [site, *site.rglob("*")]:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    code = textwrap.dedent("""
        import occmask as om
        m = om.generate("bernoulli", (3, 16, 16), 0.4, rng=0)
        assert m.sum() == 3 * 102, m.sum()
        print(om.describe(m).n_components.tolist(), om.__file__)
    """)
    env = {**os.environ, "PYTHONPATH": str(site), "HOME": str(tmp_path / "home"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.pop("NUMBA_CACHE_DIR", None)
    try:
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    finally:
        for path in [site, *site.rglob("*")]:
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
    assert result.returncode == 0, result.stderr
    assert str(site) in result.stdout
    assert not list((site / "occmask").rglob("*.nbi")), "numba wrote its cache into the read-only folder"
    assert list((tmp_path / "cache").rglob("*.nbi")), "numba did not fall back to the user cache folder"
