"""The evaluation grid: every (temporal mode, family, coverage) on the same test videos.

For a grid cell, video ``i`` gets the mask drawn from the seed stream
``(MASK, coverage, i)``: the same seed for every family and temporal mode, so
differences between families are paired on the same digits, trajectories and
seeds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import occmask as om

from .config import Stream, StudyConfig, stream

__all__ = ["INK_LEVEL", "Cell", "VideoSet", "evaluate_grid", "hidden_ink", "mask_for"]

#: A pixel of the digit counts as ink from this uint8 intensity (half of full scale).
INK_LEVEL = 128


@dataclass(frozen=True)
class VideoSet:
    """Clean test videos and their labels.

    Attributes
    ----------
    frames : ndarray of uint8, shape (N, T, H, W)
    labels : ndarray of int64, shape (N,)
    """

    frames: np.ndarray
    labels: np.ndarray


@dataclass(frozen=True)
class Cell:
    """Per-frame results of one grid cell; arrays are indexed (video, frame).

    Attributes
    ----------
    temporal, family : str
    coverage : float
        Nominal canvas coverage.
    logp : ndarray of float32, shape (N, T, K)
        Class log-probabilities of every occluded frame.
    hidden_ink : ndarray of float, shape (N, T)
        Share of the digit's ink pixels that the mask hides.
    realised : ndarray of float, shape (N, T)
        Realised canvas coverage.
    largest : ndarray of float, shape (N, T)
        Largest connected hidden region, as a fraction of the frame.
    components : ndarray of int, shape (N, T)
        Number of connected hidden regions (4-connectivity).
    """

    temporal: str
    family: str
    coverage: float
    logp: np.ndarray
    hidden_ink: np.ndarray
    realised: np.ndarray
    largest: np.ndarray
    components: np.ndarray


def mask_for(
    config: StudyConfig, family: str, temporal: str, coverage: float, video: int, shape: tuple[int, ...]
) -> np.ndarray:
    """The mask that video ``video`` gets in a grid cell (reproducible on its own).

    Examples
    --------
    >>> from occmask.study.config import make_config
    >>> c = make_config(videos=2)
    >>> m = mask_for(c, "perlin", "evolving", 0.5, 0, (4, 64, 64))
    >>> m.shape, int(m[0].sum())
    ((4, 64, 64), 2048)
    >>> bool((m == mask_for(c, "perlin", "evolving", 0.5, 0, (4, 64, 64))).all())
    True
    """
    if coverage == 0.0:
        return np.zeros(shape, dtype=bool)
    seed = stream(config, Stream.MASK, round(coverage * 1_000_000), video)
    return om.generate(family, shape, coverage, rng=seed, temporal=temporal)


def hidden_ink(frames: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Share of each frame's ink pixels (``>= INK_LEVEL``) that the mask hides.

    Parameters
    ----------
    frames : ndarray of uint8, shape (..., H, W)
    masks : ndarray of bool, same shape

    Returns
    -------
    ndarray of float, shape (...)
        NaN for a frame without ink.

    Examples
    --------
    >>> import numpy as np
    >>> frame = np.zeros((1, 4, 4), np.uint8); frame[0, :2, :2] = 255
    >>> mask = np.zeros((1, 4, 4), bool); mask[0, 0, :] = True
    >>> hidden_ink(frame, mask).tolist()
    [0.5]
    """
    ink = frames >= INK_LEVEL
    total = ink.sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (ink & masks).sum(axis=(-2, -1)) / np.where(total > 0, total, np.nan)


def _prepare(test: VideoSet, config: StudyConfig, key: tuple[str, str, float]) -> tuple[np.ndarray, dict]:
    """The masks of a grid cell and every field of its :class:`Cell` but ``logp``."""
    temporal, family, coverage = key
    n, t, h, w = test.frames.shape
    masks = np.stack([mask_for(config, family, temporal, coverage, i, (t, h, w)) for i in range(n)])
    described = [om.describe(m) for m in masks]
    fields = dict(
        temporal=temporal,
        family=family,
        coverage=coverage,
        hidden_ink=hidden_ink(test.frames, masks),
        realised=np.stack([d.coverage for d in described]),
        largest=np.stack([d.largest_fraction for d in described]),
        components=np.stack([d.n_components for d in described]),
    )
    return masks, fields


def evaluate_grid(model, test: VideoSet, config: StudyConfig) -> list[Cell]:
    """Run the trained model on every cell of the grid.

    A worker thread draws the next cell's masks (Numba kernels release the
    GIL) while the model scores the current one. Cells where nothing is hidden
    reuse the clean predictions.

    Parameters
    ----------
    model : torch.nn.Module
        Trained classifier.
    test : VideoSet
        Clean test videos.
    config : StudyConfig
        Families, coverages, temporal modes, device and seed.

    Returns
    -------
    list of Cell
        Ordered by temporal mode, then family, then coverage.
    """
    from concurrent.futures import ThreadPoolExecutor

    from tqdm.auto import tqdm

    from .model import log_probs

    clean = log_probs(model, test.frames, device=config.device)
    grid = [(tm, f, c) for tm in config.temporal for f in config.families for c in config.coverages]
    cells = []
    with (
        ThreadPoolExecutor(max_workers=1) as pool,
        tqdm(total=len(grid), desc="evaluate", unit="cell", disable=not config.progress, leave=False) as bar,
    ):
        pending = pool.submit(_prepare, test, config, grid[0])
        for k, key in enumerate(grid):
            bar.set_postfix_str("{} {} {:g}".format(*key))
            masks, fields = pending.result()
            if k + 1 < len(grid):
                pending = pool.submit(_prepare, test, config, grid[k + 1])
            logp = (
                clean if not masks.any() else log_probs(model, test.frames, mask=masks, device=config.device)
            )
            cells.append(Cell(logp=logp, **fields))
            bar.update()
    return cells
