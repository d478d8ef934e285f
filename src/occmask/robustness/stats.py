"""Bootstrap estimates, paired tests with Holm's correction, verdicts and areas between curves.

Intervals are percentile bootstraps over *samples* (images or whole videos):
frame-level metrics resample whole videos, since the frames of one video are
not independent. Every condition scored on the same samples uses the same
resamples, so the difference of two estimates is a paired bootstrap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .metrics import Scores, ece, percentile_interval

__all__ = [
    "ALPHA",
    "METRICS",
    "Estimate",
    "area",
    "area_of",
    "estimates",
    "holm",
    "verdict",
]

#: Metric name -> what it measures. ``gap`` is the signed calibration gap (confidence - accuracy):
#: above 0 the model is overconfident, below 0 underconfident.
METRICS = {
    "accuracy": "share of samples whose top class is the label",
    "nll": "mean negative log-likelihood of the label (natural log)",
    "brier": "mean multi-class Brier score, sum over classes of (p - onehot)^2, in [0, 2]",
    "ece": "expected calibration error of the top label, equal-width bins (Guo et al. 2017)",
    "confidence": "mean probability of the top class",
    "gap": "confidence minus accuracy (signed calibration gap)",
}

#: Family-wise error rate of the Holm-adjusted tests behind every verdict.
ALPHA = 0.05

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
        percentile interval excludes 0.
        """
        r = self.replicates
        below, above = np.count_nonzero(r <= 0), np.count_nonzero(r >= 0)
        return float(min(1.0, 2 * (min(below, above) + 1) / (r.size + 1)))

    def __sub__(self, other: Estimate) -> Estimate:
        return Estimate(self.value - other.value, self.replicates - other.replicates)


def _per_sample(values: np.ndarray, n_samples: int) -> np.ndarray:
    return values.reshape(n_samples, -1).mean(axis=1)


def _ece_replicates(s: Scores, boot: np.ndarray, n_bins: int) -> np.ndarray:
    n_samples = boot.shape[1]
    per = s.confidence.size // n_samples
    out = []
    for start in range(0, boot.shape[0], _ECE_CHUNK):
        samples = boot[start : start + _ECE_CHUNK]
        items = (samples[:, :, None] * per + np.arange(per)).reshape(samples.shape[0], -1)
        out.append(ece(s.confidence[items], s.correct[items], n_bins))
    return np.concatenate(out)


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
    for name, values in (
        ("accuracy", s.correct),
        ("nll", s.nll),
        ("brier", s.brier),
        ("confidence", s.confidence),
    ):
        per = _per_sample(values, n)
        out[name] = Estimate(float(per.mean()), per[boot].mean(axis=1))
    out["ece"] = Estimate(float(ece(s.confidence, s.correct, ece_bins)), _ece_replicates(s, boot, ece_bins))
    out["gap"] = out["confidence"] - out["accuracy"]
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


def verdict(difference: float, p_adjusted: float, alpha: float = ALPHA) -> str:
    """``"lower"`` / ``"higher"`` when the adjusted test rejects at ``alpha``, else ``"not separable"``.

    Examples
    --------
    >>> verdict(-0.12, 0.001), verdict(0.05, 0.2), verdict(0.3, 0.01)
    ('lower', 'not separable', 'higher')
    """
    if not p_adjusted < alpha:
        return "not separable"
    return "lower" if difference < 0 else "higher"


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
