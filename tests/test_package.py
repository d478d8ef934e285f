"""Packaging promises: light import, Numba kernel options, read-only installs, warm-up."""

import contextlib
import importlib
import os
import re
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
from numba.core.registry import CPUDispatcher

import occmask as om
from occmask import _jit
from occmask.families import BUILTIN

#: Modules with kernels: the shared ones, and every built-in family's module.
MODULES = [
    "occmask._fill",
    "occmask._cut",
    "occmask.describe",
    "occmask._noise",
    *(f"occmask.families.{name}" for name in BUILTIN),
]


def dispatchers(compile_first=True):
    for name in MODULES:
        module = importlib.import_module(name)
        if compile_first:
            _jit.compile_module(name)
        for attr, value in vars(module).items():
            if isinstance(value, CPUDispatcher) and value.__module__ == name:
                yield f"{name}.{attr}", value


def test_kernels_are_cached_nogil_and_serial():
    found = dict(dispatchers())
    assert len(found) >= 15, sorted(found)
    for name in MODULES:  # no kernel is left uncompiled once its module is
        stubs = [
            attr
            for attr, value in vars(importlib.import_module(name)).items()
            if isinstance(value, _jit._Kernel)
        ]
        assert not stubs, f"{name}: {stubs}"
    for name, kernel in found.items():
        assert kernel.targetoptions.get("nogil") is True, name
        assert not kernel.targetoptions.get("parallel"), name
        assert type(kernel._cache).__name__ != "NullCache", f"{name} is not cache=True"


ENTRY_KERNELS = {
    "occmask._fill._fill_where",
    "occmask._cut.cut_rows",
    "occmask.describe._label",
    "occmask.describe._measure",
    "occmask._noise._fractal_field",
}


def test_warmup_compiles_every_entry_kernel():
    """The kernels called from Python are compiled by warmup (the others are inlined into them),
    and no family compiles anything more afterwards, in any mode."""
    om.warmup()
    compiled = {name: len(kernel.signatures) for name, kernel in dispatchers(compile_first=False)}
    missing = ENTRY_KERNELS - {name for name, count in compiled.items() if count}
    assert not missing, f"not compiled by warmup(): {missing}"
    for family in BUILTIN:
        for temporal in om.families.TEMPORAL:
            for match in ("frame", "video", "expected"):
                om.generate(family, (3, 12, 10), 0.3, rng=1, temporal=temporal, match=match)
    after = {name: len(kernel.signatures) for name, kernel in dispatchers(compile_first=False)}
    assert after == compiled, "compiled after warmup(): " + str(
        sorted(name for name in after if after[name] != compiled.get(name))
    )


def test_import_does_not_load_numba_torch_or_plotting():
    heavy = ("numba", "opensimplex", "torch", "matplotlib", "hypothesis", "scipy")
    code = f"import sys, occmask; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_first_kernel_call_compiles_its_module_only():
    """In a fresh process, the first call of a kernel swaps every kernel of its module for a
    Numba dispatcher (kernels calling kernels included) and leaves other modules alone."""
    code = textwrap.dedent("""
        import importlib, sys
        import numpy as np
        from occmask import _jit, _cut
        from occmask import _noise
        assert isinstance(_cut.cut_rows, _jit._Kernel) and "numba" not in sys.modules
        field = np.arange(12, 0, -1, dtype=np.float32).reshape(2, 6)
        out = np.empty(field.shape, bool)
        _cut.cut_rows(field, 2, out)
        assert out.tolist() == [[False] * 4 + [True] * 2] * 2, out
        from numba.core.registry import CPUDispatcher
        kernels = [v for v in vars(_cut).values() if isinstance(v, (CPUDispatcher, _jit._Kernel))]
        assert len(kernels) >= 3 and all(isinstance(v, CPUDispatcher) for v in kernels), kernels
        describe = importlib.import_module("occmask.describe")  # the module, not the function
        assert isinstance(describe._measure, _jit._Kernel) and isinstance(_noise._simplex3, _jit._Kernel)
        next(_noise.fractal_noise_blocks((1, 4, 4), np.random.default_rng(0), "evolving", 1, scale=2.0,
                                         octaves=1, persistence=1.0, time_scale=1.0, basis="simplex",
                                         periodic=False))
        assert isinstance(_noise._simplex3, CPUDispatcher)
    """)
    subprocess.run([sys.executable, "-c", code], check=True)


def read_only_site(folder, packages):
    """Copies of installed packages in a read-only folder ``folder / "site"``; returns the folder.

    Root ignores file modes, so each package folder also gets a plain file named
    ``__pycache__``: nothing can be cached inside the package, as in a read-only install.
    """
    site = folder / "site"
    for package in packages:
        source = Path(importlib.import_module(package).__file__).parent
        shutil.copytree(source, site / package, ignore=shutil.ignore_patterns("__pycache__"))
    for package in [p.parent for p in site.rglob("__init__.py")]:
        (package / "__pycache__").write_text("")
    set_writable(site, False)
    return site


def set_writable(site, writable):
    for path in [site, *site.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode | stat.S_IWUSR if writable else mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def run_from(site, code, home, cache):
    """Run ``code`` in a fresh interpreter that imports from ``site``, with the given HOME and
    XDG_CACHE_HOME and no NUMBA_CACHE_DIR; make ``site`` writable again afterwards."""
    env = {**os.environ, "PYTHONPATH": str(site), "HOME": str(home), "XDG_CACHE_HOME": str(cache)}
    env.pop("NUMBA_CACHE_DIR", None)
    try:
        return subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            capture_output=True,
            text=True,
            env=env,
            timeout=900,
        )
    finally:
        set_writable(site, True)


