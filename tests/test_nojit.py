"""Every kernel gives the same result without the JIT (``NUMBA_DISABLE_JIT=1``, how Numba code is
debugged): the kernel-versus-reference tests pass as plain Python, and masks, labels,
descriptors and occluded data are identical to the compiled ones."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import occmask as om
from occmask.families import TEMPORAL

#: The tests that check each kernel against a slow, obvious reference, on small inputs.
REFERENCE_TESTS = ["test_kernels.py", "test_describe.py", "test_calibrate.py", "test_edge_inputs.py"]

CASES = [
    (family, temporal, match)
    for family in om.FAMILIES
    for temporal in TEMPORAL
    for match in ("frame", "video")
]


def compute(path):
    """Every case's mask, labels, descriptors and occluded data, saved to ``path`` (.npz)."""
    results = {}
    for n, (family, temporal, match) in enumerate(CASES):
        mask = om.generate(family, (3, 13, 11), 0.37, rng=n, temporal=temporal, match=match)
        d = om.describe(mask, 8, spatiotemporal=True)
        data = np.arange(mask.size * 2, dtype=np.float32).reshape(3, 2, 13, 11)
        results[f"{n}_mask"] = mask
        results[f"{n}_labels"] = om.label(mask, 8, spatiotemporal=True)[0]
        results[f"{n}_occluded"] = om.occlude(data, mask, fill=-1)
        results[f"{n}_describe"] = np.array(
            [*d.n_components, *d.largest_component, *d.boundary, d.n_components_3d, d.largest_component_3d]
        )
    np.savez(path, **results)


def run(args, jit, timeout):
    env = {**os.environ, "NUMBA_DISABLE_JIT": "0" if jit else "1"}
    root = Path(__file__).parent.parent
    return subprocess.run(
        [sys.executable, *args], env=env, cwd=root, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.slow
def test_reference_tests_pass_without_jit():
    files = [f"tests/{name}" for name in REFERENCE_TESTS]
    result = run(["-m", "pytest", "-q", "-p", "no:cacheprovider", *files], jit=False, timeout=1200)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
    assert "skipped" not in result.stdout


@pytest.mark.slow
def test_results_are_the_same_without_jit(tmp_path):
    for jit in (True, False):
        done = run([__file__, str(tmp_path / f"{jit}.npz")], jit=jit, timeout=600)
        assert done.returncode == 0, done.stderr[-4000:]
    with np.load(tmp_path / "True.npz") as compiled, np.load(tmp_path / "False.npz") as plain:
        assert sorted(compiled.files) == sorted(plain.files)
        assert len(compiled.files) == 4 * len(CASES)
        for name in compiled.files:
            np.testing.assert_array_equal(plain[name], compiled[name], err_msg=name)


if __name__ == "__main__":
    compute(sys.argv[1])
