"""Why the families differ at matched canvas coverage: the masks' descriptors joined to the models' outcomes.

For every family and occluded coverage of fill 0 (masks in the first temporal
mode), each test frame's mask is rebuilt and described: its connected components,
the largest one's share of the hidden pixels, the boundary length per hidden
pixel, and the share of the digit's ink it hides (and that share's spread across
the video's frames). Each training seed's models see masks of their own, so every
seed's frames are described, and each joined to that seed's outcome ("correct" and
the confidence), per architecture.

The analysis asks, at each coverage, how much of the families' accuracy gaps to
the reference a descriptor accounts for: frame accuracy is regressed on the
descriptor alone (ordinary least squares over every family's frames), each
family's predicted gap is the difference of its frames' mean fitted value from
the reference's, and the share explained is ``1 - sum((gap - predicted)^2) /
sum(gap^2)`` over the families (1: the descriptor reproduces every gap; 0 or
below: it predicts none of them). What is left at matched ink is each family's
gap minus the gap the ink hidden predicts. Intervals are 95% percentile
bootstraps over videos (a video's frames and families are resampled together).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as _scipy

from ..describe import describe
from ..robustness import Report

__all__ = ["DESCRIPTORS", "Geometry", "explain", "frame_table", "measure"]

#: Descriptor name -> what it measures, per frame.
DESCRIPTORS = {
    "ink_hidden": "share of the digit's ink pixels hidden",
    "largest_share": "largest connected hidden region as a share of the hidden pixels",
    "log_components": "natural log of the number of connected hidden regions (4-connectivity)",
    "boundary": "hidden-visible pixel edges per hidden pixel",
}

_VIDEOS = 100  # videos described per cell and seed (the first ones): enough for the regressions
_BOOT = 200


def measure(seeds: Sequence[Report], frames: np.ndarray, temporal: str, *, videos: int = _VIDEOS) -> dict:
    """Per-frame descriptors of every occluded cell of one temporal mode of canvas-matched reports.

    Parameters
    ----------
    seeds : sequence of Report
        One report per training seed, of any architecture (the models of one seed see the
        same masks; each seed draws its own).
    frames : ndarray of uint8, shape (N, T, H, W)
        The clean test videos (the ink is the pixels at least half white).
    temporal : str
        Temporal mode of the masks.
    videos : int
        How many of the first videos to describe.

    Returns
    -------
    dict
        ``(family, coverage)`` -> dict of descriptor name -> array ``(videos, S * T)``
        (seed ``s``'s frames in columns ``s * T`` to ``s * T + T - 1``), plus
        ``"ink_spread"`` (per video: the SD of the ink hidden across a mask's frames,
        mean over seeds, ``(videos,)``).
    """
    n = min(videos, frames.shape[0])
    ink = frames[:n] >= 128
    first = seeds[0].setting
    keys = [(f, c) for f in first.families for c in first.coverages if c > 0]

    def one(key: tuple[str, float]) -> dict[str, np.ndarray]:
        family, coverage = key
        found: dict[str, list] = {name: [] for name in DESCRIPTORS}
        for i in range(n):
            mask = np.concatenate(
                [r.mask(i, family=family, coverage=coverage, temporal=temporal) for r in seeds]
            )
            d = describe(mask)
            hidden = np.maximum(mask.sum(axis=(1, 2)), 1)
            inked = np.tile(ink[i], (len(seeds), 1, 1))
            ink_pixels = np.maximum(inked.sum(axis=(1, 2)), 1)
            found["ink_hidden"].append((mask & inked).sum(axis=(1, 2)) / ink_pixels)
            found["largest_share"].append(d.largest_component / hidden)
            found["log_components"].append(np.log(np.maximum(d.n_components, 1)))
            found["boundary"].append(d.boundary / hidden)
        out = {name: np.asarray(v, dtype=np.float64) for name, v in found.items()}
        out["ink_spread"] = out["ink_hidden"].reshape(n, len(seeds), -1).std(axis=2).mean(axis=1)
        return out

    with ThreadPoolExecutor(max_workers=2) as pool:  # the mask kernels release the GIL
        return dict(zip(keys, pool.map(one, keys), strict=True))


def frame_table(
    seeds: Sequence[Report], described: dict, temporal: str, videos: int
) -> dict[tuple[str, float], dict[str, np.ndarray]]:
    """Per cell: "correct" and the confidence of each described frame of each seed, ``(videos, S * T)`` each.

    ``seeds`` are one architecture's reports, in the order :func:`measure` got its seeds.
    """
    out = {}
    labels = seeds[0].labels[:videos, None]
    for family, coverage in described:
        logp = np.concatenate([r.cell(temporal, family, coverage).logp[:videos] for r in seeds], axis=1)
        out[(family, coverage)] = {
            "correct": (logp.argmax(-1) == labels).astype(np.float64),
            "confidence": np.exp(logp.max(-1)),
        }
    return out


def _left(
    y: np.ndarray, family: np.ndarray, x: np.ndarray | None, n_families: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each family's accuracy gap to family 0 and the part of it that OLS ``y ~ x`` does not predict.

    ``x`` holds covariate columns (None: no covariate, nothing predicted).
    """
    members = [family == f for f in range(n_families)]
    means = np.array([y[m].mean() for m in members])
    gaps = means[1:] - means[0]
    if x is None:
        return gaps, gaps
    design = np.concatenate([np.ones((y.size, 1)), x], axis=1)
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    fitted = design @ coef
    predicted = np.array([fitted[m].mean() for m in members])
    return gaps, gaps - (predicted[1:] - predicted[0])


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation; NaN when either side is constant (no ranking to correlate)."""
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(_scipy.spearmanr(x, y)[0])


@dataclass(frozen=True)
class Geometry:
    """The descriptor analysis of one architecture.

    Attributes
    ----------
    arch : str
    table : list of dict
        Per family and coverage: the mean of each descriptor, of ``ink_spread``, of
        accuracy and of confidence over the described frames.
    explained : list of dict
        Per coverage and descriptor (and ``"all"``, the four together): share of the
        families' squared accuracy gaps to the reference that a regression on the
        descriptor reproduces, with ``lo``/``hi``.
    left : list of dict
        Per coverage and family: the accuracy gap to the reference and what is left of it
        once the gap the ink hidden predicts is taken away, each with ``lo``/``hi``.
    rank : list of dict
        Per coverage and descriptor: Spearman's rank correlation of frame accuracy with
        the descriptor over every family's frames, with ``lo``/``hi``.
    """

    arch: str
    table: list[dict]
    explained: list[dict]
    left: list[dict]
    rank: list[dict]


def explain(arch: str, described: dict, outcomes: dict, reference: str, *, seed: int = 0) -> Geometry:
    """Which descriptor accounts for the families' accuracy gaps at each coverage (see the module)."""
    families = list(dict.fromkeys(f for f, _ in described))
    families.remove(reference)
    families.insert(0, reference)
    coverages = sorted({c for _, c in described})
    rng = np.random.default_rng(seed)
    table, explained, left, rank = [], [], [], []
    for f, c in described:
        d, o = described[(f, c)], outcomes[(f, c)]
        table.append(
            {"family": f, "coverage": c, **{k: float(d[k].mean()) for k in (*DESCRIPTORS, "ink_spread")},
             "accuracy": float(o["correct"].mean()), "confidence": float(o["confidence"].mean())}
        )  # fmt: skip
    for c in coverages:
        n = outcomes[(reference, c)]["correct"].shape[0]
        y = np.stack([outcomes[(f, c)]["correct"] for f in families], axis=1)  # (n, F, T)
        x = {k: np.stack([described[(f, c)][k] for f in families], axis=1) for k in DESCRIPTORS}
        fam = np.broadcast_to(np.arange(len(families))[None, :, None], y.shape)
        boot = np.concatenate([np.arange(n)[None], rng.integers(0, n, size=(_BOOT, n))])  # row 0: the data

        def fit(
            rows: np.ndarray, name: str, y: Any = y, x: Any = x, fam: Any = fam
        ) -> tuple[np.ndarray, np.ndarray]:
            names = list(DESCRIPTORS) if name == "all" else [name]
            covariates = np.stack([x[k][rows].ravel() for k in names], axis=1)
            return _left(y[rows].ravel(), fam[rows].ravel(), covariates, len(families))

        for name in (*DESCRIPTORS, "all"):
            fits = [fit(rows, name) for rows in boot]
            raw, rest = np.array([f[0] for f in fits]), np.array([f[1] for f in fits])  # (1 + B, F - 1)
            share = 1 - (rest**2).sum(axis=1) / np.maximum((raw**2).sum(axis=1), 1e-12)
            lo, hi = np.percentile(share[1:], [2.5, 97.5])
            explained.append(
                {"coverage": c, "descriptor": name, "explained": float(share[0]), "lo": lo, "hi": hi}
            )
            if name == "ink_hidden":
                for j, f in enumerate(families[1:]):
                    r_lo, r_hi = np.percentile(raw[1:, j], [2.5, 97.5])
                    a_lo, a_hi = np.percentile(rest[1:, j], [2.5, 97.5])
                    left.append(
                        {"coverage": c, "family": f, "gap": float(raw[0, j]), "gap_lo": r_lo, "gap_hi": r_hi,
                         "at_matched_ink": float(rest[0, j]), "lo": a_lo, "hi": a_hi}
                    )  # fmt: skip
        for name in DESCRIPTORS:
            values = [_spearman(x[name][rows].ravel(), y[rows].ravel()) for rows in boot[:51]]
            lo, hi = (
                np.nanpercentile(values[1:], [2.5, 97.5]) if np.isfinite(values[1:]).any() else (np.nan,) * 2
            )
            rank.append({"coverage": c, "descriptor": name, "rho": float(values[0]), "lo": lo, "hi": hi})
    return Geometry(arch, table, explained, left, rank)
