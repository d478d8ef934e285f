"""From per-frame results to tables: metrics with intervals, paired differences, hidden ink.

Intervals are percentile bootstraps over *videos*: frame-level metrics resample
whole videos (frames of a video are not independent), and every condition uses
the same resamples, so differences between families are paired.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ..robustness.metrics import RULES, Scores, combine_frames, scores
from ..robustness.report import _columns
from ..robustness.stats import Estimate, estimates
from .config import StudyConfig
from .evaluate import Cell

__all__ = [
    "InkCurve",
    "accuracy_by_hidden_ink",
    "all_estimates",
    "cell_scores",
    "results_table",
    "wilson_interval",
]


def cell_scores(cell: Cell, labels: np.ndarray, rule: str) -> Scores:
    """Scores of a cell: per video with a combination ``rule``, per frame when ``rule`` is ``""``.

    Frame-level scores are ordered video-major (all frames of video 0 first).
    """
    if not rule:
        n, t, k = cell.logp.shape
        return scores(cell.logp.reshape(n * t, k), np.repeat(labels, t))
    return scores(combine_frames(cell.logp, rule), labels)


def wilson_interval(
    successes: np.ndarray, trials: np.ndarray, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of binomial proportions (NaN where ``trials`` is 0).

    Examples
    --------
    >>> import numpy as np
    >>> lo, hi = wilson_interval(np.array([5]), np.array([10]))
    >>> lo.round(3).tolist(), hi.round(3).tolist()
    ([0.237], [0.763])
    """
    from scipy.stats import norm

    z = norm.ppf(0.5 + level / 2)
    k, n = np.asarray(successes, dtype=np.float64), np.asarray(trials, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z / (1 + z**2 / n) * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return centre - half, centre + half


def _descriptors(cell: Cell) -> dict[str, float]:
    return {
        "realised_coverage": float(cell.realised.mean()),
        "largest_fraction": float(cell.largest.mean()),
        "n_components": float(cell.components.mean()),
        "hidden_ink": float(np.nanmean(cell.hidden_ink)),
        "hidden_ink_sd": float(np.nanstd(cell.hidden_ink)),
    }


Key = tuple[str, str, float, str]  # temporal, family, coverage, rule ("" for single frames)


def all_estimates(cells: list[Cell], labels: np.ndarray, boot: np.ndarray) -> dict[Key, dict[str, Estimate]]:
    """:func:`estimates` of every cell at frame level (rule ``""``) and under every rule."""
    return {
        (c.temporal, c.family, c.coverage, rule): estimates(cell_scores(c, labels, rule), boot)
        for c in cells
        for rule in ("", *RULES)
    }


def results_table(
    cells: list[Cell], labels: np.ndarray, config: StudyConfig, found: dict[Key, dict[str, Estimate]]
) -> list[dict]:
    """One row per (temporal, family, coverage, level, rule) with every metric and interval.

    ``level`` is ``"video"`` (one row per combination rule) or ``"frame"``
    (frames scored one by one; ``rule`` is empty). ``<metric>_minus_reference``
    columns are paired differences to ``config.reference`` on the same videos
    and mask seeds.

    Returns
    -------
    list of dict
        Rows in grid order, all with the same keys.
    """
    rows = []
    for cell in cells:
        described = _descriptors(cell)
        for rule in ("", *RULES):
            mine = found[(cell.temporal, cell.family, cell.coverage, rule)]
            ref = found[(cell.temporal, config.reference, cell.coverage, rule)]
            rows.append(
                {
                    "temporal": cell.temporal,
                    "family": cell.family,
                    "coverage": cell.coverage,
                    "level": "video" if rule else "frame",
                    "rule": rule,
                    "n_videos": labels.size,
                    "n_items": labels.size * (1 if rule else cell.logp.shape[1]),
                    **_columns(mine),
                    "reference": config.reference,
                    **_columns({k: mine[k] - ref[k] for k in mine}, "_minus_reference"),
                    **described,
                }
            )
    return rows


@dataclass(frozen=True)
class InkCurve:
    """Frame accuracy of one family binned by hidden-ink share.

    Attributes
    ----------
    edges : ndarray, shape (n_bins + 1,)
    count, correct : ndarray of int, shape (n_bins,)
    accuracy, lo, hi : ndarray of float, shape (n_bins,)
        Accuracy per bin with a 95% Wilson interval (NaN for empty bins).
    """

    edges: np.ndarray
    count: np.ndarray
    correct: np.ndarray
    accuracy: np.ndarray
    lo: np.ndarray
    hi: np.ndarray


def accuracy_by_hidden_ink(
    cells: Iterable[Cell], labels: np.ndarray, n_bins: int = 10
) -> dict[str, InkCurve]:
    """Pool the frames of ``cells`` (all coverages) and bin them by hidden-ink share, per family.

    Asks whether geometry still matters when the same share of the digit is
    hidden: a family's curve below another's means more errors at equal hidden ink.
    """
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    pooled: dict[str, tuple[list, list]] = {}
    for cell in cells:
        shares, corrects = pooled.setdefault(cell.family, ([], []))
        shares.append(cell.hidden_ink.ravel())
        corrects.append(cell_scores(cell, labels, "").correct)
    curves = {}
    for family, (shares, corrects) in pooled.items():
        share, correct = np.concatenate(shares), np.concatenate(corrects)
        keep = ~np.isnan(share)
        bins = np.clip(np.searchsorted(edges, share[keep], side="right") - 1, 0, n_bins - 1)
        count = np.bincount(bins, minlength=n_bins)
        hits = np.bincount(bins, weights=correct[keep], minlength=n_bins).round().astype(np.int64)
        lo, hi = wilson_interval(hits, count)
        with np.errstate(invalid="ignore", divide="ignore"):
            accuracy = hits / count
        curves[family] = InkCurve(edges, count, hits, accuracy, lo, hi)
    return curves
