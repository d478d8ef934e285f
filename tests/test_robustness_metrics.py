"""Scores, ECE, frame pooling, intervals and tests of occmask.robustness against hand computations."""

import numpy as np
import pytest

from occmask.robustness.metrics import (
    bootstrap_indices,
    combine_frames,
    ece,
    percentile_interval,
    reliability,
    scores,
)
from occmask.robustness.stats import Estimate, area, estimates, holm, verdict


def test_scores_hand_computed():
    p = np.array([[0.7, 0.2, 0.1], [0.5, 0.25, 0.25], [0.1, 0.3, 0.6]])
    s = scores(np.log(p), np.array([0, 1, 2]))
    assert s.correct.tolist() == [1.0, 0.0, 1.0]
    np.testing.assert_allclose(s.nll, [-np.log(0.7), -np.log(0.25), -np.log(0.6)])
    # Brier: (0.3^2 + 0.2^2 + 0.1^2), (0.5^2 + 0.75^2 + 0.25^2), (0.1^2 + 0.3^2 + 0.4^2)
    np.testing.assert_allclose(s.brier, [0.14, 0.875, 0.26])
    np.testing.assert_allclose(s.confidence, [0.7, 0.5, 0.6])


def test_perfect_confidence_right_and_wrong():
    logp = np.where(np.eye(4) > 0, 0.0, -np.inf)  # probability exactly 1 and 0
    right = scores(logp, np.arange(4))
    assert right.correct.mean() == 1
    assert right.nll.max() == 0
    assert right.brier.max() == 0
    assert ece(right.confidence, right.correct) == 0.0
    wrong = scores(logp, (np.arange(4) + 1) % 4)
    assert wrong.correct.sum() == 0
    np.testing.assert_array_equal(wrong.brier, 2.0)
    assert np.isinf(wrong.nll).all()
    assert ece(wrong.confidence, wrong.correct) == 1.0


def test_uniform_probabilities():
    k = 10
    s = scores(np.full((5, k), -np.log(k)), np.arange(5))
    np.testing.assert_allclose(s.nll, np.log(k))
    np.testing.assert_allclose(s.brier, 1 - 1 / k)  # (1 - 1/k)^2 + (k - 1) / k^2
    np.testing.assert_allclose(s.confidence, 1 / k)
    # argmax of a tie is class 0: only the item labelled 0 is right
    assert s.correct.tolist() == [1, 0, 0, 0, 0]
    assert ece(s.confidence, s.correct) == pytest.approx(abs(0.2 - 0.1))


def test_ece_by_hand_with_empty_bins():
    conf = np.array([0.95, 0.95, 0.95, 0.95, 0.55, 0.55])
    correct = np.array([1, 1, 1, 0, 0, 1.0])
    # two occupied bins of 15: |0.75 - 0.95| * 4/6 + |0.5 - 0.55| * 2/6
    assert ece(conf, correct) == pytest.approx(0.2 * 4 / 6 + 0.05 * 2 / 6)
    count, mean_conf, acc = reliability(conf, correct)
    assert count.sum() == 6
    assert (count > 0).sum() == 2
    assert np.isnan(acc[count == 0]).all()
    assert np.isnan(mean_conf[count == 0]).all()
    np.testing.assert_allclose(acc[count > 0], [0.5, 0.75])


def test_ece_bins_are_right_closed():
    # with 2 bins, 0.5 belongs to (0, 0.5] and 0.51 to (0.5, 1]
    count, _, _ = reliability(np.array([0.5, 0.51]), np.array([1.0, 1.0]), n_bins=2)
    assert count.tolist() == [1, 1]


def test_ece_batched_matches_one_by_one():
    rng = np.random.default_rng(0)
    conf, correct = rng.uniform(0.1, 1, (7, 50)), rng.integers(0, 2, (7, 50)).astype(float)
    np.testing.assert_allclose(ece(conf, correct), [ece(c, k) for c, k in zip(conf, correct, strict=True)])


def test_ece_rejects_bad_input():
    with pytest.raises(ValueError, match="confidence and correct"):
        ece(np.array([0.5]), np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="n_bins"):
        ece(np.array([0.5]), np.array([1.0]), n_bins=0)


def test_scores_rejects_bad_labels():
    with pytest.raises(ValueError, match="labels in"):
        scores(np.zeros((2, 3)), np.array([0, 3]))


def test_combine_frames_rules():
    p = np.array([[[0.9, 0.1], [0.6, 0.4]]])
    lp = np.log(p)
    mean_prob = np.exp(combine_frames(lp, "mean_prob"))
    np.testing.assert_allclose(mean_prob, [[0.75, 0.25]])
    geo = np.sqrt(p[0, 0] * p[0, 1])
    np.testing.assert_allclose(np.exp(combine_frames(lp, "mean_logprob")), [geo / geo.sum()])
    prod = p[0, 0] * p[0, 1]
    np.testing.assert_allclose(np.exp(combine_frames(lp, "sum_logprob")), [prod / prod.sum()])
    with pytest.raises(ValueError, match="rule"):
        combine_frames(lp, "max")


