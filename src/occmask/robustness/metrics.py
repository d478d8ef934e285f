"""Scores for probabilistic classifiers, frame-to-video pooling and bootstrap intervals.

Everything works on natural-log class probabilities ``logp`` of shape
``(n, K)`` and integer labels ``y`` of shape ``(n,)``:

- accuracy: share of items whose most probable class is the label;
- NLL: mean of ``-logp[y]`` (lower is better);
- Brier: mean over items of ``sum_k (p_k - onehot(y)_k)^2``, in [0, 2];
- ECE: expected calibration error of the top label with equal-width
  confidence bins, as in Guo et al. (2017), "On Calibration of Modern Neural
  Networks": ``sum_b |B_b|/n * |acc(B_b) - conf(B_b)|``, empty bins adding 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "RULES",
    "SAME_ARGMAX",
    "Scores",
    "bootstrap_indices",
    "combine_frames",
    "ece",
    "ece_parts",
    "percentile_interval",
    "reliability",
    "scores",
]

#: Ways to pool per-frame log-probabilities ``(N, T, K)`` into one video prediction.
RULES = {
    "sum_logprob": "product of experts: softmax of the summed log-probabilities",
    "mean_logprob": "geometric mean: softmax of the mean log-probability (same argmax as the sum)",
    "mean_prob": "arithmetic mean of the frame probabilities",
}

#: Rule -> the rule with the same argmax (the mean of log-probabilities is the sum divided by
#: T): their accuracies are one quantity, tested and counted once, under the latter.
SAME_ARGMAX = {"mean_logprob": "sum_logprob"}


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def combine_frames(logp: np.ndarray, rule: str) -> np.ndarray:
    """Pool per-frame log-probabilities into per-video log-probabilities.

    Parameters
    ----------
    logp : ndarray, shape (N, T, K)
        Natural-log class probabilities of each frame.
    rule : {"sum_logprob", "mean_logprob", "mean_prob"}
        See :data:`RULES`. The sum treats frames as independent evidence and
        grows overconfident when they are correlated; the mean of
        log-probabilities keeps the sum's decision at a single frame's
        confidence scale; the mean of probabilities is a mixture.

    Returns
    -------
    ndarray, shape (N, K)
        Normalised log-probabilities per video.

    Examples
    --------
    >>> import numpy as np
    >>> lp = np.log(np.array([[[0.6, 0.4], [0.6, 0.4]]]))
    >>> np.exp(combine_frames(lp, "mean_logprob")).round(3).tolist()
    [[0.6, 0.4]]
    >>> np.exp(combine_frames(lp, "sum_logprob")).round(3).tolist()
    [[0.692, 0.308]]
    """
    if logp.ndim != 3:
        raise ValueError(f"logp must have shape (N, T, K), got {logp.shape}")
    if rule == "sum_logprob":
        return _log_softmax(logp.sum(axis=1))
    if rule == "mean_logprob":
        return _log_softmax(logp.mean(axis=1))
    if rule == "mean_prob":
        top = logp.max(axis=1, keepdims=True)
        pooled = np.log(np.exp(logp - top).mean(axis=1)) + top[:, 0]
        return _log_softmax(pooled)
    raise ValueError(f"rule must be one of {sorted(RULES)}, got {rule!r}")


@dataclass(frozen=True)
class Scores:
    """Per-item scores; the metric is the mean over items (ECE aside).

    Attributes
    ----------
    correct : ndarray of float, shape (n,)
        1 where the top class is the label.
    nll : ndarray of float, shape (n,)
        ``-log p(label)``.
    brier : ndarray of float, shape (n,)
        ``sum_k (p_k - onehot_k)^2``.
    confidence : ndarray of float, shape (n,)
        Probability of the top class.
    """

    correct: np.ndarray
    nll: np.ndarray
    brier: np.ndarray
    confidence: np.ndarray


def scores(logp: np.ndarray, y: np.ndarray) -> Scores:
    """Score each item of a set of predictions.

    Parameters
    ----------
    logp : ndarray, shape (n, K)
        Natural-log class probabilities (``-inf`` allowed for probability 0).
    y : ndarray of int, shape (n,)
        Labels in ``[0, K)``.

    Returns
    -------
    Scores

    Examples
    --------
    >>> import numpy as np
    >>> s = scores(np.log([[0.7, 0.2, 0.1], [0.5, 0.25, 0.25]]), np.array([0, 1]))
    >>> s.correct.tolist(), s.nll.round(3).tolist(), s.brier.round(3).tolist()
    ([1.0, 0.0], [0.357, 1.386], [0.14, 0.875])
    """
    logp = np.asarray(logp, dtype=np.float64)
    y = np.asarray(y)
    if logp.ndim != 2 or y.shape != logp.shape[:1]:
        raise ValueError(f"logp must be (n, K) and y (n,), got {logp.shape} and {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= logp.shape[1]):
        raise ValueError(f"y must hold labels in [0, {logp.shape[1]}), got values {y.min()}..{y.max()}")
    rows = np.arange(y.size)
    p = np.exp(logp)
    onehot = np.zeros_like(p)
    onehot[rows, y] = 1.0
    top = p.argmax(axis=1)
    return Scores(
        correct=(top == y).astype(np.float64),
        nll=-logp[rows, y],
        brier=((p - onehot) ** 2).sum(axis=1),
        confidence=p[rows, top],
    )


def _bin_index(confidence: np.ndarray, n_bins: int) -> np.ndarray:
    """Bin b holds confidences in (b/n_bins, (b+1)/n_bins]; 0 goes to bin 0."""
    return np.clip(np.ceil(confidence * n_bins).astype(np.int64) - 1, 0, n_bins - 1)


def _bin_gaps(confidence: np.ndarray, correct: np.ndarray, n_bins: int) -> tuple[np.ndarray, tuple]:
    """Per-bin ``|B_b|/n * (conf(B_b) - acc(B_b))``, shape ``(sets, n_bins)``, and the leading shape."""
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    if confidence.shape != correct.shape or confidence.ndim == 0 or confidence.shape[-1] == 0:
        raise ValueError(
            f"confidence and correct must share a non-empty shape, got {confidence.shape} and {correct.shape}"
        )
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    lead, n = confidence.shape[:-1], confidence.shape[-1]
    sets = int(np.prod(lead, dtype=np.int64))
    bins = _bin_index(confidence, n_bins).reshape(sets, n) + n_bins * np.arange(sets)[:, None]
    gap = np.bincount(bins.ravel(), weights=(confidence - correct).ravel(), minlength=sets * n_bins)
    return gap.reshape(sets, n_bins) / n, lead


def _per_set(values: np.ndarray, lead: tuple) -> np.ndarray | float:
    return float(values[0]) if not lead else values.reshape(lead)


def ece(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 15) -> np.ndarray | float:
    """Expected calibration error of the top label with equal-width bins.

    Parameters
    ----------
    confidence : ndarray, shape (..., n)
        Probability of the predicted class; leading axes are independent sets
        (e.g. bootstrap resamples), each scored on its own.
    correct : ndarray, same shape
        1 where the prediction is right, else 0.
    n_bins : int, default 15
        Number of equal-width bins on [0, 1].

    Returns
    -------
    float or ndarray of shape (...)
        ``sum_b |B_b|/n * |acc(B_b) - conf(B_b)|``.

    Examples
    --------
    >>> import numpy as np
    >>> float(ece(np.array([1.0, 1.0]), np.array([1.0, 1.0])))
    0.0
    >>> round(float(ece(np.array([0.9, 0.9, 0.6, 0.6]), np.array([1, 0, 1, 1.0]))), 6)
    0.4
    """
    gaps, lead = _bin_gaps(confidence, correct, n_bins)
    return _per_set(np.abs(gaps).sum(axis=1), lead)


def ece_parts(
    confidence: np.ndarray, correct: np.ndarray, n_bins: int = 15
) -> tuple[np.ndarray | float, np.ndarray | float]:
    """The ECE split into its overconfident and underconfident bins: ``(over, under)``.

    ``over`` sums ``|B_b|/n * (conf - acc)`` over the bins whose mean confidence
    exceeds their accuracy, ``under`` the same with ``acc - conf`` over the
    others; ``over + under`` is the :func:`ece` and ``over - under`` the signed
    gap (mean confidence minus accuracy). Arguments as for :func:`ece`.

    Examples
    --------
    >>> import numpy as np
    >>> over, under = ece_parts(np.array([0.9, 0.9, 0.6, 0.6]), np.array([1, 0, 1, 1.0]))
    >>> round(float(over), 6), round(float(under), 6)
    (0.2, 0.2)
    """
    gaps, lead = _bin_gaps(confidence, correct, n_bins)
    return _per_set(np.clip(gaps, 0, None).sum(axis=1), lead), _per_set(
        np.clip(-gaps, 0, None).sum(axis=1), lead
    )


def reliability(
    confidence: np.ndarray, correct: np.ndarray, n_bins: int = 15
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-bin counts, mean confidence and accuracy for a reliability diagram.

    Returns
    -------
    count : ndarray of int, shape (n_bins,)
    mean_confidence, accuracy : ndarray of float, shape (n_bins,)
        NaN in empty bins.

    Examples
    --------
    >>> import numpy as np
    >>> count, conf, acc = reliability(np.array([0.95, 0.95, 0.5]), np.array([1, 0, 1.0]), n_bins=2)
    >>> count.tolist(), conf.tolist(), acc.tolist()
    ([1, 2], [0.5, 0.95], [1.0, 0.5])
    """
    bins = _bin_index(np.asarray(confidence, dtype=np.float64), n_bins)
    count = np.bincount(bins, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(bins, weights=confidence, minlength=n_bins) / count
        accuracy = np.bincount(bins, weights=correct, minlength=n_bins) / count
    return count, mean_confidence, accuracy


def bootstrap_indices(n: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Resampling indices ``(n_boot, n)`` drawn with replacement.

    Drawing them once and reusing them for every condition makes comparisons
    between conditions on the same items *paired*.

    Examples
    --------
    >>> import numpy as np
    >>> bootstrap_indices(4, 3, np.random.default_rng(0)).shape
    (3, 4)
    """
    if n < 1 or n_boot < 1:
        raise ValueError(f"n and n_boot must be at least 1, got {n} and {n_boot}")
    return rng.integers(0, n, size=(n_boot, n))


def percentile_interval(samples: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Central percentile interval of bootstrap replicates.

    Examples
    --------
    >>> import numpy as np
    >>> lo, hi = percentile_interval(np.arange(101.0))
    >>> round(lo, 6), round(hi, 6)
    (2.5, 97.5)
    """
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(samples, [tail, 100 - tail])
    return float(lo), float(hi)
