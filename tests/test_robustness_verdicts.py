"""Verdicts of occmask.robustness: paired tests that can reject, at-chance and at-ceiling cells,
the signed calibration gap, minimal detectable differences, resolvability."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats

from occmask.robustness.metrics import ece, ece_parts
from occmask.robustness.stats import (
    above_chance,
    detectable,
    mcnemar,
    paired_t,
    smallest_p,
)

torch = pytest.importorskip("torch")
pytest.importorskip("tqdm")

import occmask as om  # noqa: E402
from occmask.robustness import compare, evaluate  # noqa: E402

# ----------------------------------------------------------------- the tests against textbooks


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 60), st.integers(0, 60), st.integers(0, 30))
def test_mcnemar_is_the_exact_binomial_test_of_the_discordant_pairs(b, c, ties):
    d = np.array([1] * b + [-1] * c + [0] * ties)
    expected = 1.0 if b + c == 0 else scipy_stats.binomtest(b, b + c, 0.5).pvalue
    assert mcnemar(d) == pytest.approx(expected, rel=1e-9, abs=1e-300)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(3, 200), st.floats(-1, 1))
def test_paired_t_is_scipys_ttest_rel(seed, n, shift):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    b = a + shift + rng.normal(size=n)
    assert paired_t(b - a) == pytest.approx(scipy_stats.ttest_rel(b, a).pvalue, rel=1e-9, abs=1e-300)


def test_paired_t_without_spread():
    assert paired_t(np.zeros(10)) == 1.0
    assert paired_t(np.full(10, 0.3)) == 0.0


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 100), st.integers(1, 100), st.floats(0.05, 0.95))
def test_above_chance_is_the_one_sided_binomial_test(k, extra, rate):
    n = k + extra
    values = np.array([1.0] * k + [0.0] * extra)
    expected = scipy_stats.binomtest(k, n, rate, alternative="greater").pvalue
    assert above_chance(values, rate, exact=True) == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_above_chance_of_fractions_is_the_one_sample_t_test():
    v = np.random.default_rng(1).random(50)
    expected = scipy_stats.ttest_1samp(v, 0.4, alternative="greater").pvalue
    assert above_chance(v, 0.4, exact=False) == pytest.approx(expected, rel=1e-9)


def test_smallest_p_is_mcnemar_with_every_sample_one_way():
    for n in (1, 5, 40):
        assert smallest_p(n) == pytest.approx(mcnemar(np.ones(n)))


def test_detectable_difference_has_its_power_by_simulation():
    n, m, sd = 200, 10, 1.0
    mdd = detectable(sd, n, m)
    rng = np.random.default_rng(3)
    rejected = [paired_t(rng.normal(mdd, sd, n)) < 0.05 / m for _ in range(2000)]
    assert np.mean(rejected) == pytest.approx(0.8, abs=0.03)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 300), st.integers(1, 20))
def test_ece_parts_add_to_the_ece_and_differ_by_the_signed_gap(seed, n, bins):
    rng = np.random.default_rng(seed)
    conf, correct = rng.random(n), (rng.random(n) < 0.6).astype(float)
    over, under = ece_parts(conf, correct, bins)
    assert over >= 0
    assert under >= 0
    assert over + under == pytest.approx(ece(conf, correct, bins), abs=1e-12)
    assert over - under == pytest.approx(conf.mean() - correct.mean(), abs=1e-12)


# ----------------------------------------------------------------- a model that fails on blocks

BLOCK = 8


def _block_model(batch):
    """Right when no whole aligned 8x8 block is hidden (pixels exactly 0), confidently wrong otherwise.

    The class is whether the visible pixels' mean is above 0.75 (the data are 0.5..1).
    """
    x = np.asarray(batch)[:, 0]
    n, h, w = x.shape
    hidden = x == 0
    blocks = hidden.reshape(n, h // BLOCK, BLOCK, w // BLOCK, BLOCK).all(axis=(2, 4)).any(axis=(1, 2))
    visible = np.where(hidden, np.nan, x)
    cls = (np.nanmean(visible.reshape(n, -1), axis=1) > 0.75).astype(int)
    cls = np.where(blocks, 1 - cls, cls)
    logits = np.zeros((n, 2), np.float32)
    logits[np.arange(n), cls] = 4.0
    return logits


def _block_data(n=300, size=32, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    level = np.where(y == 1, 0.85, 0.65)[:, None, None, None]
    x = (level + rng.uniform(-0.1, 0.1, (n, 1, size, size))).astype(np.float32)
    return x, y


@pytest.fixture(scope="module")
def block_report():
    return evaluate(
        _block_model,
        _block_data(),
        coverages=(0, 0.05, 0.1, 0.2, 0.3, 0.5),
        n_boot=200,
        progress=False,
    )


def test_a_large_gap_in_a_42_cell_grid_is_decided(block_report):
    r = block_report
    assert len(r.cells) == 42
    assert len(om.FAMILIES) == 7
    (patches,) = r.select(family="patches", coverage=0.3)
    (bernoulli,) = r.select(family="bernoulli", coverage=0.3)
    assert bernoulli["accuracy"] == 1.0
    assert patches["accuracy_minus_reference"] <= -0.2
    assert patches["verdict_accuracy"] == "lower"
    (perlin,) = r.select(family="perlin", coverage=0.3)  # a gap of 0.2 to 0.3 is decided too
    assert -0.3 < perlin["accuracy_minus_reference"] <= -0.2
    assert perlin["verdict_accuracy"] == "lower"
    tested = [row for row in r.rows if row["p_holm_accuracy"] is not None]
    assert patches["n_tests"] == len(tested)
    assert patches["resolvable"]
    # Holm over the tests of the grid: recomputed from the rows' per-sample outcomes
    cell = r.scores("evolving", "patches", 0.3, "image")
    ref = r.scores("evolving", "bernoulli", 0.3, "image")
    discordant = int((cell.correct != ref.correct).sum())
    raw = scipy_stats.binomtest(int((cell.correct > ref.correct).sum()), discordant).pvalue
    assert patches["p_holm_accuracy"] <= len(tested) * raw * (1 + 1e-9)
    assert patches["p_holm_accuracy"] < 1e-10
    # a bootstrap p-value could not go below 2 / (n_boot + 1): after Holm over the grid's 30
    # comparisons, with the default 1000 resamples, not below 0.05
    compared = [row for row in r.rows if row["verdict_accuracy"]]
    assert len(compared) == 30
    assert len(compared) * 2 / (1000 + 1) > 0.05


def test_confident_failures_are_more_overconfident(block_report):
    (patches,) = block_report.select(family="patches", coverage=0.3)
    assert patches["gap_minus_reference"] > 0.2
    assert patches["verdict_gap"] == "more overconfident"
    assert patches["ece_over"] > patches["ece_under"]


def test_cells_the_occlusion_does_not_touch_are_at_ceiling(block_report):
    for row in block_report.select(coverage=0.05):
        assert row["accuracy"] == 1.0
        assert row["status"] == "at ceiling"
        if row["family"] != "bernoulli":
            assert row["verdict_accuracy"] == "at ceiling"
            assert row["verdict_nll"] == "at ceiling"
            assert row["p_holm_accuracy"] is None


def test_not_separable_cells_carry_their_detectable_difference(block_report):
    r = block_report
    rows = [row for row in r.rows if row["p_holm_accuracy"] is not None]
    assert rows
    for row in rows:
        a = r.values("evolving", row["family"], row["coverage"], "image")["accuracy"]
        b = r.values("evolving", "bernoulli", row["coverage"], "image")["accuracy"]
        sd = np.std(a - b, ddof=1)
        assert row["mdd_accuracy"] == pytest.approx(detectable(sd, 300, row["n_tests"]))


def test_summary_shows_verdicts_and_calibration_apart(block_report):
    text = block_report.summary()
    assert "Signed calibration gap" in text
    assert "▼" in text
    assert "⊤" in text
    (line,) = [ln for ln in text.splitlines() if ln.startswith("| patches") and "(" in ln.split("|")[2]]
    assert "▲" in line  # more overconfident than the reference somewhere
    assert "the smallest Holm-adjusted p-value they can reach is" in text


# ----------------------------------------------------------------- chance, rules, resolvability


def test_two_conditions_at_chance_get_no_direction_even_where_their_scores_differ():
    rng = np.random.default_rng(5)
    x, y = rng.random((300, 1, 16, 16), dtype=np.float32), rng.integers(0, 3, 300)

    def one_class(batch):  # always class 0, less sure the more whole rows are hidden
        rows = torch.as_tensor(np.asarray(batch))[:, 0].eq(0).all(dim=2).float().mean(1)
        return torch.stack([4 - 3 * rows, torch.zeros_like(rows), torch.zeros_like(rows)], dim=1)

    r = evaluate(one_class, (x, y), families=["bernoulli", "patches"], coverages=[0, 0.5], progress=False)
    (row,) = r.select(family="patches", coverage=0.5)
    assert row["status"] == "at chance"
    assert row["chance"] == pytest.approx(np.bincount(y).max() / 300)
    assert abs(row["nll_minus_reference"]) > 0.05
    for metric in ("accuracy", "nll", "brier", "confidence", "gap"):
        assert row[f"verdict_{metric}"] == "at chance"
    assert "∅" in r.summary()
    same = compare(r, r)
    assert {row["verdict_accuracy"] for row in same.rows} == {"at chance"}


def test_rules_with_the_same_argmax_share_one_accuracy_test():
    rng = np.random.default_rng(0)
    x, y = rng.random((40, 3, 1, 16, 16), dtype=np.float32), rng.integers(0, 2, 40)

    def bright(batch):
        m = torch.as_tensor(np.asarray(batch)).flatten(1).mean(1)
        return torch.stack([40 * (0.5 - m), 40 * (m - 0.5)], dim=1)

    y = (x.mean((1, 2, 3, 4)) > 0.5).astype(int)
    r = evaluate(
        bright, (x, y), families=["bernoulli", "perlin"], coverages=[0, 0.5],
        rules=("sum_logprob", "mean_logprob", "mean_prob"), progress=False,
    )  # fmt: skip
    (s,) = r.select(family="perlin", coverage=0.5, level="video", rule="sum_logprob")
    (m,) = r.select(family="perlin", coverage=0.5, level="video", rule="mean_logprob")
    assert m["accuracy_tested_as"] == "sum_logprob"
    assert s["accuracy_tested_as"] == "sum_logprob"
    for column in ("p_holm_accuracy", "verdict_accuracy", "mdd_accuracy"):
        assert m[column] == s[column]


def test_a_design_that_cannot_reject_says_so():
    x, y = _block_data(n=8)
    with pytest.warns(RuntimeWarning, match="cannot reject"):
        r = evaluate(_block_model, (x, y), coverages=(0, 0.3, 0.5), n_boot=20, progress=False)
    tested = [row for row in r.rows if row["n_tests"]]
    assert tested
    assert not any(row["resolvable"] for row in tested)
    assert all(row["p_floor"] == pytest.approx(min(1, row["n_tests"] * 2.0**-7)) for row in tested)
    assert "no test can reject" in r.summary()


def test_a_bootstrap_p_value_is_not_held_at_its_floor():
    from statistics import NormalDist

    from occmask.robustness.stats import Estimate

    reps = np.random.default_rng(0).normal(-0.35, 0.03, 1000)
    clear = Estimate(-0.35, reps)
    expected = 2 * NormalDist().cdf(-abs(reps.mean()) / reps.std(ddof=1))
    assert clear.p_value() == pytest.approx(expected)
    assert clear.p_value() < 1e-20
    crossing = Estimate(0.8, np.concatenate([-np.ones(100), np.ones(899)]))  # 100 of 999 reach 0
    assert crossing.p_value() == pytest.approx(2 * (100 + 1) / 1000)


def test_holm_adjusted_p_values_recompute_from_textbook_tests(block_report):
    from occmask.robustness.stats import holm

    r = block_report
    tested = [row for row in r.rows if row["p_holm_nll"] is not None]
    raw = []
    for row in tested:
        a = r.values("evolving", row["family"], row["coverage"], "image")["nll"]
        b = r.values("evolving", "bernoulli", row["coverage"], "image")["nll"]
        with warnings.catch_warnings():  # constant differences: scipy warns of cancellation, t is huge
            warnings.simplefilter("ignore", RuntimeWarning)
            raw.append(scipy_stats.ttest_rel(a, b).pvalue)
    found = [row["p_holm_nll"] for row in tested]
    np.testing.assert_allclose(found, holm(np.array(raw)), rtol=1e-9, atol=1e-250)