def test_works_from_a_read_only_install(tmp_path):
    """A copy of the installed package in a read-only folder imports and generates masks, and
    Numba caches in the user cache folder."""
    site = read_only_site(tmp_path, ["occmask"])
    code = """
        import occmask as om
        m = om.generate("bernoulli", (3, 16, 16), 0.4, rng=0)
        assert m.sum() == 3 * 102, m.sum()
        print(om.describe(m).n_components.tolist(), om.__file__)
    """
    result = run_from(site, code, home=tmp_path / "home", cache=tmp_path / "cache")
    assert result.returncode == 0, result.stderr
    assert str(site) in result.stdout
    assert not list((site / "occmask").rglob("*.nbi")), "numba wrote its cache into the read-only folder"
    assert list((tmp_path / "cache").rglob("*.nbi")), "numba did not fall back to the user cache folder"


NO_CACHE_CODE = textwrap.dedent("""
    import warnings
    import numpy as np
    import occmask as om
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        calls = [(name, {}) for name in om.FAMILIES] + [("perlin", {"basis": "simplex"})]
        masks = [om.generate(name, (3, 20, 18), 0.4, rng=5, **params) for name, params in calls]
        masks.append(om.perlin((20, 18), 0.3, rng=1, match="expected"))
        d = om.describe(masks[0], spatiotemporal=True)
        labels = om.label(masks[1], 8)[0]
        hidden = om.occlude(np.ones((3, 2, 20, 18), np.float32), masks[2])
    np.savez(OUT, *masks, labels, hidden, d.boundary)
    print(len(caught))
    for w in caught:
        print(w.category.__name__, w.message)
""")


def test_works_without_any_writable_cache_folder(tmp_path):
    """A read-only occmask, a HOME and cache folder that cannot be created: every
    kernel compiles without the on-disk cache, the results are the usual ones, one warning says so."""
    site = read_only_site(tmp_path, ["occmask"])
    blocked = tmp_path / "file"
    blocked.write_text("")  # no folder can be made below a file
    out = tmp_path / "out.npz"
    result = run_from(
        site, f"OUT = {str(out)!r}\n" + NO_CACHE_CODE, home=blocked / "home", cache=blocked / "c"
    )
    assert result.returncode == 0, result.stderr[-4000:]
    count, *lines = result.stdout.strip().splitlines()
    assert count == "1", result.stdout
    assert lines[0].startswith("RuntimeWarning"), lines
    assert "NUMBA_CACHE_DIR" in lines[0], lines
    assert not list(site.rglob("*.nbi")), "numba wrote a cache into the read-only folder"
    exec(f"OUT = {str(tmp_path / 'here.npz')!r}\n" + NO_CACHE_CODE, {})  # the same, here
    with np.load(out) as there, np.load(tmp_path / "here.npz") as here:
        assert len(there.files) == len(om.FAMILIES) + 5  # a mask per family, 2 more, 3 results
        for name in here.files:
            np.testing.assert_array_equal(there[name], here[name], err_msg=name)


def test_first_calls_from_many_threads():
    """Threads that all make their first mask at once get the same masks as one thread."""
    code = textwrap.dedent("""
        from concurrent.futures import ThreadPoolExecutor
        import numpy as np
        import occmask as om
        jobs = [(family, seed) for family in om.FAMILIES for seed in range(3)]
        with ThreadPoolExecutor(8) as pool:
            masks = list(pool.map(lambda job: om.generate(job[0], (3, 24, 20), 0.4, rng=job[1]), jobs))
        for (family, seed), mask in zip(jobs, masks):
            assert np.array_equal(mask, om.generate(family, (3, 24, 20), 0.4, rng=seed)), family
    """)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=600)


def test_tests_beside_an_installed_package_skip_what_needs_the_repository(tmp_path):
    """A copy of tests/ alone (as beside an installed wheel): the tests that read docs/, benchmarks/,
    README.md or mkdocs.yml are skipped, not failed or broken at collection."""
    shutil.copytree(Path(__file__).parent, tmp_path / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    files = ["tests/test_docs.py", "tests/test_benchmarks.py", "tests/test_registry.py"]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rs",
            "-p",
            "no:cacheprovider",
            *files,
            "-k",
            "not docstring_examples and not defaults and not signature",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = done.stdout
    assert done.returncode == 0, out[-4000:] + done.stderr[-2000:]
    for reason in ("the benchmarks are not part of an installed package", "files of the source repository"):
        assert reason in out, out[-4000:]
    assert "error" not in out.lower().replace("-w error", ""), out[-4000:]


def test_one_version():
    """The version has one source, ``occmask.__version__``: the build backend and the changelog read it."""
    from importlib import metadata

    root = Path(__file__).resolve().parents[1]
    assert re.fullmatch(r"\d+\.\d+\.\d+(\.dev\d+)?", om.__version__)
    with contextlib.suppress(metadata.PackageNotFoundError):  # a source tree that is not installed
        assert metadata.version("occmask") == om.__version__
    if (root / "pyproject.toml").is_file():
        text = (root / "pyproject.toml").read_text()
        assert 'dynamic = ["version"]' in text
        assert 'path = "src/occmask/__init__.py"' in text
    if (root / "CHANGELOG.md").is_file():
        releases = re.findall(r"^## \[(\d[^\]]*)\]", (root / "CHANGELOG.md").read_text(), re.MULTILINE)
        assert releases
        assert releases[0] == om.__version__
