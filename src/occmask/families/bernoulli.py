"""Bernoulli masks: every pixel hidden independently (missing at random).

The field is i.i.d. uniform noise, so a cut at ``k`` pixels is a uniformly random
set of ``k`` pixels. This is the classic dropout baseline: the most fragmented
geometry at any coverage. A video draws new noise for every frame (``"evolving"``
and ``"independent"`` are the same), or one frame for all (``"static"``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._family import Family, generate

__all__ = ["bernoulli"]


def bernoulli(
    shape: tuple[int, ...],
    coverage: float,
    *,
    rng: Any = None,
    match: str = "frame",
    temporal: str = "evolving",
    region: np.ndarray | None = None,
) -> np.ndarray:
    """Bernoulli (i.i.d. pixel) occlusion mask at an exact coverage.

    Parameters
    ----------
    shape : tuple of int
        ``(H, W)`` or ``(T, H, W)``.
    coverage : float
        Fraction of hidden pixels, in [0, 1].
    rng : None, int, SeedSequence or Generator
        Source of randomness (SPEC 7).
    match : {"frame", "video", "expected"}
        Coverage matching, see :func:`occmask.generate`. With ``"expected"`` each
        pixel is hidden with probability ``coverage`` independently.
    temporal : {"evolving", "static", "independent"}
        ``"evolving"`` and ``"independent"`` both draw a new pattern per frame.
    region : ndarray of bool, optional
        Hide ``coverage`` of this region ((H, W) or (T, H, W)) instead of the
        canvas, see :func:`occmask.generate`.

    Returns
    -------
    ndarray of bool, shape ``shape``

    Examples
    --------
    >>> import occmask as om
    >>> m = om.bernoulli((64, 64), coverage=0.3, rng=0)
    >>> int(m.sum())
    1229
    """
    return generate("bernoulli", shape, coverage, rng=rng, match=match, temporal=temporal, region=region)


def _field(
    shape: tuple[int, int, int], rng: np.random.Generator, temporal: str, need: int | None
) -> np.ndarray:
    return rng.random(shape, dtype=np.float32)


FAMILY = Family(
    name="bernoulli",
    summary="i.i.d. pixels: the missing-at-random baseline",
    field=_field,
    colour="#0072B2",
)