def test_sum_of_log_probs_is_more_confident_than_their_mean():
    lp = np.log(np.tile([[0.7, 0.2, 0.1]], (1, 8, 1)))
    assert np.exp(combine_frames(lp, "sum_logprob")).max() > np.exp(combine_frames(lp, "mean_logprob")).max()


def test_intervals():
    lo, hi = percentile_interval(np.linspace(0, 1, 1001))
    assert (lo, hi) == pytest.approx((0.025, 0.975))


def test_paired_difference_of_identical_conditions_is_exactly_zero():
    rng = np.random.default_rng(1)
    logp = np.log(rng.dirichlet(np.ones(10), size=40))
    s = scores(logp, rng.integers(0, 10, 40))
    found = estimates(s, bootstrap_indices(40, 200, rng))
    for est in found.values():
        diff = est - est
        assert diff.value == 0
        assert diff.interval() == (0.0, 0.0)
    acc = found["accuracy"]
    lo, hi = acc.interval()
    assert lo <= acc.value <= hi


def test_frame_level_bootstrap_resamples_whole_videos():
    # 2 videos x 3 frames: video 0 all right, video 1 all wrong; every resample is 0, 0.5 or 1
    logp = np.log(np.tile([[0.8, 0.2]], (6, 1)))
    s = scores(logp, np.array([0, 0, 0, 1, 1, 1]))
    boot = bootstrap_indices(2, 300, np.random.default_rng(2))
    acc = estimates(s, boot)["accuracy"]
    assert acc.value == 0.5
    assert set(np.unique(acc.replicates)) <= {0.0, 0.5, 1.0}
    assert isinstance(acc, Estimate)


def test_against_sklearn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(3)
    p = rng.dirichlet(np.ones(5), size=200)
    y = rng.integers(0, 5, 200)
    s = scores(np.log(p), y)
    assert s.correct.mean() == pytest.approx(metrics.accuracy_score(y, p.argmax(1)))
    assert s.nll.mean() == pytest.approx(metrics.log_loss(y, p, labels=range(5)))
    onehot = np.eye(5)[y]
    # multi-class Brier: sklearn's per-class Brier scores (one-vs-rest) summed over the classes
    per_class = [metrics.brier_score_loss(onehot[:, k], p[:, k]) for k in range(5)]
    assert s.brier.mean() == pytest.approx(sum(per_class))


def test_ece_against_a_loop_over_bins():
    rng = np.random.default_rng(4)
    conf = rng.uniform(0.05, 1, 300)
    correct = (rng.uniform(size=300) < conf**2).astype(float)
    total = 0.0
    for b in range(15):
        inside = (conf > b / 15) & (conf <= (b + 1) / 15)
        if inside.any():
            total += inside.mean() * abs(correct[inside].mean() - conf[inside].mean())
    assert ece(conf, correct) == pytest.approx(total)


def test_confidence_and_signed_gap():
    s = scores(np.log([[0.9, 0.1], [0.7, 0.3], [0.4, 0.6]]), np.array([0, 1, 1]))
    found = estimates(s, bootstrap_indices(3, 50, np.random.default_rng(0)))
    assert found["confidence"].value == pytest.approx((0.9 + 0.7 + 0.6) / 3)
    assert found["gap"].value == pytest.approx((0.9 + 0.7 + 0.6) / 3 - 2 / 3)
    np.testing.assert_allclose(
        found["gap"].replicates, found["confidence"].replicates - found["accuracy"].replicates
    )


def test_holm_by_hand():
    p = np.array([0.01, 0.04, 0.03, 0.005])
    # sorted 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = 0.02, 0.03, 0.06, 0.04 -> running max
    np.testing.assert_allclose(holm(p), [0.03, 0.06, 0.06, 0.02])
    assert holm(np.array([0.6, 0.5])).tolist() == [1.0, 1.0]
    assert np.isnan(holm(np.array([np.nan]))).all()


def test_p_value_and_verdict_come_from_the_adjusted_test():
    sure = Estimate(-0.1, np.full(999, -0.1))
    assert sure.p_value() == pytest.approx(2 / 1000)
    centred = Estimate(0.0, np.linspace(-1, 1, 999))
    assert centred.p_value() == 1.0
    # raw p = 0.03 is below 0.05, but Holm over three tests makes it 0.09: not separable
    adjusted = holm(np.array([0.03, 0.5, 0.6]))
    assert verdict(-0.2, adjusted[0]) == "not separable"
    assert verdict(-0.2, 0.01) == "lower"
    assert verdict(0.2, 0.01) == "higher"


def test_area_is_the_trapezoid_rule():
    x = np.array([0.0, 0.2, 0.6])
    y = np.array([[0.0, -0.1, -0.3], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(area(x, y), [0.2 * -0.05 + 0.4 * -0.2, 0.0])
