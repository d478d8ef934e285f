"""The study's grid bookkeeping: shared mask seeds, hidden ink, results table, hidden-ink curves."""

import numpy as np
import pytest

pytest.importorskip("occmask.study")
from occmask.robustness.metrics import bootstrap_indices
from occmask.study.analysis import accuracy_by_hidden_ink, all_estimates, results_table
from occmask.study.config import make_config
from occmask.study.evaluate import Cell, hidden_ink, mask_for


def test_mask_for_is_exact_reproducible_and_shared_across_grids():
    c = make_config(videos=4)
    m = mask_for(c, "cgol", "evolving", 0.3, 2, (3, 64, 64))
    assert m.dtype == bool and m.shape == (3, 64, 64)
    assert (m.reshape(3, -1).sum(1) == round(0.3 * 4096)).all()
    other = make_config(videos=9, coverages=[0.3], families=["cgol"])
    np.testing.assert_array_equal(m, mask_for(other, "cgol", "evolving", 0.3, 2, (3, 64, 64)))
    assert not np.array_equal(m, mask_for(c, "cgol", "evolving", 0.3, 3, (3, 64, 64)))
    assert not mask_for(c, "perlin", "static", 0.0, 0, (2, 64, 64)).any()


def test_static_masks_repeat_over_frames():
    m = mask_for(make_config(videos=4), "perlin", "static", 0.4, 0, (4, 64, 64))
    assert all(np.array_equal(m[0], m[t]) for t in range(4))


def test_hidden_ink_by_hand():
    frames = np.zeros((2, 4, 4), np.uint8)
    frames[:, 1:3, 1:3] = [[255, 200], [127, 128]]  # three ink pixels (>= 128), one faint pixel
    mask = np.zeros((2, 4, 4), bool)
    mask[0, 1, 1] = True  # hides one of three ink pixels
    mask[1, 2, 1] = True  # hides only the faint pixel
    np.testing.assert_allclose(hidden_ink(frames, mask), [1 / 3, 0.0])
    assert np.isnan(hidden_ink(np.zeros((1, 4, 4), np.uint8), mask[:1]))[0]


def _cell(family, coverage, logp, share):
    n, t, _ = logp.shape
    ones = np.ones((n, t))
    return Cell("evolving", family, coverage, logp, share, coverage * ones, 0.1 * ones, ones.astype(int))


def test_results_table_pairs_against_the_reference():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 6)
    right = np.log(np.full((6, 2, 3), 0.1))
    right[np.arange(6), :, labels] = np.log(0.8)
    wrong = right[:, :, ::-1].copy()
    share = rng.uniform(0, 1, (6, 2))
    cells = [_cell("bernoulli", 0.5, right, share), _cell("perlin", 0.5, wrong, share)]
    config = make_config(families=["bernoulli", "perlin"], coverages=[0.5], temporal=["evolving"], videos=6)
    found = all_estimates(cells, labels, bootstrap_indices(6, 100, rng))
    rows = results_table(cells, labels, config, found)
    assert len(rows) == 2 * 4 and {r["level"] for r in rows} == {"frame", "video"}
    bern = [r for r in rows if r["family"] == "bernoulli"]
    assert all(r["accuracy"] == 1 and r["accuracy_minus_reference"] == 0 for r in bern)
    perlin_video = next(r for r in rows if r["family"] == "perlin" and r["rule"] == "mean_logprob")
    expected = np.mean(labels == 2 - labels)  # reversing the classes maps label y to 2 - y
    assert perlin_video["accuracy"] == pytest.approx(expected)
    assert perlin_video["accuracy_minus_reference"] == pytest.approx(expected - 1)
    assert perlin_video["n_items"] == 6 and rows[0]["n_items"] == 12
    assert perlin_video["realised_coverage"] == 0.5 and perlin_video["n_components"] == 1


def test_accuracy_by_hidden_ink_bins_frames():
    labels = np.array([0, 0])
    logp = np.log(np.array([[[0.9, 0.1], [0.2, 0.8]], [[0.9, 0.1], [0.9, 0.1]]]))
    share = np.array([[0.05, 0.95], [0.55, 1.0]])
    curve = accuracy_by_hidden_ink([_cell("perlin", 0.5, logp, share)], labels)["perlin"]
    assert curve.count.tolist() == [1, 0, 0, 0, 0, 1, 0, 0, 0, 2]
    assert curve.correct.tolist() == [1, 0, 0, 0, 0, 1, 0, 0, 0, 1]
    assert curve.accuracy[9] == 0.5 and np.isnan(curve.accuracy[1])
    assert curve.lo[9] < 0.5 < curve.hi[9]
