"""occmask.robustness.evaluate on awkward inputs: seeded noise fills, model outputs of every kind,
arguments of the wrong type, and the base install without torch or tqdm."""

import sys

import numpy as np
import pytest

import occmask as om
from occmask.robustness import compare, evaluate
from occmask.robustness.cells import fill_seed

GRID = {"families": ("bernoulli", "perlin"), "coverages": (0.0, 0.5), "n_boot": 20, "progress": False}


def _data(n=12, size=16, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 1, size, size), dtype=np.float32)
    return x, (x[:, 0, :8].mean((1, 2)) > x[:, 0, 8:].mean((1, 2))).astype(int)


def _logits(batch):
    """Top half brighter than the bottom half -> class 1 (NumPy or torch in, NumPy out)."""
    b = np.asarray(batch)
    top, bottom = b[:, 0, :8].mean((1, 2)), b[:, 0, 8:].mean((1, 2))
    return (20 * np.stack([bottom - top, top - bottom], axis=1)).astype(np.float32)


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# ----------------------------------------------------------------- noise fill


def test_a_noise_fill_comes_from_the_cells_seed():
    data = _data()
    a = evaluate(_logits, data, fill="noise", batch_size=5, **GRID)
    b = evaluate(_logits, data, fill="noise", batch_size=7, **GRID)
    cell = a.cell("evolving", "perlin", 0.5)
    np.testing.assert_array_equal(cell.logp, b.cell("evolving", "perlin", 0.5).logp)
    assert a.rows == b.rows
    x = data[0]
    for i in (0, 11):
        mask = a.mask(i, family="perlin", coverage=0.5)
        seen = om.occlude(x[i][None], mask[None], "noise", rng=fill_seed(0, "perlin", 0.5, "evolving", i))
        np.testing.assert_allclose(
            cell.logp[i, 0], np.log(_softmax(_logits(seen).astype(np.float64)))[0], atol=1e-5
        )


# ----------------------------------------------------------------- outputs


def test_probabilities_are_recognised_or_declared():
    data = _data()
    logits = evaluate(_logits, data, **GRID)
    probs = evaluate(lambda b: _softmax(_logits(b)), data, **GRID)
    declared = evaluate(lambda b: _softmax(_logits(b)), data, output="probs", **GRID)
    logprobs = evaluate(lambda b: np.log(_softmax(_logits(b))), data, output="logprobs", **GRID)
    assert probs.setting.output == "probs"
    assert logits.setting.output == "logits"
    for other in (probs, declared, logprobs):
        for mine, theirs in zip(logits.rows, other.rows, strict=True):
            assert mine["accuracy"] == theirs["accuracy"]
            assert mine["nll"] == pytest.approx(theirs["nll"], rel=1e-4, abs=1e-6)
    with pytest.raises(ValueError, match="output='probs' needs rows of probabilities"):
        evaluate(_logits, data, output="probs", **GRID)
    with pytest.raises(ValueError, match="output"):
        evaluate(_logits, data, output="softmax", **GRID)


def test_non_finite_outputs_are_refused_naming_the_cell():
    data = _data()
    with pytest.raises(ValueError, match="non-finite logits on the clean samples"):
        evaluate(lambda b: np.full((len(b), 2), np.nan), data, **GRID)

    def breaks_when_occluded(batch):
        out = _logits(batch)
        out[(np.asarray(batch) == 0).any(axis=(1, 2, 3))] = np.inf
        return out

    with pytest.raises(ValueError, match=r"non-finite logits on cell \(evolving, bernoulli, coverage 0.5\)"):
        evaluate(breaks_when_occluded, data, **GRID)


@pytest.mark.parametrize(
    ("model", "error", "message"),
    [
        (lambda b: (_logits(b), None), TypeError, "returned a tuple"),
        (lambda b: None, TypeError, "returned a NoneType"),
        (lambda b: _logits(b).tolist(), TypeError, "returned a list"),
        (lambda b: "cat", TypeError, "returned a str"),
        (lambda b: _logits(b)[:, 0], ValueError, r"logits \(N, K\)"),
        (lambda b: _logits(b)[:-1], ValueError, r"logits \(N, K\)"),
        (lambda b: _logits(b).astype(bool), TypeError, "dtype bool"),
    ],
)
def test_outputs_of_the_wrong_kind_are_named(model, error, message):
    with pytest.raises(error, match=message):
        evaluate(model, _data(), **GRID)


# ----------------------------------------------------------------- arguments


def test_a_numpy_scalar_coverage_is_one_coverage():
    r = evaluate(_logits, _data(), families=("bernoulli", "perlin"), coverages=np.float32(0.5), n_boot=20,
                 progress=False)  # fmt: skip
    assert {row["coverage"] for row in r.rows} == {0.5}
    r = evaluate(
        _logits, _data(), families=("perlin",), coverages=np.array([0.0, 0.5]), n_boot=20, progress=False
    )
    assert {row["coverage"] for row in r.rows} == {0.0, 0.5}


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"coverages": "0.5"}, TypeError, "coverages must be a number or a sequence"),
        ({"coverages": {0.5: 1}}, TypeError, "coverages must be a number or a sequence"),
        ({"coverages": None}, TypeError, "coverages must be a real number, got None"),
        ({"device": "xpu"}, ValueError, "device 'xpu' is not available"),
        ({"device": "meta"}, ValueError, "device 'meta' holds no data"),
    ],
)
def test_bad_arguments_get_clear_errors(kwargs, error, message):
    pytest.importorskip("torch")
    with pytest.raises(error, match=message):
        evaluate(_logits, _data(), **{**GRID, **kwargs})


def test_a_dict_is_not_data():
    x, y = _data()
    with pytest.raises(TypeError, match=r"data must be a pair .* got dict"):
        evaluate(_logits, {"x": x, "y": y}, **GRID)


def test_compare_takes_two_reports():
    r = evaluate(_logits, _data(), **GRID)
    with pytest.raises(TypeError, match=r"report_b must be a Report .* got int"):
        compare(r, 3)
    with pytest.raises(TypeError, match=r"report_a must be a Report .* got list"):
        compare(r.rows, r)


# ----------------------------------------------------------------- without torch and tqdm


def test_the_base_install_runs_a_numpy_model(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    seen = []

    def model(batch):
        seen.append(type(batch))
        return _logits(batch)

    r = evaluate(model, _data(), families=("bernoulli", "perlin"), coverages=(0.0, 0.5), n_boot=20)
    assert set(seen) == {np.ndarray}
    assert len(r.rows) == 4
    with pytest.raises(ModuleNotFoundError, match=r"occmask\[torch\]"):
        evaluate(model, _data(), device="cuda", **GRID)
