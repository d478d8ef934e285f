"""Bootstrap estimates, paired tests with Holm's correction, verdicts and areas between curves.

Intervals are percentile bootstraps over *samples* (images or whole videos):
frame-level metrics resample whole videos, since the frames of one video are
not independent. Every condition scored on the same samples uses the same
resamples, so the difference of two estimates is a paired bootstrap.

Verdicts come from tests on the per-sample paired differences, whose p-values
are not bounded below by a number of resamples: McNemar's exact test when each
sample is one 0/1 outcome (accuracy of images or videos), Student's paired t-test
otherwise (frame accuracy of videos, NLL, Brier score, confidence, signed gap,
areas between curves). A condition whose accuracy is not above the majority-class
rate is *at chance*; a comparison of two conditions at chance gets no direction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from scipy import stats as _scipy

from .metrics import Scores, ece_parts, percentile_interval

__all__ = [
    "ALPHA",
    "AT_CEILING",
    "AT_CHANCE",
    "METRICS",
    "POWER",
    "TESTED",
    "Estimate",
    "above_chance",
    "area",
    "area_of",
    "detectable",
    "estimates",
    "holm",
    "mcnemar",
    "paired_p",
    "paired_t",
    "per_sample",
    "smallest_p",
    "verdict",
]

#: Metric name -> what it measures. ``gap`` is the signed calibration gap (confidence - accuracy):
#: above 0 the model is overconfident, below 0 underconfident.
METRICS = {
    "accuracy": "share of samples whose top class is the label",
    "nll": "mean negative log-likelihood of the label (natural log)",
    "brier": "mean multi-class Brier score, sum over classes of (p - onehot)^2, in [0, 2]",
    "ece": "expected calibration error of the top label, equal-width bins (Guo et al. 2017)",
    "ece_over": "the ECE's overconfident part: bins whose mean confidence exceeds their accuracy",
    "ece_under": "the ECE's underconfident part: bins whose accuracy exceeds their mean confidence",
    "confidence": "mean probability of the top class",
    "gap": "confidence minus accuracy (signed calibration gap)",
}

#: The metrics with a paired test and a verdict: means over samples. The ECE and its parts
#: are descriptive (a binned statistic has no per-sample differences); calibration is tested
#: on the signed ``gap``.
TESTED = ("accuracy", "nll", "brier", "confidence", "gap")

#: Family-wise error rate of the Holm-adjusted tests behind every verdict.
ALPHA = 0.05

#: Power at which :func:`detectable` gives the minimal detectable difference.
POWER = 0.8

#: Verdicts of comparisons that are not tested: both conditions indistinguishable from a
#: predictor that ignores its input, or both indistinguishable from the clean data.
AT_CHANCE, AT_CEILING = "at chance", "at ceiling"

_ECE_CHUNK = 100  # bootstrap replicates per vectorised ECE batch (bounds memory)


@dataclass(frozen=True)
class Estimate:
    """A metric's value and its bootstrap replicates.

    Replicates of two conditions made with the same resamples are paired:
    their difference is the bootstrap distribution of the difference.

    Examples
    --------
    >>> import numpy as np
    >>> e = Estimate(0.5, np.linspace(0.3, 0.7, 101))
    >>> e.interval()
    (0.31, 0.69)
    >>> round((e - e).p_value(), 3)
    1.0
    """

    value: float
    replicates: np.ndarray

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        """Percentile interval of the replicates (95% by default)."""
        return percentile_interval(self.replicates, level)

    def p_value(self) -> float:
        """Two-sided bootstrap p-value of 'the value is 0' (for a difference of paired estimates).

        ``2 * min(P*(d <= 0), P*(d >= 0))`` with the ``+1`` correction of
        Davison and Hinkley (1997), capped at 1: the smallest level whose
        percentile interval excludes 0. When no replicate reaches 0 that
        count cannot go below ``2 / (B + 1)``; the tail is then read from the
        normal approximation of the replicates, ``2 * Phi(-|mean| / sd)``, so
        that a clear difference is not held at the floor by the number of
        resamples (Efron and Tibshirani 1993, ch. 16).
        """
        r = self.replicates
        below, above = np.count_nonzero(r <= 0), np.count_nonzero(r >= 0)
        p = float(min(1.0, 2 * (min(below, above) + 1) / (r.size + 1)))
        sd = float(r.std(ddof=1)) if r.size > 1 else 0.0
        if min(below, above) == 0 and sd > 0:
            p = min(p, 2 * NormalDist().cdf(-abs(float(r.mean())) / sd))
        return p

    def __sub__(self, other: Estimate) -> Estimate:
        return Estimate(self.value - other.value, self.replicates - other.replicates)


def _per_sample(values: np.ndarray, n_samples: int) -> np.ndarray:
    return values.reshape(n_samples, -1).mean(axis=1)


def _ece_replicates(s: Scores, boot: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    n_samples = boot.shape[1]
    per = s.confidence.size // n_samples
    over, under = [], []
    for start in range(0, boot.shape[0], _ECE_CHUNK):
        samples = boot[start : start + _ECE_CHUNK]
        items = (samples[:, :, None] * per + np.arange(per)).reshape(samples.shape[0], -1)
        o, u = ece_parts(s.confidence[items], s.correct[items], n_bins)
        over.append(o)
        under.append(u)
    return np.concatenate(over), np.concatenate(under)


def per_sample(s: Scores, n_samples: int) -> dict[str, np.ndarray]:
    """Each metric of :data:`TESTED` per sample (the mean over its frames): the units of the tests.

    Examples
    --------
    >>> import numpy as np
    >>> from occmask.robustness.metrics import scores
    >>> s = scores(np.log([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.5, 0.5]]), np.array([0, 1, 1, 0]))
    >>> per_sample(s, 2)["accuracy"].tolist(), per_sample(s, 2)["gap"].round(3).tolist()
    ([1.0, 0.5], [-0.15, 0.05])
    """
    per = {
        "accuracy": s.correct,
        "nll": s.nll,
        "brier": s.brier,
        "confidence": s.confidence,
        "gap": s.confidence - s.correct,
    }
    return {name: _per_sample(per[name], n_samples) for name in TESTED}


def estimates(s: Scores, boot: np.ndarray, ece_bins: int = 15) -> dict[str, Estimate]:
    """Every metric of :data:`METRICS` with bootstrap replicates, resampling samples.

    Parameters
    ----------
    s : Scores
        Per-item scores, ``n_samples * per_sample`` items ordered sample-major
        (all frames of video 0 first).
    boot : ndarray of int, shape (n_boot, n_samples)
        Resampled sample indices (the same for every condition, for pairing).
    ece_bins : int, default 15
        Equal-width confidence bins of the ECE.

    Returns
    -------
    dict
        Metric name -> :class:`Estimate`.

    Examples
    --------
    >>> import numpy as np
    >>> from occmask.robustness.metrics import scores, bootstrap_indices
    >>> s = scores(np.log([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]), np.array([0, 1, 1]))
    >>> found = estimates(s, bootstrap_indices(3, 50, np.random.default_rng(0)))
    >>> round(found["accuracy"].value, 3), round(found["gap"].value, 3)
    (0.667, 0.1)
    """
    n = boot.shape[1]
    out = {}
    for name, per in per_sample(s, n).items():
        out[name] = Estimate(float(per.mean()), per[boot].mean(axis=1))
    over, under = ece_parts(s.confidence, s.correct, ece_bins)
    over_reps, under_reps = _ece_replicates(s, boot, ece_bins)
    out["ece_over"] = Estimate(float(over), over_reps)
    out["ece_under"] = Estimate(float(under), under_reps)
    out["ece"] = Estimate(float(over) + float(under), over_reps + under_reps)
    return {name: out[name] for name in METRICS}


def holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment of p-values (controls the family-wise error rate).

    Holm, S. (1979), "A simple sequentially rejective multiple test procedure".
    NaN entries are not tests: they stay NaN and do not count.

    Examples
    --------
    >>> import numpy as np
    >>> holm(np.array([0.01, 0.04, 0.03, np.nan])).round(3).tolist()
    [0.03, 0.06, 0.06, nan]
    """
    p = np.asarray(p, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    tested = np.flatnonzero(~np.isnan(p))
    order = tested[np.argsort(p[tested], kind="stable")]
    m = order.size
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(scaled)
    return out


def verdict(
    difference: float,
    p_adjusted: float,
    alpha: float = ALPHA,
    *,
    status: str = "",
    words: tuple[str, str] = ("lower", "higher"),
) -> str:
    """``"lower"`` / ``"higher"`` when the adjusted test rejects at ``alpha``, else ``"not separable"``.

    A comparison with a ``status`` (:data:`AT_CHANCE`, :data:`AT_CEILING`) was not
    tested and gets that status, never a direction; ``words`` name the two directions.

    Examples
    --------
    >>> verdict(-0.12, 0.001), verdict(0.05, 0.2), verdict(0.3, 0.01)
    ('lower', 'not separable', 'higher')
    >>> verdict(0.001, float("nan"), status="at chance")
    'at chance'
    """
    if status:
        return status
    if not p_adjusted < alpha:
        return "not separable"
    return words[0] if difference < 0 else words[1]


def mcnemar(differences: np.ndarray) -> float:
    """McNemar's exact two-sided test of paired 0/1 outcomes, from their differences in {-1, 0, 1}.

    The discordant pairs ``b`` (+1) and ``c`` (-1) are ``Binomial(b + c, 1/2)``
    under no difference (McNemar 1947; exact form as in Fagerland, Lydersen and
    Laake 2013): ``p = min(1, 2 * P(X <= min(b, c)))``, 1 without discordant pairs.

    Examples
    --------
    >>> import numpy as np
    >>> round(mcnemar(np.array([1] * 9 + [-1] + [0] * 20)), 6)
    0.021484
    """
    d = np.asarray(differences)
    b, c = int(np.count_nonzero(d > 0)), int(np.count_nonzero(d < 0))
    if b + c == 0:
        return 1.0
    return float(min(1.0, 2 * _scipy.binom.cdf(min(b, c), b + c, 0.5)))


def paired_t(differences: np.ndarray) -> float:
    """Student's two-sided paired t-test that the mean of per-sample differences is 0.

    Equal to ``scipy.stats.ttest_rel(a, b).pvalue`` for ``differences = a - b``;
    without spread it is 1 for a zero mean and 0 otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> round(paired_t(np.array([0.1, 0.3, 0.2, 0.4, -0.1])), 4)
    0.1045
    """
    d = np.asarray(differences, dtype=np.float64)
    if d.size < 2:
        return 1.0
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    if not sd > 1e-12 * max(1.0, abs(mean)):
        return 1.0 if abs(mean) <= 1e-12 else 0.0
    t = mean / (sd / math.sqrt(d.size))
    return float(2 * _scipy.t.sf(abs(t), d.size - 1))


def paired_p(differences: np.ndarray, exact: bool) -> float:
    """:func:`mcnemar` when each sample is one 0/1 outcome (``exact``), else :func:`paired_t`."""
    return mcnemar(differences) if exact else paired_t(differences)


def above_chance(values: np.ndarray, rate: float, exact: bool) -> float:
    """One-sided p-value of 'the mean of ``values`` exceeds ``rate``'.

    ``exact``: values are 0/1 outcomes, the exact binomial tail ``P(X >= k)``
    (as ``scipy.stats.binomtest(k, n, rate, alternative="greater")``); else the
    one-sample t-test of the per-sample means.

    Examples
    --------
    >>> import numpy as np
    >>> round(above_chance(np.array([1.0] * 40 + [0.0] * 60), 0.3, exact=True), 4)
    0.021
    """
    v = np.asarray(values, dtype=np.float64)
    if exact:
        k = round(v.sum())
        return float(_scipy.binom.sf(k - 1, v.size, rate))
    if v.size < 2:
        return 1.0
    mean, sd = float(v.mean()), float(v.std(ddof=1))
    if not sd > 0:
        return 0.0 if mean > rate else 1.0
    return float(_scipy.t.sf((mean - rate) / (sd / math.sqrt(v.size)), v.size - 1))


def smallest_p(n_samples: int) -> float:
    """The smallest two-sided p-value a paired test of ``n_samples`` samples can honestly claim.

    That of the exact sign (McNemar) test when all samples differ in one
    direction, ``2 ** (1 - n)``. A family of ``m`` Holm-adjusted tests can reject
    only when ``m * smallest_p(n) < alpha``: fewer samples are not *resolvable*.

    Examples
    --------
    >>> smallest_p(10)
    0.001953125
    """
    return float(2.0 ** (1 - n_samples))


def detectable(sd: float, n_samples: int, n_tests: int, alpha: float = ALPHA, power: float = POWER) -> float:
    """Minimal detectable difference of a paired test: ``(z(1 - alpha/2m) + z(power)) * sd / sqrt(n)``.

    The true mean difference that the two-sided test at the Bonferroni level
    ``alpha / n_tests`` (Holm's first step) detects with probability ``power``,
    by the normal approximation with per-sample differences of standard
    deviation ``sd``.

    Examples
    --------
    >>> round(detectable(1.0, 100, 1), 4)  # (1.96 + 0.8416) / 10
    0.2802
    """
    normal = NormalDist()
    z = normal.inv_cdf(1 - alpha / (2 * max(1, n_tests))) + normal.inv_cdf(power)
    return float(z * sd / math.sqrt(n_samples))


def area(coverages: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Trapezoidal area under curves sampled at ``coverages`` (last axis of ``values``).

    The area between a family's accuracy curve and the reference's is the
    "geometry gap": negative when the family is the more destructive over the grid.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(area(np.array([0.0, 0.5, 1.0]), np.array([0.0, -0.2, -0.2]))), 6)
    -0.15
    """
    x = np.asarray(coverages, dtype=np.float64)
    y = np.asarray(values, dtype=np.float64)
    if x.size < 2:
        return np.zeros(y.shape[:-1]) if y.ndim > 1 else np.float64(0.0)
    return ((y[..., 1:] + y[..., :-1]) * np.diff(x) / 2).sum(axis=-1)


def area_of(coverages: np.ndarray, curve: list[Estimate]) -> Estimate:
    """:func:`area` of a curve of estimates, with replicates (paired when the curve's are).

    Examples
    --------
    >>> import numpy as np
    >>> e = area_of(np.array([0.0, 1.0]), [Estimate(0.0, np.zeros(3)), Estimate(-0.2, np.full(3, -0.2))])
    >>> round(e.value, 6), e.replicates.round(6).tolist()
    (-0.1, [-0.1, -0.1, -0.1])
    """
    x = np.asarray(coverages, dtype=np.float64)
    values = np.array([e.value for e in curve])
    return Estimate(float(area(x, values)), area(x, np.stack([e.replicates for e in curve], axis=-1)))
