"""From per-frame results to tables: metrics with intervals, paired differences, hidden ink.

Intervals are percentile bootstraps over *videos*: frame-level metrics resample
whole videos (frames of a video are not independent), and every condition uses
the same resamples, so differences between families are paired.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .config import StudyConfig
from .evaluate import Cell
from .metrics import RULES, Scores, combine_frames, ece, percentile_interval, scores, wilson_interval

__all__ = [
    "METRICS",
    "Estimate",
    "InkCurve",
    "accuracy_by_hidden_ink",
    "all_estimates",
    "cell_scores",
    "estimates",
    "results_table",
]

#: Metric name -> field of :class:`~occmask.study.metrics.Scores` averaged over items (ECE is not a mean).
#: ``confidence`` (mean top-label probability) above ``accuracy`` means overconfidence.
METRICS = {"accuracy": "correct", "confidence": "confidence", "nll": "nll", "brier": "brier", "ece": None}

_ECE_CHUNK = 100  # bootstrap replicates per vectorised ECE batch (bounds memory)


def cell_scores(cell: Cell, labels: np.ndarray, rule: str) -> Scores:
    """Scores of a cell: per video with a combination ``rule``, per frame when ``rule`` is ``""``.

    Frame-level scores are ordered video-major (all frames of video 0 first).
    """
    if not rule:
        n, t, k = cell.logp.shape
        return scores(cell.logp.reshape(n * t, k), np.repeat(labels, t))
    return scores(combine_frames(cell.logp, rule), labels)


def _per_video(values: np.ndarray, n_videos: int) -> np.ndarray:
    return values.reshape(n_videos, -1).mean(axis=1)


def _ece_replicates(s: Scores, boot: np.ndarray) -> np.ndarray:
    n_videos = boot.shape[1]
    per = s.confidence.size // n_videos
    out = []
    for start in range(0, boot.shape[0], _ECE_CHUNK):
        videos = boot[start : start + _ECE_CHUNK]
        items = (videos[:, :, None] * per + np.arange(per)).reshape(videos.shape[0], -1)
        out.append(ece(s.confidence[items], s.correct[items]))
    return np.concatenate(out)


@dataclass(frozen=True)
class Estimate:
    """A metric's value on the test videos and its bootstrap replicates.

    Replicates of different conditions made with the same resamples are
    paired: their difference is the bootstrap distribution of the difference.
    """

    value: float
    replicates: np.ndarray

    def interval(self) -> tuple[float, float]:
        """95% percentile interval."""
        return percentile_interval(self.replicates)

    def __sub__(self, other: Estimate) -> Estimate:
        return Estimate(self.value - other.value, self.replicates - other.replicates)


def estimates(s: Scores, boot: np.ndarray) -> dict[str, Estimate]:
    """Every metric of :data:`METRICS` with bootstrap replicates, resampling videos.

    Parameters
    ----------
    s : Scores
        Per-item scores, ``n_videos * per_video`` items ordered video-major.
    boot : ndarray of int, shape (n_boot, n_videos)
        Resampled video indices (the same for every condition, for pairing).

    Returns
    -------
    dict
        Metric name -> :class:`Estimate`.

    Examples
    --------
    >>> import numpy as np
    >>> from occmask.study.metrics import scores, bootstrap_indices
    >>> s = scores(np.log([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]), np.array([0, 1, 1]))
    >>> acc = estimates(s, bootstrap_indices(3, 50, np.random.default_rng(0)))["accuracy"]
    >>> lo, hi = acc.interval()
    >>> round(acc.value, 3), lo <= acc.value <= hi
    (0.667, True)
    """
    n_videos = boot.shape[1]
    out = {}
    for name, attr in METRICS.items():
        if attr is None:
            out[name] = Estimate(float(ece(s.confidence, s.correct)), _ece_replicates(s, boot))
        else:
            per_video = _per_video(getattr(s, attr), n_videos)
            out[name] = Estimate(float(per_video.mean()), per_video[boot].mean(axis=1))
    return out


def _columns(found: dict[str, Estimate], suffix: str = "") -> dict[str, float]:
    out = {}
    for name, est in found.items():
        out[f"{name}{suffix}"] = est.value
        out[f"{name}{suffix}_lo"], out[f"{name}{suffix}_hi"] = est.interval()
    return out


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
